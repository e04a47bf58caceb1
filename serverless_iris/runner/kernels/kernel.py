"""Kernels: each notebook's own, started ahead of its turn on this interpreter, with its modules imported.

On Linux the kernels are forked from a fork server (:mod:`serverless_iris.runner.kernels.forkserver`) that has
imported their notebooks' top-level imports, so pandas, scikit-learn and matplotlib are imported once
per run, not once per kernel; :func:`fork_server` starts it. Elsewhere each kernel is started from
scratch and imports them itself while it waits for its turn. Either way a kernel runs no code of any
other notebook.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_iris.backend import selected_backend, without_key
from serverless_iris.offline_kernel import DISPLAY_NAME, LAUNCHER
from serverless_iris.paths import NOTEBOOKS_DIR, importable
from serverless_iris.runner.plan import PIPELINE

MATPLOTLIB_INLINE = "module://matplotlib_inline.backend_inline"  # ipykernel's default; matplotlib reads it

if TYPE_CHECKING:
    from serverless_iris.runner.kernels.forkserver import ForkServer

KERNEL_NAME = "python3"
# Modules that a notebook's top-level import makes it import later, at first use, inside a cell: warmed
# with that import, so the kernel (forked after the fork server imported them) does not import them
# while its notebook waits. Checked against the notebooks' cells by tests/runner/kernels/test_warm_imports.py.
LATER_IMPORTS = {
    "serverless_iris.helpers.contract": ["pandera.pandas"],  # its checks import pandera at their first call
    "hsml.schema": ["hsfs.training_dataset"],  # hsml's ColumnarSchema.__init__, at Schema(frame)
}


def fork_server(notebooks: Path = NOTEBOOKS_DIR, first: str = "feature") -> ForkServer | None:
    """Start the fork server the kernels come from, preloading the imports of notebook ``first``.

    Started before the plan is checked, its imports overlap the checking; it writes nothing (close it
    when the plan is refused). Only the first notebook's imports are preloaded: the run asks for every
    kernel as it starts, and a kernel's own imports come first then. None where kernels are not forked
    (see ``serverless_iris.runner.kernels.forkserver``).
    """
    from serverless_iris.runner.kernels import forkserver

    if not forkserver.available():
        return None
    try:
        preload = notebook_modules(Path(notebooks) / PIPELINE[first])
    except (OSError, ValueError):  # the plan reports a missing or broken notebook
        preload = []
    return forkserver.ForkServer(without_key(kernel_environment()), preload)  # a fork gets its own env


def kernel_environment() -> dict[str, str]:
    """This process's environment, with this very serverless_iris importable, installed or not.

    Figures are drawn inline, as in Jupyter, whatever ``MPLBACKEND`` the shell has (``Agg`` on many
    servers and CI images would leave the executed notebooks and their reports without plots).
    """
    return {**importable(os.environ), "MPLBACKEND": MATPLOTLIB_INLINE}


class Kernel:
    """A notebook's own kernel, started ahead of its turn on this interpreter (forked by ``forks``).

    While it waits, it imports the modules its notebook imports at top level (the ones a forked kernel
    did not get from the fork server), through a silent execution from a client of its own: ``silent``
    keeps the execution count, history and ``_`` as they were, and the code runs in a throwaway
    namespace, so the notebook's first cell finds a fresh kernel whose module cache is warm. Output
    printed by those imports goes nowhere.
    """

    def __init__(self, notebook: Path, env: dict[str, str], forks: ForkServer | None) -> None:
        from jupyter_client import BlockingKernelClient
        from jupyter_core.utils import run_sync

        from serverless_iris.runner.kernels.provisioner import ClientClosingManager, ForkedProvisioner

        self._run_sync = run_sync
        self.manager = ClientClosingManager(
            kernel_name=KERNEL_NAME,
            kernel_spec_manager=_this_interpreter(offline=selected_backend() == "local"),
            client_class="serverless_iris.runner.kernels.provisioner.ReadyClient",  # the client nbclient gets
        )
        modules = notebook_modules(notebook)
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
        """Kill the kernel at once: its notebook is saved and nothing is left for it to do.

        Nothing waits for it to end (jupyter_client's ``shutdown_kernel`` would, polling its process,
        for as long as a busy fork server takes to report the exit): its process group gets SIGKILL and
        its connection files are removed; whoever started it reaps it.
        """
        if self._stopped:
            return
        self._stopped = True
        self._warmer.stop_channels()
        self.manager.close_clients()
        self._run_sync(self._kill)()

    async def _kill(self) -> None:
        provisioner = self.manager.provisioner
        if provisioner is not None and provisioner.has_process:
            await provisioner.kill()
        await self.manager.cleanup_resources()


def _this_interpreter(offline: bool) -> Any:
    """A kernel-spec manager that resolves every kernel to ipykernel on ``sys.executable``; ``offline``:
    to the embedded-Hopsworks kernel (:mod:`serverless_iris.offline_kernel`), where ``hopsworks.login()``
    opens the embedded store, as the local backend wants.

    An installed ``python3`` spec may point at another Python; the notebooks must run on the
    interpreter (and packages) that runs the runner, whatever kernel their metadata names.
    """
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    spec = get_kernel_dict()
    if offline:
        spec.update(argv=[sys.executable, *LAUNCHER, "-f", "{connection_file}"], display_name=DISPLAY_NAME)

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(resource_dir=RESOURCES, **spec)

    return ThisInterpreter()


def _warm_up_code(modules: list[str]) -> str:
    """Code that imports ``modules`` (a notebook's top-level imports), binding no name.

    Helpers a notebook imports (``serverless_iris.helpers.dashboard``) import their heavy modules at the top
    so that this warms them too. It first keeps jsonschema from building the IRI grammar nobody checks
    (:func:`~.startup.skip_unused_grammar`), as the runner and the fork server do.
    """
    body = (
        "import importlib\n"
        "from serverless_iris.runner.kernels.startup import skip_unused_grammar\n"
        "skip_unused_grammar()\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        pass\n"
    )
    return f"exec({body!r}, {{}})"


def notebook_modules(notebook: Path) -> list[str]:
    """The modules a kernel is warmed with: ``notebook``'s top-level imports, each followed by the
    modules it imports later (:data:`LATER_IMPORTS`)."""
    return [later for name in top_level_imports(notebook) for later in [name, *LATER_IMPORTS.get(name, [])]]


def top_level_imports(notebook: Path) -> list[str]:
    """Modules named by ``import``/``from ... import`` statements at the top level of code cells."""
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
