"""``python -m serverless_iris.offline_kernel -f FILE``: ipykernel with the embedded store behind the SDK."""

import sys
from pathlib import Path

# As ipykernel_launcher: the working folder leaves sys.path while ipykernel loads (the kernel adds it back)
if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
    del sys.path[0]

from serverless_iris.offline_kernel import install  # noqa: E402

install()

from ipykernel import kernelapp  # noqa: E402

kernelapp.launch_new_instance()
