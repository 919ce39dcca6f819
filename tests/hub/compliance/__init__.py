"""Tests of hub.compliance."""
