"""The notebooks' own check of their parameters (helpers/parameters.py), as papermill alone runs them."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from serverless_iris.helpers.parameters import ParameterError, check_parameters, declared
from serverless_iris.paths import NOTEBOOKS_DIR
from serverless_iris.runner.parameters import read_parameters
from serverless_iris.runner.plan import PIPELINE


@pytest.mark.parametrize("notebook", PIPELINE.values())
def test_the_notebooks_read_their_parameters_as_papermill_does(notebook: str) -> None:
    assert declared(NOTEBOOKS_DIR / notebook) == read_parameters(NOTEBOOKS_DIR / notebook)


def test_annotated_plain_and_uncommented_lines_read_as_papermill_reads_them(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        'A: int = 1  # annotated; A ≥ 1\nB = "x"\n'
        'C: "str or None" = None  # text; C is None\n# a note\nD = 0.5'
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A = 2  # not code"), cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "n.ipynb")

    assert declared(tmp_path / "n.ipynb") == read_parameters(tmp_path / "n.ipynb")


def test_every_value_a_notebook_does_not_allow_is_named_at_once() -> None:
    values = {"version": 0, "MODEL_VERSION": None, "TEST_SIZE": 1.5, "N_NEIGHBORS": 0, "SEED": 42}
    with pytest.raises(ParameterError) as refused:
        check_parameters(PIPELINE["training"], values)
    assert str(refused.value).splitlines() == [
        "version = 0: not allowed; the notebook allows only version ≥ 1 "
        "(version: version of the iris feature group and of its feature view)",
        "TEST_SIZE = 1.5: not allowed; the notebook allows only 0 < TEST_SIZE < 1 "
        "(TEST_SIZE: share of the flowers held out to evaluate the model)",
        "N_NEIGHBORS = 0: not allowed; the notebook allows only N_NEIGHBORS ≥ 1 "
        "(N_NEIGHBORS: neighbours the KNN classifier consults)",
    ]
    check_parameters(PIPELINE["training"], values | {"version": 1, "TEST_SIZE": 0.2, "N_NEIGHBORS": 3})
