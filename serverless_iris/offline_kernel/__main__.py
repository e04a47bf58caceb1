"""``python -m serverless_iris.offline_kernel -f FILE``: ipykernel with the embedded store behind the SDK."""

import sys
from pathlib import Path


def main() -> None:
    """Patch the SDK, then start ipykernel as ``ipykernel_launcher`` does."""
    # As ipykernel_launcher: the working folder leaves sys.path while ipykernel loads (the kernel adds it)
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]

    from serverless_iris.offline_kernel import install

    install()

    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":  # importing the module (a package walk) starts no kernel
    main()
