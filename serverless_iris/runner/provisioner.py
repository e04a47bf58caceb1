"""The jupyter_client provisioner of a forked kernel (see :mod:`serverless_iris.runner.forkserver`).

Kept apart from the fork server's module because importing jupyter_client takes the runner a quarter of
a second, which it spends after the server has started.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from serverless_iris.runner.forkserver import LAUNCHER, ForkServer


class ForkedProvisioner(LocalProvisioner):  # type: ignore[misc]
    """A local provisioner that gets its kernel from the fork server instead of starting ``python``.

    Set ``server`` and ``modules`` (the notebook's imports) before the kernel manager starts it.
    """

    server: ForkServer
    modules: list[str]

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if cmd[1:3] != LAUNCHER or self.server.process.poll() is not None:  # no server: start from scratch
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or Path.cwd())
        self.process = self.server.launch(cmd[3:], dict(kwargs.get("env") or os.environ), cwd, self.modules)
        self.pid = None  # known once forked; signals resolve it through the process
        self.pgid = None
        self.cwd = cwd
        return self.connection_info
