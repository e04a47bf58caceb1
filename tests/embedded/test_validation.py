"""Expectation suites on feature groups against the installed 5.2.1 SDK's own validation objects.

``FeatureGroup.insert`` returns ``ge_report.to_ge_type()`` (Great Expectations' own result, built by
``hsfs.validation_report.ValidationReport.to_ge_type``), ``validate`` hsfs's ``_save_or_convert_report``
result; both run on whichever Great Expectations line is installed (0.18 or 1.x), as hsfs does.
"""

from __future__ import annotations

import random
from typing import Any
from unittest import mock

import great_expectations
import pandas as pd
import pytest
from sdk_support import sdk

from serverless_iris.embedded.project import LocalProject

GE_MAJOR = int(great_expectations.__version__.split(".")[0])


def flowers(n: int) -> pd.DataFrame:
    rng = random.Random(7)
    return pd.DataFrame({"id": range(n), "sepal_length": [round(rng.uniform(4.5, 8), 2) for _ in range(n)]})


def suite(policy: str = "ALWAYS") -> Any:
    return sdk("hsfs.expectation_suite.ExpectationSuite")(
        expectation_suite_name="sizes",
        expectations=[
            {
                "expectation_type": "expect_column_values_to_be_between",
                "kwargs": {"column": "sepal_length", "min_value": 4.5, "max_value": 8.0},
                "meta": {},
            }
        ],
        meta={},
        validation_ingestion_policy=policy,
    )


def sdk_validation(frame: pd.DataFrame, policy: str = "ALWAYS", ge_type: bool = False) -> Any:
    """``GreatExpectationEngine._validate`` of ``frame`` (the report not saved), as ``insert`` runs it."""
    engine = sdk("hsfs.core.great_expectation_engine.GreatExpectationEngine")(feature_store_id=1)
    python_engine = sdk("hsfs.engine.python.Engine")()
    with mock.patch("hsfs.engine._get_instance", return_value=python_engine):
        report = engine._validate(
            feature_group=None,
            dataframe=frame,
            expectation_suite=suite(policy),
            validation_options={},
            ingestion_result="INGESTED",
            ge_type=ge_type,
        )
    return report


def sdk_insert_result(frame: pd.DataFrame, policy: str = "ALWAYS") -> Any:
    """What 5.2.1's ``insert`` returns beside the job: hsfs's report and its ``to_ge_type()``."""
    report = sdk_validation(frame, policy)
    return report, report.to_ge_type()


def comparable(result: Any) -> dict:
    """A validation result without what differs from run to run (its time and run id)."""
    data = result.to_json_dict()
    data.pop("meta", None)
    return data


def test_insert_returns_great_expectations_result_as_the_sdk(project: LocalProject) -> None:
    fs = project.get_feature_store()
    fg = fs.create_feature_group(name="flowers", version=1, primary_key=["id"], expectation_suite=suite())
    bad = flowers(3).assign(sepal_length=[5.0, 20.0, 6.0])
    sdk_report, sdk_result = sdk_insert_result(bad)

    job, result = fg.insert(bad)

    assert job is None
    assert type(result) is type(sdk_result) is great_expectations.core.ExpectationSuiteValidationResult
    assert not hasattr(result, "ingestion_result") and sdk_report.ingestion_result == "INGESTED"
    assert comparable(result) == comparable(sdk_result)
    assert result.success is False and len(fg.read()) == 3  # ALWAYS writes a failing frame
    assert fg.insert(flowers(2))[1].success is True


def test_insert_without_a_suite_returns_no_result(project: LocalProject) -> None:
    fg = project.get_feature_store().create_feature_group(name="flowers", version=1, primary_key=["id"])
    assert fg.insert(flowers(2)) == (None, None)


def test_validate_returns_what_the_sdk_returns_for_each_type(project: LocalProject) -> None:
    fg = project.get_feature_store().create_feature_group(name="flowers", version=1, primary_key=["id"])
    fg.insert(flowers(4))
    fg.save_expectation_suite(suite())
    sdk_report, sdk_result = sdk_insert_result(flowers(4))[0], sdk_validation(flowers(4), ge_type=True)

    ge_result = fg.validate(flowers(4))
    report = fg.validate(flowers(4), ge_type=False, ingestion_result="INGESTED")

    assert type(ge_result) is great_expectations.core.ExpectationSuiteValidationResult
    assert comparable(ge_result) == comparable(sdk_result)
    assert type(report) is type(sdk_report) and report.ingestion_result == "INGESTED"
    assert report.to_json_dict()["success"] is True


