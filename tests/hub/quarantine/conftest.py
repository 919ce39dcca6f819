"""Fixtures of the quarantine tests."""

from __future__ import annotations

from tests.hub.gatekeeper.fixtures import hub

__all__ = ["hub"]
