"""``outputs/index.html``: the dashboard (model card, monitoring, Try-it form) and the run history.

The page is built from ``outputs/runs/*/run.json`` and the dashboard folder alone (no backend login).
It inlines its data, CSS and JS and links only relative paths, so it works opened from ``file://`` and
as a static site. The Try-it form carries the exported k-nearest-neighbours model
(``serverless_iris.helpers.tryit.export_knn``) and ``templates/knn.js``, which replays scikit-learn's k-d tree
query, so the page predicts with no server.
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from markupsafe import Markup

from serverless_iris.backend import HOST_ENV, KEY_ENV, PROJECT_ENV, describe_store_record
from serverless_iris.files import write_atomic
from serverless_iris.helpers import dashboard_files, flowers
from serverless_iris.helpers.contract import LIMITS_CM
from serverless_iris.helpers.wording import plural
from serverless_iris.paths import OUTPUTS_DIR, REPO_ROOT, STORE_ENV
from serverless_iris.runner.outputs import (
    INDEX_PAGE,
    earlier_store,
    effective_status,
    load_runs,
    reached_store,
)
from serverless_iris.runner.pages.report import TEMPLATES, format_duration, format_time, offline

DASHBOARD_FIGURES = (
    (dashboard_files.RECENT_TABLE, "Recent predictions", "The newest predictions against their labels."),
    (dashboard_files.CONFUSION_MATRIX, "Confusion matrix", "All recorded predictions against their labels."),
    (dashboard_files.ACCURACY_PLOT, "Accuracy over time", "Cumulative and rolling accuracy of predictions."),
    (
        dashboard_files.TRAINING_CONFUSION_MATRIX,
        "Test set at training",
        "The newest training run's model on its held-out test flowers.",
    ),
)

MODEL_ROLES = ("trained", "predicted_with")  # run.json "model": the model trained, the one that predicted

_jinja: Any = None


def write_index(outputs: Path) -> Path:
    """(Re)write ``outputs/index.html`` from the run archive and the dashboard folder."""
    outputs = Path(outputs)
    records = load_runs(outputs)
    store = _store(records)
    runs = [_run_view(outputs, run) | {"earlier_store": earlier_store(run, store)} for run in records]
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
            store=describe_store_record(store) if store else None,
            create_command=create_command(outputs, store),
            generated=format_time(datetime.now(timezone.utc)),
        )
    )
    index = outputs / INDEX_PAGE
    write_atomic(index, offline(page))
    return index


def write_dashboard_page(dashboard_dir: Path) -> Path | None:
    """Rewrite the page of the outputs folder whose ``dashboard/`` is ``dashboard_dir``, from the notebooks:
    whatever draws the pictures also makes the page's text agree with them, under ``runner.py`` or not.
    None (nothing written) when ``dashboard_dir`` is no outputs folder's dashboard."""
    folder = Path(dashboard_dir).resolve()
    if folder.name != dashboard_files.DASHBOARD_FOLDER:
        return None
    return write_index(folder.parent)


def warm_up() -> None:
    """Compile the index template now (e.g. while a notebook runs), not after the last notebook."""
    _jinja_env().get_template("iris_index.html.j2")


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
    model = run.get("model") if isinstance(run.get("model"), dict) else {}
    models = {role: _model_summary(model[role]) if model.get(role) else None for role in MODEL_ROLES}
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
        "training": _training(run),
        "argv": " ".join(run.get("argv") or []),
        "host": run.get("host") or "",
        "packages": run.get("packages") or {},
        "models": models,
    }
    view["compare"] = {
        k: view[k]
        for k in ("id", "status", "mode", "started", "duration", "backend", "git_commit", "parameters")
    } | {"notebooks": [{k: n[k] for k in ("name", "status", "duration")} for n in notebooks], "model": models}
    return view


def _training(run: dict[str, Any]) -> str | None:
    """Why the run trained: a first model (``trained``) or after the accuracy alert (``retrained``)."""
    if run.get("trained"):
        return f"trained: {run['trained']}"
    return f"retrained: {run['retrained']}" if run.get("retrained") else None


def _store(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The store the archive's runs reached (the runner keeps one store per outputs folder), newest first."""
    return next((store for store in map(reached_store, runs) if store), None)


def create_command(outputs: Path, store: dict[str, Any] | None) -> str:
    """The command that adds a run to this outputs folder, for the page to suggest: one the runner
    accepts, on the store the folder's runs reached (``store``), into this folder."""
    words = ["python", "runner.py"]
    if Path(outputs).resolve() != OUTPUTS_DIR.resolve():
        words += ["--outputs", str(outputs)]
    if not store:
        return " ".join(words)
    if store.get("backend") == "local":
        path = store.get("path")
        default = path is None or Path(path).resolve() == (REPO_ROOT / "store").resolve()
        return " ".join(([] if default else [f"{STORE_ENV}={path}"]) + words)
    env = [f"{KEY_ENV}=<your key>", f"{HOST_ENV}={store.get('host')}"]
    env += [f"{PROJECT_ENV}={store['project']}"] if store.get("project") else []
    return " ".join(env + words)


def _dashboard_view(outputs: Path, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    data = dashboard_files.read_dashboard(outputs / dashboard_files.DASHBOARD_FOLDER)
    if not data:
        return None
    model = data.get("model") or {}
    trained_by = next((r for r in runs if r["id"] == model.get("training_run")), None)
    if trained_by and not trained_by["models"]["trained"]:  # a run.json older than its model record
        trained_by["models"]["trained"] = _model_summary(model)
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
            "predicted_img": _asset(outputs, dashboard_files.PREDICTED_PICTURE),
            "actual_img": _asset(outputs, dashboard_files.ACTUAL_PICTURE),
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
            {
                "src": _asset(outputs, name),
                "title": title,
                "caption": _trained_caption(outputs, model)
                if name == dashboard_files.TRAINING_CONFUSION_MATRIX
                else caption,
            }
            for name, title, caption in DASHBOARD_FIGURES
        ],
        "try_it": _try_it(outputs),
    }