def test_a_strict_suite_refusing_the_first_insert_leaves_the_group_saved(project: LocalProject) -> None:
    """``FeatureGroupEngine._insert`` saves a new group's metadata (with the suite it was created with)
    before validating; the refused rows are not written."""
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group(
        "fresh", version=1, primary_key=["id"], expectation_suite=suite("STRICT")
    )
    sdk_report, _ = sdk_insert_result(flowers(2).assign(sepal_length=[5.0, 99.0]), "STRICT")
    assert sdk_report.ingestion_result == "REJECTED"

    with pytest.raises(Exception, match="insertion to fresh was aborted") as refused:
        fg.insert(flowers(2).assign(sepal_length=[5.0, 99.0]))

    assert type(refused.value).__name__ == "DataValidationException"
    saved = fs.get_feature_group("fresh", version=1)
    assert [(f.name, f.type) for f in saved.features] == [("id", "bigint"), ("sepal_length", "double")]
    assert len(saved.read()) == 0
    assert saved.get_expectation_suite(ge_type=False).validation_ingestion_policy == "STRICT"
    job, result = fg.insert(flowers(2).assign(sepal_length=[5.0, 6.0]))
    assert result.success and len(fs.get_feature_group("fresh", version=1).read()) == 2


def test_a_strict_suite_writes_nothing_on_a_later_failure(project: LocalProject) -> None:
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group(name="flowers", version=1, primary_key=["id"])
    fg.insert(flowers(3))
    fg.save_expectation_suite(suite().to_ge_type(), validation_ingestion_policy="strict")
    assert fg.get_expectation_suite(ge_type=False).validation_ingestion_policy == "STRICT"
    before = fg.read()
    with pytest.raises(Exception, match="insertion to flowers was aborted"):
        fg.insert(flowers(4).assign(sepal_length=[5.0, 5.0, 5.0, 11.0]))
    pd.testing.assert_frame_equal(fg.read(), before)
    with pytest.raises(TypeError, match="expectation suite type"):
        fg.save_expectation_suite({"not": "a suite"})


def test_a_suite_given_at_creation_validates_every_insert(project: LocalProject) -> None:
    fs = project.get_feature_store()
    fg = fs.create_feature_group(name="flowers", version=1, primary_key=["id"], expectation_suite=suite())
    fg.insert(flowers(5))
    again = fs.get_feature_group("flowers", version=1)
    assert again.get_expectation_suite(ge_type=False).expectation_suite_name == "sizes"
    assert isinstance(again.get_expectation_suite(), great_expectations.core.ExpectationSuite)
    again.delete_expectation_suite()
    assert again.get_expectation_suite() is None
    assert fg.insert(flowers(1).assign(sepal_length=30.0)) == (None, None)


def test_suites_of_the_installed_great_expectations_line_are_accepted(project: LocalProject) -> None:
    """hsfs supports both lines; each spells an expectation its own way."""
    gx = great_expectations
    if GE_MAJOR == 0:
        from great_expectations.core import ExpectationConfiguration

        ge_suite = gx.core.ExpectationSuite(expectation_suite_name="sizes")
        ge_suite.add_expectation(
            ExpectationConfiguration(
                expectation_type="expect_column_values_to_be_between",
                kwargs={"column": "sepal_length", "min_value": 4.5, "max_value": 8.0},
            )
        )
    else:
        with pytest.raises(ImportError):
            from great_expectations.core import ExpectationConfiguration  # noqa: F401
        ge_suite = gx.core.ExpectationSuite(
            name="sizes",
            expectations=[
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column="sepal_length", min_value=4.5, max_value=8.0
                )
            ],
        )
    fg = project.get_feature_store().get_or_create_feature_group(
        name="flowers", version=1, primary_key=["id"]
    )
    fg.save_expectation_suite(ge_suite, validation_ingestion_policy="STRICT")
    stored = fg.get_expectation_suite(ge_type=False)
    assert stored.to_json_dict()["expectations"][0]["kwargs"] == {
        "column": "sepal_length",
        "min_value": 4.5,
        "max_value": 8.0,
    }
    with pytest.raises(Exception, match="insertion to flowers was aborted"):
        fg.insert(flowers(2).assign(sepal_length=[5.0, 9.5]))
    assert fg.insert(flowers(2))[1].success
