"""One executed notebook as HTML: the full report and the results-only view beside it.

Each page is a static file that renders fully offline: nbconvert's lab template would load require.js,
MathJax and mermaid from a CDN, so the report template drops those loaders and :func:`offline` disarms
any external ``src``/``href`` left in the page. The header shows the parameters, the slowest cells and,
when the notebook failed, a banner linking to the failing cell.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from serverless_iris.files import read_json, write_atomic
from serverless_iris.paths import kill_point
from serverless_iris.runner.outputs import INDEX_PAGE, RUN_FILE, in_run_folder, parse_time

TEMPLATES = Path(__file__).with_name("templates")
RESULTS_SUFFIX = ".results.html"
ERROR_TAG = "papermill-error-cell-tag"
ERROR_ANCHOR = "papermill-error-cell"
SLOWEST = 3
FAILURE_TITLES = {
    "timeout": "Cell timed out",
    "dead-kernel": "Kernel died",
    "interrupted": "Run interrupted",
}
# The error the runner (or papermill, for Ctrl-C) records in the failing cell, by failure kind.
FAILURE_KINDS = {
    "CellTimeoutError": "timeout",
    "DeadKernelError": "dead-kernel",
    "KeyboardInterrupt": "interrupted",
}

_lock = threading.Lock()  # the runner exports reports from a worker thread
_exporter: Any = None  # one per process: building one (templates, CSS) costs far more than using it


def write_report(executed: Path, html: Path) -> list[Path]:
    """Write the full report ``html`` and the results-only view beside it; return both paths."""
    import nbformat

    executed, html = Path(executed), Path(html)
    nb = nbformat.read(executed, as_version=4)
    results = html.with_suffix(RESULTS_SUFFIX)
    # run.json may not record this notebook's error yet (the runner writes reports while it goes on);
    # it is only the fallback for a failing cell that carries no error output.
    run = read_json(executed.parent / RUN_FILE) or {}
    entry = next((n for n in run.get("notebooks", []) if n.get("executed") == executed.name), {})
    _plain_tracebacks(nb)
    header = _annotate(nb, entry.get("error"))
    header["name"] = nb.metadata.get("title") or executed.stem
    header["run_id"] = run.get("id") or (executed.parent.name if in_run_folder(executed) else None)
    header["index_href"] = f"../../{INDEX_PAGE}" if in_run_folder(html) else None
    pages = ((html, "Full report", False), (results, "Results only", True))
    with _lock:
        for path, _, results_only in pages:
            views = [{"href": p.name, "label": label, "current": p == path} for p, label, _ in pages]
            resources = {
                "metadata": {"name": executed.stem, "path": str(executed.parent)},
                "report": {**header, "views": views},
            }
            write_atomic(path, offline(_blank_header_cells(_html(nb, resources, results_only))))
            kill_point("report")  # tests only: one page of the two is written
    return [html, results]


def warm_up() -> None:
    """Build both exporters and their lazily imported highlighters now (e.g. in a thread while the first
    notebook runs), so that the first report costs no more than the next ones."""
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# x\n- [x] *y*"), nbformat.v4.new_code_cell("x = 1")]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}  # as the kernel records
    with _lock:
        for results_only in (False, True):
            _html(nb, {"report": _annotate(nb, None)}, results_only)


def _html(nb: Any, resources: dict[str, Any], results_only: bool) -> str:
    """The page of one view (the caller holds ``_lock``): the results-only view hides inputs and prompts."""
    global _exporter
    if _exporter is None:
        from serverless_iris.runner.pages.html_export import report_exporter

        _exporter = report_exporter(TEMPLATES)
    _exporter.exclude_input = _exporter.exclude_output_prompt = results_only
    return _exporter.from_notebook_node(nb, resources=resources)[0]


def _plain_tracebacks(nb: Any) -> None:
    """Tracebacks without their ANSI colours: IPython paints them in 256-colour codes, which nbconvert
    inlines as styles too light to read on the error background (under 4.5:1 contrast)."""
    from nbconvert.filters import strip_ansi

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [strip_ansi(line) for line in output.get("traceback", [])]


def _annotate(nb: Any, error: dict[str, Any] | None) -> dict[str, Any]:
    """Mark each code cell with its duration, slowness rank and failure (``metadata.iris_report``, read by
    the template) and return the report header. papermill's own banner cells are dropped once the failing
    cell is found, because the header's banner links to that cell instead."""
    failing = next((c for c in nb.cells if _pm(c).get("exception") is True), None)
    banners = [c for c in nb.cells if ERROR_TAG in c.metadata.get("tags", [])]
    if failing is not None:
        nb.cells = [c for c in nb.cells if ERROR_TAG not in c.metadata.get("tags", [])]
    code = [c for c in nb.cells if c.cell_type == "code"]
    timed = sorted((c for c in code if _pm(c).get("duration")), key=lambda c: -_pm(c)["duration"])
    run = nb.metadata.get("papermill") or {}
    in_cells = sum(_pm(c)["duration"] for c in timed)
    total = run.get("duration") or in_cells
    slow = {id(c): rank for rank, c in enumerate(timed[:SLOWEST], 1)} if len(timed) > 1 else {}
    for number, cell in enumerate(code, 1):
        state = _pm(cell).get("status")
        cell.metadata["iris_report"] = {
            "anchor": ERROR_ANCHOR if cell is failing else f"cell-{number}",
            "failed": cell is failing,
            "state": state,
            "duration": _cell_duration(state, _pm(cell).get("duration")),
            "slow_rank": slow.get(id(cell)),
        }
    failed = failing is not None or bool(banners) or bool(run.get("exception"))
    return {
        "status": "failed" if failed else "succeeded",
        "started": format_time(run["start_time"]) if run.get("start_time") else None,
        "duration": format_duration(total) if total else None,
        "time_split": _time_split(total, in_cells),
        "parameters": _parameter_rows(nb),
        "slowest": [
            {
                "anchor": c.metadata["iris_report"]["anchor"],
                "label": f"{_cell_label(c)} · {_first_line(c.source)}",
                "duration": format_duration(_pm(c)["duration"]),
                "share": round(100 * _pm(c)["duration"] / total) if total else 0,
            }
            for c in timed[: len(slow)]
        ],
        "failure": _failure(failing, banners, error) if failed else None,
    }


