"""``python runner.py``: see serverless_iris/runner/cli.py. Ctrl-C or SIGTERM while it is still importing
ends it quietly (exit 130), as they end a run: SIGTERM raises ``KeyboardInterrupt`` from the start."""

import signal
import sys


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _interrupt)
try:
    from serverless_iris.runner.cli import exit_at_once, interrupted_early, main
except KeyboardInterrupt:
    print("runner.py: interrupted before the run started; nothing was written", file=sys.stderr)
    sys.exit(130)
try:
    code = main()
except KeyboardInterrupt:  # between two of main's own handlers, e.g. while it starts or ends
    code = interrupted_early()
exit_at_once(code)
