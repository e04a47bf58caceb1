"""Helper promises a deliberate bug once slipped past: each test here fails on that bug.

- ``provenance.git_commit`` names the checked-out commit; the expected value is read from git's own files,
  not computed with the command the code runs;
- a boolean measurement column is refused by name (booleans would otherwise coerce to 1.0 and 0.0).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from serverless_iris.helpers import provenance
from serverless_iris.helpers.contract import IrisDataError, validate_iris
from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME, load_iris_frame

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def _commit(repo: Path, message: str) -> None:
    (repo / "file.txt").write_text(message)
    for command in (["git", "add", "file.txt"], ["git", "commit", "-q", "-m", message]):
        subprocess.run(command, cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def _head_from_files(repo: Path) -> str:
    """HEAD as git stores it: ``.git/HEAD`` names a branch whose ref file holds the commit."""
    head = (repo / ".git" / "HEAD").read_text().strip()
    ref = head.removeprefix("ref: ")
    return (repo / ".git" / ref).read_text().strip() if ref != head else head


def test_git_commit_names_the_checked_out_commit_and_follows_a_new_one(tmp_path: Path) -> None:
    """Planted bug: ``git_commit`` returning None (or a stale value) whatever the checkout says."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True, capture_output=True)
    _commit(tmp_path, "first")
    first = _head_from_files(tmp_path)
    _commit(tmp_path, "second")
    second = _head_from_files(tmp_path)

    assert re.fullmatch(r"[0-9a-f]{40}", second) and first != second
    assert provenance.git_commit(tmp_path) == second
    subprocess.run(["git", "checkout", "-q", first], cwd=tmp_path, check=True, capture_output=True)
    assert provenance.git_commit(tmp_path) == first  # detached HEAD: .git/HEAD holds the commit itself


@pytest.mark.parametrize("flags", [[True] * 4, [True, False, True, True]], ids=["all-true", "mixed"])
def test_a_boolean_measurement_column_is_refused_by_name(flags: list[bool]) -> None:
    """Planted bug: the ``is_bool_dtype`` refusal removed from ``contract._numbers_only`` (True reads as
    1.0, a valid petal width, so an all-True column would pass)."""
    frame = load_iris_frame().assign(event_time=pd.Timestamp(BACKFILL_EVENT_TIME)).head(4)
    frame["petal_width"] = flags

    with pytest.raises(IrisDataError) as caught:
        validate_iris(frame, source="iris.csv")

    assert "- column petal_width: not a number; allowed: a number of cm" in str(caught.value)
