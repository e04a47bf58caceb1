"""Notebook parameters: what each notebook declares, and turning ``-p NAME=VALUE`` into typed values.

papermill only warns about an unknown parameter and injects whatever it is given, so a typo or a
wrong type fails minutes into a run, or silently does something else. The runner checks every
``-p`` against the parameters cells of the selected notebooks and converts it to the type of the
notebook's default before any kernel starts, then against the values the notebook allows.

The allowed values and the conversion are :mod:`serverless_iris.helpers.parameters`' (the notebooks
check their values with the same conditions).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from serverless_iris.helpers.parameters import Parameter, ParameterError

SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def read_parameters(notebook: Path) -> dict[str, Parameter]:
    """The parameters ``notebook`` declares, in cell order (papermill's ``inspect_notebook``)."""
    from serverless_iris.runner.kernels.startup import without_remote_io

    with without_remote_io():
        import papermill
    found = papermill.inspect_notebook(str(notebook))
    return {name: Parameter(name, info["default"], info["help"] or "") for name, info in found.items()}


def looks_secret(name: str) -> bool:
    """``*KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``: such values must come from the environment."""
    upper = name.upper()
    return any(marker in upper for marker in SECRET_MARKERS)


def parse_assignments(options: Iterable[str]) -> dict[str, str]:
    """``["N_FLOWERS=3", ...]`` as ``{"N_FLOWERS": "3"}`` (a later ``-p`` of a name wins).

    A secret-looking name is refused without echoing its value: papermill writes parameters into the
    executed notebook and the report, so secrets must come from the environment.
    """
    assignments: dict[str, str] = {}
    errors: list[str] = []
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            shown = "(not shown: it looks like a secret)" if looks_secret(option) else option
            errors.append(f"-p {shown}: expected NAME=VALUE with NAME a Python identifier")
        elif looks_secret(name):
            errors.append(
                f"-p {name}: a parameter whose name looks like a secret "
                f"({', '.join(f'*{m}*' for m in SECRET_MARKERS)}) is refused, because papermill writes "
                "parameters into the executed notebook and its report; set secrets in the environment "
                "(e.g. HOPSWORKS_API_KEY)"
            )
        else:
            assignments[name] = value
    if errors:
        raise ParameterError("\n".join(errors))
    return assignments


def resolve(
    assignments: Mapping[str, str], declared: Mapping[str, Mapping[str, Parameter]]
) -> dict[str, dict[str, Any]]:
    """Per notebook, the converted values of the assigned parameters it declares.

    ``declared`` maps a notebook's label to its parameters. A name declared by several notebooks gets
    the same text in each, converted to each one's default type; a name none declares is an error.
    """
    values: dict[str, dict[str, Any]] = {label: {} for label in declared}
    errors: list[str] = []
    for name, text in assignments.items():
        owners = [label for label, params in declared.items() if name in params]
        if not owners:
            known = sorted({p for params in declared.values() for p in params})
            guess = _did_you_mean(name, known)
            errors.append(
                f"-p {name}: unknown parameter{guess}; none of the selected notebooks "
                f"({', '.join(declared)}) declares it. Declared: {', '.join(known) or 'none'} "
                "(runner.py --list describes them)"
            )
            continue
        try:
            for label in owners:
                parameter = declared[label][name]
                values[label][name] = parameter.convert(text)
                parameter.check(values[label][name], text)
        except ParameterError as exc:
            errors.append(str(exc))
    if errors:
        raise ParameterError("\n".join(errors))
    return values


def _did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean N_NEIGHBORS?)`` for a name that differs from a declared one in case or by a typo."""
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    return f" (did you mean {lowered[close[0]]}?)" if close else ""
