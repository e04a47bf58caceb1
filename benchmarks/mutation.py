"""Mutation testing on demand (mutmut): does a small bug in the store, the registry, the ``-p`` checks or
the key's redaction make a test fail? Not part of the default test run: a full pass takes hours on two cores.

    python benchmarks/mutation.py                        # every target
    python benchmarks/mutation.py parameters redact      # some targets
    python benchmarks/mutation.py embedded.query         # one module of the embedded store
    python benchmarks/mutation.py --survivors embedded   # retry only the mutants the last run left alive
    python benchmarks/mutation.py --report embedded      # print the last run's scores, run nothing

mutmut copies the code into ``mutants/`` (git-ignored) and reruns, for each mutant, only the tests that
call the mutated function; the files and tests it uses are in pyproject.toml's ``[tool.mutmut]``. A run
tries every mutant of its targets again (mutmut reruns the mutants named on its command line); verdicts
stay in ``mutants/`` for ``--survivors`` and ``--report``, until the code or the test selection changes.
The score is killed / (killed + survived + untested), leaving out the mutants listed in ``EQUIVALENT``
(they change no behaviour).
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
    "parameters": ("serverless_iris.runner.parameters.*", "serverless_iris.helpers.parameters.*"),
    "redact": ("serverless_iris.backend.x_redact__mutmut_*",),
}
# mutant name -> why no test can tell it from the original (names are mutmut's; renumbered on edits)
_E = "serverless_iris.embedded."
_P = "serverless_iris.helpers.parameters."  # Parameter and the conditions moved here from runner/
_FS, _FV = f"{_E}feature_store.xǁFeatureStoreǁ", f"{_E}feature_view.xǁFeatureViewǁ"
_MODEL, _MR = f"{_E}model_registry.xǁModelǁ", f"{_E}model_registry.x_"
_STACKLEVEL = (
    "stacklevel 2 -> 3: mutmut's trampoline adds a frame, so both point outside the store under mutmut "
    "(a plain pytest run tells them apart)"
)
_UNREAD = "a default accepted only for the SDK's signature and never read (test_sdk_contract checks it)"
_LOWERED = '"default" -> "DEFAULT": dataframe_type is lower-cased before use (test_sdk_contract checks it)'
_TRUTH = "False -> None: only its truth value is read"
_SQL_CASE = "the case of SQL keywords and identifiers: DuckDB ignores it"
_RESORTED = "sort_keys of an intermediate dict: _to_json sorts the keys again before anything is stored"
_FLUSH = "flush of a print: changes when the text reaches the terminal, not what it says"
_EXISTING = "ignore_errors of rmtree on a folder that exists here (made by mkdtemp or listed by iterdir)"
_SWEEP = (
    "the leftover sweep after a delete outside a transaction: it only reads (one SELECT) and removes "
    "folders; the store's lock is the DuckDB connection itself, which both ways hold"
)


def _same(reason: str, prefix: str, *mutants: str) -> dict[str, str]:
    return {f"{prefix}{mutant}": reason for mutant in mutants}


EQUIVALENT = {
    **_same(_STACKLEVEL, _FS, "get_feature_group__mutmut_8", "get_feature_view__mutmut_8"),
    **_same(_TRUTH, _FS, "create_feature_view__mutmut_12"),
    **_same(
        'type or "" -> or "XXXX": neither is a key of OFFLINE_TYPES', _E, "feature.xǁFilterǁ_sql__mutmut_6"
    ),
    **_same(_SQL_CASE, _E, "feature.xǁFilterǁ_sql__mutmut_26"),
    **_same(
        "DuckDB reads `x IN ()` as false, as the FALSE written instead",
        _E,
        "feature.xǁFilterǁ_sql__mutmut_21",
    ),
    **_same(
        "DuckDB compares a DATE with a TIMESTAMP at the date's midnight, as the explicit CAST does",
        f"{_E}feature.xǁ_EventTimeBoundǁ",
        *(f"_sql__mutmut_{n}" for n in (16, 17, 18)),
    ),
    **_same(_UNREAD, _FV, "get_batch_data__mutmut_1"),
    **_same(_LOWERED, _FV, "get_batch_data__mutmut_3"),
    **_same(_TRUTH, _FV, "get_batch_data__mutmut_18"),
    **_same(
        _RESORTED,
        _MR,
        "_schema_to_dict__mutmut_12",
        "_schema_to_dict__mutmut_15",
        "_schema_to_dict__mutmut_16",
    ),
    **_same(
        "read(None) reads the file in one piece, not in 1 MiB chunks: same digest", _MR, "_sha256__mutmut_8"
    ),
    **_same(_SQL_CASE, _MODEL, *(f"delete__mutmut_{n}" for n in (15, 16, 22, 23))),
    **_same(_SWEEP, _MODEL, *(f"delete__mutmut_{n}" for n in (25, 27, 28))),
    **_same(_STACKLEVEL, f"{_E}model_registry.xǁModelRegistryǁ", "get_model__mutmut_8"),
    **_same(_STACKLEVEL.replace("2 -> 3", "3 -> 4"), _MODEL, "_complete_provenance__mutmut_17"),
    **_same(_SQL_CASE, _MODEL, "_claim_version__mutmut_18"),
    **_same(_SQL_CASE, _MR, "_remove_leftovers__mutmut_11"),
    **_same(
        "read(None) copies the file in one piece, not in 1 MiB chunks: same bytes",
        _MR,
        "_copy_file__mutmut_22",
    ),
    **_same(
        "parents of mkdir: models/ exists by then (the staging folder was made under it)",
        _MODEL,
        "save__mutmut_39",
        "save__mutmut_41",
        "save__mutmut_43",
    ),
    **_same(_FLUSH, _MODEL, *(f"save__mutmut_{n}" for n in (69, 71, 72))),
    **_same(_STACKLEVEL.replace("2 -> 3", "3 -> 4"), _MODEL, "_complete_provenance__mutmut_40"),
    **_same(_SQL_CASE, _MODEL, *(f"_claim_version__mutmut_{n}" for n in (8, 9, 19))),
    **_same(_SQL_CASE, _MODEL, "_insert__mutmut_17", "_insert__mutmut_18"),
    **_same(_SQL_CASE, _MR, "_remove_leftovers__mutmut_12"),
    **_same(_EXISTING, _MR, *(f"_remove_leftovers__mutmut_{n}" for n in (22, 24, 25))),
    **_same("a default never used: the store always passes the saved description", _FV, "__init____mutmut_1"),
    **_same(
        _SQL_CASE,
        f"{_E}model_registry.xǁModelRegistryǁ",
        *("get_model__mutmut_16", "get_model__mutmut_17", "get_models__mutmut_6", "get_models__mutmut_7"),
    ),
    **_same(_SQL_CASE, _MODEL, "download__mutmut_12", "download__mutmut_13"),
    **_same(_FLUSH, _MODEL, *(f"_cached__mutmut_{n}" for n in (22, 24, 25))),
    **_same(_EXISTING, _MODEL, *(f"_cached__mutmut_{n}" for n in (42, 44, 45, 49, 51, 52))),
    **_same(
        "the length of the store's digest in the cache folder's name: any prefix names the store",
        _MODEL,
        "_cached__mutmut_4",
    ),
    **_same(_EXISTING, _MODEL, *(f"download__mutmut_{n}" for n in (52, 54, 55))),
    **_same("Path.rglob of a missing folder yields nothing, as {} is", _MODEL, "download__mutmut_18"),
    **_same(
        "the name of the scratch folder, removed before download returns or raises",
        _MODEL,
        *(f"download__mutmut_{n}" for n in (29, 30, 31, 35)),
    ),
    **_same(
        '"" -> "XXXX" for a parameter with no allowed values: neither text parses as a condition, so both '
        "give no condition",
        _P,
        "xǁParameterǁcheck__mutmut_7",
    ),
    **_same(
        "zip's strict=True over a comparison's operators and operands: Python's parser always gives as "
        "many of each",
        _P,
        *(f"x__holds__mutmut_{n}" for n in (26, 29, 30)),
    ),
    **_same(
        "the value bound to a listed item: literals ignore it, and a list naming the parameter itself "
        "(X in [X]) holds either way",
        _P,
        "x__holds__mutmut_47",
    ),
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


def alive(statuses: dict[str, str], globs: tuple[str, ...]) -> list[str]:
    return [n for n, s in statuses.items() if s in MISSED and n not in EQUIVALENT and matches(n, globs)]


def main(argv: list[str]) -> int:
    modes = {"--survivors", "--report"}
    mode = next((a for a in argv if a in modes), None)
    targets = [a for a in argv if a not in modes] or list(TARGETS)
    globs = {target: patterns(target) for target in targets}
    wanted = tuple(dict.fromkeys(g for target_globs in globs.values() for g in target_globs))
    if mode is None:
        subprocess.run(["mutmut", "run", *wanted], cwd=REPO, check=False)
    elif mode == "--survivors" and (retry := alive(results(), wanted)):
        subprocess.run(["mutmut", "run", *retry], cwd=REPO, check=False)
    statuses = results()
    for target, glob in globs.items():
        counts, share = score(statuses, glob)
        shown = "n/a" if share is None else f"{share:.1%}"
        print(f"{target}: {shown} of non-equivalent mutants killed; {dict(sorted(counts.items()))}")
    survivors = alive(statuses, wanted)
    print(f"survivors to kill or explain ({len(survivors)}): mutmut show <name>; first: {survivors[:5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
