"""HTML reports of executed notebooks and ``outputs/index.html`` (dashboard + run history).

Everything written here is a static file that renders fully offline: nbconvert's lab template would load
require.js, MathJax and mermaid from a CDN, so the report template drops those loaders and any external
``src``/``href`` left in the page is disarmed. The index inlines its data, CSS and JS, links only relative
paths, and is built from ``outputs/runs/*/run.json`` and ``outputs/dashboard/*`` alone (no backend login).
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from serverless_iris import flowers

TEMPLATES = Path(__file__).with_name("templates")
RESULTS_SUFFIX = ".results.html"
ERROR_TAG = "papermill-error-cell-tag"
ERROR_ANCHOR = "papermill-error-cell"
SLOWEST = 3
DASHBOARD_FIGURES = (
    ("df_recent.png", "Recent predictions", "The newest predictions against their labels."),
    ("confusion_matrix.png", "Confusion matrix", "All recorded predictions against their labels."),
    ("accuracy.png", "Accuracy over time", "Cumulative and rolling accuracy of the predictions."),
)
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

_lock = threading.Lock()  # the runner may export reports from a worker thread
_exporters: dict[bool, Any] = {}
_jinja: Any = None


# --- reports -----------------------------------------------------------------------------------------


def write_report(executed: Path, html: Path) -> list[Path]:
    """Write the full report ``html`` and the results-only view beside it; return both paths."""
    import nbformat

    executed, html = Path(executed), Path(html)
    nb = nbformat.read(executed, as_version=4)
    results = html.with_suffix(RESULTS_SUFFIX)
    # run.json may not record this notebook's error yet (the runner writes reports while it goes on);
    # it is only the fallback for a failing cell that carries no error output.
    run = _read_json(executed.parent / "run.json") or {}
    entry = next((n for n in run.get("notebooks", []) if n.get("executed") == executed.name), {})
    header = _annotate(nb, entry.get("error"))
    header["name"] = nb.metadata.get("title") or executed.stem
    header["run_id"] = run.get("id") or (
        executed.parent.name if executed.parent.parent.name == "runs" else None
    )
    header["index_href"] = "../../index.html" if html.parent.parent.name == "runs" else None
    pages = ((html, "Full report", False), (results, "Results only", True))
    with _lock:
        for path, _, results_only in pages:
            views = [{"href": p.name, "label": label, "current": p == path} for p, label, _ in pages]
            resources = {
                "metadata": {"name": executed.stem, "path": str(executed.parent)},
                "report": {**header, "views": views},
            }
            body, _ = _exporter(results_only).from_notebook_node(nb, resources=resources)
            _write_atomic(path, offline(body))
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
            _exporter(results_only).from_notebook_node(nb, resources={"report": _annotate(nb, None)})


def _exporter(results_only: bool) -> Any:
    """One exporter per view per process: building one (templates, CSS) costs far more than using it."""
    if results_only not in _exporters:
        from nbconvert import HTMLExporter

        _exporters[results_only] = HTMLExporter(
            template_name="lab",
            template_file="iris_report.html.j2",
            extra_template_paths=[str(TEMPLATES)],
            embed_images=True,
            exclude_input=results_only,
            exclude_output_prompt=results_only,
        )
    return _exporters[results_only]


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
    total = run.get("duration") or sum(_pm(c)["duration"] for c in timed)
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


# --- offline -----------------------------------------------------------------------------------------

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


# --- index -------------------------------------------------------------------------------------------


def write_index(outputs: Path) -> Path:
    """(Re)write ``outputs/index.html`` from the run archive and the dashboard folder."""
    outputs = Path(outputs)
    runs = [_run_view(outputs, run) for run in load_runs(outputs)]
    dashboard = _dashboard_view(outputs, runs)
    page = (
        _jinja_env()
        .get_template("iris_index.html.j2")
        .render(
            runs=runs,
            dashboard=dashboard,
            statuses=sorted({r["status"] for r in runs}),
            modes=sorted({r["mode"] for r in runs}),
            compare=[r["compare"] for r in runs],
            generated=format_time(datetime.now(timezone.utc)),
        )
    )
    index = outputs / "index.html"
    _write_atomic(index, offline(page))
    return index


def load_runs(outputs: Path) -> list[dict[str, Any]]:
    """Every readable ``outputs/runs/*/run.json``, newest first (run ids sort by their UTC start)."""
    runs = [_read_json(path) for path in (Path(outputs) / "runs").glob("*/run.json")]
    return sorted((r for r in runs if r and r.get("id")), key=lambda r: r["id"], reverse=True)


