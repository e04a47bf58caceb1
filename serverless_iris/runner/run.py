"""A run: each notebook in its own fresh kernel, in order, archived under ``<outputs>/runs/<id>/``.

:func:`execute` runs a checked :class:`~serverless_iris.runner.plan.Plan`: the executed notebooks,
their HTML reports and ``run.json`` go to the run folder, then ``index.html`` is rewritten and old runs
pruned. ``--daily`` trains first when no model is registered, and retrains (then predicts again) when
the inference notebook raises the accuracy alert with retraining on.

The kernels of the next two notebooks are started while the current one runs (on a new store also the
kernel of the feature notebook's second run, which adds today's flower), HTML reports are written
by a background thread while the next notebook runs, and finished kernels are killed rather than asked
to shut down: their work is saved and nothing waits for them.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_iris.backend import (
    HOST_ENV,
    KEY_ENV,
    PROJECT_ENV,
    describe_store_record,
    redact,
    store_record,
    without_key,
)
from serverless_iris.files import write_json
from serverless_iris.helpers.dashboard_files import (
    DASHBOARD_FOLDER,
    DASHBOARD_JSON,
    TRAINED_JSON,
    read_dashboard,
    read_trained,
    training_run,
)
from serverless_iris.helpers.provenance import git_commit
from serverless_iris.paths import RUN_ID_ENV, STORE_ENV, store_path
from serverless_iris.runner import daily
from serverless_iris.runner.csv_source import SOURCE
from serverless_iris.runner.daily import Addition
from serverless_iris.runner.kernels.kernel import Kernel, fork_server, kernel_environment
from serverless_iris.runner.notebook import error_record, mark_failure, run_notebook
from serverless_iris.runner.outputs import (
    MARKER,
    RUN_FILE,
    RUN_LOCK,
    STORE_ID,
    Echo,
    foreign_contents,
    mark,
    notebook_entry,
    other_store,
    package_versions_later,
    prune,
    pruned_line,
    run_folder,
    store_id,
    store_lock,
    unfinished_runs,
)
from serverless_iris.runner.plan import Plan, Step, UsageError
from serverless_iris.runner.signals import interrupts_raise, signals_deferred
from serverless_iris.runner.store_questions import StoreQuestion, model_versions, only_backfilled

if TYPE_CHECKING:
    from serverless_iris.runner.kernels.forkserver import ForkServer


INTERRUPTED = "interrupted while"  # a problem that began with Ctrl-C or SIGTERM: the run exits 130


@dataclass
class Result:
    """A finished run: its folder, its ``run.json`` record and where the index is."""

    folder: Path
    record: dict[str, Any]
    index: Path | None
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)  # reports or index that could not be written

    @property
    def succeeded(self) -> bool:
        return self.record["status"] == "succeeded"


def execute(
    plan: Plan,
    outputs: Path = Path("outputs"),
    *,
    keep: int = 30,
    timeout: int | None = None,
    argv: Sequence[str] = (),
    progress_bar: bool = False,
    echo: Echo | None = None,
    forks: ForkServer | None = None,
) -> Result:
    """Run ``plan`` and archive it; see the module docstring. ``echo`` receives progress lines.

    ``forks`` is a fork server from :func:`fork_server`, started early; else the run starts its own.
    Either way the run closes it.

    Raises :class:`StoreBusyError` (nothing written) when another run holds the store too long, and
    :class:`UsageError` (nothing written) when ``outputs`` holds the runs of another store: a dashboard
    shows one store's predictions, and its run history must be of that store.
    Ctrl-C and SIGTERM stop the run: it is recorded as failed (``interrupted``), ``Result.interrupted``.
    """
    say = echo or (lambda line: None)
    outputs = Path(outputs).resolve()
    store = store_record(plan.backend)
    foreign = foreign_contents(outputs)
    if foreign:
        shown_foreign = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise UsageError(
            f"{outputs} holds what runner.py did not write ({shown_foreign}); the runner prunes and "
            f"overwrites its outputs folder, so it writes only to an empty folder or one it wrote "
            f"(marked by {MARKER}). Give it an outputs folder of its own (--outputs DIR)"
        )
    elsewhere = other_store(outputs, store)
    if elsewhere:
        command = " ".join([*(argv or ["runner.py"]), "--outputs", f"outputs-{plan.backend}"])
        raise UsageError(
            f"{outputs} holds the runs of another store ({elsewhere}); this run uses "
            f"{describe_store_record(store)}. An outputs folder shows one store's dashboard and run "
            f"history, so give this store a folder of its own, e.g. python {command}; or run on that "
            f"store ({STORE_ENV}, {HOST_ENV}/{PROJECT_ENV}, {KEY_ENV}). See README, Backends"
        )
    with interrupts_raise(), store_lock(plan.backend, say):
        if plan.backend == "local":
            store["id"] = store_id(store_path())
        notes = unfinished_runs(outputs)
        run = None
        try:
            with signals_deferred():
                run = _started(plan, outputs, argv, forks, store)
            for note in notes:
                say(note)
            planned = ", ".join(step.name for step in plan.steps)
            say(f"run {run.id} ({plan.mode}: {planned}; backend {plan.backend}) -> {shown(run.folder)}")
            interrupted = run.go(timeout=timeout, progress_bar=progress_bar, say=say)
            problems = run.finish()
        except KeyboardInterrupt as exc:  # between the steps, which handle their own; the only one raised
            if run is None:
                raise  # the run folder was not made: nothing was written
            interrupted, problems = True, run.stop_interrupted(exc, say)
        except Exception as exc:  # a fault of the runner's own: the run is recorded as failed, not running
            if run is None:
                raise
            interrupted, problems = False, run.stop_failed(exc, say)
        try:
            in_use = training_run(outputs / DASHBOARD_FOLDER)
            pruned = pruned_line(keep, *prune(outputs, keep, current=run.id, in_use=in_use), in_use)
            if pruned:
                say(pruned)
        except KeyboardInterrupt:
            problems.append(f"{INTERRUPTED} pruning old runs")
        index = _write_index(outputs, problems)
    interrupted = interrupted or any(problem.startswith(INTERRUPTED) for problem in problems)
    return Result(run.folder, run.record, index, interrupted, problems)


def _started(
    plan: Plan, outputs: Path, argv: Sequence[str], forks: ForkServer | None, store: dict[str, Any]
) -> _Run:
    """A new :class:`_Run`, or :class:`UsageError` when its outputs folder cannot be written."""
    try:
        return _Run(plan, outputs, argv, forks, store)
    except OSError as exc:
        where = exc.filename or outputs
        raise UsageError(
            f"the outputs folder {outputs} cannot be written ({exc.strerror or exc}: {where}); make it "
            f"writable, or give the run another one (--outputs DIR)"
        ) from None


class _Run:
    """The run folder, its ``run.json``, and the notebooks' kernels and reports."""

    def __init__(
        self, plan: Plan, outputs: Path, argv: Sequence[str], forks: ForkServer | None, store: dict[str, Any]
    ) -> None:
        started = datetime.now(timezone.utc)
        self.plan = plan
        self.outputs = outputs
        self.id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.folder = run_folder(outputs, self.id)
        outputs.mkdir(parents=True, exist_ok=True)
        if not (outputs / MARKER).is_file():
            mark(outputs, "outputs folder")
        self.folder.mkdir(parents=True)
        mark(self.folder, "run folder")
        self.clock = time.monotonic()
        self.started = started.timestamp()
        self.record: dict[str, Any] = {
            "id": self.id,
            "status": "running",
            "mode": plan.mode,
            "argv": [redact(a) for a in argv],
            "parameters": json.loads(redact(json.dumps(plan.parameters))),
            "backend": plan.backend,
            "store": store,
            "started": started.isoformat(timespec="seconds"),
            "ended": None,
            "duration_s": None,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "git_commit": git_commit(),
            "packages": {},
            "trained": None,  # why --daily trained a first model (daily.train_first)
            "retrained": None,  # why --daily retrained (daily.retrain_on_alert)
            "model": {"trained": None, "predicted_with": None},  # model cards (helpers.dashboard.model_card)
            "predicted": None,  # today's flower of the last inference: event_time, predicted, actual
            "notebooks": [notebook_entry(step.name) for step in plan.steps],
        }
        self.save()
        self.steps = list(plan.steps)
        self.kernels: dict[int, Kernel] = {}  # by id(step): a notebook run twice gets two fresh kernels
        self.today = _todays_flower(plan.steps[0])  # run after a backfill that left the store only that
        first = plan.steps[0]
        self.forks = forks or fork_server(first.path.parent, first.name)  # where kernels come from (Linux)
        self.reports = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports")
        self.reports.submit(_warm_up, plan.backend if self.today else None)  # off the critical path
        self.written: list[tuple[dict[str, Any], Future[list[Path]]]] = []
        self.packages = package_versions_later()

    def save(self) -> None:
        write_json(self.folder / RUN_FILE, self.record)

    def go(self, *, timeout: int | None, progress_bar: bool, say: Echo) -> bool:
        """Run the steps in order, each kernel started one step ahead; stop at the first failure. Steps
        that :mod:`.daily` decides to add are added as the answers come in.

        Returns True when interrupted.
        """
        models = None
        try:
            self._prestart(self.steps[0])
            if self.today and _new_store(self.plan.backend):  # then today's flower will follow
                self._prestart(self.today)
            if self.plan.training:  # asked while the first kernel starts
                models = StoreQuestion(self.plan.backend, model_versions)
            i = 0
            while i < len(self.steps):
                step = self.steps[i]
                if models and (step.name == "inference" or models.answered()):
                    self._add(daily.train_first(models.result()), [self.plan.training], i, say)
                    models = None
                for ahead in self.steps[i + 1 : i + 3]:
                    self._prestart(ahead)
                if not self._run_step(i, timeout=timeout, progress_bar=progress_bar, say=say):
                    break
                if i == 0 and step.name == "feature":
                    self._after_feature(i, say)
                if self.plan.training and step.name == "inference":
                    self._after_inference(step, i, say)
                i += 1
        except KeyboardInterrupt as exc:
            self._interrupted(exc, say)
            return True
        finally:
            with signals_deferred():
                self._stop_kernels()
        return False

    def stop_failed(self, exc: Exception, say: Echo) -> list[str]:
        """The runner itself failed mid-run: stop the kernels, mark the notebook it was on, then finish."""
        why = redact(f"the runner failed: {type(exc).__name__}: {exc}")
        self._stop_kernels()
        entries = self.record["notebooks"]
        current = next((e for e in entries if e["status"] in ("running", "pending")), None)
        if current is not None:
            current.update(status="failed", error=error_record("error", None, why))
            for later in entries[entries.index(current) + 1 :]:
                later["status"] = "skipped"
        say(why)
        return [why, *self.finish()]

    def stop_interrupted(self, exc: KeyboardInterrupt, say: Echo) -> list[str]:
        """An interrupt that landed outside :meth:`go` and :meth:`finish`'s own handling: stop the kernels,
        record it on the notebook it stopped (if one was still to run), then finish."""
        self._stop_kernels()
        if any(entry["status"] in ("running", "pending") for entry in self.record["notebooks"]):
            self._interrupted(exc, say)
        return self.finish()

    def _stop_kernels(self) -> None:
        """Stop every kernel; the fork server first, so a kernel it has not forked yet never will be."""
        if self.forks is not None:
            self.forks.close()
        for kernel in self.kernels.values():
            kernel.stop()

    def _add(self, addition: Addition | None, steps: list[Any], current: int, say: Echo) -> None:
        """Put ``steps`` (the notebooks of ``addition``) into the plan where it says; record and say why."""
        if addition is None:
            return
        if addition.where == "next":
            at = current + 1
        elif addition.where == "before inference":
            at = next(i for i, step in enumerate(self.steps) if step.name == "inference")
        else:
            at = len(self.steps)
        self.steps[at:at] = steps
        self.record["notebooks"][at:at] = [notebook_entry(step.name) for step in steps]
        for step in steps:
            self._prestart(step)
        if addition.record:
            self.record[addition.record] = addition.reason
        say(addition.line)
        self.save()

    def _after_feature(self, current: int, say: Echo) -> None:
        """After a backfill, ask whether the store holds only it; the kernel started for today's flower
        is stopped when it is not needed."""
        today, self.today = self.today, None
        if today is None:
            return
        version = today.parameters.get("version", 1)
        addition = daily.todays_flower(StoreQuestion(self.plan.backend, only_backfilled, version).result())
        if addition is None and id(today) in self.kernels:
            self.kernels.pop(id(today)).stop()
        self._add(addition, [today], current, say)

    def _after_inference(self, inference: Step, current: int, say: Echo) -> None:
        """--daily: the retrain decision on the dashboard this inference wrote (none: an earlier run's)."""
        folder = self.outputs / DASHBOARD_FOLDER
        written = _written_since(folder / DASHBOARD_JSON, self.started)
        trained = any(step.name == "training" for step in self.steps)
        addition = daily.retrain_on_alert(read_dashboard(folder) if written else None, trained)
        if addition is not None:
            assert self.plan.training is not None
            repredict = replace(inference)  # its own Step, so its own kernel
            self._add(addition, [self.plan.training, repredict], current, say)

    def _record_model(self, step: Step, since: float) -> None:
        """Keep in run.json the model a training step registered, or the one an inference step predicted
        with and what it predicted, from the files the notebook wrote into the dashboard folder."""
        folder = self.outputs / DASHBOARD_FOLDER
        if step.name == "training" and _written_since(folder / TRAINED_JSON, since):
            self.record["model"]["trained"] = read_trained(folder)
        elif step.name == "inference" and _written_since(folder / DASHBOARD_JSON, since):
            dashboard = read_dashboard(folder) or {}
            self.record["model"]["predicted_with"] = dashboard.get("model")
            today = dashboard.get("today") or {}
            self.record["predicted"] = {k: today.get(k) for k in ("event_time", "predicted", "actual")}

    def _prestart(self, step: Step) -> None:
        """Start ``step``'s kernel now, unless it is running; a failure is reported when its turn comes."""
        if id(step) not in self.kernels:
            env = {**kernel_environment(), RUN_ID_ENV: self.id}
            if self.plan.backend == "local":
                env[STORE_ENV] = str(store_path())  # absolute: kernels run in the notebooks' folder
                env = without_key(env)  # the embedded store needs no key: a cell cannot print it
            self.kernels[id(step)] = Kernel(step.path, env, self.forks)

    def _run_step(self, i: int, *, timeout: int | None, progress_bar: bool, say: Echo) -> bool:
        """Run notebook ``i`` in its kernel, record it, queue its reports; True when it succeeded."""
        step = self.steps[i]
        entry = self.record["notebooks"][i]
        runs = sum(earlier.path == step.path for earlier in self.steps[:i])  # a notebook run again: -2
        executed = self.folder / (f"{step.path.stem}-{runs + 1}.ipynb" if runs else step.path.name)
        parameters = dict(step.parameters)
        if "DASHBOARD_DIR" in step.declared:
            parameters["DASHBOARD_DIR"] = str(self.outputs / DASHBOARD_FOLDER)
        entry.update(status="running", executed=executed.name)
        self.save()
        say(f"[{i + 1}] {step.name:<9} started   {step.path.name}")
        begun, begun_at = time.monotonic(), time.time()
        try:
            self._prestart(step)
            kernel = self.kernels[id(step)]
            error = run_notebook(step.path, executed, parameters, kernel, timeout, progress_bar)
        except KeyboardInterrupt:
            entry["duration_s"] = round(time.monotonic() - begun, 3)
            raise
        except Exception as exc:  # the kernel could not start
            why = f"the kernel could not start: {type(exc).__name__}: {exc}"
            error = error_record("dead-kernel", None, why)
        finally:
            with signals_deferred():
                if id(step) in self.kernels:
                    self.kernels.pop(id(step)).stop()
        entry.update(duration_s=round(time.monotonic() - begun, 3), status="failed" if error else "succeeded")
        entry["error"] = error
        if not executed.exists():
            entry["executed"] = None
        if not error:
            self._record_model(step, begun_at)
        self._write_reports(entry)
        if error:
            for later in self.record["notebooks"][i + 1 :]:
                later["status"] = "skipped"
        self.save()
        say(_progress_line(i, entry))
        return error is None

    def _interrupted(self, exc: KeyboardInterrupt, say: Echo) -> None:
        """Record the interrupt on the notebook that was running (or about to run) and mark its cell."""
        why = f"interrupted ({getattr(exc, 'signal_name', 'SIGINT')})"
        entries = self.record["notebooks"]
        with signals_deferred():
            self._stop_kernels()
            current = next((e for e in entries if e["status"] in ("running", "pending")), None)
            if current is not None:
                cell = None
                executed = self.folder / current["executed"] if current["executed"] else None
                if executed and executed.exists():
                    cell = mark_failure(executed, "KeyboardInterrupt", why)
                else:
                    current["executed"] = None
                current.update(status="failed", error=error_record("interrupted", cell, why))
                for later in entries[entries.index(current) + 1 :]:
                    later["status"] = "skipped"
                self._write_reports(current)
            self.save()
        say(_progress_line(entries.index(current), current) if current else why)

    def _write_reports(self, entry: dict[str, Any]) -> None:
        """Queue the notebook's HTML reports: they are written while the next notebook runs."""
        if entry["executed"]:
            from serverless_iris.runner.pages.report import write_report

            executed = self.folder / entry["executed"]
            self.written.append(
                (entry, self.reports.submit(write_report, executed, executed.with_suffix(".html")))
            )

    def finish(self) -> list[str]:
        """Wait for the reports, then record the outcome. Returns what could not be written."""
        problems: list[str] = []
        try:
            for entry, future in self.written:
                try:
                    paths = future.result()
                except Exception as exc:  # a broken report must not lose the run's record
                    problems.append(
                        f"report for {entry['notebook']} not written: {type(exc).__name__}: {exc}"
                    )
                    continue
                entry["report"] = paths[0].name
                entry["results_report"] = paths[1].name if len(paths) > 1 else None
            self.record["packages"] = self.packages.result()
        except KeyboardInterrupt:
            problems.append(f"{INTERRUPTED} writing reports")
        self.reports.shutdown(wait=False, cancel_futures=True)
        statuses = {entry["status"] for entry in self.record["notebooks"]}
        self.record["status"] = "succeeded" if statuses == {"succeeded"} and not problems else "failed"
        self.record["ended"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.record["duration_s"] = round(time.monotonic() - self.clock, 3)
        with signals_deferred():
            self.save()
        return problems


def _progress_line(i: int, entry: dict[str, Any]) -> str:
    """Notebook ``i``'s outcome. Steps are numbered without a total: a run may add notebooks as it goes
    (today's flower, a first model, a retrain), each announced on its own line."""
    took = f"in {entry['duration_s']:.1f} s" if entry["duration_s"] is not None else ""
    line = f"[{i + 1}] {entry['name']:<9} {entry['status']:<9} {took}".rstrip()
    error = entry["error"]
    if error:
        where = f" at cell In [{error['cell']}]" if error["cell"] is not None else ""
        line += f"{where}: {error['message']}"
    return line


def _written_since(path: Path, since: float) -> bool:
    """Whether ``path`` was (re)written at or after the Unix time ``since``."""
    try:
        return path.stat().st_mtime >= since
    except OSError:
        return False


def _todays_flower(feature: Step) -> Step | None:
    """The feature notebook's second run that adds today's flower after a backfill (see
    :func:`.daily.todays_flower`), or None when ``feature`` is no backfill."""
    if feature.name != "feature" or "BACKFILL" not in feature.declared:
        return None
    if feature.parameters.get("BACKFILL") is False:
        return None
    parameters = {k: v for k, v in feature.parameters.items() if k != SOURCE} | {"BACKFILL": False}
    return replace(feature, parameters=parameters)


def _new_store(backend: str) -> bool:
    """Whether the run starts on an embedded store that holds nothing yet (but this run's lock)."""
    folder = store_path()
    return backend == "local" and (
        not folder.is_dir() or all(p.name in (RUN_LOCK, STORE_ID) for p in folder.iterdir())
    )


def _warm_up(backend: str | None) -> None:
    """Imports the run needs later: the store question's (on ``backend``, when it will be asked) first,
    as it is asked between two notebooks, then nbconvert's and the templates for the reports."""
    from serverless_iris.runner.pages import index, report
    from serverless_iris.runner.store_questions import warm_up

    if backend is not None:
        warm_up(backend)
    report.warm_up()
    index.warm_up()


def _write_index(outputs: Path, problems: list[str]) -> Path | None:
    from serverless_iris.runner.pages.index import write_index

    try:
        return write_index(outputs)
    except KeyboardInterrupt:
        problems.append(f"{INTERRUPTED} writing index.html")
    except Exception as exc:
        problems.append(f"index.html not written: {type(exc).__name__}: {exc}")
    return None


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
