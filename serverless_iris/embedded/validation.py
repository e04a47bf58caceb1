"""Expectation suites on feature groups, validated with Great Expectations as hsfs validates them.

A group's suite is saved in the store (table ``fs_expectation_suites``, the JSON of
``hsfs.expectation_suite.ExpectationSuite.to_json_dict``) and read back as the SDK returns it: a
Great Expectations suite by default, hsfs's own type with ``ge_type=False``. Validation runs the
SDK's own step, ``hsfs.engine.python.Engine._validate_with_great_expectations``, and follows
``hsfs.core.great_expectation_engine.GreatExpectationEngine._validate`` around it; an insert is
refused whole, before anything is written, when a STRICT suite fails
(``FeatureGroupEngine._insert``). ``hsfs`` and ``great_expectations`` are imported only here, and
only when a suite is used: both are slow to import (the package's import stays light).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from serverless_iris.embedded import db

SUITES_TABLE = "fs_expectation_suites"
_POLICIES = ("ALWAYS", "STRICT")


class DataValidationException(Exception):
    """The embedded counterpart of ``hopsworks.client.exceptions.DataValidationException``."""


def _hsfs_suite_type() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from hsfs.expectation_suite import ExpectationSuite
    return ExpectationSuite


def to_hsfs_suite(
    suite: Any, run_validation: bool = True, validation_ingestion_policy: str = "always"
) -> Any:
    """hsfs's suite for a Great Expectations or hsfs suite (``FeatureGroup.save_expectation_suite``).

    As in the SDK, ``run_validation`` and the policy apply to a Great Expectations suite; an hsfs suite
    keeps its own.
    """
    suite_type = _hsfs_suite_type()
    if isinstance(suite, suite_type):
        return suite_type(**suite.to_json_dict(decamelize=True))
    import great_expectations

    if not isinstance(suite, great_expectations.core.ExpectationSuite):
        raise TypeError(
            f"The provided expectation suite type `{type(suite)}` is not supported. Use Great "
            "Expectation `ExpectationSuite` or HSFS' own `ExpectationSuite` object."
        )
    if str(validation_ingestion_policy).upper() not in _POLICIES:
        raise ValueError(
            f"validation_ingestion_policy {validation_ingestion_policy!r} is not valid; "
            "use 'always' or 'strict'."
        )
    return suite_type.from_ge_type(
        suite, run_validation=run_validation, validation_ingestion_policy=validation_ingestion_policy.upper()
    )


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {SUITES_TABLE} (name VARCHAR NOT NULL, version INTEGER NOT NULL, "
        "suite VARCHAR NOT NULL, PRIMARY KEY (name, version))"
    )


def save_suite(con: duckdb.DuckDBPyConnection, name: str, version: int, suite: Any) -> None:
    """Attach ``suite`` (an hsfs suite) to the group, replacing the one it had."""
    text = json.dumps(suite.to_json_dict(decamelize=True), default=str)
    _ensure_table(con)
    con.execute(f"DELETE FROM {SUITES_TABLE} WHERE name = ? AND version = ?", [name, version])
    con.execute(f"INSERT INTO {SUITES_TABLE} VALUES (?, ?, ?)", [name, version, text])


def load_suite(con: duckdb.DuckDBPyConnection, name: str, version: int | None) -> Any:
    """The group's hsfs suite, or ``None`` (a store without suites has no table: no query fails)."""
    # fetchall, not fetchone: DuckDB 2 refuses more work on a connection with an unfinished result
    tables = con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [SUITES_TABLE]).fetchall()
    if version is None or not tables:
        return None
    rows = con.execute(
        f"SELECT suite FROM {SUITES_TABLE} WHERE name = ? AND version = ?", [name, version]
    ).fetchall()
    if not rows:
        return None
    fields = json.loads(rows[0][0])
    fields.pop("id", None)
    return _hsfs_suite_type()(**fields)


def delete_suite(store: Path, name: str, version: int | None) -> None:
    if version is None or not db.db_path(store).exists():
        return
    with db.transaction(store) as con:
        _ensure_table(con)
        con.execute(f"DELETE FROM {SUITES_TABLE} WHERE name = ? AND version = ?", [name, version])


