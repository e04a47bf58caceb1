"""The exact words of every ``-p`` refusal, and the redaction without a key: what mutation testing of
runner/parameters.py and backend.redact found no test to pin down (README, Development)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from serverless_iris.backend import KEY_ENV, redact
from serverless_iris.runner.parameters import (
    Parameter,
    ParameterError,
    parse_assignments,
    read_parameters,
    resolve,
)

SECRET_REFUSAL = (
    "-p {name}: a parameter whose name looks like a secret (*KEY*, *TOKEN*, *SECRET*, *PASSWORD*) is "
    "refused, because papermill writes parameters into the executed notebook and its report; set secrets "
    "in the environment (e.g. HOPSWORKS_API_KEY)"
)


def _refusal(call, *args) -> list[str]:
    with pytest.raises(ParameterError) as caught:
        call(*args)
    return str(caught.value).split("\n")


def test_every_refusal_of_parse_assignments_is_one_exact_line() -> None:
    lines = _refusal(parse_assignments, ["3=x", "API_KEY=v", "MY_TOKEN:abc", "N=1"])

    assert lines == [
        "-p 3=x: expected NAME=VALUE with NAME a Python identifier",
        SECRET_REFUSAL.format(name="API_KEY"),
        "-p (not shown: it looks like a secret): expected NAME=VALUE with NAME a Python identifier",
    ]


def test_every_refusal_of_resolve_is_one_exact_line() -> None:
    declared = {"feature": {"N": Parameter("N", "1", "")}, "training": {"R": Parameter("R", "0.5", "")}}

    lines = _refusal(resolve, {"X": "1", "N": "many"}, declared)

    assert lines == [
        "-p X: unknown parameter; none of the selected notebooks (feature, training) declares it. "
        "Declared: N, R (runner.py --list describes them)",
        "-p N=many: N expects an integer (its default is 1)",
    ]


def test_an_unknown_name_when_no_notebook_declares_anything() -> None:
    assert _refusal(resolve, {"X": "1"}, {"feature": {}}) == [
        "-p X: unknown parameter; none of the selected notebooks (feature) declares it. "
        "Declared: none (runner.py --list describes them)"
    ]


def test_a_name_typed_in_lower_case_gets_did_you_mean() -> None:
    declared = {
        "training": {"N_NEIGHBORS": Parameter("N_NEIGHBORS", "2", ""), "SEED": Parameter("SEED", "42", "")}
    }

    assert _refusal(resolve, {"n_neighbors": "5", "SEDE": "1"}, declared) == [
        "-p n_neighbors: unknown parameter (did you mean N_NEIGHBORS?); none of the selected notebooks "
        "(training) declares it. Declared: N_NEIGHBORS, SEED (runner.py --list describes them)",
        "-p SEDE: unknown parameter (did you mean SEED?); none of the selected notebooks (training) "
        "declares it. Declared: N_NEIGHBORS, SEED (runner.py --list describes them)",
    ]


def test_a_parameter_without_a_comment_has_an_empty_help(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("PLAIN = 1\nNOTED = 2  # documented")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "n.ipynb")

    assert read_parameters(tmp_path / "n.ipynb") == {
        "PLAIN": Parameter("PLAIN", "1", ""),
        "NOTED": Parameter("NOTED", "2", "documented"),
    }


def test_redact_without_a_key_returns_the_text_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert redact("nothing to hide") == "nothing to hide"
    monkeypatch.setenv(KEY_ENV, "")
    assert redact("nothing to hide") == "nothing to hide"
    monkeypatch.setenv(KEY_ENV, "k3y")
    assert redact("a k3y and k3y") == "a *** and ***"
