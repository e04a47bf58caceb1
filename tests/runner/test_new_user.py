"""What a new user tried at the command line, and what they now see (issue 15): ``-p IRIS_CSV`` loads the
file or is refused up front, one outputs folder and store wherever the command runs from, one store per
dashboard, the first run's "today", trained vs retrained, ``--keep`` and the model's report, ``--help``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from support import FIXTURES, REPO, FullRun, Workspace, make_workspace

from serverless_iris import login
from serverless_iris.backend import BackendError
from serverless_iris.embedded.project import LocalProject
from serverless_iris.helpers.flowers import BACKFILL_EVENT_TIME, utc

EXTRA_FLOWERS = "sepal_length,sepal_width,petal_length,petal_width,variety\n" + "\n".join(
    f"{5.0 + i / 10:.1f},3.{i},1.{i},0.{i + 1},Setosa" for i in range(3)
)  # three Setosas that assets/iris.csv does not hold


def _iris_rows(store: Path) -> pd.DataFrame:
    return LocalProject(store).get_feature_store().get_feature_group("iris", version=1).read()


def _runner(
    cwd: Path, env: dict[str, str] | None, *args: str, repo: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo / "runner.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


# --- -p IRIS_CSV ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_iris_csv_without_backfill_loads_the_file_into_a_store_that_has_flowers(workspace: Workspace) -> None:
    first = workspace.run("--only", "feature", "-q")
    assert first.returncode == 0, first.stdout + first.stderr
    before = _iris_rows(workspace.store)
    (workspace.outputs.parent / "my.csv").write_text(EXTRA_FLOWERS + "\n")

    done = workspace.run("--only", "feature", "-p", "IRIS_CSV=my.csv")  # relative to where the user is

    assert done.returncode == 0, done.stdout + done.stderr
    after = _iris_rows(workspace.store)
    assert len(after) == len(before) + 3
    added = after.merge(before, how="left", indicator=True).query("_merge == 'left_only'")
    assert sorted(added["sepal_length"]) == [5.0, 5.1, 5.2]
    assert set(utc(added["event_time"])) == {pd.Timestamp(BACKFILL_EVENT_TIME)}  # upserted as a backfill
    record = workspace.runs()[-1]
    assert record["parameters"] == {"IRIS_CSV": str(workspace.outputs.parent / "my.csv"), "BACKFILL": True}
    assert [n["name"] for n in record["notebooks"]] == ["feature"]  # the store had a flower of today


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            ["-p", "IRIS_CSV=missing.csv"],
            "-p IRIS_CSV=missing.csv: cannot be read: No such file or directory",
        ),
        (["-p", "IRIS_CSV=folder"], "-p IRIS_CSV=folder: cannot be read: Is a directory"),
        (["-p", "IRIS_CSV=empty.csv"], "-p IRIS_CSV=empty.csv: the file is empty"),
        (
            ["-p", "IRIS_CSV=http://127.0.0.1:9/iris.csv"],
            "-p IRIS_CSV=http://127.0.0.1:9/iris.csv: cannot be read",
        ),
        (["-p", "IRIS_CSV=s3://bucket/iris.csv"], "unsupported URL scheme 's3'"),
        (["--daily", "-p", "IRIS_CSV=my.csv"], "-p IRIS_CSV loads a file, which --daily"),
        (["-p", "BACKFILL=false", "-p", "IRIS_CSV=my.csv"], "which BACKFILL=False turns off"),
    ],
    ids=["missing", "folder", "empty", "refused-url", "s3", "daily", "backfill-false"],
)
def test_an_iris_csv_that_cannot_be_used_is_refused_up_front(
    workspace: Workspace, options: list[str], expected: str
) -> None:
    here = workspace.outputs.parent
    (here / "folder").mkdir()
    (here / "empty.csv").write_text("")
    (here / "my.csv").write_text(EXTRA_FLOWERS + "\n")

    done = workspace.call(*options)

    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr and "nothing was run" in done.stderr
    assert not workspace.outputs.exists() and not workspace.store.exists()


# --- one outputs folder and one store, wherever the command runs from ------------------------------------


def _copy_of_the_repository(root: Path) -> Path:
    """runner.py and its package in a folder of their own, so their default outputs/ and store/ are new."""
    repo = root / "repo"
    repo.mkdir()
    shutil.copy(REPO / "runner.py", repo)
    shutil.copytree(
        REPO / "serverless_iris", repo / "serverless_iris", ignore=shutil.ignore_patterns("__pycache__")
    )
    return repo


def test_runs_from_another_folder_use_the_repository_outputs_and_store(tmp_path: Path) -> None:
    repo = _copy_of_the_repository(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in make_workspace(tmp_path).env.items() if k not in ("IRIS_STORE", "PYTHONPATH")}

    done = _runner(elsewhere, env, "--only", "feature", "--notebooks", str(FIXTURES / "ok"), repo=repo)

    assert done.returncode == 0, done.stdout + done.stderr
    assert list(elsewhere.iterdir()) == []  # neither outputs/ nor store/ here
    (run_json,) = (repo / "outputs" / "runs").glob("*/run.json")
    record = json.loads(run_json.read_text())
    identity = (repo / "store" / "store.id").read_text().strip()  # tells it from a later store at that path
    assert record["store"] == {"backend": "local", "path": str(repo / "store"), "id": identity}
    assert (repo / "store" / "run.lock").is_file() and (repo / "outputs" / "index.html").is_file()
    assert f"Store: local store {repo / 'store'}" in (repo / "outputs" / "index.html").read_text()


@pytest.mark.slow
def test_an_outputs_folder_refuses_the_runs_of_another_store(tmp_path: Path) -> None:
    space = make_workspace(tmp_path)
    first = space.run_here("--only", "feature", "--notebooks", str(FIXTURES / "ok"), "-q")
    assert first.returncode == 0, first.stdout + first.stderr
    other = tmp_path / "other-store"

    done = space.call(
        "--only", "feature", "--notebooks", str(FIXTURES / "ok"), env={"IRIS_STORE": str(other)}
    )

    assert done.returncode == 2, done.stdout + done.stderr
    assert f"holds the runs of another store (local store {space.store})" in done.stderr
    assert f"this run uses local store {other}" in done.stderr and "--outputs outputs-local" in done.stderr
    assert len(space.runs()) == 1 and not other.exists()
    args = ["--only", "feature", "--notebooks", str(FIXTURES / "ok")]
    separate = space.run_here(
        *args, "--outputs", str(tmp_path / "other-outputs"), env={"IRIS_STORE": str(other)}
    )
    assert separate.returncode == 0, separate.stdout + separate.stderr
    assert f"Store: local store {other}" in (tmp_path / "other-outputs" / "index.html").read_text()


# --- the first run: today's flower, inline figures whatever MPLBACKEND -----------------------------------


def test_a_first_run_adds_todays_flower_and_draws_figures_inline_under_mplbackend_agg(
    full_run: FullRun,
) -> None:
    """``full_run`` runs with ``MPLBACKEND=Agg``, as on many servers and CI images."""
    done, workspace = full_run.full, full_run.workspace

    assert done.returncode == 0, done.stdout + done.stderr
    assert "the store holds only the backfill: adding today's flower" in done.stdout
    record = workspace.runs()[0]
    assert [n["name"] for n in record["notebooks"]] == ["feature", "feature", "training", "inference"]
    assert record["notebooks"][1]["executed"] == "iris-feature-pipeline-2.ipynb"
    today = json.loads((workspace.outputs / "dashboard" / "dashboard.json").read_text())["today"]
    started = pd.Timestamp(record["started"])
    assert pd.Timestamp(today["event_time"]) >= started  # not the backfill's 01 Jan 2020
    rows = _iris_rows(workspace.store)
    assert (utc(rows["event_time"]) < started).sum() == 149  # the backfill
    assert len(rows) == 149 + 1 + 1  # today's flower, and the one the daily run added after it
    folder = workspace.outputs / "runs" / record["id"]
    for entry in record["notebooks"][2:]:  # training and inference draw figures
        executed = json.loads((folder / entry["executed"]).read_text())
        images = [
            o for c in executed["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})
        ]
        assert images, f"{entry['name']}: no inline figure"
        assert "data:image/png;base64," in (folder / entry["report"]).read_text()


# --- trained vs retrained, --keep, --help -----------------------------------------------------------------


@pytest.mark.slow
def test_keep_never_prunes_the_run_that_trained_the_model_in_use(workspace: Workspace) -> None:
    args = ("--only", "feature", "--notebooks", str(FIXTURES / "ok"), "-q")
    assert workspace.run(*args).returncode == 0  # processes: a run's id starts with its start second
    (trainer,) = [run["id"] for run in workspace.runs()]
    dashboard = workspace.outputs / "dashboard" / "dashboard.json"
    dashboard.write_text(json.dumps({"model": {"name": "iris", "version": 1, "training_run": trainer}}))
    for _ in range(2):
        done = workspace.run(*args, "--keep", "1")
        assert done.returncode == 0, done.stdout + done.stderr

    kept = sorted(p.name for p in (workspace.outputs / "runs").iterdir())
    assert len(kept) == 2 and kept[0] == trainer  # the newest run, and the model's


def test_help_shows_the_timeout_default() -> None:
    done = _runner(REPO, None, "--help")
    assert done.returncode == 0
    line = " ".join(done.stdout.split("--timeout S", 2)[2].split("-q, --quiet")[0].split())
    assert line == "per-cell timeout in seconds (default: none, a cell may run as long as it takes)"


# --- the Hopsworks login failure -------------------------------------------------------------------------


def test_a_failed_hopsworks_login_says_what_to_check_and_how_to_run_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = "hw-advice-test-key-never-print-me"
    monkeypatch.chdir(tmp_path)  # the SDK may look for a key file in the working directory
    for name, value in {
        "IRIS_BACKEND": "hopsworks",
        "HOPSWORKS_API_KEY": key,
        "HOPSWORKS_HOST": "127.0.0.1",
        "HOPSWORKS_PORT": "9",  # the discard port: refused at once, no network needed
        "HOPSWORKS_PROJECT": "iris_course",
    }.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(BackendError) as failed:
        login()

    message = str(failed.value)
    assert message.startswith("Hopsworks login failed: ConnectionError: ")
    assert "check the host and project (Hopsworks 127.0.0.1, project iris_course; HOPSWORKS_HOST, " in message
    assert "the network, and that HOPSWORKS_API_KEY is a key for them" in message
    assert message.endswith("to run offline on the embedded store, set IRIS_BACKEND=local")
    assert key not in message and "\n" not in message  # one line on the console and in run.json
