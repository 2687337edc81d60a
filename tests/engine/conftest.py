from pathlib import Path

import pytest

from engine import SYSTEM

DIAGRAMS = Path(__file__).parent / "diagrams"


@pytest.fixture
def mini(desk):
    """The small approval diagram used to test engine mechanics apart from the pathways."""
    with desk.transaction() as s:
        desk.deploy_files(s, [DIAGRAMS / "mini_approval.bpmn"], SYSTEM)
    return "mini_approval"