def effective_status(run: dict[str, Any]) -> str:
    """The status to show: a ``running`` run whose process is gone from this host was interrupted."""
    status = run.get("status", "running")
    if status == "running" and run.get("host") == socket.gethostname() and run.get("pid"):
        if not _process_alive(int(run["pid"]), run.get("started")):
            return "interrupted"
    return status


def _process_alive(pid: int, started: str | None) -> bool:
    """Whether ``pid`` runs and is the process that started at ``started`` (not a later one reusing it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    since_boot = _process_start(pid)
    begun = _parse_time(started)
    return since_boot is None or begun is None or since_boot <= begun.timestamp() + 1


def _process_start(pid: int) -> float | None:
    """The process's start as a Unix time, from /proc (None where there is no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
    except (OSError, StopIteration):
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")


def _run_view(outputs: Path, run: dict[str, Any]) -> dict[str, Any]:
    folder = f"runs/{run['id']}"
    status = effective_status(run)
    notebooks = []
    for entry in run.get("notebooks", []):
        links = [
            {"label": label, "href": f"{folder}/{entry[key]}"}
            for key, label in (("report", "report"), ("results_report", "results"))
            if entry.get(key) and (outputs / folder / entry[key]).is_file()
        ]
        error = entry.get("error") or {}
        notebooks.append(
            {
                "name": entry.get("name") or entry.get("notebook", "?"),
                "status": "interrupted"
                if status == "interrupted" and entry.get("status") == "running"
                else entry.get("status", "pending"),
                "duration": format_duration(entry.get("duration_s")),
                "links": links,
                "error": error.get("message"),
            }
        )
    parameters = {k: _show_value(v) for k, v in (run.get("parameters") or {}).items()}
    model = run.get("model") or {}
    view = {
        "id": run["id"],
        "status": status,
        "mode": run.get("mode") or "full",
        "started": format_time(run.get("started")),
        "duration": format_duration(run.get("duration_s")),
        "backend": run.get("backend") or "",
        "parameters": parameters,
        "notebooks": notebooks,
        "git_commit": (run.get("git_commit") or "")[:10],
        "retrained": run.get("retrained"),
        "argv": " ".join(run.get("argv") or []),
        "host": run.get("host") or "",
        "packages": run.get("packages") or {},
        "model": model,
    }
    view["compare"] = {
        k: view[k]
        for k in ("id", "status", "mode", "started", "duration", "backend", "git_commit", "parameters")
    } | {"notebooks": [{k: n[k] for k in ("name", "status", "duration")} for n in notebooks], "model": None}
    return view


