"""Reports of executed notebooks and ``outputs/index.html``: offline, complete, linked, written atomically.

The inputs are the sample archive of ``tests/sample_archive.py``: two small notebooks executed by
papermill, hand-written run.json files and a dashboard folder of Pillow pictures.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from sample_archive import (
    DEAD_RUN,
    EXTERNAL_FETCH,
    FAILED_RUN,
    OK_RUN,
    PICTURES,
    dead_pid,
    flower_assets,
    local_targets,
    notebook,
    notebook_entry,
    report_path,
    soup,
    write_dashboard,
    write_run,
)

from serverless_iris import files
from serverless_iris.helpers import flowers
from serverless_iris.runner.outputs import effective_status, load_runs
from serverless_iris.runner.pages import report
from serverless_iris.runner.pages.index import write_index


@pytest.fixture()
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty outputs folder, with stand-in flower assets."""
    monkeypatch.setattr(flowers, "ASSETS_DIR", flower_assets(tmp_path / "assets"))
    yield tmp_path / "outputs"


# --- reports -----------------------------------------------------------------------------------------


def test_reports_fetch_nothing_from_another_host(outputs: Path) -> None:
    pages = sorted((outputs / "runs").glob("*/*.html")) + [outputs / "index.html"]
    assert len(pages) == 11  # 5 notebooks x 2 views + index
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not EXTERNAL_FETCH.search(text), f"{page.name} fetches {EXTERNAL_FETCH.search(text).group(0)}"
        assert "require.min.js" not in text and "mathjax" not in text.lower() and "mermaid.esm" not in text
    full = soup(report_path(outputs, OK_RUN, "feature"))
    assert full.find("a", href="https://example.invalid/docs"), "links people click stay"
    remote = full.find("img", alt="remote")
    assert remote is not None and not remote.has_attr("src")
    assert remote["data-offline-src"] == "https://example.invalid/logo.png"


def test_offline_disarms_fetches_but_keeps_links() -> None:
    page = (
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//cdn.example/a.css">'
        '<img src = "http://example.org/i.png"><a href="https://example.org/">site</a>'
        '<style>@import "https://cdn.example/b.css";'
        '.x { background: url("https://cdn.example/c.png") }</style>'
        '<img src="pictures/local.png">'
    )
    disarmed = report.offline(page)
    assert not EXTERNAL_FETCH.search(disarmed)
    assert '<a href="https://example.org/">' in disarmed and 'src="pictures/local.png"' in disarmed
    assert 'url("about:blank#https://cdn.example/c.png")' in disarmed
    assert '@import "about:blank#https://cdn.example/b.css"' in disarmed


def test_parameters_table_shows_injected_values_over_defaults(outputs: Path) -> None:
    rows = {
        row.th.code.text: [td.get_text(" ", strip=True) for td in row.find_all("td")]
        for row in soup(report_path(outputs, OK_RUN, "feature")).select("table.ir-params tbody tr")
    }
    assert rows == {"N_FLOWERS": ["5 set", "3"], "NAME": ['"iris"', '"iris"'], "SEED": ["None", "None"]}
    doc = soup(report_path(outputs, OK_RUN, "feature"))
    assert "how many flowers to draw" in doc.select_one("table.ir-params").get_text()
    assert doc.select_one("table.ir-params tr.ir-injected").th.code.text == "N_FLOWERS"


