"""Security tests: each one is an attack or a hostile value that once hurt the service."""
from __future__ import annotations

import pytest

from engine import SYSTEM
from engine.deployment import deploy


@pytest.fixture
def deploy_xml(desk):
    """Deploy one diagram given as bytes; returns its process key."""
    def _deploy(name: str, content: bytes) -> dict:
        with desk.transaction() as s:
            return deploy(s, [(name, content)], SYSTEM, desk.clock(), source="test")
    return _deploy
