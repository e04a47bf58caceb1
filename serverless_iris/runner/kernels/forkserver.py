"""Kernels forked from one process that imports the notebooks' modules once (Linux).

Every notebook runs in a kernel of its own, and a fresh kernel imports pandas, scikit-learn and
matplotlib again, which costs more CPU than the notebooks' own work. So on Linux the runner starts this
fork server first. The server imports the modules each notebook imports at top level, in pipeline
order, and forks a kernel for each notebook as soon as that notebook's modules are loaded. A forked
kernel is a new process that has run no notebook's code; it starts ipykernel as
``python -m ipykernel_launcher`` would and finds its modules already loaded (shared with the server,
copy on write). This is the ``forkserver`` idea of :mod:`multiprocessing`, applied to kernels.

The runner side is :class:`ForkServer` and ``ForkedProvisioner``
(:mod:`serverless_iris.runner.kernels.provisioner`), a jupyter_client provisioner whose ``launch_kernel`` asks
the server instead of starting ``python``. This module does not import jupyter_client, so the runner
starts the server before it imports anything heavy. Launching does not wait: the
kernel is forked when its modules are loaded, and its client's messages wait in ZeroMQ until then.

Protocol, one JSON object per line. Runner to server: ``{"kernel": id, "argv": [...], "env": {...},
"cwd": path, "modules": [...], "offline": bool}``. Server to runner: ``{"forked": id, "pid": n}`` and
``{"exited": pid, "status": code}`` (``Popen.returncode`` style: a negative code is a signal). The server
ignores Ctrl-C and exits when its stdin closes (the runner has ended, however it ended), killing its kernels.
"""

from __future__ import annotations

import errno
import gc
import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from typing import Any, TextIO

from serverless_iris.paths import FORK_KERNELS_ENV
from serverless_iris.runner.kernels.startup import skip_unused_grammar

LAUNCHER = ["-m", "ipykernel_launcher"]  # what a kernel spec for this Python runs after the interpreter
START_TIMEOUT_S = 120  # a kernel's pid is waited for this long (it waits for its modules to load)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def available() -> bool:
    """Whether kernels are forked: Linux only (macOS frameworks are not safe to use after fork)."""
    return sys.platform == "linux" and os.environ.get(FORK_KERNELS_ENV, "1") != "0"


# --- the runner's side -------------------------------------------------------------------------------


class ForkServer:
    """The server process, and what it has reported: which kernel got which pid, and how they ended."""

    def __init__(self, env: dict[str, str], preload: list[str] | None = None) -> None:
        """Start the server with ``env``; it imports ``preload`` while no kernel is asked for."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serverless_iris.runner.kernels.forkserver", *(preload or [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._pids: dict[str, int] = {}
        self._exits: dict[int, int] = {}
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="forkserver", daemon=True)
        self._reader.start()

    def launch(
        self, argv: list[str], env: dict[str, str], cwd: str, modules: list[str], offline: bool = False
    ) -> ForkedProcess:
        """Ask for a kernel running ipykernel with ``argv``; it is forked once ``modules`` are loaded.

        ``offline``: the embedded-Hopsworks kernel (:mod:`serverless_iris.offline_kernel`) instead.
        """
        kernel = uuid.uuid4().hex
        request = {
            "kernel": kernel,
            "argv": argv,
            "env": env,
            "cwd": cwd,
            "modules": modules,
            "offline": offline,
        }
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()
        return ForkedProcess(self, kernel)

    def pid(self, kernel: str, timeout: float | None = START_TIMEOUT_S) -> int | None:
        """The kernel's pid once it is forked; None when the server ended or ``timeout`` passed first."""
        with self._changed:
            self._changed.wait_for(lambda: kernel in self._pids or not self._reader.is_alive(), timeout)
            return self._pids.get(kernel)

    def status(self, pid: int) -> int | None:
        """How the kernel ``pid`` ended; None while it runs."""
        with self._changed:
            if pid in self._exits:
                return self._exits[pid]
            if self._reader.is_alive():
                return None
        try:  # the server is gone: its kernels were killed with it, or outlived it as orphans
            os.kill(pid, 0)
        except ProcessLookupError:
            return -signal.SIGKILL
        return None

    def close(self) -> None:
        """End the server; it kills the kernels it forked that still run. Closing twice is harmless.

        SIGTERM ends it at once, even in the middle of an import; a closed stdin (also what happens
        when the runner is killed) ends it at its next look at the pipe.
        """
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            with self._changed:
                if "forked" in message:
                    self._pids[message["forked"]] = message["pid"]
                elif "exited" in message:
                    self._exits[message["exited"]] = message["status"]
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()