def test_every_executed_cell_shows_its_duration_and_the_slowest_are_marked(outputs: Path) -> None:
    doc = soup(report_path(outputs, OK_RUN, "feature"))
    executed = nbformat.read(outputs / "runs" / OK_RUN / "iris-feature-pipeline.ipynb", 4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    badges = doc.select(".ir-cell .ir-duration")
    assert len(badges) == len(code)
    for badge, cell in zip(badges, code, strict=True):
        assert badge.get_text(strip=True).endswith(report.format_duration(cell.metadata.papermill.duration))
    slowest = sorted(code, key=lambda c: -c.metadata.papermill.duration)[: report.SLOWEST]
    marked = doc.select(".ir-cell.ir-slow")
    assert len(marked) == report.SLOWEST
    ranked = sorted(marked, key=lambda m: m.select_one(".ir-slow-rank").text)
    for element, cell in zip(ranked, slowest, strict=True):
        assert cell.source.splitlines()[0] in element.get_text()
    for link in doc.select(".ir-slowest a"):
        assert doc.find(id=link["href"][1:]) is not None, f"{link['href']} points nowhere"


def test_a_reports_total_time_says_where_the_time_outside_the_cells_went(outputs: Path) -> None:
    executed = nbformat.read(outputs / "runs" / OK_RUN / "iris-feature-pipeline.ipynb", 4)
    total = executed.metadata.papermill.duration
    in_cells = sum(c.metadata.papermill.duration for c in executed.cells if c.cell_type == "code")
    assert total > in_cells  # papermill starts the kernel and saves the notebook besides
    shown = soup(report_path(outputs, OK_RUN, "feature")).select_one("#ir-total").get_text(" ", strip=True)
    assert shown == (
        f"{report.format_duration(total)} total ({report.format_duration(in_cells)} in the cells, "
        f"{report.format_duration(total - in_cells)} starting the kernel and saving the notebook)"
    )


def test_failed_report_has_a_banner_linking_to_the_highlighted_failing_cell(outputs: Path) -> None:
    for results in (False, True):
        doc = soup(report_path(outputs, FAILED_RUN, "inference", results))
        banner = doc.select_one(".ir-failure")
        assert banner is not None
        assert "ValueError: boom: the flowers wilted" in banner.get_text()
        assert banner.strong.text == "Cell failed at In [4]"  # after papermill's injected-parameters cell
        link = banner.find("a")
        assert link["href"] == f"#{report.ERROR_ANCHOR}"
        targets = doc.find_all(id=report.ERROR_ANCHOR)
        assert len(targets) == 1, "exactly one element is the link's target"
        assert "ir-failed" in targets[0]["class"]
        assert "ValueError" in targets[0].get_text() and "This cell failed" in targets[0].get_text()
        assert not doc.select(".celltag_papermill-error-cell-tag"), "papermill's banner is replaced"
        assert doc.select_one(".ir-status").text == "failed"
    full = soup(report_path(outputs, FAILED_RUN, "inference"))
    assert full.select(".ir-pending")[-1].select_one(".ir-duration").get_text(strip=True) == "not run"


@pytest.mark.parametrize("recorded_in", ["cell", "run.json"])
def test_runner_marked_timeout_is_named(tmp_path: Path, recorded_in: str) -> None:
    """A timeout the runner marked: an error output on the cell (as ``failures.mark_failure`` writes it), or
    failing that, the run.json entry."""
    why = "the cell did not finish within --timeout 1 s"
    error = {"kind": "timeout", "cell": 1, "message": why} if recorded_in == "run.json" else None
    folder = write_run(
        tmp_path / "outputs",
        FAILED_RUN,
        "failed",
        "full",
        [notebook_entry("inference", "failed", 2.0, error)],
    )
    nb = notebook(new_code_cell("import time\ntime.sleep(10)"))
    cell = nb.cells[0]
    cell.execution_count = 1
    cell.metadata["papermill"] = {"duration": 1.0, "exception": True, "status": "failed"}
    if recorded_in == "cell":
        cell.outputs = [
            nbformat.v4.new_output("error", ename="CellTimeoutError", evalue=why, traceback=[why])
        ]
    nbformat.write(nb, folder / "iris-batch-inference-pipeline.ipynb")
    html = folder / "iris-batch-inference-pipeline.html"
    report.write_report(folder / "iris-batch-inference-pipeline.ipynb", html)
    banner = soup(html).select_one(".ir-failure")
    assert banner.strong.text == "Cell timed out at In [1]"
    assert why in banner.get_text()
    assert soup(html).find(id=report.ERROR_ANCHOR) is not None


def test_results_view_hides_code_and_links_to_the_full_report(outputs: Path) -> None:
    full_path = report_path(outputs, OK_RUN, "feature")
    results_path = report_path(outputs, OK_RUN, "feature", results=True)
    full, results = soup(full_path), soup(results_path)
    assert "plt.plot(values" in full.get_text()
    assert "plt.plot(values" not in results.get_text()
    assert not results.select(".jp-InputArea-editor")
    assert results.select("img[src^='data:image/png']"), "the plot is in the results view"
    assert "drew 5 flowers" in results.get_text()
    assert full.find("a", href=results_path.name) and results.find("a", href=full_path.name)
    assert full.find("a", href="../../index.html") and results.find("a", href="../../index.html")
    assert results.select_one(".ir-current").text == "Results only"


def test_writes_are_atomic_and_leave_no_temp_files(outputs: Path, tmp_path: Path, monkeypatch) -> None:
    leftovers = [p for p in outputs.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []
    index = outputs / "index.html"
    before = index.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_index(outputs)
    assert index.read_bytes() == before, "a failed write leaves the previous page"
    assert [p.name for p in outputs.iterdir() if p.name.endswith(".tmp")] == []


# --- index -------------------------------------------------------------------------------------------


def test_index_lists_runs_newest_first_with_links_that_resolve(outputs: Path) -> None:
    doc = soup(outputs / "index.html")
    assert [row["data-id"] for row in doc.select("tr.run")] == [DEAD_RUN, FAILED_RUN, OK_RUN]
    targets = local_targets(outputs / "index.html")
    reports_linked = [t for t in targets if t.startswith("runs/")]
    assert len(set(reports_linked)) == 10  # every report and results view of both finished runs
    for target in targets:
        assert (outputs / target.split("?")[0]).is_file(), f"index.html links to missing {target}"
    for page in (outputs / "runs").glob("*/*.html"):
        for target in local_targets(page):
            assert (page.parent / target).resolve().is_file(), f"{page.name} links to missing {target}"
    failed = doc.select_one(f"tr.run[data-id='{FAILED_RUN}']")
    assert failed["data-status"] == "failed" and failed["data-mode"] == "daily"
    assert "N_FLOWERS=4" in failed.get_text()
    assert "ValueError: boom" in failed.get_text()


def test_running_run_with_a_dead_pid_shows_as_interrupted(outputs: Path) -> None:
    row = soup(outputs / "index.html").select_one(f"tr.run[data-id='{DEAD_RUN}']")
    assert row["data-status"] == "interrupted"
    assert row.select_one(".status").text == "interrupted"
    assert json.loads((outputs / "runs" / DEAD_RUN / "run.json").read_text())["status"] == "running"


def test_effective_status() -> None:
    here, now = socket.gethostname(), datetime.now(timezone.utc).isoformat()
    alive = {"status": "running", "pid": os.getpid(), "host": here, "started": now}
    assert effective_status(alive) == "running"
    assert effective_status({**alive, "pid": dead_pid()}) == "interrupted"
    assert effective_status({**alive, "started": "2000-01-01T00:00:00+00:00"}) == "interrupted", (
        "a live process that started after the run is another process reusing the pid"
    )
    assert effective_status({**alive, "pid": dead_pid(), "host": "elsewhere"}) == "running"
    assert effective_status({**alive, "status": "failed", "pid": dead_pid()}) == "failed"


def test_dashboard_model_card_monitoring_and_try_it(outputs: Path) -> None:
    doc = soup(outputs / "index.html")
    verdict = doc.select_one("#verdict")
    assert verdict["data-correct"] == "false" and "Wrong" in verdict.text
    captions = [f.get_text(" ", strip=True) for f in doc.select("#today figcaption")]
    assert captions == ["Predicted Setosa", "Actual Virginica"]
    card = doc.select_one("#model-card")
    assert "96.7%" in card.text and "0.966" in card.text and "25 Nov 2026 09:30 UTC" in card.text
    link = card.select_one("#training-report-link")
    assert link["href"] == f"runs/{OK_RUN}/iris-training-pipeline.html"
    assert soup(outputs / link["href"]).h1.text == "iris-training-pipeline"
    assert "Rolling accuracy 57.1%" in doc.select_one("#accuracy-alert").text
    stats = doc.select_one("#monitoring").get_text(" ", strip=True)
    assert "Last 7 57.1%" in stats and "Last 30 66.7%" in stats
    counts = [
        [c.get_text(strip=True) for c in row.find_all(["th", "td"])] for row in doc.select(".counts tbody tr")
    ]
    assert counts == [["Setosa", "12", "8"], ["Versicolor", "0", "0"], ["Virginica", "0", "4"]]
    assert len(doc.select(".strip li.miss")) == 4 and len(doc.select(".strip li.hit")) == 8
    assert doc.select_one("#try-it form") is not None and doc.select_one("#prediction") is not None
    for variety in flowers.VARIETIES:
        assert (outputs / "dashboard" / "flowers" / f"{variety}.png").is_file()
    assert [i["src"].split("?")[0] for i in doc.select(".figure img")] == [
        "dashboard/df_recent.png",
        "dashboard/confusion_matrix.png",
        "dashboard/accuracy.png",
        "dashboard/training_confusion_matrix.png",
    ]


def test_compare_data_carries_parameters_notebooks_and_known_metrics(outputs: Path) -> None:
    data = json.loads(soup(outputs / "index.html").select_one("#runs-data").string)
    by_id = {run["id"]: run for run in data}
    assert by_id[FAILED_RUN]["parameters"] == {"N_FLOWERS": "4"}
    assert [n["status"] for n in by_id[FAILED_RUN]["notebooks"]] == ["succeeded", "failed"]
    # OK_RUN's run.json predates its model record: the dashboard's model names it as the run that trained it
    assert by_id[OK_RUN]["model"] == {
        "trained": {
            "version": 1,
            "accuracy": "96.7%",
            "f1": "0.966",
            "parameters": "not recorded",
            "chosen": "—",
        },
        "predicted_with": None,
    }
    assert by_id[FAILED_RUN]["model"] == {"trained": None, "predicted_with": None}


def test_alert_banner_only_when_below_threshold(fresh: Path) -> None:
    write_dashboard(fresh, below=False)
    doc = soup(write_index(fresh))
    assert doc.select_one("#accuracy-alert") is None
    assert "Last 7 85.7%" in doc.select_one("#monitoring").get_text(" ", strip=True)


def test_empty_outputs_render_clean_empty_states(fresh: Path) -> None:
    doc = soup(write_index(fresh))
    assert doc.select_one("#no-runs") is not None and doc.select_one("#no-dashboard") is not None
    assert doc.select("tr.run") == [] and doc.select("img") == []
    assert json.loads(doc.select_one("#runs-data").string) == []


def test_dashboard_without_its_training_run_or_pictures(fresh: Path) -> None:
    """A pruned training run and missing pictures give plain text and placeholders, never broken links."""
    folder = write_dashboard(fresh, below=False, training_run="20200101T000000Z-gone00")
    for name in PICTURES:
        (folder / name).unlink()
    doc = soup(write_index(fresh))
    assert doc.select_one("#training-report-link") is None
    assert "20200101T000000Z-gone00" in doc.select_one("#model-card").text
    assert doc.select("img") == [] and len(doc.select(".placeholder")) == 6  # 2 flowers, 4 figures
    assert doc.select_one("#try-it") is None, "no knn_model.json, no Try-it form"


def test_dashboard_without_monitoring_fields(fresh: Path) -> None:
    """A dashboard.json from before monitoring existed: no counts table, unknown rolling accuracy."""
    folder = write_dashboard(fresh, below=False)
    data = json.loads((folder / "dashboard.json").read_text())
    for key in ("rolling_accuracy", "variety_counts", "alert"):
        del data[key]
    (folder / "dashboard.json").write_text(json.dumps(data))
    doc = soup(write_index(fresh))
    assert doc.select_one(".counts") is None and doc.select_one("#accuracy-alert") is None
    assert "Last 7 —" in doc.select_one("#monitoring").get_text(" ", strip=True)


def test_unreadable_run_json_is_skipped(fresh: Path) -> None:
    write_run(fresh, OK_RUN, "succeeded", "full", [])
    (fresh / "runs" / "20261126T000000Z-broken").mkdir(parents=True)
    (fresh / "runs" / "20261126T000000Z-broken" / "run.json").write_text("{not json")
    assert [run["id"] for run in load_runs(fresh)] == [OK_RUN]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.4213, "0.42 s"), (12.34, "12.3 s"), (125, "2 min 05 s"), (3725, "1 h 02 min")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert report.format_duration(seconds) == text


def test_format_time_is_utc() -> None:
    assert report.format_time("2026-11-27T10:30:00+01:00") == "27 Nov 2026 09:30 UTC"
    assert report.format_time("2026-11-27T09:30:00") == "27 Nov 2026 09:30 UTC"
    assert report.format_time(None) == "—"
