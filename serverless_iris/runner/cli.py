"""``python runner.py``: the command line of the runner (options, console output, exit codes)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from serverless_iris.backend import HOST_ENV, KEY_ENV, PROJECT_ENV, describe_store_record, redact
from serverless_iris.errors import StoreBusyError
from serverless_iris.paths import BACKEND_ENV, NOTEBOOKS_DIR, OUTPUTS_DIR
from serverless_iris.runner.csv_source import SOURCE
from serverless_iris.runner.kernels.kernel import fork_server
from serverless_iris.runner.kernels.startup import skip_unused_grammar
from serverless_iris.runner.parameters import Parameter, ParameterError, parse_assignments
from serverless_iris.runner.plan import (
    PIPELINE,
    RUNNER_PARAMETERS,
    Plan,
    UsageError,
    declared_parameters,
    folder_notebooks,
    holds_pipeline,
    notebook_paths,
    plan,
)

if TYPE_CHECKING:
    from serverless_iris.runner.kernels.forkserver import ForkServer
    from serverless_iris.runner.run import Result

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
RUNNER_NOTES = {name: " (set by the runner)" for name in RUNNER_PARAMETERS} | {
    SOURCE: " (runner.py: must be readable; giving it loads it, as --backfill)"
}

DESCRIPTION = """\
Run the iris pipelines headless through papermill, each notebook in its own fresh kernel on this
Python, and archive the run under OUTPUTS/runs/<time>-<id>/: the executed notebooks, their HTML
reports and run.json. OUTPUTS/index.html shows the run history and the dashboard.

  python runner.py            feature -> training -> batch inference (an empty store is backfilled)
  python runner.py --daily    feature (new flowers) -> batch inference; trains first when the
                              registry has no model yet, and retrains (then predicts again) when
                              the accuracy alert is raised, unless -p RETRAIN_ON_ALERT=false
  python runner.py --notebooks DIR
                              DIR without the three pipeline notebooks (someone else's Hopsworks
                              notebooks, the course's own): every *.ipynb in DIR, each in a fresh
                              kernel, feature pipelines first, then training, then inference (by the
                              words feature, train, inference/predict in the file names), then the
                              others, each group in name order; the run stops at the first failure.
                              On the embedded store their hopsworks.login() opens it, unchanged.
"""

EPILOG = """\
parameters:
  -p NAME=VALUE reaches every selected notebook that declares NAME (see --list), converted to the
  type of its default; a None default takes a Python literal (number, true/false, None) or else the
  text. Unknown names, wrong types, values outside those the notebook allows (--list: "allowed")
  and secret-looking names (*KEY*, *TOKEN*, *SECRET*, *PASSWORD*) are refused before anything runs:
  secrets come from the environment (HOPSWORKS_API_KEY).
  -p IRIS_CSV=PATH|URL loads that file (validated, then upserted: it implies --backfill); a path is
  taken from the folder you run in, and one that cannot be read is refused up front.
  With --daily, training's parameters apply when it trains.

environment:
  HOPSWORKS_API_KEY, IRIS_BACKEND=local|hopsworks  which backend the notebooks use
  IRIS_STORE         the embedded store's folder (default: the repository's store/); each run.json
                     records its store, and an outputs folder holds the runs of one store only:
                     give another store its own --outputs
  IRIS_LOCK_TIMEOUT  seconds a run waits for another run on the same store (default 60)
  IRIS_LOGIN_TIMEOUT, IRIS_REQUEST_TIMEOUT, IRIS_STORE_QUESTION_TIMEOUT
                     seconds for the Hopsworks login (120), each Hopsworks call (300) and the
                     runner's own question to the store (180)
  IRIS_FORK_KERNELS  0: start each kernel from scratch instead of forking it from the fork
                     server that has imported the notebooks' modules (Linux; default 1)

