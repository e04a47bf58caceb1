"""Notebook parameters: what each notebook declares, and turning ``-p NAME=VALUE`` into typed values.

papermill only warns about an unknown parameter and injects whatever it is given, so a typo or a
wrong type fails minutes into a run, or silently does something else. The runner checks every
``-p`` against the parameters cells of the selected notebooks and converts it to the type of the
notebook's default before any kernel starts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_LITERALS = {"true": True, "false": False, "none": None, "null": None}
_TYPE_NAMES = {bool: "a boolean (true or false)", int: "an integer", float: "a number", str: "a string"}


class ParameterError(ValueError):
    """A ``-p`` option is malformed, unknown, secret-looking or of the wrong type (one line per problem)."""


@dataclass(frozen=True)
class Parameter:
    """One line of a notebook's ``parameters`` cell, as papermill's ``inspect_notebook`` reads it."""

    name: str
    default: str  # the default's source text, e.g. "None", "0.2", "'iris'"
    help: str

    @property
    def type(self) -> type | None:
        """The type values are converted to: the default's, or ``None`` (no literal default, or ``None``)."""
        try:
            value = ast.literal_eval(self.default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
        return type(value) if type(value) in _TYPE_NAMES else None

    def convert(self, text: str) -> Any:
        """``text`` as a value of the default's type; without one, a Python literal or else the text."""
        kind = self.type
        if kind is None:
            return _literal_or_text(text)
        if kind is str:
            return text
        if kind is bool:
            word = text.strip().lower()
            if word in _TRUE | _FALSE:
                return word in _TRUE
        else:
            try:
                return kind(text)
            except ValueError:
                pass
        raise ParameterError(
            f"-p {self.name}={text}: {self.name} expects {_TYPE_NAMES[kind]} (its default is {self.default})"
        )


def read_parameters(notebook: Path) -> dict[str, Parameter]:
    """The parameters ``notebook`` declares, in cell order (papermill's ``inspect_notebook``)."""
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
            errors.append(
                f"-p {name}: unknown parameter; none of the selected notebooks ({', '.join(declared)}) "
                f"declares it. Declared: {', '.join(known) or 'none'} (runner.py --list describes them)"
            )
            continue
        try:
            for label in owners:
                values[label][name] = declared[label][name].convert(text)
        except ParameterError as exc:
            errors.append(str(exc))
    if errors:
        raise ParameterError("\n".join(errors))
    return values


def _literal_or_text(text: str) -> Any:
    """A number, boolean or None written as a Python literal (or true/false/none/null), else the text."""
    word = text.strip()
    if word.lower() in _LITERALS:
        return _LITERALS[word.lower()]
    try:
        value = ast.literal_eval(word)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return value if value is None or type(value) in (bool, int, float) else text
