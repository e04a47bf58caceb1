"""Feature store promises mutation testing found no test for (README, Development): every argument of
``create_feature_group`` reaching the saved group, exact refusals, and the no-version warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from serverless_iris.embedded import feature_store
from serverless_iris.embedded.feature import Feature
from serverless_iris.embedded.feature_store import FeatureStore, FeatureStoreException, VersionWarning
from serverless_iris.embedded.project import LocalProject

FRAME = pd.DataFrame({"k": [1, 2], "p": ["a", "b"], "f": [3, 4], "t": pd.Timestamp("2024-01-01")})


@pytest.fixture
def fs(tmp_path: Path) -> FeatureStore:
    return FeatureStore(tmp_path / "store")


def _spec(group) -> dict:
    return {**group._spec(), "name": group.name, "version": group.version}


def test_every_create_feature_group_argument_is_saved_and_read_back(fs: FeatureStore) -> None:
    group = fs.create_feature_group(
        name="g",
        version=2,
        description="Described",
        online_enabled=True,
        time_travel_format="HUDI",
        partition_key=["p"],
        primary_key=["k"],
        foreign_key=["f"],
        event_time="t",
    )
    group.insert(FRAME)

    expected = {
        "name": "g",
        "version": 2,
        "description": "Described",
        "primary_key": ["k"],
        "event_time": "t",
        "partition_key": ["p"],
        "foreign_key": ["f"],
        "online_enabled": True,
        "time_travel_format": "HUDI",
        "features": [["k", "bigint"], ["p", "string"], ["f", "bigint"], ["t", "timestamp"]],
    }
    assert _spec(group) == expected
    assert _spec(fs.get_feature_group("g", version=2)) == expected


def test_create_feature_group_defaults(fs: FeatureStore) -> None:
    group = fs.create_feature_group(name="g", primary_key=["k"])
    group.insert(FRAME[["k", "f"]])

    saved = fs.get_feature_group("g", version=1)
    assert (saved.description, saved.online_enabled, saved.event_time, saved.partition_key) == (
        "",
        False,
        None,
        [],
    )
    assert saved._spec()["foreign_key"] == [] and saved._spec()["time_travel_format"] == "DELTA"


@pytest.mark.parametrize(
    "argument",
    [{"embedding_index": object()}, {"hudi_precombine_key": "k"}, {"features": [Feature("k", "bigint")]}],
    ids=lambda a: next(iter(a)),
)
def test_create_feature_group_refuses_what_the_stand_in_cannot_do(fs: FeatureStore, argument: dict) -> None:
    (name,) = argument
    with pytest.raises(NotImplementedError) as caught:
        fs.create_feature_group(name="g", version=1, **argument)
    assert str(caught.value).startswith(f"FeatureStore.create_feature_group({name}=...) is not supported")


def test_an_existing_version_cannot_be_created_again(fs: FeatureStore) -> None:
    fs.create_feature_group(name="g", version=1, primary_key=["k"]).insert(FRAME[["k"]])

    with pytest.raises(FeatureStoreException) as caught:
        fs.create_feature_group(name="g", version=1, primary_key=["k"])
    assert str(caught.value) == "Feature group 'g' version 1 already exists."


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda fs: fs.create_feature_group(name="Bad-Name", version=1), "Feature group"),
        (lambda fs: fs.get_or_create_feature_group(name="Bad-Name", version=1), "Feature group"),
        (lambda fs: fs.get_feature_group("Bad-Name", version=1), "Feature group"),
        (lambda fs: fs.get_feature_view("Bad-Name", version=1), "Feature view"),
    ],
)
def test_a_bad_name_is_refused_naming_what_it_names(fs: FeatureStore, call, kind: str) -> None:
    with pytest.raises(FeatureStoreException) as caught:
        call(fs)
    assert str(caught.value) == (
        f"{kind} name 'Bad-Name' is not valid: use lower-case letters, digits and underscores."
    )


@pytest.mark.parametrize("kind", ["group", "view"])
def test_no_version_warns_at_the_callers_line_and_means_1(fs: FeatureStore, kind: str) -> None:
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    group.insert(FRAME[["k"]])
    fs.create_feature_view(name="g", version=1, query=group.select_all())
    get = fs.get_feature_group if kind == "group" else fs.get_feature_view

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = get("g")

    (warning,) = caught
    # attributed to a caller, not to the store's own line (mutmut's trampoline adds a frame of its own)
    assert warning.category is VersionWarning and warning.filename != feature_store.__file__
    assert str(warning.message) == f"No version provided for getting feature {kind} `g`, defaulting to `1`."
    assert found is not None and found.version == 1


def test_an_object_meeting_a_group_saved_with_other_keys_is_refused(fs: FeatureStore) -> None:
    early = fs.get_or_create_feature_group(name="g", version=1, primary_key=["k"], event_time="t")
    fs.get_or_create_feature_group(name="g", version=1, primary_key=["p"], event_time="t").insert(FRAME)

    with pytest.raises(FeatureStoreException) as caught:
        early.insert(FRAME)
    assert str(caught.value) == (
        "Feature group 'g' version 1 already exists with primary_key=['p'], not ['k']."
    )
    assert fs.get_feature_group("g", version=1).primary_key == ["p"]


def test_the_local_project_names_itself_and_its_store(tmp_path: Path) -> None:
    project = LocalProject(tmp_path / "store")

    assert (project.name, repr(project)) == ("local", f"LocalProject(store={str(tmp_path / 'store')!r})")
    assert project.get_model_registry()._store == tmp_path / "store"


def test_filters_narrow_a_query_together_and_refuse_what_is_not_one(fs: FeatureStore) -> None:
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    group.insert(pd.DataFrame({"k": [1, 2, 3, 4], "f": [10, 20, 30, 40]}))
    query = group.select_all()

    narrowed = query.filter(group["k"] > 1).filter(group["f"] < 40)

    assert narrowed is query and sorted(narrowed.read()["k"]) == [2, 3]
    with pytest.raises(TypeError) as caught:
        query.filter("k > 1")
    assert str(caught.value) == "Operator `filter` expected type `Filter` or `Logic`, got `<class 'str'>`"


def test_show_refuses_the_online_store(fs: FeatureStore) -> None:
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    group.insert(pd.DataFrame({"k": [1, 2, 3]}))

    assert len(group.select_all().show(2)) == 2
    with pytest.raises(NotImplementedError, match=r"^Query.show\(online=...\) is not supported"):
        group.select_all().show(2, online=True)


def test_the_feature_store_prints_its_store(tmp_path: Path) -> None:
    assert repr(FeatureStore(tmp_path)) == f"FeatureStore('local_featurestore', store={str(tmp_path)!r})"


def test_every_get_or_create_feature_group_argument_is_saved_and_an_existing_group_wins(
    fs: FeatureStore,
) -> None:
    arguments = {
        "description": "Described",
        "online_enabled": True,
        "time_travel_format": "HUDI",
        "partition_key": ["p"],
        "primary_key": ["k"],
        "foreign_key": ["f"],
        "event_time": "t",
    }
    fs.get_or_create_feature_group(name="g", version=3, **arguments).insert(FRAME)
    plain = fs.get_or_create_feature_group(name="h", version=1, primary_key=["k"])
    plain.insert(FRAME[["k"]])

    again = fs.get_or_create_feature_group(name="g", version=3, description="other", primary_key=["f"])
    assert {k: v for k, v in _spec(again).items() if k in arguments} == arguments
    assert again.version == 3 and len(again.read()) == 2
    saved = _spec(fs.get_feature_group("h", version=1))
    assert (saved["description"], saved["online_enabled"]) == ("", False)


@pytest.mark.parametrize(
    "argument",
    [{"embedding_index": object()}, {"hudi_precombine_key": "k"}, {"features": [Feature("k", "bigint")]}],
    ids=lambda a: next(iter(a)),
)
def test_get_or_create_feature_group_refuses_what_the_stand_in_cannot_do(
    fs: FeatureStore, argument: dict
) -> None:
    (name,) = argument
    with pytest.raises(NotImplementedError) as caught:
        fs.get_or_create_feature_group(name="g", version=1, **argument)
    assert str(caught.value).startswith(
        f"FeatureStore.get_or_create_feature_group({name}=...) is not supported"
    )


def test_a_view_keeps_its_name_and_description_and_exists_once(fs: FeatureStore) -> None:
    group = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    group.insert(FRAME[["k", "f"]])
    made = fs.create_feature_view(name="v", version=1, query=group.select_all(), description="Described")
    fs.get_or_create_feature_view(name="w", version=1, query=group.select_all(), description="Other")
    fs.create_feature_view(name="x", version=1, query=group.select_all())
    fs.get_or_create_feature_view(name="y", version=1, query=group.select_all())

    assert (made.name, made.description) == ("v", "Described")
    stored = [fs.get_feature_view(n, version=1) for n in ("v", "w", "x", "y")]
    assert [(v.name, v.description) for v in stored] == [
        ("v", "Described"),
        ("w", "Other"),
        ("x", ""),
        ("y", ""),
    ]
    with pytest.raises(FeatureStoreException) as caught:
        fs.create_feature_view(name="v", version=1, query=group.select_all())
    assert str(caught.value) == "Feature view 'v' version 1 already exists."
    with pytest.raises(FeatureStoreException) as caught:
        fs.create_feature_view(name="Bad-Name", version=1, query=group.select_all())
    assert str(caught.value) == (
        "Feature view name 'Bad-Name' is not valid: use lower-case letters, digits and underscores."
    )


def test_a_view_needs_a_query_on_a_saved_group(fs: FeatureStore) -> None:
    with pytest.raises(TypeError) as caught:
        fs.create_feature_view(name="v", version=1, query="SELECT *")
    assert str(caught.value) == "query must be a Query (e.g. fg.select_all()), got str."
    unsaved = fs.create_feature_group(name="g", version=1, primary_key=["k"])
    with pytest.raises(FeatureStoreException) as caught:
        fs.create_feature_view(name="v", version=1, query=unsaved.select_all())
    assert str(caught.value) == (
        "Feature group 'g' is not saved yet: insert data before creating a feature view on it."
    )


def test_get_or_create_gives_a_new_group_the_expectation_suite_it_was_given(tmp_path: Path) -> None:
    """``get_or_create_feature_group(expectation_suite=...)`` creates the group with the suite, as
    ``create_feature_group`` does (hsfs passes it to the FeatureGroup it creates)."""
    from hsfs.expectation_suite import ExpectationSuite

    between = {"column": "sepal_length", "min_value": 4.5, "max_value": 8.0}
    suite = ExpectationSuite(
        expectation_suite_name="sizes",
        expectations=[
            {"expectation_type": "expect_column_values_to_be_between", "kwargs": between, "meta": {}}
        ],
        meta={},
    )
    fs = FeatureStore(tmp_path / "store")
    fg = fs.get_or_create_feature_group(
        name="flowers", version=1, primary_key=["id"], expectation_suite=suite
    )
    fg.insert(pd.DataFrame({"id": [1], "sepal_length": [5.0]}))

    saved = fs.get_feature_group("flowers", version=1).get_expectation_suite(ge_type=False)
    assert saved is not None and saved.expectation_suite_name == "sizes"
