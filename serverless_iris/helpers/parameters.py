"""The allowed values of a notebook's parameters, and converting text to a parameter's type.

A parameter declares its allowed values after the last ``;`` of its comment in the notebook's
``parameters`` cell, as a Python condition on its own name that a reader of the notebook can read, e.g.
``TEST_SIZE: float = 0.2  # share of the flowers held out; 0 < TEST_SIZE < 1``. Written ``≤`` and ``≥``:
papermill skips a parameters line holding a second ``=``. It keeps the whole comment as the parameter's
help, so ``papermill --help-notebook`` shows the condition too, and the annotation as its type.

``runner.py`` checks ``-p`` values with these before any kernel starts; the notebooks check the values
they were given with :func:`check_parameters` right after their parameters cell, so a notebook run by
papermill alone or in Jupyter refuses a value the runner would refuse, before it does any work.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverless_iris.paths import NOTEBOOKS_DIR

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

    def check(self, value: Any, text: str, option: bool = True) -> None:
        """Refuse ``value`` (converted from ``text``) when the notebook's condition does not hold for it;
        the message names it as the ``-p`` option that gave it, or (``option`` False) as the notebook
        holds it."""
        condition = _condition(self.allowed or "", self.name)
        if condition is not None and not _holds(condition, value):
            given = f"-p {self.name}={text}" if option else f"{self.name} = {text}"
            raise ParameterError(
                f"{given}: not allowed; the notebook allows only {self.allowed} "
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


def declared(notebook: Path) -> dict[str, Parameter]:
    """The parameters of ``notebook``'s cell tagged ``parameters``: each assignment's name, the source of
    its default and its comment, as papermill's ``inspect_notebook`` reads them (without importing
    papermill, which takes seconds: a notebook calls this in its kernel)."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    source = "".join(tagged[0]["source"]) if tagged else ""
    lines = source.splitlines()
    found = {}
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (node.targets or [None])[0]
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(target, ast.Name) and node.value:
            default = ast.get_source_segment(source, node.value) or ""
            comment = _comment(lines[node.end_lineno - 1])
            found[target.id] = Parameter(target.id, default, comment)
    return found


def _comment(line: str) -> str:
    """The text of ``line``'s comment, without the ``#`` (a parameters line holds no ``#`` in a string)."""
    tokens = tokenize.generate_tokens(io.StringIO(line).readline)
    try:
        return next((t.string[1:].strip() for t in tokens if t.type == tokenize.COMMENT), "")
    except tokenize.TokenError:
        return ""


def check_parameters(notebook: str, values: Mapping[str, Any]) -> None:
    """Refuse the parameter ``values`` (a notebook's ``globals()``) that notebook ``notebook`` of the
    repository's notebooks/ does not allow; every refusal in one :class:`ParameterError`."""
    errors = []
    for name, parameter in declared(NOTEBOOKS_DIR / notebook).items():
        try:
            parameter.check(values.get(name), repr(values.get(name)), option=False)
        except ParameterError as exc:
            errors.append(str(exc))
    if errors:
        raise ParameterError("\n".join(errors))


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
