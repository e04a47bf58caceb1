"""The runner's jupyter_client pieces: the provisioner of a forked kernel (see
:mod:`serverless_iris.runner.kernels.forkserver`), a client that does not wait for idle output, and a kernel
manager that closes the clients it handed out.

Kept apart from the fork server's module because importing jupyter_client takes the runner a quarter of
a second, which it spends after the server has started.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from serverless_iris.offline_kernel import LAUNCHER as OFFLINE_LAUNCHER
from serverless_iris.runner.kernels.forkserver import LAUNCHER, ForkServer


class ForkedProvisioner(LocalProvisioner):  # type: ignore[misc]
    """A local provisioner that gets its kernel from the fork server instead of starting ``python``.

    Set ``server`` and ``modules`` (the notebook's imports) before the kernel manager starts it.
    """

    server: ForkServer
    modules: list[str]

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        launcher = cmd[1:3]
        if launcher not in (LAUNCHER, OFFLINE_LAUNCHER) or self.server.process.poll() is not None:
            return await super().launch_kernel(cmd, **kwargs)  # no server: start from scratch
        cwd = str(kwargs.get("cwd") or Path.cwd())
        env = dict(kwargs.get("env") or os.environ)
        offline = launcher == OFFLINE_LAUNCHER
        self.process = self.server.launch(cmd[3:], env, cwd, self.modules, offline=offline)
        self.pid = None  # known once forked; signals resolve it through the process
        self.pgid = None
        self.cwd = cwd
        return self.connection_info


class ReadyClient(AsyncKernelClient):  # type: ignore[misc]
    """The client nbclient runs a notebook with: ready as soon as the kernel is.

    jupyter_client's ``KernelClient._async_wait_for_ready`` waits for the kernel's ``kernel_info`` reply
    and one message on IOPub (so IOPub is connected), then drains IOPub until it has been silent for a
    while, a wait between any two notebooks of a run, on its critical path. nbclient reads only the IOPub
    messages of the cell it executes, so what is left there does no harm; this waits for the rest.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if reply["msg_type"] == "kernel_info_reply" and await self._iopub_connected():
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _iopub_connected(self) -> bool:
        try:
            await self.iopub_channel.get_msg(timeout=0.2)
        except Empty:
            return False
        return True


class ClientClosingManager(AsyncKernelManager):  # type: ignore[misc]
    """A kernel manager that remembers the clients it hands out, so that they are closed with the kernel.

    nbclient opens its client through ``manager.client()`` and, as it did not start the kernel, leaves the
    client's channels open when the notebook ends: a heartbeat thread pinging the dead kernel every 3 s
    and the client's sockets, one set per notebook, for as long as the process lives.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handed_out: list[AsyncKernelClient] = []

    def client(self, **kwargs: Any) -> AsyncKernelClient:
        client = super().client(**kwargs)
        self.handed_out.append(client)
        return client

    def close_clients(self) -> None:
        for client in self.handed_out:
            client.stop_channels()
        self.handed_out.clear()