class ForkedProcess:
    """The ``Popen`` a jupyter_client provisioner expects, for a kernel the server forks."""

    stdin = stdout = stderr = None

    def __init__(self, server: ForkServer, kernel: str) -> None:
        self._server = server
        self._kernel = kernel
        self.returncode: int | None = None

    @property
    def pid(self) -> int | None:
        return self._server.pid(self._kernel)

    def poll(self) -> int | None:
        pid = self._server.pid(self._kernel, timeout=0)
        if pid is None:  # not forked yet (alive, as far as a client can tell), or never will be
            self.returncode = None if self._server.process.poll() is None else -signal.SIGKILL
        else:
            self.returncode = self._server.status(pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked kernel", timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the kernel's process group (it leads its own session, as a launched kernel does).

        Like ``Popen.send_signal``, nothing happens once the kernel has ended.
        """
        if self.poll() is not None:
            return
        pid = self.pid
        if pid is None:
            raise ProcessLookupError(errno.ESRCH, f"the kernel was never forked (signal {signum} not sent)")
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            pass  # it ended in between

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


# --- the server ----------------------------------------------------------------------------------------


def serve(preload: list[str]) -> None:
    """Import what the queued kernels need, module by module, and fork each kernel once it can start.

    A kernel whose modules are loaded is forked first, before the server imports more for the kernels
    asked for earlier. With no kernel queued, it imports ``preload`` (what the runner expects to ask for).
    """
    children: set[int] = set()

    def stop(signum: int, frame: Any) -> None:
        _kill_all(children)
        os._exit(0)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    signal.signal(signal.SIGTERM, stop)
    # The server only imports: no collection of its modules' objects (cycles that live as long as it does),
    # and each kernel inherits them frozen (see _fork)
    gc.disable()
    protocol = os.fdopen(os.dup(1), "w")  # what imported modules print must not reach the runner
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    skip_unused_grammar()
    here = sys.path[0]  # the folder python -m put first; a kernel gets its own working folder instead
    importlib.import_module("ipykernel.kernelapp")
    queue: deque[dict[str, Any]] = deque()
    tried: set[str] = set()
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.buffer, selectors.EVENT_READ)
    pending = b""
    while True:
        idle = not queue and all(m in tried for m in preload)
        for _ in selector.select(timeout=0.05 if idle else 0):
            data = os.read(sys.stdin.fileno(), 1 << 16)
            if not data:
                _kill_all(children)
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            queue.extend(json.loads(line) for line in lines if line.strip())
        _reap(children, protocol)
        request = next((r for r in queue if all(m in tried for m in r["modules"])), None)
        if request is None:  # import the next module of the first kernel asked for (or of the preload)
            missing = [m for m in (queue[0]["modules"] if queue else preload) if m not in tried]
            if missing:
                tried.add(missing[0])
                try:
                    importlib.import_module(missing[0])
                except Exception:  # the kernel's own warm-up, or the notebook, reports it
                    pass
            continue
        queue.remove(request)
        # SIGTERM waits until the new kernel is in ``children``: stop() must find it to kill it
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        pid = _fork()
        if pid == 0:
            _become_kernel(request, here, protocol)
        children.add(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        _send(protocol, {"forked": request["kernel"], "pid": pid})


def _fork() -> int:
    """``os.fork`` with every object imported so far frozen (:func:`gc.freeze`), as the gc module advises
    for a fork server: the kernel's garbage collector then never walks the hundreds of thousands of
    objects of pandas, scikit-learn, matplotlib and the Hopsworks SDK it inherited, and never writes into
    their pages, which it shares with the server until written (copy on write). Without it a kernel's full
    collections took tenths of a second each and made it copy those pages."""
    gc.freeze()
    return os.fork()


def _become_kernel(request: dict[str, Any], here: str, protocol: TextIO) -> None:
    """In the forked child: a kernel's session, folder, environment and streams, then ipykernel."""
    code = 1
    server = os.getppid()
    try:
        _die_with_parent()
        if os.getppid() != server:  # the server ended before the line above took effect
            return
        os.setsid()
        protocol.close()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if sys.path and sys.path[0] == here:
            del sys.path[0]  # as ipykernel_launcher does; the kernel adds its own folder back
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # blocked by the server to fork
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        gc.enable()  # for the notebook's own objects: what it inherited stays frozen
        if request.get("offline"):  # after the environment: the patch reads the backend from it
            from serverless_iris.offline_kernel import install

            install()
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    finally:
        os._exit(code)


def _reap(children: set[int], protocol: TextIO) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        _send(protocol, {"exited": pid, "status": code})


def _die_with_parent() -> None:
    """Have Linux SIGKILL this kernel when the fork server ends, however it ends (even killed outright),
    so no kernel outlives the run as an orphan (``prctl(PR_SET_PDEATHSIG)``)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no prctl: the server's own kill on its way out remains
        pass


def _kill_all(children: set[int]) -> None:
    """SIGKILL each kernel and its process group (a kernel just forked may not lead its group yet)."""
    for pid in children:
        for kill in (os.kill, os.killpg):
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _send(protocol: TextIO, message: dict[str, Any]) -> None:
    protocol.write(json.dumps(message) + "\n")
    protocol.flush()


if __name__ == "__main__":
    serve(sys.argv[1:])
