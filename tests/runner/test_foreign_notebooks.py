"""``runner.py --notebooks DIR`` on a folder of someone else's Hopsworks notebooks: the serverless-ML
course's Lab 1 (tests/fixtures/course-lab1: its calls, in its order), unchanged, in the course's folder
layout. They call ``hopsworks.login()``; the runner's kernels answer it with the embedded store.

Network cells of the course and how they are met here: ``!pip install hopsworks`` (feature, training) runs
with ``PIP_NO_INDEX=1``, so pip finds the package installed and reaches no index; the backfill's
``pd.read_csv("https://repo.hops.works/...")`` runs only with ``BACKFILL=True``, and the notebook as
published has ``BACKFILL = False``: the store is backfilled first, in-process, as the course's first run
would (tests/test_offline_kernel.py runs that first run itself, with a local file URL).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from support import FIXTURES, OFFLINE_PIP, Workspace, course_backfill, course_checkout

from serverless_iris.embedded.project import LocalProject
from serverless_iris.paths import ASSETS_DIR, FORK_KERNELS_ENV

COURSE_ORDER = ["iris-feature-pipeline", "iris-train-pipeline", "iris-batch-inference-pipeline"]


def test_the_course_notebooks_run_unchanged_in_pipeline_order_with_their_reports(
    workspace: Workspace, tmp_path: Path
) -> None:
    module = course_checkout(tmp_path / "course")
    course_backfill(workspace.store)

    done = workspace.run_here("--notebooks", str(module), "-q", env=OFFLINE_PIP)

    assert done.returncode == 0, done.stdout + done.stderr
    (record,) = workspace.runs()
    assert record["mode"] == "folder" and record["status"] == "succeeded"
    assert [n["name"] for n in record["notebooks"]] == COURSE_ORDER  # not name order: inference is last
    assert [n["notebook"] for n in record["notebooks"]] == [f"{name}.ipynb" for name in COURSE_ORDER]
    assert "problem:" not in done.stdout and (workspace.outputs / "index.html").is_file()
    folder = workspace.outputs / "runs" / record["id"]
    for entry in record["notebooks"]:
        assert entry["status"] == "succeeded"
        assert "Embedded Hopsworks stand-in, store " in (folder / entry["executed"]).read_text()
        assert (folder / entry["report"]).read_text(encoding="utf-8").rstrip().endswith("</html>")
    project = LocalProject(workspace.store)
    fs = project.get_feature_store()
    backfilled = len(pd.read_csv(ASSETS_DIR / "iris.csv"))
    assert len(fs.get_feature_group(name="iris", version=1).read()) == backfilled + 1  # and the daily flower
    (prediction,) = fs.get_feature_group(name="iris_predictions", version=1).read().to_dict("records")
    assert prediction["prediction"] in {"Setosa", "Versicolor", "Virginica"}
    model = project.get_model_registry().get_model("iris", version=1)
    assert 0.8 <= model.training_metrics["accuracy"] <= 1.0
    for picture in ("latest_iris.png", "actual_iris.png", "df_recent.png"):  # written to ../../assets
        assert (tmp_path / "course" / "assets" / picture).stat().st_size > 0, picture


def test_list_shows_another_folders_notebooks_in_the_order_they_run(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = workspace.call("--list", "--notebooks", str(course_checkout(tmp_path / "course")))
    assert done.returncode == 0, done.stderr
    listed = [line for line in done.stdout.splitlines() if not line.startswith(" ")]
    assert listed == [f"{name}: {name}.ipynb" for name in COURSE_ORDER]
    assert done.stdout.count("(no parameters)") == 3


def test_a_folder_without_notebooks_is_refused_and_nothing_is_written(
    workspace: Workspace, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = workspace.call("--notebooks", str(empty))
    assert done.returncode == 2
    assert f"notebook not found: {empty} holds no *.ipynb (--notebooks names the folder)" in done.stderr
    assert not workspace.outputs.exists() and not workspace.store.exists()


@pytest.mark.parametrize("forked", ["1", "0"], ids=["forked-kernel", "kernel-from-scratch"])
def test_hopsworks_login_opens_the_embedded_store_in_either_kind_of_kernel(
    workspace: Workspace, forked: str
) -> None:
    folder = FIXTURES / "hopsworks-login"
    done = workspace.run_here("--notebooks", str(folder), "-q", env={FORK_KERNELS_ENV: forked})

    assert done.returncode == 0, done.stdout + done.stderr
    (record,) = workspace.runs()
    (entry,) = record["notebooks"]
    executed = nbformat.read(workspace.outputs / "runs" / record["id"] / entry["executed"], as_version=4)
    printed = "".join(output.get("text", "") for output in executed.cells[-1].outputs)
    assert printed.splitlines() == [
        f"Embedded Hopsworks stand-in, store {workspace.store} (offline, not Hopsworks; "
        "set HOPSWORKS_API_KEY to use Hopsworks)",
        f"LocalProject {workspace.store}",
    ]


def test_help_says_how_another_folder_runs() -> None:
    from serverless_iris.runner.cli import build_parser

    text = " ".join(build_parser().format_help().split())
    assert "python runner.py --notebooks DIR DIR without the three pipeline notebooks" in text
    assert "feature pipelines first, then training, then inference" in text