def validate(
    frame: pd.DataFrame,
    suite: Any,
    validation_options: dict[str, Any] | None,
    ingestion_result: str,
    ge_type: bool,
) -> Any:
    """``GreatExpectationEngine._validate`` without a backend: the report, or ``None`` when skipped.

    A failed STRICT validation of an insert has ``ingestion_result`` ``"REJECTED"``.
    """
    options = validation_options or {}
    if suite is None or not options.get("run_validation", suite.run_validation):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from hsfs.engine.python import Engine

        report = Engine()._validate_with_great_expectations(
            dataframe=frame,
            expectation_suite=suite.to_ge_type(),
            ge_validate_kwargs=options.get("ge_validate_kwargs", {}),
        )
    if report.success:
        print("Validation succeeded.")
    else:
        print("Validation failed.")
        if suite.validation_ingestion_policy == "STRICT" and ingestion_result == "INGESTED":
            ingestion_result = "REJECTED"
    if ge_type:
        return report
    from hsfs.validation_report import ValidationReport

    return ValidationReport(**report.to_json_dict(), ingestion_result=ingestion_result)


def _summary(report: Any) -> str:
    failed = [
        f"{r.expectation_config['expectation_type']} {r.expectation_config['kwargs']}"
        for r in report.results
        if not r.success
    ]
    return "failed expectations: " + "; ".join(failed)


class ExpectationSuiteMixin:
    """Expectation-suite methods of ``hsfs.feature_group.FeatureGroup``; mixed into the embedded group.

    A suite given to a group not saved yet is kept on the object and saved with the group by its
    first insert, as the SDK attaches it when the group is created.
    """

    def save_expectation_suite(
        self,
        expectation_suite: Any,
        run_validation: bool = True,
        validation_ingestion_policy: str = "always",
        overwrite: bool = False,
    ) -> None:
        """Attach the suite (returns ``None``, as ``FeatureGroup.save_expectation_suite`` does in 5.2)."""
        suite = to_hsfs_suite(expectation_suite, run_validation, validation_ingestion_policy)
        if overwrite:
            self.delete_expectation_suite()
        if self._saved:
            with db.transaction(self._store) as con:
                save_suite(con, self.name, self.version, suite)
        else:
            self.__dict__["_pending_suite"] = suite

    def get_expectation_suite(self, ge_type: bool = True) -> Any:
        """The attached suite (Great Expectations' type unless ``ge_type=False``), or ``None``."""
        suite = self._current_suite()
        if suite is None:
            return None
        return suite.to_ge_type() if ge_type else suite

    def delete_expectation_suite(self) -> None:
        self.__dict__.pop("_pending_suite", None)
        if self._saved:
            delete_suite(self._store, self.name, self.version)

    def validate(
        self,
        dataframe: pd.DataFrame | None = None,
        expectation_suite: Any = None,
        save_report: bool = False,
        validation_options: dict[str, Any] | None = None,
        ingestion_result: str = "UNKNOWN",
        ge_type: bool = True,
    ) -> Any:
        """Validate ``dataframe`` (default: the group's rows) against a suite (default: the attached one)."""
        if dataframe is None:
            dataframe = self.read()
        suite = self._current_suite() if expectation_suite is None else to_hsfs_suite(expectation_suite)
        return validate(dataframe, suite, validation_options, ingestion_result, ge_type)

    def _current_suite(self, con: duckdb.DuckDBPyConnection | None = None) -> Any:
        pending = self.__dict__.get("_pending_suite")
        if pending is not None:
            return pending
        if con is not None:
            return load_suite(con, self.name, self.version)
        if not self._saved or not db.db_path(self._store).exists():
            return None
        with db.connect(self._store) as fresh:
            return load_suite(fresh, self.name, self.version)

    def _validate_insert(
        self, con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, validation_options: dict[str, Any] | None
    ) -> Any:
        """hsfs's report of an insert (``ingestion_result`` ``"REJECTED"`` when a STRICT suite fails), or
        ``None`` without a suite; run in the insert's transaction."""
        return validate(frame, self._current_suite(con), validation_options, "INGESTED", ge_type=False)

    def _refuse_rejected(self, report: Any) -> None:
        """``FeatureGroupEngine._insert``: a rejected insert raises once the group is saved."""
        if report is not None and report.ingestion_result == "REJECTED":
            raise DataValidationException(
                "Data validation failed while validation ingestion policy set to strict, insertion to "
                f"{self.name} was aborted.\n{_summary(report)}"
            )

    def _save_pending_suite(self, con: duckdb.DuckDBPyConnection) -> None:
        """Save a suite given before the group existed, in the transaction that creates the group (the
        object keeps it until that transaction commits)."""
        pending = self.__dict__.get("_pending_suite")
        if pending is not None:
            save_suite(con, self.name, self.version, pending)
