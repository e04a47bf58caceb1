"""Fixtures shared by the test rooms; ``support``, ``sample_archive`` and ``browser`` beside this file are
importable from every test module (pytest puts this folder on ``sys.path`` for its conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import Workspace, make_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh store and outputs folder for one test's runs."""
    return make_workspace(tmp_path)
