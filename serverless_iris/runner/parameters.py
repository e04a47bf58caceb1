"""Notebook parameters: what each notebook declares, and turning ``-p NAME=VALUE`` into typed values.

papermill only warns about an unknown parameter and injects whatever it is given, so a typo or a
wrong type fails minutes into a run, or silently does something else. The runner checks every
``-p`` against the parameters cells of the selected notebooks and converts it to the type of the
notebook's default before any kernel starts, then against the values the notebook allows.

A parameter declares its allowed values after the last ``;`` of its comment, as a Python condition on
its own name that a reader of the notebook can read, e.g.
``TEST_SIZE = 0.2  # share of the flowers held out; 0 < TEST_SIZE < 1``. Written ``≤`` and ``≥``:
papermill skips a parameters line holding a second ``=``. It keeps the whole comment as the parameter's
help, so ``papermill --help-notebook`` shows the condition too.
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


_COMPARISONS = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}


class ParameterError(ValueError):
    """A ``-p`` option is malformed, unknown, secret-looking, of the wrong type or not allowed (one line
    per problem)."""


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

    @property
    def allowed(self) -> str | None:
        """The condition after the help's last ``;`` when it is one on this parameter, e.g. ``N >= 1``."""
        _, _, last = self.help.rpartition(";")
        return last.strip() if _condition(last.strip(), self.name) is not None else None

    @property
    def description(self) -> str:
        """The help without its allowed values."""
        return self.help.rpartition(";")[0].strip() if self.allowed else self.help

    def check(self, value: Any, text: str) -> None:
        """Refuse ``value`` (converted from ``text``) when the notebook's condition does not hold for it."""
        condition = _condition(self.allowed or "", self.name)
        if condition is not None and not _holds(condition, value):
            raise ParameterError(
                f"-p {self.name}={text}: not allowed; the notebook allows only {self.allowed} "
                f"({self.name}: {self.description})"
            )

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
            errors.append(
                f"-p {name}: unknown parameter; none of the selected notebooks ({', '.join(declared)}) "
                f"declares it. Declared: {', '.join(known) or 'none'} (runner.py --list describes them)"
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


def _condition(text: str, name: str) -> ast.expr | None:
    """``text`` parsed as a condition on ``name`` made only of comparisons, and/or/not and literals."""
    try:
        tree = ast.parse(text.replace("≤", "<=").replace("≥", ">="), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(tree, ast.Compare | ast.BoolOp | ast.UnaryOp):
        return None
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    allowed = (ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.Not, ast.USub, ast.UnaryOp, ast.Constant)
    allowed += (ast.Name, ast.Load, ast.Tuple, ast.List, ast.Set, *_COMPARISONS)
    if names != {name} or not all(isinstance(node, allowed) for node in ast.walk(tree)):
        return None
    return tree


def _holds(node: ast.expr, value: Any) -> Any:
    """Evaluate a condition from :func:`_condition` with its one name bound to ``value``; a comparison that
    Python refuses (``None < 1``) is false."""
    if isinstance(node, ast.Name):
        return value
    if isinstance(node, ast.BoolOp):
        results = (_holds(operand, value) for operand in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp):
        operand = _holds(node.operand, value)
        return not operand if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.Compare):
        left = _holds(node.left, value)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _holds(right_node, value)
            try:
                if not _COMPARISONS[type(op)](left, right):
                    return False
            except TypeError:
                return False
            left = right
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [_holds(item, value) for item in node.elts]
    assert isinstance(node, ast.Constant)
    return node.value
