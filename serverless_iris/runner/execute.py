"""Run the pipeline notebooks through papermill and archive the run under ``<outputs>/runs/<id>/``.

:func:`plan` checks everything a user typed (notebooks, parameters, backend) and touches nothing;
:func:`execute` runs a plan: each notebook in its own fresh kernel on this interpreter, the executed
notebook, its HTML reports and ``run.json`` in the run folder, then ``index.html`` and pruning.

Where the time goes, and what is done about it (see Benchmarks in the README):

- The kernels of the next two notebooks are asked for ahead of time, while the current one runs. On
  Linux they are forked from a fork server (:mod:`serverless_iris.runner.forkserver`) once it has imported
  their notebook's top-level imports, so pandas, scikit-learn and matplotlib are imported once per run,
  not once per kernel; :func:`fork_server` starts it before the plan is even checked. Elsewhere each
  kernel is started from scratch and imports them itself (a silent execution that binds no names and
  leaves no history). Either way a kernel runs no code of any other notebook. Measured against the
  floor: started one ahead 1.49x, two ahead 1.29x, forked 0.97x.
- HTML reports are written by a background thread while the next notebook runs.
- Finished kernels are killed, not asked to shut down: their work is saved and nothing waits for them.
- The runner imports papermill only when it needs it, and keeps jsonschema from compiling the IRI
  grammar that nbformat never uses (a second of start-up).

Failures are marked in the executed notebook the way papermill marks a cell error (banner at the top
linking to the cell, ``metadata.papermill.exception``), also for cell timeouts, dead kernels and
interrupts, which papermill leaves unmarked.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_iris.backend import BackendError, redact, selected_backend
from serverless_iris.paths import REPO_ROOT, store_path
from serverless_iris.runner.parameters import Parameter, ParameterError, read_parameters, resolve

if TYPE_CHECKING:
    from serverless_iris.runner.forkserver import ForkServer

PIPELINE = {
    "feature": "iris-feature-pipeline.ipynb",
    "training": "iris-training-pipeline.ipynb",
    "inference": "iris-batch-inference-pipeline.ipynb",
}
DAILY = ("feature", "inference")
MODEL_NAME = "iris"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding this serverless_iris package
RUNNER_PARAMETERS = {"DASHBOARD_DIR": "--outputs"}  # set by the runner, with the option that moves them
RUN_LOCK = "run.lock"
RUN_FILE = "run.json"
KERNEL_NAME = "python3"
PACKAGES = (
    "papermill", "nbclient", "nbconvert", "ipykernel", "pandas", "scikit-learn", "duckdb", "seaborn",
    "matplotlib", "dataframe-image", "pandera", "hopsworks",
)  # fmt: skip

Echo = Callable[[str], None]


class UsageError(ValueError):
    """Bad notebooks folder, names, options or parameters: nothing ran and nothing was written."""


class StoreBusyError(RuntimeError):
    """Another run held the store for longer than ``IRIS_LOCK_TIMEOUT``."""


@dataclass
class Step:
    """One notebook of a run."""

    name: str
    path: Path
    parameters: dict[str, Any]  # the values given with -p, converted
    declared: frozenset[str] = frozenset()  # every parameter the notebook declares


@dataclass
class Plan:
    """What a run will do, checked before anything starts."""

    mode: str  # "full" | "daily" | "only"
    steps: list[Step]
    training: Step | None = None  # --daily: trained when the registry has no model, or on an accuracy alert
    backend: str = "local"

    @property
    def parameters(self) -> dict[str, Any]:
        """One value per name, as run.json records them (a name shared by notebooks has one value)."""
        merged: dict[str, Any] = {}
        for step in [*self.steps, *([self.training] if self.training else [])]:
            merged.update(step.parameters)
        return merged


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


def fork_server(notebooks: Path = NOTEBOOKS_DIR, first: str = "feature") -> ForkServer | None:
    """Start the fork server the kernels come from, preloading the imports of notebook ``first``.

    Started before :func:`plan`, its imports overlap the checking; it writes nothing (close it when the
    plan is refused). Only the first notebook's imports are preloaded: the run asks for every kernel as
    it starts, and a kernel's own imports come first then. None where kernels are not forked (see
    ``serverless_iris.runner.forkserver``).
    """
    from serverless_iris.runner import forkserver

    if not forkserver.available():
        return None
    try:
        preload = _top_level_imports(Path(notebooks) / PIPELINE[first])
    except (OSError, ValueError):  # the plan reports a missing or broken notebook
        preload = []
    return forkserver.ForkServer(_kernel_environment(), preload)


def _kernel_environment() -> dict[str, str]:
    """This process's environment, with this very serverless_iris importable, installed or not."""
    path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def notebook_paths(names: Sequence[str], folder: Path) -> dict[str, Path]:
    """The pipeline notebooks ``names`` in ``folder``, in pipeline order; an error names what is missing."""
    unknown = [n for n in names if n not in PIPELINE]
    if unknown:
        raise UsageError(f"unknown notebook {', '.join(unknown)}; choose from {', '.join(PIPELINE)}")
    paths = {name: Path(folder) / notebook for name, notebook in PIPELINE.items() if name in names}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise UsageError(f"notebook not found: {', '.join(missing)} (--notebooks names the folder)")
    return paths