def _dashboard_view(outputs: Path, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    folder = outputs / "dashboard"
    data = _read_json(folder / "dashboard.json")
    if not data:
        return None
    model = data.get("model") or {}
    trained_by = next((r for r in runs if r["id"] == model.get("training_run")), None)
    if trained_by:
        trained_by["compare"]["model"] = _model_summary(model)
    for run in runs:  # a run.json may record the model its run trained or used
        if run["model"] and not run["compare"]["model"]:
            run["compare"]["model"] = _model_summary(run["model"])
    today = data.get("today") or {}
    monitoring = {
        "rolling": [
            {"window": w, "value": _percent((data.get("rolling_accuracy") or {}).get(w))} for w in ("7", "30")
        ],
        "overall": _percent(data.get("history_accuracy")),
        "n": data.get("n_predictions") or 0,
        "alert": data.get("alert") or {},
        "threshold": _percent((data.get("alert") or {}).get("threshold")),
        "counts": _variety_counts(data.get("variety_counts") or {}),
        "recent": [
            {**p, "correct": p.get("predicted") == p.get("label"), "when": format_time(p.get("event_time"))}
            for p in reversed(data.get("recent") or [])
        ],
    }
    return {
        "generated": format_time(data.get("generated_at")),
        "today": {
            **today,
            "when": format_time(today.get("event_time")),
            "correct": bool(today) and today.get("predicted") == today.get("actual"),
            "predicted_img": _asset(outputs, "dashboard/latest_iris.png"),
            "actual_img": _asset(outputs, "dashboard/actual_iris.png"),
        }
        if today
        else None,
        "model": {
            **model,
            **_model_summary(model),
            "trained": format_time(model.get("created")),
            "training_run": model.get("training_run"),
            "training_report": _training_report(trained_by),
        },
        "monitoring": monitoring,
        "figures": [
            {"src": _asset(outputs, f"dashboard/{name}"), "title": title, "caption": caption}
            for name, title, caption in DASHBOARD_FIGURES
        ],
        "try_it": _try_it(outputs),
    }


def _model_summary(model: dict[str, Any]) -> dict[str, Any]:
    """Version, accuracy and F1 of a dashboard.json (or run.json) ``model``, formatted."""
    metrics = model.get("metrics") or {}
    return {
        "version": model.get("version"),
        "accuracy": _percent(metrics.get("accuracy")),
        "f1": f"{metrics['f1_macro']:.3f}" if isinstance(metrics.get("f1_macro"), int | float) else "—",
    }


def _training_report(run: dict[str, Any] | None) -> str | None:
    notebook = next((n for n in (run or {}).get("notebooks", []) if n["name"] == "training"), None)
    return notebook["links"][0]["href"] if notebook and notebook["links"] else None


def _variety_counts(counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Predicted against actual per variety, with bar lengths; none when the notebook recorded none."""
    if not counts:
        return []
    most = max([1, *(v.get(k, 0) for v in counts.values() for k in ("predicted", "actual"))])
    return [
        {
            "variety": variety,
            "predicted": counts.get(variety, {}).get("predicted", 0),
            "actual": counts.get(variety, {}).get("actual", 0),
            "predicted_pct": round(100 * counts.get(variety, {}).get("predicted", 0) / most),
            "actual_pct": round(100 * counts.get(variety, {}).get("actual", 0) / most),
        }
        for variety in flowers.VARIETIES
    ]


def _try_it(outputs: Path) -> str | None:
    """The Try-it form (H5's fragment) with the shipped flower pictures copied beside the dashboard."""
    model = _read_json(outputs / "dashboard" / "knn_model.json")
    if not model:
        return None
    from markupsafe import Markup

    from serverless_iris.runner.tryit_page import try_it_html

    pictures = {}
    for variety in flowers.VARIETIES:
        source = flowers.flower_picture(variety)
        if source.is_file():
            target = outputs / "dashboard" / "flowers" / source.name
            if not target.is_file() or target.read_bytes() != source.read_bytes():
                _write_atomic(target, source.read_bytes())
            pictures[variety] = f"dashboard/flowers/{source.name}"
    return Markup(try_it_html(model, pictures))


def _asset(outputs: Path, relative: str) -> str | None:
    """A relative URL for a file of the outputs folder (versioned by mtime so browsers and Pages'
    cache show today's picture), or None when the file is missing."""
    path = outputs / relative
    return f"{relative}?v={int(path.stat().st_mtime)}" if path.is_file() else None


def _jinja_env() -> Any:
    global _jinja
    if _jinja is None:
        import jinja2

        _jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
        )
    return _jinja


# --- formatting and files ----------------------------------------------------------------------------


def format_time(value: str | datetime | None) -> str:
    """``27 Nov 2026 09:30 UTC`` for an ISO time (naive times are UTC); ``—`` when unknown."""
    moment = _parse_time(value) if isinstance(value, str) else value
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


def _parse_time(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "—"


def _show_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_atomic(path: Path, data: str | bytes) -> None:
    """Write through a temp file in the same folder and ``os.replace``: readers (a browser, GitHub
    Pages' upload) never see half a file, and a crash leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
