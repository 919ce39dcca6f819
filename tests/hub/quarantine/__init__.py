"""Tests of hub.quarantine."""
