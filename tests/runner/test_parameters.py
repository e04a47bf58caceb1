"""``-p NAME=VALUE`` handling: parsing, secret refusal, conversion to the default's type, unknown names."""

from __future__ import annotations

import pytest
from support import FIXTURES, Workspace

from serverless_iris.runner.parameters import (
    Parameter,
    ParameterError,
    looks_secret,
    parse_assignments,
    read_parameters,
    resolve,
)


def _param(default: str, name: str = "X") -> Parameter:
    return Parameter(name, default, "")


@pytest.mark.parametrize(
    ("default", "text", "expected"),
    [
        ("True", "false", False),
        ("False", "TRUE", True),
        ("True", "no", False),
        ("False", "1", True),
        ("2", "3", 3),
        ("2", "-7", -7),
        ("0.2", "0.25", 0.25),
        ("0.2", "1", 1.0),
        ("'iris'", "hello world", "hello world"),
        ("'iris'", "42", "42"),
        # a None default: a Python literal (number, boolean, None) or else the text
        ("None", "42", 42),
        ("None", "0.5", 0.5),
        ("None", "false", False),
        ("None", "True", True),
        ("None", "None", None),
        ("None", "null", None),
        ("None", "data/iris.csv", "data/iris.csv"),
        ("None", "https://example.org/iris.csv", "https://example.org/iris.csv"),
        ("None", "[1, 2]", "[1, 2]"),
        ("None", "'quoted'", "'quoted'"),
        # a default that is not a literal is treated like None
        ("str(1)", "7", 7),
        ("str(1)", "abc", "abc"),
    ],
)
def test_values_take_the_type_of_the_default(default: str, text: str, expected: object) -> None:
    value = _param(default).convert(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("default", "text", "expected_type"),
    [
        ("2", "abc", "an integer"),
        ("2", "2.5", "an integer"),
        ("0.2", "a fifth", "a number"),
        ("True", "maybe", "a boolean (true or false)"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_parameter_and_the_type(
    default: str, text: str, expected_type: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        Parameter("N_NEIGHBORS", default, "").convert(text)
    message = str(caught.value)
    assert "N_NEIGHBORS" in message
    assert f"expects {expected_type}" in message
    assert f"default is {default}" in message


def test_assignments_split_at_the_first_equals_sign_and_a_later_one_wins() -> None:
    assert parse_assignments(["A=1", "URL=http://x/?a=b", "A=2", "EMPTY="]) == {
        "A": "2",
        "URL": "http://x/?a=b",
        "EMPTY": "",
    }


@pytest.mark.parametrize("option", ["NOVALUE", "=3", "not-a-name=3", "1X=3"])
def test_a_malformed_assignment_is_refused(option: str) -> None:
    with pytest.raises(ParameterError, match="expected NAME=VALUE"):
        parse_assignments([option])


@pytest.mark.parametrize(
    "name", ["HOPSWORKS_API_KEY", "api_key", "MY_TOKEN", "DB_SECRET", "Password", "monkey"]
)
def test_secret_looking_names_are_refused_without_echoing_the_value(name: str) -> None:
    assert looks_secret(name)
    with pytest.raises(ParameterError) as caught:
        parse_assignments([f"{name}=s3cr3t-value"])
    message = str(caught.value)
    assert name in message
    assert "environment" in message
    assert "s3cr3t-value" not in message


def test_a_secret_name_without_a_value_is_not_echoed_either() -> None:
    with pytest.raises(ParameterError) as caught:
        parse_assignments(["MY_TOKEN:abc"])  # a typo for "=": the whole option is the "name"
    assert "abc" not in str(caught.value)
    assert "looks like a secret" in str(caught.value)


@pytest.mark.parametrize("name", ["N_NEIGHBORS", "version", "SEED", "BACKFILL", "DASHBOARD_DIR"])
def test_ordinary_names_do_not_look_secret(name: str) -> None:
    assert not looks_secret(name)


def _declared() -> dict[str, dict[str, Parameter]]:
    version = Parameter("version", "1", "")
    return {
        "feature": {"version": version, "SEED": Parameter("SEED", "None", "")},
        "training": {"version": version, "TEST_SIZE": Parameter("TEST_SIZE", "0.2", "")},
    }


def test_a_name_declared_by_several_notebooks_reaches_each() -> None:
    values = resolve({"version": "2", "TEST_SIZE": "0.3", "SEED": "7"}, _declared())
    assert values == {"feature": {"version": 2, "SEED": 7}, "training": {"version": 2, "TEST_SIZE": 0.3}}


def test_an_unknown_name_is_refused_with_the_declared_names() -> None:
    with pytest.raises(ParameterError) as caught:
        resolve({"N_NEIGHBOURS": "3"}, _declared())
    message = str(caught.value)
    assert "N_NEIGHBOURS" in message and "unknown parameter" in message
    assert "SEED, TEST_SIZE, version" in message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ParameterError) as caught:
        resolve({"NOPE": "1", "TEST_SIZE": "big"}, _declared())
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert "NOPE" in lines[0] and "TEST_SIZE" in lines[1]


def test_read_parameters_returns_names_defaults_and_documentation() -> None:
    found = read_parameters(FIXTURES / "ok" / "iris-feature-pipeline.ipynb")
    assert list(found) == ["BACKFILL", "N_FLOWERS", "RATIO", "LABEL", "DASHBOARD_DIR"]
    assert found["N_FLOWERS"] == Parameter("N_FLOWERS", "1", "flowers to add")
    assert found["LABEL"].default == '"iris"' and found["LABEL"].type is str
    assert found["RATIO"].type is float and found["BACKFILL"].type is None


@pytest.mark.parametrize(
    "name", ["API_KEY_FILE", "MY_TOKEN_PATH", "db_password_hint", "CLIENT_SECRET_NAME", "xkeyx"]
)
def test_a_secret_marker_in_the_middle_of_a_name_is_refused(name: str) -> None:
    """Planted bug: ``looks_secret`` matching only names that start or end with a marker."""
    assert looks_secret(name)
    with pytest.raises(ParameterError) as caught:
        parse_assignments([f"{name}=/home/me/secret-value", "N_FLOWERS=3"])
    assert str(caught.value).startswith(f"-p {name}: a parameter whose name looks like a secret")
    assert "secret-value" not in str(caught.value)


def test_the_runner_refuses_a_middle_marker_name_before_any_kernel_starts(workspace: Workspace) -> None:
    done = workspace.call("--notebooks", str(FIXTURES / "ok"), "-p", "API_KEY_FILE=/home/me/secret-value")

    assert done.returncode == 2, done.stdout + done.stderr
    assert "-p API_KEY_FILE: a parameter whose name looks like a secret" in done.stderr
    assert "secret-value" not in done.stdout + done.stderr
    assert not workspace.outputs.exists()
