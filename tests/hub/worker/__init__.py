"""Tests of hub.worker."""