def declared_parameters(paths: Mapping[str, Path]) -> dict[str, dict[str, Parameter]]:
    """Each notebook's parameters cell, read with papermill."""
    return {name: read_parameters(path) for name, path in paths.items()}


def plan(
    mode: str = "full",
    only: Sequence[str] = (),
    assignments: Mapping[str, str] | None = None,
    notebooks: Path = NOTEBOOKS_DIR,
) -> Plan:
    """Check notebooks, backend and ``-p`` values (already split by :func:`parse_assignments`).

    Raises :class:`UsageError` naming every problem; reads only the notebooks.
    """
    names = {"full": list(PIPELINE), "daily": list(PIPELINE), "only": list(only)}.get(mode)
    if names is None:
        raise UsageError(f"unknown mode {mode!r}; use full, daily or only")
    if mode == "only" and not names:
        raise UsageError("--only needs at least one of: " + ", ".join(PIPELINE))
    try:
        backend = selected_backend()
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    paths = notebook_paths(names, notebooks)
    declared = declared_parameters(paths)
    assignments = dict(assignments or {})
    fixed = [
        f"-p {n}: set by the runner (use {opt})" for n, opt in RUNNER_PARAMETERS.items() if n in assignments
    ]
    if fixed:
        raise UsageError("\n".join(fixed))
    try:
        values = resolve(assignments, declared)
    except ParameterError as exc:
        raise UsageError(str(exc)) from None
    steps = {name: Step(name, paths[name], values[name], frozenset(declared[name])) for name in paths}
    if mode == "daily":
        return Plan(mode, [steps["feature"], steps["inference"]], training=steps["training"], backend=backend)
    return Plan(mode, list(steps.values()), backend=backend)


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

    Raises :class:`StoreBusyError` (nothing written) when another run holds the store too long.
    Ctrl-C and SIGTERM stop the run: it is recorded as failed (``interrupted``), ``Result.interrupted``.
    """
    say = echo or (lambda line: None)
    outputs = Path(outputs).resolve()
    with _interrupts_raise(), _store_lock(plan.backend, say):
        notes = _unfinished_runs(outputs)
        with _signals_deferred():
            run = _Run(plan, outputs, argv, forks)
        for note in notes:
            say(note)
        say(f"run {run.id} ({plan.mode}, backend {plan.backend}) -> {shown(run.folder)}")
        interrupted = run.go(timeout=timeout, progress_bar=progress_bar, say=say)
        problems = run.finish()
        _prune(outputs, keep, current=run.id)
        index = _write_index(outputs, problems)
    return Result(run.folder, run.record, index, interrupted, problems)


class _Run:
    """The run folder, its ``run.json``, and the notebooks' kernels and reports."""

    def __init__(self, plan: Plan, outputs: Path, argv: Sequence[str], forks: ForkServer | None) -> None:
        started = datetime.now(timezone.utc)
        self.plan = plan
        self.outputs = outputs
        self.id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.folder = outputs / "runs" / self.id
        self.folder.mkdir(parents=True)
        self.clock = time.monotonic()
        self.started = started.timestamp()
        self.record: dict[str, Any] = {
            "id": self.id,
            "status": "running",
            "mode": plan.mode,
            "argv": [redact(a) for a in argv],
            "parameters": json.loads(redact(json.dumps(plan.parameters))),
            "backend": plan.backend,
            "started": started.isoformat(timespec="seconds"),
            "ended": None,
            "duration_s": None,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "git_commit": _git_commit(),
            "packages": {},
            "retrained": None,
            "notebooks": [_entry(step.name) for step in plan.steps],
        }
        self.save()
        self.steps = list(plan.steps)
        self.kernels: dict[int, _Kernel] = {}  # by id(step): a notebook run twice gets two fresh kernels
        self.repredict: Step | None = None  # --daily: the inference run again after retraining on an alert
        first = plan.steps[0]
        self.forks = forks or fork_server(first.path.parent, first.name)  # where kernels come from (Linux)
        self.reports = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports")
        self.reports.submit(_warm_up_reports)  # nbconvert's import and templates, off the critical path
        self.written: list[tuple[dict[str, Any], Future[list[Path]]]] = []
        self.packages = _package_versions_later()

    def save(self) -> None:
        _write_json(self.folder / RUN_FILE, self.record)

    def go(self, *, timeout: int | None, progress_bar: bool, say: Echo) -> bool:
        """Run the steps in order, each kernel started one step ahead; stop at the first failure.

        Returns True when interrupted.
        """
        check = None
        try:
            self._prestart(self.steps[0])
            if self.plan.training:  # asked while the first kernel starts
                check = _ModelVersions(self.plan.backend)
            i = 0
            while i < len(self.steps):
                if check and self._train_first(check, say, wait=self.steps[i].name == "inference"):
                    check = None
                for ahead in self.steps[i + 1 : i + 3]:
                    self._prestart(ahead)
                if not self._run_step(i, timeout=timeout, progress_bar=progress_bar, say=say):
                    break
                if self.plan.training and self.steps[i].name == "inference":
                    self._retrain_on_alert(self.steps[i], say)
                i += 1
        except KeyboardInterrupt as exc:
            self._interrupted(exc, say)
            return True
        finally:
            with _signals_deferred():
                self._stop_kernels()
        return False

    def _stop_kernels(self) -> None:
        """Stop every kernel; the fork server first, so a kernel it has not forked yet never will be."""
        if self.forks is not None:
            self.forks.close()
        for kernel in self.kernels.values():
            kernel.stop()

    def _train_first(self, check: _ModelVersions, say: Echo, wait: bool) -> bool:
        """--daily: put training before inference when the registry has no model. True once decided.

        When the registry cannot tell (no network, a busy store) the run does not train, and inference
        reports the actual problem.
        """
        if not wait and not check.answered():
            return False
        if check.result() == []:
            assert self.plan.training is not None
            at = next(i for i, step in enumerate(self.steps) if step.name == "inference")
            self.steps.insert(at, self.plan.training)
            self.record["notebooks"].insert(at, _entry("training"))
            self.record["retrained"] = f"no model '{MODEL_NAME}' was registered yet"
            say(f"no model '{MODEL_NAME}' is registered yet: training one before inference")
            self.save()
        return True

    def _retrain_on_alert(self, inference: Step, say: Echo) -> None:
        """--daily: when inference raised the accuracy alert (and may retrain), train, then predict again.

        The second inference predicts no new flower; it redraws the dashboard with the new model. Not
        when this run has trained already.
        """
        if any(step.name == "training" for step in self.steps):
            return
        reason = _alert_reason(self.outputs / "dashboard" / "dashboard.json", since=self.started)
        if reason is None:
            return
        assert self.plan.training is not None
        self.repredict = replace(inference)  # its own Step, so its own kernel
        self.steps += [self.plan.training, self.repredict]
        self._prestart(self.plan.training)
        self.record["notebooks"] += [_entry("training"), _entry("inference")]
        self.record["retrained"] = reason
        say(f"{reason}: training a new model, then predicting again with it")
        self.save()

    def _prestart(self, step: Step) -> None:
        """Start ``step``'s kernel now, unless it is running; a failure is reported when its turn comes."""
        if id(step) not in self.kernels:
            env = {**_kernel_environment(), "IRIS_RUN_ID": self.id}
            if self.plan.backend == "local":
                env["IRIS_STORE"] = str(store_path())  # absolute: kernels run in the notebooks' folder
            self.kernels[id(step)] = _Kernel(step.path, env, self.forks)

    def _run_step(self, i: int, *, timeout: int | None, progress_bar: bool, say: Echo) -> bool:
        """Run notebook ``i`` in its kernel, record it, queue its reports; True when it succeeded."""
        step = self.steps[i]
        entry = self.record["notebooks"][i]
        runs = sum(earlier.path == step.path for earlier in self.steps[:i])  # a notebook run again: -2
        executed = self.folder / (f"{step.path.stem}-{runs + 1}.ipynb" if runs else step.path.name)
        parameters = dict(step.parameters)
        if "DASHBOARD_DIR" in step.declared:
            parameters["DASHBOARD_DIR"] = str(self.outputs / "dashboard")
        if step is self.repredict and "MODEL_VERSION" in step.declared and "MODEL_VERSION" not in parameters:
            versions = _ModelVersions(self.plan.backend).result()  # the newest: just trained, maybe not best
            if versions:
                parameters["MODEL_VERSION"] = max(versions)
        entry.update(status="running", executed=executed.name)
        self.save()
        total = len(self.steps)
        say(f"[{i + 1}/{total}] {step.name:<9} started   {step.path.name}")
        begun = time.monotonic()
        try:
            self._prestart(step)
            kernel = self.kernels[id(step)]
            error = _run_notebook(step.path, executed, parameters, kernel, timeout, progress_bar)
        except KeyboardInterrupt:
            entry["duration_s"] = round(time.monotonic() - begun, 3)
            raise
        except Exception as exc:  # the kernel could not start
            error = _error("dead-kernel", None, f"the kernel could not start: {type(exc).__name__}: {exc}")
        finally:
            with _signals_deferred():
                if id(step) in self.kernels:
                    self.kernels.pop(id(step)).stop()
        entry.update(duration_s=round(time.monotonic() - begun, 3), status="failed" if error else "succeeded")
        entry["error"] = error
        if not executed.exists():
            entry["executed"] = None
        self._write_reports(entry)
        if error:
            for later in self.record["notebooks"][i + 1 :]:
                later["status"] = "skipped"
        self.save()
        say(_progress_line(i, total, entry))
        return error is None

    def _interrupted(self, exc: KeyboardInterrupt, say: Echo) -> None:
        """Record the interrupt on the notebook that was running (or about to run) and mark its cell."""
        why = f"interrupted ({getattr(exc, 'signal_name', 'SIGINT')})"
        entries = self.record["notebooks"]
        with _signals_deferred():
            self._stop_kernels()
            current = next((e for e in entries if e["status"] in ("running", "pending")), None)
            if current is not None:
                cell = None
                executed = self.folder / current["executed"] if current["executed"] else None
                if executed and executed.exists():
                    cell = _mark_failure(executed, "KeyboardInterrupt", why)
                else:
                    current["executed"] = None
                current.update(status="failed", error=_error("interrupted", cell, why))
                for later in entries[entries.index(current) + 1 :]:
                    later["status"] = "skipped"
                self._write_reports(current)
            self.save()
        say(_progress_line(entries.index(current), len(entries), current) if current else why)

    def _write_reports(self, entry: dict[str, Any]) -> None:
        """Queue the notebook's HTML reports: they are written while the next notebook runs."""
        if entry["executed"]:
            from serverless_iris.runner import reports

            executed = self.folder / entry["executed"]
            self.written.append(
                (entry, self.reports.submit(reports.write_report, executed, executed.with_suffix(".html")))
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
            problems.append("interrupted while writing reports")
        self.reports.shutdown(wait=False, cancel_futures=True)
        statuses = {entry["status"] for entry in self.record["notebooks"]}
        self.record["status"] = "succeeded" if statuses == {"succeeded"} and not problems else "failed"
        self.record["ended"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.record["duration_s"] = round(time.monotonic() - self.clock, 3)
        with _signals_deferred():
            self.save()
        return problems


def _alert_reason(dashboard: Path, since: float) -> str | None:
    """Why to retrain: the accuracy alert of a ``dashboard.json`` written since ``since`` (a Unix time)
    when it is raised and retraining is on (the inference notebook's ``RETRAIN_ON_ALERT``); else None."""
    try:
        if dashboard.stat().st_mtime < since:
            return None  # an earlier run's dashboard: this inference did not write one
        alert = json.loads(dashboard.read_text(encoding="utf-8")).get("alert") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if not (alert.get("below") and alert.get("retrain")):
        return None
    try:
        accuracy, threshold = float(alert["accuracy"]), float(alert["threshold"])
        window = int(alert["window"])
    except (KeyError, TypeError, ValueError):
        return "the accuracy alert was raised"
    plural = "s" if window != 1 else ""
    return (
        f"rolling accuracy {100 * accuracy:.3g}% over the last {window} prediction{plural} "
        f"fell below the threshold {100 * threshold:.3g}%"
    )


def _entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "notebook": PIPELINE[name],
        "status": "pending",
        "duration_s": None,
        "executed": None,
        "report": None,
        "results_report": None,
        "error": None,
    }


def _run_notebook(
    source: Path,
    executed: Path,
    parameters: dict[str, Any],
    kernel: _Kernel,
    timeout: int | None,
    progress_bar: bool,
) -> dict[str, Any] | None:
    """Execute one notebook in ``kernel``; the error for run.json, or None when every cell succeeded."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            source,
            executed,
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            language="python",
            progress_bar=progress_bar,
            execution_timeout=timeout,
            km=kernel.manager,
        )
    except PapermillExecutionError as exc:  # papermill has marked the cell itself
        return _error("error", exc.exec_count, f"{exc.ename}: {exc.evalue}")
    except CellTimeoutError:
        why = f"the cell did not finish within --timeout {timeout} s"
        return _error("timeout", _mark_failure(executed, "CellTimeoutError", why), why)
    except (DeadKernelError, RuntimeError) as exc:
        if kernel.alive() and not isinstance(exc, DeadKernelError):
            return _unexpected(executed, exc)
        why = f"the kernel died ({kernel.exit_status()})"
        cell = _mark_failure(executed, "DeadKernelError", why) if executed.exists() else None
        return _error("dead-kernel", cell, why)
    except Exception as exc:  # e.g. a notebook papermill cannot read: record it, do not crash the run
        return _unexpected(executed, exc)
    return None


def _unexpected(executed: Path, exc: Exception) -> dict[str, Any]:
    why = f"{type(exc).__name__}: {exc}"
    cell = _mark_failure(executed, type(exc).__name__, why) if executed.exists() else None
    return _error("error", cell, why)


def _error(kind: str, cell: int | None, message: str) -> dict[str, Any]:
    return {"kind": kind, "cell": cell, "message": redact(message)}


def _mark_failure(executed: Path, ename: str, message: str) -> int | None:
    """Mark the cell that was running as papermill marks a cell error; return its execution count.

    The cell is the last one that started (the first code cell if none did). It gets an error output
    and ``metadata.papermill.exception``; papermill's own ``raise_for_execution_errors`` then adds the
    banner at the top and the anchor it links to, so every failure looks the same in the report.
    """
    import nbformat
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import raise_for_execution_errors

    nb = nbformat.read(executed, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if not code:
        return None
    started = [cell for cell in code if cell.metadata.get("papermill", {}).get("start_time")]
    cell = started[-1] if started else code[0]
    text = redact(message)
    cell.outputs.append(
        nbformat.v4.new_output("error", ename=ename, evalue=text, traceback=[f"{ename}: {text}"])
    )
    cell.metadata.setdefault("papermill", {}).update(exception=True, status="failed")
    nb.metadata.setdefault("papermill", {})["exception"] = True
    try:
        raise_for_execution_errors(nb, str(executed))
    except PapermillExecutionError:
        pass
    return cell.execution_count


class _Kernel:
    """A notebook's own kernel, started ahead of its turn on this interpreter (forked by ``forks``).

    While it waits, it imports the modules its notebook imports at top level (the ones a forked kernel
    did not get from the fork server), through a silent execution from a client of its own: ``silent``
    keeps the execution count, history and ``_`` as they were, and the code runs in a throwaway
    namespace, so the notebook's first cell finds a fresh kernel whose module cache is warm. Output
    printed by those imports goes nowhere.
    """

    def __init__(self, notebook: Path, env: dict[str, str], forks: ForkServer | None) -> None:
        from jupyter_client import AsyncKernelManager, BlockingKernelClient
        from jupyter_core.utils import run_sync

        from serverless_iris.runner.forkserver import ForkedProvisioner

        self._run_sync = run_sync
        self.manager = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=_this_interpreter())
        modules = _top_level_imports(notebook)
        if forks is not None:
            # IPC sockets: TCP ports picked now but bound only when the kernel is forked, seconds later,
            # can be taken in between by the client's own connection attempts
            self.manager.kernel_id = uuid.uuid4().hex
            self.manager.transport = "ipc"  # socket files beside the connection file, removed with it
            self.manager.ip = str(Path(tempfile.gettempdir()) / f"kernel-{self.manager.kernel_id[:12]}-ipc")
            provisioner = ForkedProvisioner(
                kernel_id=self.manager.kernel_id, kernel_spec=self.manager.kernel_spec, parent=self.manager
            )
            provisioner.server = forks
            provisioner.modules = modules
            self.manager.provisioner = provisioner
        run_sync(self.manager.start_kernel)(
            cwd=str(notebook.parent),
            env=env,
            stdout=subprocess.DEVNULL,  # start-up notices and C-level warnings stay off the console
            stderr=subprocess.DEVNULL,
            extra_arguments=["--HistoryManager.hist_file=:memory:"],  # as nbclient does
        )
        self._warmer = BlockingKernelClient()
        self._warmer.load_connection_info(self.manager.get_connection_info())
        self._warmer.start_channels(iopub=False, stdin=False, hb=False, control=False)
        self._warmer.execute(_warm_up_code(modules), silent=True, store_history=False, allow_stdin=False)
        self._stopped = False

    def alive(self) -> bool:
        return not self._stopped and bool(self._run_sync(self.manager.is_alive)())

    def exit_status(self) -> str:
        """How the kernel process ended, e.g. ``exit code 1`` or ``signal SIGKILL``."""
        code = self._run_sync(self.manager.provisioner.poll)() if self.manager.provisioner else None
        if code is None:
            return "exit status unknown"
        if code < 0:
            return f"signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self) -> None:
        """Kill the kernel at once: its notebook is saved and nothing is left for it to do."""
        if self._stopped:
            return
        self._stopped = True
        self._warmer.stop_channels()
        if self.manager.has_kernel:
            self._run_sync(self.manager.shutdown_kernel)(now=True)
        else:
            self._run_sync(self.manager.cleanup_resources)()


def _this_interpreter() -> Any:
    """A kernel-spec manager that resolves every kernel to ipykernel on ``sys.executable``.

    An installed ``python3`` spec may point at another Python; the notebooks must run on the
    interpreter (and packages) that runs the runner.
    """
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())

    return ThisInterpreter()


def _warm_up_code(modules: list[str]) -> str:
    """Code that imports ``modules`` (a notebook's top-level imports), binding no name.

    Helpers a notebook imports (``serverless_iris.dashboard``) import their heavy modules at the top
    for this reason: the inference notebook's cells took 8.7 s with a cold module cache, 2.2 s warm.

    It also keeps jsonschema (imported by ``dataframe_image`` through nbformat) from building the IRI
    grammar nobody checks, as :func:`skip_unused_grammar` does in the runner: over 2 s of CPU a kernel.
    """
    body = (
        "import importlib, sys\n"
        "if 'jsonschema' not in sys.modules:\n"
        "    sys.modules.setdefault('rfc3987_syntax', None)\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        pass\n"
    )
    return f"exec({body!r}, {{}})"


def _top_level_imports(notebook: Path) -> list[str]:
    """Modules named by ``import``/``from ... import`` statements at the top level of code cells."""
    import ast

    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    modules: list[str] = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.append(node.module)
    return list(dict.fromkeys(modules))


class _ModelVersions:
    """The registered versions of model ``iris``, asked without holding up the run.

    Local backend: the embedded registry answers in milliseconds. Hopsworks: logging in takes seconds
    and prints, so a child process asks (for --daily, while the feature notebook runs) and only its
    last line of output is read. The answer is None when it cannot be told (no network, a busy store).
    """

    _CODE = (
        "import json, serverless_iris\n"
        f"models = serverless_iris.login().get_model_registry().get_models({MODEL_NAME!r}) or []\n"
        "print(json.dumps([int(m.version) for m in models]))"
    )

    def __init__(self, backend: str) -> None:
        self._answer: list[int] | None = None
        self._child: subprocess.Popen[str] | None = None
        if backend != "local":
            self._child = subprocess.Popen(
                [sys.executable, "-c", self._CODE],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            return
        from serverless_iris.backend import local_project

        try:
            models = local_project().get_model_registry().get_models(MODEL_NAME)
            self._answer = sorted(int(m.version) for m in models)
        except Exception:  # unknown: see the class docstring
            self._answer = None

    def answered(self) -> bool:
        return self._child is None or self._child.poll() is not None

    def result(self, timeout: float = 300) -> list[int] | None:
        """The versions, oldest first (waiting for the child up to ``timeout`` s); None when unknown."""
        if self._child is not None:
            child, self._child = self._child, None
            try:
                output, _ = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                return None
            last = output.strip().splitlines()[-1:] if child.returncode == 0 else []
            try:
                self._answer = sorted(int(v) for v in json.loads(last[0])) if last else None
            except (ValueError, TypeError):
                self._answer = None
        return self._answer


@contextmanager
def _store_lock(backend: str, say: Echo) -> Iterator[None]:
    """Hold ``<store>/run.lock`` for the whole run: a second run on the same store waits, bounded.

    Two runs on one store would interleave their inserts and models; DuckDB alone only keeps each
    statement safe. The wait is ``IRIS_LOCK_TIMEOUT`` (60 s), after which :class:`StoreBusyError`.
    The Hopsworks backend serialises on the server, so there is nothing to lock here.
    """
    if backend != "local":
        yield
        return
    import fcntl

    from serverless_iris.paths import lock_timeout

    store = store_path()
    store.mkdir(parents=True, exist_ok=True)
    with open(store / RUN_LOCK, "a+") as handle:
        wait = lock_timeout()
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"another run ({_holder(handle)}) held the store {store} for {wait:g} s; "
                        "wait for it to finish, raise IRIS_LOCK_TIMEOUT, or set IRIS_STORE to another folder"
                    ) from None
                if deadline - time.monotonic() >= wait - 0.25:
                    say(f"waiting for another run ({_holder(handle)}) on store {store} (up to {wait:g} s)")
                time.sleep(0.25)
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(handle: Any) -> str:
    handle.seek(0)
    return handle.read().strip() or "pid unknown"


@contextmanager
def _interrupts_raise() -> Iterator[None]:
    """SIGTERM interrupts like Ctrl-C: a ``KeyboardInterrupt`` that says which signal it was."""

    def interrupt(signum: int, frame: Any) -> None:
        exc = KeyboardInterrupt()
        exc.signal_name = signal.Signals(signum).name  # type: ignore[attr-defined]
        raise exc

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C/SIGTERM while kernels are stopped and records written, so neither is left half done."""
    signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _progress_line(i: int, total: int, entry: dict[str, Any]) -> str:
    took = f"in {entry['duration_s']:.1f} s" if entry["duration_s"] is not None else ""
    line = f"[{i + 1}/{total}] {entry['name']:<9} {entry['status']:<9} {took}".rstrip()
    error = entry["error"]
    if error:
        where = f" at cell In [{error['cell']}]" if error["cell"] is not None else ""
        line += f"{where}: {error['message']}"
    return line


def _write_json(path: Path, data: Any) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _warm_up_reports() -> None:
    from serverless_iris.runner import reports

    reports.warm_up()


def _write_index(outputs: Path, problems: list[str]) -> Path | None:
    from serverless_iris.runner import reports

    try:
        return reports.write_index(outputs)
    except KeyboardInterrupt:
        problems.append("interrupted while writing index.html")
    except Exception as exc:
        problems.append(f"index.html not written: {type(exc).__name__}: {exc}")
    return None


def _prune(outputs: Path, keep: int, current: str) -> None:
    """Delete all but the newest ``keep`` run folders; never the current run or another live one."""
    from serverless_iris.runner.reports import effective_status, load_runs

    live = {run["id"] for run in load_runs(outputs) if effective_status(run) == "running"}
    folders = sorted((p for p in (outputs / "runs").iterdir() if p.is_dir()), key=lambda p: p.name)
    for folder in folders[::-1][keep:]:
        if folder.name != current and folder.name not in live:
            shutil.rmtree(folder, ignore_errors=True)


def _unfinished_runs(outputs: Path) -> list[str]:
    """Notes on earlier runs still recorded as running whose process is gone (killed outright)."""
    from serverless_iris.runner.reports import effective_status, load_runs

    return [
        f"note: run {run['id']} was interrupted (its process is gone)"
        for run in load_runs(outputs)[::-1]
        if run.get("status") == "running" and effective_status(run) == "interrupted"
    ]


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _package_versions_later() -> Future[dict[str, str]]:
    """Package versions for run.json, looked up in a thread (reading package metadata takes a while)."""
    from importlib import metadata

    def versions() -> dict[str, str]:
        found = {"python": sys.version.split()[0]}
        for name in PACKAGES:
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return found

    future: Future[dict[str, str]] = Future()
    threading.Thread(target=lambda: future.set_result(versions()), daemon=True).start()
    return future


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def skip_unused_grammar() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in the runner process.

    jsonschema builds that package's IRI grammar at import (about a second) only to check the
    ``iri`` string format, which no notebook schema uses. A ``None`` entry in ``sys.modules`` makes
    the import fail, and jsonschema skips that one checker. Kernels are not affected.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
