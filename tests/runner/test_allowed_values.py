"""Parameters declare their allowed values in the notebooks' parameters cells; ``-p`` outside them is
refused before anything runs, ``--list`` shows them, and papermill's own inspection still sees them."""

from __future__ import annotations

import ast
import subprocess
import sys

import papermill
import pytest
from support import REPO, Workspace

from serverless_iris.paths import NOTEBOOKS_DIR
from serverless_iris.runner.parameters import Parameter, ParameterError, read_parameters
from serverless_iris.runner.plan import PIPELINE

NOTEBOOKS = [NOTEBOOKS_DIR / name for name in PIPELINE.values()]


def _assigned_names(notebook_path) -> list[str]:
    """The names the ``parameters`` cell assigns, read with Python's own parser (not papermill's)."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    tree = ast.parse(cell.source)
    return [
        (node.target if isinstance(node, ast.AnnAssign) else node.targets[0]).id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
    ]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=list(PIPELINE))
def test_papermill_inspection_sees_every_parameter_of_the_cell(notebook) -> None:
    # papermill skips a parameters line holding a second "=": a condition written with >= would hide it
    assert list(papermill.inspect_notebook(str(notebook))) == _assigned_names(notebook)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=list(PIPELINE))
def test_every_default_is_an_allowed_value(notebook) -> None:
    for parameter in read_parameters(notebook).values():
        parameter.check(ast.literal_eval(parameter.default), parameter.default)


def test_the_parameters_users_tune_declare_their_allowed_values() -> None:
    declared = {name: read_parameters(NOTEBOOKS_DIR / nb) for name, nb in PIPELINE.items()}
    allowed = {(nb, p.name): p.allowed for nb, params in declared.items() for p in params.values()}
    assert allowed[("training", "TEST_SIZE")] == "0 < TEST_SIZE < 1"
    assert allowed[("training", "N_NEIGHBORS")] == "N_NEIGHBORS ≥ 1"
    assert allowed[("inference", "ACCURACY_THRESHOLD")] == "0 ≤ ACCURACY_THRESHOLD ≤ 1"
    assert allowed[("feature", "BACKFILL")] == "BACKFILL in (None, True, False)"
    assert allowed[("feature", "N_FLOWERS")] == "N_FLOWERS ≥ 1"
    assert (
        declared["training"]["TEST_SIZE"].description == "share of the flowers held out to evaluate the model"
    )


@pytest.mark.parametrize(
    ("help_text", "allowed", "description"),
    [
        ("share; 0 < X < 1", "0 < X < 1", "share"),
        ("seed; None: random; X is None or 0 ≤ X < 10", "X is None or 0 ≤ X < 10", "seed; None: random"),
        ("mode; X in ('a', 'b')", "X in ('a', 'b')", "mode"),
        ("None: automatic; else adds flowers", None, "None: automatic; else adds flowers"),
        ("about Y; 0 < Y < 1", None, "about Y; 0 < Y < 1"),  # a condition on another name
        ("calls; X > len('abc')", None, "calls; X > len('abc')"),  # only literals and comparisons
        ("plain help", None, "plain help"),
        ("", None, ""),
    ],
)
def test_allowed_values_are_the_condition_after_the_last_semicolon(
    help_text: str, allowed: str | None, description: str
) -> None:
    parameter = Parameter("X", "1", help_text)
    assert parameter.allowed == allowed
    assert parameter.description == description


@pytest.mark.parametrize(
    ("default", "condition", "good", "bad"),
    [
        ("0.2", "0 < X < 1", ["0.5", "0.01"], ["0", "1", "2", "-0.1"]),
        ("2", "X ≥ 1", ["1", "50"], ["0", "-3"]),
        ("None", "X is None or X ≥ 0", ["None", "0", "7"], ["-1", "abc"]),
        ("None", "X in (None, True, False)", ["none", "true", "False"], ["maybe", "2"]),
        ("0.8", "0 ≤ X ≤ 1", ["0", "1", "0.8"], ["1.5", "-0.01"]),
        ("1", "not X < 0", ["0", "3"], ["-1"]),
        ("3", "X ≥ 1 and X ≤ 5", ["1", "5"], ["0", "6"]),
        ("0", "X ≥ -2", ["-2", "0"], ["-3"]),
    ],
)
def test_values_outside_the_condition_are_refused(default: str, condition: str, good, bad) -> None:
    parameter = Parameter("X", default, f"what it does; {condition}")
    for text in good:
        parameter.check(parameter.convert(text), text)
    for text in bad:
        with pytest.raises(ParameterError) as refused:
            parameter.check(parameter.convert(text), text)
        assert (
            str(refused.value)
            == f"-p X={text}: not allowed; the notebook allows only {condition} (X: what it does)"
        )


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("TEST_SIZE=2", "-p TEST_SIZE=2: not allowed; the notebook allows only 0 < TEST_SIZE < 1"),
        ("N_NEIGHBORS=0", "-p N_NEIGHBORS=0: not allowed; the notebook allows only N_NEIGHBORS ≥ 1"),
        ("ACCURACY_THRESHOLD=1.5", "the notebook allows only 0 ≤ ACCURACY_THRESHOLD ≤ 1"),
        ("SEED=-1", "-p SEED=-1: not allowed; the notebook allows only SEED is None or SEED ≥ 0"),
        (
            "BACKFILL=maybe",
            "-p BACKFILL=maybe: not allowed; the notebook allows only BACKFILL in (None, True, False)",
        ),
    ],
)
def test_a_value_outside_the_allowed_ones_exits_2_before_anything_runs(
    workspace: Workspace, option: str, expected: str
) -> None:
    done = workspace.call("-p", option)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr
    assert "nothing was run" in done.stderr and done.stdout == ""
    assert not workspace.outputs.exists() and not workspace.store.exists()


def test_list_shows_the_allowed_values(workspace: Workspace) -> None:
    done = workspace.call("--list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("TEST_SIZE "))
    assert lines[at].split() == ["TEST_SIZE", "0.2", "share", "of", "the", "flowers", "held", "out", "to",
                                 "evaluate", "the", "model"]  # fmt: skip
    assert lines[at + 1].strip() == "allowed: 0 < TEST_SIZE < 1"
    assert "allowed: N_NEIGHBORS ≥ 1" in done.stdout
    assert "IRIS_CSV" in done.stdout and "giving it loads it, as --backfill" in done.stdout


def test_papermill_help_notebook_shows_the_allowed_values() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(NOTEBOOKS_DIR / PIPELINE["training"])],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "0 < TEST_SIZE < 1" in done.stdout and "N_NEIGHBORS ≥ 1" in done.stdout
