"""Fixtures shared by the test rooms; ``support``, ``sample_archive`` and ``browser`` beside this file are
importable from every test module (pytest puts this folder on ``sys.path`` for its conftest).

Shared fixtures (reuse them rather than running the notebooks again in a new module):

``workspace``
    A fresh store and outputs folder for one test's runs (function scope).
``backfilled_store``
    A store after ``runner.py --only feature`` on an empty store: the feature notebook's backfill of the
    149 iris flowers and the first run's flower of today, as users fill it. Read-only:
    ``shutil.copytree`` it before writing to it.
``chromium``
    A headless Chromium for the browser tests of one module (module scope; see the fixture). Without
    Chromium the session says so once, at its start, with the command that installs it, and the browser
    tests are skipped, or fail under CI (``CI=true``).
``sample_outputs``
    :func:`sample_archive.build_outputs`: an outputs folder of three hand-written runs whose reports
    come from two small notebooks papermill executed. Read-only: each module that uses it takes a copy
    (``shutil.copytree``).
``full_run``
    ``python runner.py`` then ``runner.py --daily`` on a fresh store, with a random
    ``HOPSWORKS_API_KEY`` set that must leak nowhere and ``MPLBACKEND=Agg`` (as on many servers and CI
    images; the kernels must still draw inline) (:class:`support.FullRun`: the workspace, the key and
    both commands' results). Read-only: copy its store or outputs before writing to them.

The session-scoped ones are built once per session, the first time a test asks for them, also under
pytest-xdist (``-n 2``): the first worker to ask builds, the other waits for it and reuses the result
(:func:`support.built_once`).

Markers (pyproject.toml): ``slow`` for the long stress tests, run after the default set
(``python -m pytest -m slow``); ``soak`` for the soak test (``python -m pytest -m soak``); ``browser``
for the tests that drive headless Chromium.
"""

from __future__ import annotations

import gc
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from serverless_iris.runner.kernels.startup import skip_unused_grammar

skip_unused_grammar()  # before nbformat's jsonschema: 2 s of CPU in every worker, for a format no test checks
gc.disable()  # until the test modules are imported: see pytest_collection below

import pytest
from browser import chromium_browser, chromium_missing, in_ci
from playwright.sync_api import Browser
from sample_archive import build_outputs
from support import FullRun, Workspace, built_once, completed, make_workspace, recorded

from serverless_iris.embedded.feature_store import FeatureStore
from serverless_iris.offline_kernel import KERNEL_NAME
from serverless_iris.paths import REPO_ROOT

# The modules that take longest, in the order pytest-xdist hands them out (addopts: --dist loadfile
# --no-loadscope-reorder): each goes to a worker whole, so one taken last keeps the run waiting for it.
# The slow set's first, then the default set's; every other module follows in collection order.
LONGEST_FIRST = (
    "runner/test_chaos.py",  # slow: 20 kills of --daily
    "test_benchmarks.py",  # slow: the benchmark command, every section
    "test_notebooks.py",  # slow: nine notebook executions in fresh kernels
    "runner/test_monitoring.py",
    "helpers/test_fuzz_contract.py",
    "runner/test_runner.py",  # builds the shared full run
    "test_notebooks_without_the_runner.py",  # seven notebook executions under papermill alone
    "runner/kernels/test_warm_imports.py",
    "helpers/test_tryit.py",
    "test_offline_kernel.py",  # the course's Lab 1 in three fresh kernels, pip install of the kernel spec
    "runner/test_foreign_notebooks.py",  # the course's Lab 1 through the runner
)

BACKFILL_ROWS = 149 + 1  # assets/iris.csv: 150 flowers, one of them twice; and the first run adds today's


@pytest.fixture(scope="session", autouse=True)
def embedded_kernel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's "Python 3 (embedded Hopsworks)" kernel spec, found first by Jupyter (``JUPYTER_PATH``,
    inherited by every process a test starts), whichever copy the environment has installed, if any."""
    data = tmp_path_factory.mktemp("jupyter-data")
    (data / "kernels").mkdir()
    shutil.copytree(REPO_ROOT / "jupyter-config" / "kernels" / KERNEL_NAME, data / "kernels" / KERNEL_NAME)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data), os.environ.get("JUPYTER_PATH")]))
    return data


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh store and outputs folder for one test's runs."""
    return make_workspace(tmp_path)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for a module's browser tests; each test opens a new context in it
    (``browser.chromium_page``). Per module, not per session: while Playwright's synchronous API runs it
    holds an event loop open, and ``asyncio.run`` (papermill, nbclient) refuses to start inside one, so
    the browser must not outlive the module that asked for it."""
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="session")
def backfilled_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled the way users fill it: the feature notebook's backfill, through the runner."""

    def build(folder: Path) -> dict:
        done = make_workspace(folder).run("--only", "feature", "-q")
        assert done.returncode == 0, done.stdout + done.stderr
        rows = FeatureStore(folder / "store").get_feature_group("iris", version=1).read()
        assert len(rows) == BACKFILL_ROWS
        return {}

    folder, _ = built_once(tmp_path_factory, "backfilled", build)
    return folder / "store"


@pytest.fixture(scope="session")
def sample_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample archive, built once: its two notebook executions cost seconds in every module."""

    def build(folder: Path) -> dict:
        build_outputs(folder)
        return {}

    folder, _ = built_once(tmp_path_factory, "sample-archive", build)
    return folder / "outputs"


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> FullRun:
    """``python runner.py`` then ``--daily`` on a new store, with a Hopsworks key set that must not leak."""

    def build(folder: Path) -> dict:
        key = secrets.token_hex(24)
        space = make_workspace(folder, HOPSWORKS_API_KEY=key, MPLBACKEND="Agg")
        return {"key": key, "full": recorded(space.run()), "daily": recorded(space.run("--daily"))}

    folder, facts = built_once(tmp_path_factory, "full-run", build)
    space = make_workspace(folder, HOPSWORKS_API_KEY=facts["key"], MPLBACKEND="Agg")
    return FullRun(space, facts["key"], completed(facts["full"]), completed(facts["daily"]))


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[object]:
    """Import the test modules without the garbage collector, then freeze what they imported.

    Every worker imports pandas, scikit-learn and the Hopsworks SDK while it collects; each full
    collection meanwhile walked all of it, and so did every later one and pytest's five at the end
    (collection took 11-13 s of CPU in one process, 6-7 s without them). The fork server does the same for
    its kernels (``runner.kernels.forkserver``): the modules stay, and the collector looks only at
    what the tests allocate.
    """
    try:
        return (yield)
    finally:
        gc.freeze()
        gc.enable()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say once, before any test, that Chromium is missing and how to install it (not in xdist's workers)."""
    missing = chromium_missing()
    if missing and not hasattr(session.config, "workerinput"):
        outcome = "fail (CI=true)" if in_ci() else "are skipped"
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(f"{missing}. Until then the browser tests {outcome}.", yellow=True, bold=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the modules of :data:`LONGEST_FIRST` first, in that order (a stable sort: the rest keep theirs);
    without Chromium, skip the browser tests, except under CI, where the ``chromium`` fixture fails them."""
    missing = chromium_missing()
    if missing and not in_ci():
        for item in items:
            if item.get_closest_marker("browser"):
                item.add_marker(pytest.mark.skip(reason=missing))
    tests = Path(__file__).parent

    def rank(item: pytest.Item) -> int:
        module = item.path.relative_to(tests).as_posix() if item.path.is_relative_to(tests) else ""
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
