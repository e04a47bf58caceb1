"""Mutation testing on demand (mutmut): does a small bug in the store, the registry, the ``-p`` checks or
the key's redaction make a test fail? Not part of the default test run: a full pass takes hours on two cores.

    python benchmarks/mutation.py                        # every target
    python benchmarks/mutation.py parameters redact      # some targets
    python benchmarks/mutation.py embedded.query         # one module of the embedded store

mutmut copies the code into ``mutants/`` (git-ignored) and reruns, for each mutant, only the tests that
call the mutated function; the files and tests it uses are in pyproject.toml's ``[tool.mutmut]``. Results
are kept between invocations, so a later one only tries what changed. The score is killed / (killed +
survived + untested), leaving out the mutants listed in ``EQUIVALENT`` (they change no behaviour).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the embedded store and registry; the later SDK extras (dataset_api, training_dataset, validation,
# model_serving, sdk_gaps) have their own tests and are not in this score
STORE = ("db", "feature", "util", "query", "feature_group", "feature_view", "feature_store", "project")
TARGETS = {
    "embedded": tuple(f"serverless_iris.embedded.{module}.*" for module in (*STORE, "model_registry")),
    "parameters": ("serverless_iris.runner.parameters.*",),
    "redact": ("serverless_iris.backend.x_redact__mutmut_*",),
}
# mutant name -> why no test can tell it from the original (names are mutmut's; renumbered on edits)
_FS = "serverless_iris.embedded.feature_store.xǁFeatureStoreǁ"
EQUIVALENT = {
    f"{_FS}get_feature_group__mutmut_8": "stacklevel 2 -> 3: mutmut's trampoline adds a frame, so both "
    "point outside the store under mutmut (a plain pytest run tells them apart)",
    f"{_FS}get_feature_view__mutmut_8": "stacklevel 2 -> 3: as above",
    f"{_FS}create_feature_view__mutmut_12": "existing_ok=False -> None: only its truth value is read",
}
KILLED, MISSED = {"killed", "timeout", "segfault", "suspicious"}, {"survived", "no tests"}


def patterns(target: str) -> tuple[str, ...]:
    """A target's mutant-name patterns: one of ``TARGETS``, or ``embedded.<module>``."""
    if target in TARGETS:
        return TARGETS[target]
    module = target.removeprefix("embedded.")
    if target.startswith("embedded.") and (REPO / "serverless_iris" / "embedded" / f"{module}.py").is_file():
        return (f"serverless_iris.embedded.{module}.*",)
    raise SystemExit(f"unknown target {target!r}; use {', '.join(TARGETS)} or embedded.<module>")


def results() -> dict[str, str]:
    """Every mutant's status, as ``mutmut results --all true`` prints it."""
    out = subprocess.run(
        ["mutmut", "results", "--all", "true"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    pairs = (line.strip().rsplit(": ", 1) for line in out.splitlines() if "__mutmut_" in line)
    return {name: status for name, status in pairs}


def matches(name: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch(name, glob) for glob in globs)


def score(statuses: dict[str, str], globs: tuple[str, ...]) -> tuple[Counter, float | None]:
    """Counts by status (equivalent mutants under their own key) and the share of the rest killed."""
    counts: Counter = Counter()
    for name, status in statuses.items():
        if matches(name, globs):
            counts["equivalent" if name in EQUIVALENT and status in MISSED else status] += 1
    killed, missed = sum(counts[s] for s in KILLED), sum(counts[s] for s in MISSED)
    return counts, (killed / (killed + missed) if killed + missed else None)


def main(argv: list[str]) -> int:
    targets = argv or list(TARGETS)
    globs = {target: patterns(target) for target in targets}
    wanted = tuple(dict.fromkeys(g for target_globs in globs.values() for g in target_globs))
    subprocess.run(["mutmut", "run", *wanted], cwd=REPO, check=False)
    statuses = results()
    for target, glob in globs.items():
        counts, share = score(statuses, glob)
        shown = "n/a" if share is None else f"{share:.1%}"
        print(f"{target}: {shown} of non-equivalent mutants killed; {dict(sorted(counts.items()))}")
    survivors = [n for n, s in statuses.items() if s in MISSED and n not in EQUIVALENT and matches(n, wanted)]
    print(f"survivors to kill or explain ({len(survivors)}): mutmut show <name>; first: {survivors[:5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
