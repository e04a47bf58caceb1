"""Where a model came from: the run, the code, the packages and the data that trained it.

The training notebook writes ``provenance.json`` into the model folder before it registers the
model, so the record travels with every version (on either backend); the inference notebook reads
it back to say which run trained the model it uses. The runner's ``run.json`` records the commit and
package versions with the same lookups.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_iris.files import write_json
from serverless_iris.paths import REPO_ROOT, RUN_ID_ENV

if TYPE_CHECKING:
    import pandas as pd

PROVENANCE_FILE = "provenance.json"
PACKAGES = ("pandas", "scikit-learn", "numpy", "hopsworks", "duckdb")  # the packages that shape a model


def run_id() -> str | None:
    """The runner's run id (``IRIS_RUN_ID``); None when the notebook runs by hand in Jupyter."""
    return os.environ.get(RUN_ID_ENV) or None


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """The commit checked out in ``repo``, or None outside a git checkout (or without git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages ``names`` (None when one is not installed)."""
    from importlib import metadata  # read only when asked: the runner asks from a thread

    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def training_provenance(
    feature_group: Any, data: pd.DataFrame, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The record for a model trained on ``data`` (with its ``event_time`` column) from ``feature_group``
    with the training notebook's ``parameters`` (what the dashboard and run.json show of the model)."""
    import pandas as pd

    latest = pd.to_datetime(data["event_time"]).max() if len(data) else None
    if latest is not None and latest.tzinfo is None:
        latest = latest.tz_localize("UTC")
    return {
        "run_id": run_id(),
        "git_commit": git_commit(),
        "packages": package_versions(),
        "data": {
            "feature_group": feature_group.name,
            "feature_group_version": int(feature_group.version),
            "rows": len(data),
            "latest_event_time": latest.isoformat() if latest is not None else None,
        },
        "parameters": dict(parameters or {}),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }


def write_provenance(model_dir: Path | str, record: dict[str, Any]) -> Path:
    """Save ``record`` as ``provenance.json`` in the folder about to be registered."""
    path = Path(model_dir) / PROVENANCE_FILE
    write_json(path, record)
    return path


def read_provenance(model_dir: Path | str) -> dict[str, Any] | None:
    """The provenance saved with a downloaded model, or None for a model registered without one."""
    path = Path(model_dir) / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.is_file() else None