exit codes:
  0    every notebook succeeded
  1    a notebook failed (the console names it and its cell; its report marks the cell),
       a report could not be written, or the store stayed busy (another run held it longer
       than IRIS_LOCK_TIMEOUT; nothing was written)
  2    bad usage or parameters, an IRIS_CSV that cannot be read, an --outputs folder holding
       another store's runs or anything runner.py did not write, a store or outputs folder that
       cannot be written, or a HOPSWORKS_API_KEY too short to scrub (nothing ran, nothing was written)
  130  interrupted by Ctrl-C or SIGTERM (the run is recorded as failed: interrupted)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runner.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--daily", action="store_true", help="what the schedule runs: feature then inference")
    mode.add_argument(
        "--only",
        metavar="NAMES",
        type=_names,
        help=f"comma-separated notebooks to run, in pipeline order: {','.join(PIPELINE)}",
    )
    parser.add_argument("--backfill", action="store_true", help="force BACKFILL=True in the feature notebook")
    parser.add_argument(
        "-p",
        dest="parameters",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="set a notebook parameter (repeatable)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the notebooks and their parameters, then exit"
    )
    parser.add_argument(
        "--outputs",
        metavar="DIR",
        type=Path,
        default=OUTPUTS_DIR,
        help="run archive, one per store (default: the repository's outputs/, wherever you run from)",
    )
    parser.add_argument(
        "--notebooks",
        metavar="DIR",
        type=Path,
        default=NOTEBOOKS_DIR,
        help="folder holding the pipeline notebooks, or other notebooks to run in order, see above "
        "(default: the repository's notebooks/)",
    )
    parser.add_argument(
        "--keep",
        metavar="N",
        type=_positive,
        default=30,
        help="keep the newest N runs, and the one that trained the model in use (default: 30)",
    )
    parser.add_argument(
        "--timeout",
        metavar="S",
        type=_positive,
        help="per-cell timeout in seconds (default: none, a cell may run as long as it takes)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list)  # exits 2 on a usage error
    _quiet_libraries()
    skip_unused_grammar()
    if args.list:
        try:
            names = args.only or list(PIPELINE)
            if args.only or holds_pipeline(args.notebooks):
                paths = notebook_paths(names, args.notebooks)
            else:
                paths = folder_notebooks(args.notebooks)
            show(_listing(paths, declared_parameters(paths)))
        except (UsageError, ParameterError) as exc:
            return _usage_error(str(exc))
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        return EXIT_OK
    forks = None
    try:
        forks = fork_server(args.notebooks, (args.only or list(PIPELINE))[0])  # imports meanwhile
        return _run(args, args_list, forks)
    except KeyboardInterrupt:  # before the run started (execute handles its own)
        return interrupted_early()
    finally:
        if forks is not None:
            forks.close()


def interrupted_early() -> int:
    """Ctrl-C or SIGTERM before a run started: nothing was written."""
    show("runner.py: interrupted before the run started; nothing was written", sys.stderr)
    return EXIT_INTERRUPTED


def exit_at_once(code: int) -> NoReturn:
    """End the process with ``code`` once ``main`` has returned, skipping the interpreter's teardown.

    The run is recorded and its files are closed by then; tearing down the thousands of modules a run
    imports (pandas, scikit-learn, nbconvert, ...) is work nobody needs. The standard streams are flushed
    first.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a console closed by its reader
            pass
    os._exit(code)


def _run(args: argparse.Namespace, args_list: list[str], forks: ForkServer | None) -> int:
    try:
        checked = _plan(args)
    except (UsageError, ParameterError) as exc:
        return _usage_error(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    progress_bar = not args.quiet and sys.stderr.isatty()
    try:
        from serverless_iris.runner.run import execute  # after the fork server has started

        result = execute(
            checked,
            args.outputs,
            keep=args.keep,
            timeout=args.timeout,
            argv=["runner.py", *args_list],
            progress_bar=progress_bar,
            echo=None if args.quiet else _echo,
            forks=forks,
        )
    except StoreBusyError as exc:
        show(f"runner.py: {exc}", sys.stderr)
        return EXIT_FAILED
    except UsageError as exc:
        return _usage_error(str(exc))
    except KeyboardInterrupt:
        return interrupted_early()
    show(_summary(result))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.succeeded else EXIT_FAILED


def _plan(args: argparse.Namespace) -> Plan:
    assignments = parse_assignments(args.parameters)
    mode = "daily" if args.daily else "only" if args.only else "full"
    if mode == "full" and not args.backfill and not holds_pipeline(args.notebooks):
        mode = "folder"
    if args.backfill:
        if args.daily:
            raise UsageError("--backfill contradicts --daily (which adds new flowers)")
        if args.only and "feature" not in args.only:
            raise UsageError("--backfill needs the feature notebook (--only feature,...)")
        if "BACKFILL" in assignments:
            raise UsageError("use --backfill or -p BACKFILL=..., not both")
        assignments["BACKFILL"] = "True"
    return plan(mode, args.only or (), assignments, args.notebooks)


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PIPELINE]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown notebook {', '.join(unknown) or repr(text)}; choose from {','.join(PIPELINE)}"
        )
    return names


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _quiet_libraries() -> None:
    """Keep library warnings and log records off the console: failures are reported by the runner."""
    warnings.simplefilter("ignore")
    logging.getLogger().addHandler(logging.NullHandler())


def _usage_error(message: str) -> int:
    show(f"runner.py: error: {redact(message)}", sys.stderr)
    show("nothing was run (runner.py --help, runner.py --list)", sys.stderr)
    return EXIT_USAGE


def _echo(line: str) -> None:
    show(redact(line))


# Control characters other than newline and tab, shown as \x.. escapes: an error message or a path may
# come from a CSV cell, and an escape sequence in it would drive the terminal (clear it, hide lines, retitle).
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\t"}


def show(text: str, stream: TextIO | None = None) -> None:
    """Print ``text`` on the console (``sys.stdout`` unless ``stream``), its control characters escaped.
    A console closed by its reader (``runner.py | head -1``) is no error: the run goes on to write its
    record, its lines go nowhere."""
    stream = stream or sys.stdout
    try:
        print(text.translate(_CONTROLS), file=stream, flush=True)
    except (BrokenPipeError, ValueError):  # ValueError: the stream object itself was closed
        _to_nowhere(stream)


def _to_nowhere(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at /dev/null, so that what is still buffered and what follows
    is dropped instead of raising again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError):
        pass


def _listing(paths: dict[str, Path], declared: dict[str, dict[str, Parameter]]) -> str:
    lines = []
    for name, parameters in declared.items():
        lines.append(f"{name}: {paths[name].name}")
        width = max((len(p) for p in parameters), default=0)
        dwidth = max((len(p.default) for p in parameters.values()), default=0)
        for parameter in parameters.values():
            note = RUNNER_NOTES.get(parameter.name, "")
            lines.append(
                f"  {parameter.name:<{width}}  {parameter.default:<{dwidth}}  {parameter.description}{note}"
            )
            if parameter.allowed:
                lines.append(f"  {'':<{width}}  {'':<{dwidth}}  allowed: {parameter.allowed}")
        if not parameters:
            lines.append("  (no parameters)")
    return "\n".join(lines)


def _hopsworks_hint(store: dict[str, str | None]) -> str:
    """What to check when a notebook failed on Hopsworks: the notebooks call the SDK's own
    ``hopsworks.login()`` there, whose errors say nothing of the environment the runner reads."""
    return (
        f"the run used {describe_store_record(store)}: check the host and project ({HOST_ENV}, "
        f"{PROJECT_ENV}), the network, and that {KEY_ENV} is a key for them; to run offline on the "
        f"embedded store, set {BACKEND_ENV}=local"
    )


def _summary(result: Result) -> str:
    """A table of the notebooks, what failed and where, and where the reports are."""
    from serverless_iris.runner.run import shown

    record = result.record
    rows = [("notebook", "status", "time", "report")]
    for entry in record["notebooks"]:
        took = f"{entry['duration_s']:.1f} s" if entry["duration_s"] is not None else "-"
        report = shown(result.folder / entry["report"]) if entry["report"] else "-"
        rows.append((entry["name"], entry["status"], took, report))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [""] + [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}" for a, b, c, d in rows]
    reason = record.get("trained") or record.get("retrained")
    if reason:
        lines.append(f"trained because {reason}")
    for entry in record["notebooks"]:
        error = entry["error"]
        if error:
            cell = f" at cell In [{error['cell']}]" if error["cell"] is not None else ""
            lines.append(f"FAILED {entry['name']} ({entry['notebook']}){cell}: {error['message']}")
            if entry["report"]:
                lines.append(f"  report: {shown(result.folder / entry['report'])}")
    if record["backend"] == "hopsworks" and any(entry["error"] for entry in record["notebooks"]):
        lines.append(_hopsworks_hint(record["store"]))
    lines += [f"problem: {problem}" for problem in result.problems]
    index = f"; index: {shown(result.index)}" if result.index else ""
    lines.append(f"run {record['id']} {record['status']} in {record['duration_s']:.1f} s{index}")
    lines += _model_lines(record)
    return redact("\n".join(lines))


def _model_lines(record: dict[str, Any]) -> list[str]:
    """The model the run trained, and, last, what it predicted with which model and why that one."""
    from serverless_iris.helpers.dashboard_files import describe_model

    models = record.get("model") or {}
    lines = [f"trained {describe_model(models['trained'])}"] if models.get("trained") else []
    used, today = models.get("predicted_with"), record.get("predicted")
    if used and today:
        lines.append(
            f"predicted {today['predicted']} for the flower of {today['event_time']} (actually "
            f"{today['actual']}) with {describe_model(used)}: {used.get('chosen', 'chosen not recorded')}"
        )
    return lines
