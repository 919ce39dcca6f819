"""Fixtures of the worker tests."""

from __future__ import annotations

from tests.hub.gatekeeper.fixtures import hub

__all__ = ["hub"]
