"""Fixtures of the pages' tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def outputs(sample_outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module's own copy of the sample archive (tests/sample_archive.py), free to change."""
    return shutil.copytree(sample_outputs, tmp_path_factory.mktemp("pages") / "outputs")
