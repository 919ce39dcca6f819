"""Fixtures of the compliance tests: the gatekeeper's pipeline on a fresh database."""

from __future__ import annotations

from tests.hub.gatekeeper.fixtures import hub

__all__ = ["hub"]