def _model_summary(model: dict[str, Any]) -> dict[str, Any]:
    """Version, accuracy, F1, training parameters and why it predicts (when it did) of a model card
    (``helpers.dashboard.model_card``: dashboard.json, trained_model.json, run.json), formatted."""
    metrics = model.get("metrics") or {}
    parameters = model.get("parameters") or {}
    return {
        "version": model.get("version"),
        "accuracy": _percent(metrics.get("accuracy")),
        "f1": f"{metrics['f1_macro']:.3f}" if isinstance(metrics.get("f1_macro"), int | float) else "—",
        "parameters": ", ".join(f"{k}={_show_value(v)}" for k, v in parameters.items()) or "not recorded",
        "chosen": model.get("chosen") or "—",
    }


def _trained_caption(outputs: Path, in_use: dict[str, Any]) -> str:
    """Which model the training confusion matrix belongs to, and whether it is the model in use."""
    trained = dashboard_files.read_trained(outputs / dashboard_files.DASHBOARD_FOLDER)
    if not trained:
        return "The newest training run's model on its held-out test flowers."
    summary = _model_summary(trained)
    flowers_ = trained.get("test_flowers")
    held_out = f"its {plural(flowers_, 'held-out test flower')}" if flowers_ else "its held-out test flowers"
    caption = f"Model v{summary['version']} ({summary['parameters']}) on {held_out}: {summary['accuracy']}."
    if trained.get("version") != in_use.get("version"):
        caption += f" Not the model in use (v{in_use.get('version', '?')})."
    return caption


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
    """The Try-it form with the shipped flower pictures copied beside the dashboard; None without a model."""
    folder = outputs / dashboard_files.DASHBOARD_FOLDER
    model = dashboard_files.read_knn_model(folder)
    if not model:
        return None
    pictures = {}
    for variety in flowers.VARIETIES:
        source = flowers.flower_picture(variety)
        if source.is_file():
            target = folder / dashboard_files.FLOWER_PICTURES / source.name
            if not target.is_file() or target.read_bytes() != source.read_bytes():
                write_atomic(target, source.read_bytes())
            pictures[variety] = target.relative_to(outputs).as_posix()
    return Markup(try_it_html(model, pictures))


def _asset(outputs: Path, name: str) -> str | None:
    """A relative URL for file ``name`` of the dashboard folder (versioned by mtime so browsers and
    Pages' cache show today's picture), or None when the file is missing."""
    relative = f"{dashboard_files.DASHBOARD_FOLDER}/{name}"
    path = outputs / relative
    return f"{relative}?v={int(path.stat().st_mtime)}" if path.is_file() else None


def _jinja_env() -> Any:
    global _jinja
    if _jinja is None:
        import jinja2

        _jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
        )
        _jinja.filters["plural"] = plural
        _jinja.filters["script_json"] = lambda value: Markup(_script_json(value))
    return _jinja


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "—"


def _show_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- Try it ---------------------------------------------------------------------------------------


def try_it_html(model_json: dict[str, Any], pictures: dict[str, str]) -> str:
    """Return the self-contained "Try it" HTML fragment (form, ``#prediction``, style, script).

    The model and the pictures (variety -> image URL relative to the page) are inlined because a page
    opened from ``file://`` cannot fetch JSON. The inputs start at the training data's medians.
    """
    missing = [variety for variety in model_json["classes"] if variety not in pictures]
    if missing:
        raise ValueError(
            f"try_it_html needs a picture for every variety the model predicts; missing: {missing}"
        )
    columns = list(zip(*model_json["data"], strict=True))
    fields = [
        {
            "name": name,
            "label": name.replace("_", " ").capitalize(),
            "max": f"{LIMITS_CM[name]:g}",  # the data contract: more than 0, at most this
            "value": f"{statistics.median(columns[i]):.1f}",
        }
        for i, name in enumerate(model_json["feature_names"])
    ]
    return (
        _jinja_env()
        .get_template("tryit.html.j2")
        .render(
            model=model_json,
            pictures=pictures,
            fields=fields,
            n_neighbors=model_json["n_neighbors"],
            n_train=len(model_json["data"]),
        )
    )


def _script_json(value: Any) -> str:
    """JSON that cannot end its ``<script>`` element early (``<`` is escaped, JSON.parse undoes it)."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")
