"""Tests of hub.gatekeeper."""
