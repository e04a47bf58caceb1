"""Deterministic crashes in the embedded store: a child process SIGKILLs itself at a chosen point
(``IRIS_TEST_KILL_AT``, read by ``paths.kill_point``), not at a random moment that may miss the window.

- ``insert``: every row of an upsert is written in the transaction, none committed yet;
- ``model-save``: the model's files are in their version folder, its metadata is not recorded yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.embedded.model_registry import ModelRegistry
from serverless_iris.paths import KILL_AT_ENV, REPO_ROOT

KILLED = -signal.SIGKILL

UPSERT = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from serverless_iris.embedded.feature_store import FeatureStore

    group = FeatureStore(sys.argv[1]).get_feature_group("g", version=1)
    group.insert(pd.DataFrame({"k": [1, 2, 3], "v": [10.0, 20.0, 30.0], "t": pd.Timestamp("2024-01-01")}))
    print("committed", flush=True)
    """
)

SAVE = textwrap.dedent(
    """
    import sys
    from serverless_iris.embedded.model_registry import ModelRegistry

    ModelRegistry(sys.argv[1]).python.create_model("iris", metrics={"accuracy": 0.5}).save(sys.argv[2])
    print("saved", flush=True)
    """
)


def _child(code: str, *args: str, kill_at: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop(KILL_AT_ENV, None)
    if kill_at:
        env[KILL_AT_ENV] = kill_at
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300
    )


def _values(store: Path) -> dict[int, float]:
    rows = FeatureStore(store).get_feature_group("g", version=1).read()
    return dict(zip(rows["k"], rows["v"], strict=True))


def test_an_upsert_killed_before_its_commit_changes_no_row(tmp_path: Path) -> None:
    store = tmp_path / "store"
    group = FeatureStore(store).create_feature_group(name="g", version=1, primary_key=["k"], event_time="t")
    group.insert(pd.DataFrame({"k": [1, 2], "v": [1.0, 2.0], "t": pd.Timestamp("2024-01-01")}))

    killed = _child(UPSERT, str(store), kill_at="insert")

    assert killed.returncode == KILLED, killed.stderr
    assert killed.stdout == ""
    assert _values(store) == {1: 1.0, 2: 2.0}  # the deleted keys are back, the new key is absent
    done = _child(UPSERT, str(store), kill_at=None)  # the store opens and the same upsert now commits
    assert (done.returncode, done.stdout) == (0, "committed\n"), done.stderr
    assert _values(store) == {1: 10.0, 2: 20.0, 3: 30.0}


def test_a_model_save_killed_before_its_metadata_leaves_no_version_and_the_next_save_reuses_it(
    tmp_path: Path,
) -> None:
    store, folder = tmp_path / "store", tmp_path / "model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"first")
    ModelRegistry(store).python.create_model("iris").save(str(folder))
    (folder / "model.bin").write_bytes(b"second")

    killed = _child(SAVE, str(store), str(folder), kill_at="model-save")

    assert killed.returncode == KILLED, killed.stderr
    assert (store / "models" / "iris" / "2" / "model.bin").read_bytes() == b"second"  # in the window
    assert [m.version for m in ModelRegistry(store).get_models("iris")] == [1]
    (folder / "model.bin").write_bytes(b"third")
    done = _child(SAVE, str(store), str(folder), kill_at=None)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "saved"), done.stderr
    registry = ModelRegistry(store)
    assert [m.version for m in registry.get_models("iris")] == [1, 2]
    downloaded = Path(registry.get_model("iris", 2).download(str(tmp_path / "out")))  # verified
    assert sorted(p.name for p in downloaded.iterdir()) == ["model.bin"]
    assert (downloaded / "model.bin").read_bytes() == b"third"