def _time_split(total: float, in_cells: float) -> str | None:
    """Where the total time went, when the cells do not account for it: the rest is papermill's own work
    around them (starting the kernel, saving the executed notebook after each cell)."""
    rest = total - in_cells
    if not total or rest < 0.05:
        return None
    return (
        f"{format_duration(in_cells)} in the cells, {format_duration(rest)} starting the kernel "
        "and saving the notebook"
    )


def _failure(cell: Any, banners: list[Any], error: dict[str, Any] | None) -> dict[str, Any]:
    """The header banner: what failed, the error line, and a link to the failing cell when it exists."""
    error = error or {}
    outputs = [o for o in (cell.outputs if cell is not None else []) if o.get("output_type") == "error"]
    message = f"{outputs[0].ename}: {outputs[0].evalue}" if outputs else error.get("message")
    kind = FAILURE_KINDS.get(outputs[0].ename) if outputs else error.get("kind")
    where = f" at {_cell_label(cell)}" if cell is not None else ""
    linked = cell is not None or any(f'id="{ERROR_ANCHOR}"' in b.source for b in banners)
    return {
        "title": FAILURE_TITLES.get(kind, "Cell failed") + where,
        "message": message,
        "href": f"#{ERROR_ANCHOR}" if linked else None,
    }


def _parameter_rows(nb: Any) -> list[dict[str, Any]]:
    """The table of parameters: papermill's injected values over the ``parameters`` cell's defaults."""
    defaults = _tagged_assignments(nb, "parameters")
    injected = _tagged_assignments(nb, "injected-parameters")
    rows = []
    for name in [*defaults, *(n for n in injected if n not in defaults)]:
        default, help_text = defaults.get(name, ("—", ""))
        value = injected.get(name, (default, ""))[0]
        rows.append(
            {
                "name": name,
                "value": value,
                "default": default,
                "injected": name in injected,
                "help": help_text,
            }
        )
    return rows


def _tagged_assignments(nb: Any, tag: str) -> dict[str, tuple[str, str]]:
    """``name -> (value source, help comment)`` of the cell tagged ``tag``, read the way papermill reads
    a parameters cell (the runner's ``--list`` uses the same reader)."""
    from papermill.translators import PythonTranslator

    cell = next((c for c in nb.cells if tag in c.metadata.get("tags", [])), None)
    return {p.name: (p.default, p.help) for p in PythonTranslator.inspect(cell)} if cell is not None else {}


def _pm(cell: Any) -> dict[str, Any]:
    return cell.metadata.get("papermill") or {}


def _cell_label(cell: Any) -> str:
    count = cell.get("execution_count")
    return f"In [{count}]" if count else "a cell"


def _first_line(source: str, width: int = 60) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _cell_duration(state: str | None, seconds: float | None) -> str:
    if state == "pending":
        return "not run"
    if state == "running":
        return "did not finish"
    return format_duration(seconds) if seconds is not None else ""


def _blank_header_cells(page: str) -> str:
    """Empty header cells (pandas' tables leave one in the index's corner) as data cells: a header that
    says nothing leaves screen readers nothing to announce (axe-core's empty-table-header rule). Code
    is escaped in the page, so only rendered tables match."""
    return page.replace("<th></th>", "<td></td>")


_TAG = re.compile(r"<(?!a[\s>])[a-zA-Z][^<>]*>")
_EXTERNAL_ATTR = re.compile(
    r"""(\s)(src|href|srcset|poster|data|action)(\s*=\s*["']?\s*(?:https?:)?//)""", re.I
)
_EXTERNAL_CSS = re.compile(r"""(@import\s+(?:url\(\s*)?["']?|url\(\s*["']?)(?=(?:https?:)?//)""", re.I)


def offline(page: str) -> str:
    """Disarm every reference that would make the browser fetch from another host: ``src``/``href``
    (and kin) on any tag but ``<a>`` become ``data-offline-*``, and CSS ``url(//…)``/``@import`` point
    nowhere. Links people click (``<a href>``) stay."""
    page = _TAG.sub(lambda m: _EXTERNAL_ATTR.sub(r"\1data-offline-\2\3", m.group(0)), page)
    return _EXTERNAL_CSS.sub(r"\1about:blank#", page)


def format_time(value: str | datetime | None) -> str:
    """``27 Nov 2026 09:30 UTC`` for an ISO time (naive times are UTC); ``—`` when unknown."""
    moment = parse_time(value) if isinstance(value, str) else value
    if moment is None:
        return "—"
    return moment.astimezone(timezone.utc).strftime("%d %b %Y %H:%M UTC")


def format_duration(seconds: float | None) -> str:
    """``0.42 s``, ``12.3 s``, ``2 min 05 s``, ``1 h 02 min``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
