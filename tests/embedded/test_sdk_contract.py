"""The embedded backend's signatures are a prefix of the installed Hopsworks SDK's.

A notebook written against one backend must run on the other: every public method of the embedded
classes is mapped to the SDK method with the same role, and its parameters must be the SDK's first
parameters with the same names, kinds, positions and defaults (it may stop early, never add one).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# (embedded class, method) -> the SDK callable with the same role
CONTRACT: dict[tuple[str, str], str] = {
    ("LocalProject", "get_feature_store"): "hopsworks.project.Project.get_feature_store",
    ("LocalProject", "get_model_registry"): "hopsworks.project.Project.get_model_registry",
    ("FeatureStore", "get_feature_group"): "hsfs.feature_store.FeatureStore.get_feature_group",
    (
        "FeatureStore",
        "get_or_create_feature_group",
    ): "hsfs.feature_store.FeatureStore.get_or_create_feature_group",
    ("FeatureStore", "create_feature_group"): "hsfs.feature_store.FeatureStore.create_feature_group",
    ("FeatureStore", "get_feature_view"): "hsfs.feature_store.FeatureStore.get_feature_view",
    (
        "FeatureStore",
        "get_or_create_feature_view",
    ): "hsfs.feature_store.FeatureStore.get_or_create_feature_view",
    ("FeatureStore", "create_feature_view"): "hsfs.feature_store.FeatureStore.create_feature_view",
    ("FeatureGroup", "insert"): "hsfs.feature_group.FeatureGroup.insert",
    ("FeatureGroup", "read"): "hsfs.feature_group.FeatureGroup.read",
    ("FeatureGroup", "show"): "hsfs.feature_group.FeatureGroup.show",
    ("FeatureGroup", "select_all"): "hsfs.feature_group.FeatureGroup.select_all",
    ("FeatureGroup", "select"): "hsfs.feature_group.FeatureGroup.select",
    ("FeatureGroup", "select_except"): "hsfs.feature_group.FeatureGroup.select_except",
    ("FeatureGroup", "get_feature"): "hsfs.feature_group.FeatureGroup.get_feature",
    ("FeatureGroup", "filter"): "hsfs.feature_group.FeatureGroup.filter",
    ("Query", "read"): "hsfs.constructor.query.Query.read",
    ("Query", "show"): "hsfs.constructor.query.Query.show",
    ("Query", "filter"): "hsfs.constructor.query.Query.filter",
    ("Feature", "isin"): "hsfs.feature.Feature.isin",
    ("Feature", "like"): "hsfs.feature.Feature.like",
    ("Logic", "get_left_filter_or_logic"): "hsfs.constructor.filter.Logic.get_left_filter_or_logic",
    ("Logic", "get_right_filter_or_logic"): "hsfs.constructor.filter.Logic.get_right_filter_or_logic",
    ("FeatureView", "train_test_split"): "hsfs.feature_view.FeatureView.train_test_split",
    ("FeatureView", "training_data"): "hsfs.feature_view.FeatureView.training_data",
    ("FeatureView", "get_batch_data"): "hsfs.feature_view.FeatureView.get_batch_data",
    (
        "FeatureView",
        "get_last_accessed_training_dataset",
    ): "hsfs.feature_view.FeatureView.get_last_accessed_training_dataset",
    (
        "FeatureView",
        "update_last_accessed_training_dataset",
    ): "hsfs.feature_view.FeatureView.update_last_accessed_training_dataset",
    (
        "FeatureView",
        "get_training_dataset_schema",
    ): "hsfs.feature_view.FeatureView.get_training_dataset_schema",
    ("ModelRegistry", "get_model"): "hsml.model_registry.ModelRegistry.get_model",
    ("ModelRegistry", "get_models"): "hsml.model_registry.ModelRegistry.get_models",
    ("ModelRegistry", "get_best_model"): "hsml.model_registry.ModelRegistry.get_best_model",
    ("mr.python", "create_model"): "hsml.python.signature.create_model",
    ("mr.sklearn", "create_model"): "hsml.sklearn.signature.create_model",
    ("Model", "save"): "hsml.model.Model.save",
    ("Model", "download"): "hsml.model.Model.download",
    ("Model", "delete"): "hsml.model.Model.delete",
    ("Model", "deploy"): "hsml.model.Model.deploy",
    ("LocalProject", "get_dataset_api"): "hopsworks_common.project.Project.get_dataset_api",
    ("LocalProject", "get_model_serving"): "hopsworks_common.project.Project.get_model_serving",
    ("DatasetApi", "upload"): "hopsworks_common.core.dataset_api.DatasetApi.upload",
    ("DatasetApi", "download"): "hopsworks_common.core.dataset_api.DatasetApi.download",
    ("DatasetApi", "exists"): "hopsworks_common.core.dataset_api.DatasetApi.exists",
    ("DatasetApi", "path_exists"): "hopsworks_common.core.dataset_api.DatasetApi.path_exists",
    ("DatasetApi", "mkdir"): "hopsworks_common.core.dataset_api.DatasetApi.mkdir",
    ("DatasetApi", "remove"): "hopsworks_common.core.dataset_api.DatasetApi.remove",
    ("DatasetApi", "rm"): "hopsworks_common.core.dataset_api.DatasetApi.rm",
    ("DatasetApi", "list"): "hopsworks_common.core.dataset_api.DatasetApi.list",
    ("DatasetApi", "copy"): "hopsworks_common.core.dataset_api.DatasetApi.copy",
    ("DatasetApi", "move"): "hopsworks_common.core.dataset_api.DatasetApi.move",
    ("FeatureView", "create_training_data"): "hsfs.feature_view.FeatureView.create_training_data",
    ("FeatureView", "create_train_test_split"): "hsfs.feature_view.FeatureView.create_train_test_split",
    (
        "FeatureView",
        "create_train_validation_test_split",
    ): "hsfs.feature_view.FeatureView.create_train_validation_test_split",
    ("FeatureView", "get_training_data"): "hsfs.feature_view.FeatureView.get_training_data",
    ("FeatureView", "get_train_test_split"): "hsfs.feature_view.FeatureView.get_train_test_split",
    (
        "FeatureView",
        "get_train_validation_test_split",
    ): "hsfs.feature_view.FeatureView.get_train_validation_test_split",
    (
        "FeatureView",
        "train_validation_test_split",
    ): "hsfs.feature_view.FeatureView.train_validation_test_split",
    ("FeatureView", "delete_training_dataset"): "hsfs.feature_view.FeatureView.delete_training_dataset",
    (
        "FeatureView",
        "delete_all_training_datasets",
    ): "hsfs.feature_view.FeatureView.delete_all_training_datasets",
    ("FeatureGroup", "save_expectation_suite"): "hsfs.feature_group.FeatureGroup.save_expectation_suite",
    ("FeatureGroup", "get_expectation_suite"): "hsfs.feature_group.FeatureGroup.get_expectation_suite",
    ("FeatureGroup", "delete_expectation_suite"): "hsfs.feature_group.FeatureGroup.delete_expectation_suite",
    ("FeatureGroup", "validate"): "hsfs.feature_group.FeatureGroup.validate",
    ("ModelServing", "get_deployment"): "hsml.model_serving.ModelServing.get_deployment",
    ("ModelServing", "get_deployments"): "hsml.model_serving.ModelServing.get_deployments",
    ("Deployment", "start"): "hsml.deployment.Deployment.start",
    ("Deployment", "stop"): "hsml.deployment.Deployment.stop",
    ("Deployment", "get_state"): "hsml.deployment.Deployment.get_state",
    ("Deployment", "predict"): "hsml.deployment.Deployment.predict",
    ("Deployment", "delete"): "hsml.deployment.Deployment.delete",
    ("Deployment", "describe"): "hsml.deployment.Deployment.describe",
    ("Deployment", "get_logs"): "hsml.deployment.Deployment.get_logs",
    ("Deployment", "is_running"): "hsml.deployment.Deployment.is_running",
    ("Deployment", "is_stopped"): "hsml.deployment.Deployment.is_stopped",
    ("PredictorState", "describe"): "hsml.predictor_state.PredictorState.describe",
    ("FeatureView", "get_training_datasets"): "hsfs.feature_view.FeatureView.get_training_datasets",
}

# embedded class -> the SDK class whose properties it mirrors
SDK_CLASSES: dict[str, str] = {
    "LocalProject": "hopsworks.project.Project",
    "FeatureStore": "hsfs.feature_store.FeatureStore",
    "FeatureGroup": "hsfs.feature_group.FeatureGroup",
    "Query": "hsfs.constructor.query.Query",
    "Feature": "hsfs.feature.Feature",
    "Filter": "hsfs.constructor.filter.Filter",
    "Logic": "hsfs.constructor.filter.Logic",
    "FeatureView": "hsfs.feature_view.FeatureView",
    "ModelRegistry": "hsml.model_registry.ModelRegistry",
    "Model": "hsml.model.Model",
    "DatasetApi": "hopsworks_common.core.dataset_api.DatasetApi",
    "ModelServing": "hsml.model_serving.ModelServing",
    "Deployment": "hsml.deployment.Deployment",
    "PredictorState": "hsml.predictor_state.PredictorState",
    "TrainingDataset": "hsfs.training_dataset.TrainingDatasetBase",
    "Connection": "hopsworks_common.connection.Connection",
}

NAMED = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY,
)


def embedded_classes(store: Path) -> dict[str, type]:
    """Every embedded class with a public API; imported here so the other tests never need them."""
    from serverless_iris.embedded import (
        connection,
        dataset_api,
        feature,
        feature_group,
        feature_store,
        feature_view,
        model_registry,
        model_serving,
        project,
        query,
        training_dataset,
    )

    registry = model_registry.ModelRegistry(store)
    classes: dict[str, type] = {
        "LocalProject": project.LocalProject,
        "ModelRegistry": model_registry.ModelRegistry,
        "Model": model_registry.Model,
        "mr.python": type(registry.python),
        "mr.sklearn": type(registry.sklearn),
        "DatasetApi": dataset_api.DatasetApi,
        "ModelServing": model_serving.ModelServing,
        "Deployment": model_serving.Deployment,
        "PredictorState": model_serving.PredictorState,
        "TrainingDataset": training_dataset.TrainingDataset,
        "Connection": connection.Connection,
    }
    for module in (feature_store, feature_group, query, feature, feature_view):
        for name in ("FeatureStore", "FeatureGroup", "Query", "Feature", "Filter", "Logic", "FeatureView"):
            if name in vars(module) and getattr(module, name).__module__ == module.__name__:
                classes[name] = getattr(module, name)
    return classes


def sdk_object(dotted: str) -> Any:
    """Import the longest module prefix of ``dotted`` and walk the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ImportError(dotted)


def same_default(ours: Any, theirs: Any) -> bool:
    if ours is theirs:
        return True
    try:
        return type(ours) is type(theirs) and bool(ours == theirs)
    except Exception:
        return False


def prefix_violations(embedded: Callable, sdk: Callable) -> list[str]:
    """How ``embedded``'s parameters fail to be a prefix of ``sdk``'s (empty when they are one).

    A ``**kwargs`` is allowed where the SDK has one too (it carries deprecated spellings there).
    """
    sdk_params = inspect.signature(sdk).parameters.values()
    open_ended = any(p.kind == p.VAR_KEYWORD for p in sdk_params)
    ours = [
        p
        for p in inspect.signature(embedded).parameters.values()
        if p.name != "self" and not (open_ended and p.kind == p.VAR_KEYWORD)
    ]
    theirs = [p for p in sdk_params if p.name != "self" and p.kind in NAMED]
    problems = []
    for position, param in enumerate(ours):
        if param.kind not in NAMED:
            problems.append(f"accepts {param} (arguments the SDK may not have)")
        elif position >= len(theirs):
            problems.append(f"accepts {param.name!r} at position {position}; the SDK has no parameter there")
        elif param.name != theirs[position].name:
            problems.append(f"position {position} is {param.name!r}; the SDK's is {theirs[position].name!r}")
        elif param.kind != theirs[position].kind:
            problems.append(f"{param.name!r} is {param.kind.description}; the SDK's is not")
        elif not same_default(param.default, theirs[position].default):
            default = theirs[position].default
            problems.append(f"{param.name!r} defaults to {param.default!r}; the SDK's default is {default!r}")
    required_later = [
        p.name for p in theirs[len(ours) :] if p.default is p.empty and p.kind != p.KEYWORD_ONLY
    ]
    if required_later:
        problems.append(f"stops before the SDK's required parameters {required_later}")
    return problems


def public_members(cls: type) -> tuple[set[str], set[str]]:
    """``(methods, properties)`` defined on ``cls`` (inherited from ``object`` excluded)."""
    methods, properties = set(), set()
    for name in dir(cls):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(cls, name)
        if isinstance(member, property):
            properties.add(name)
        elif callable(member) or isinstance(member, (staticmethod, classmethod)):
            methods.add(name)
    return methods, properties


@pytest.mark.parametrize(("owner", "method"), sorted(CONTRACT), ids=lambda v: str(v))
def test_embedded_method_is_a_prefix_of_the_sdk_method(owner: str, method: str, tmp_path: Path) -> None:
    embedded = getattr(embedded_classes(tmp_path)[owner], method)
    sdk = sdk_object(CONTRACT[owner, method])

    assert prefix_violations(embedded, sdk) == [], f"{owner}.{method} vs {CONTRACT[owner, method]}"


def test_every_public_method_is_in_the_contract(tmp_path: Path) -> None:
    unmapped = [
        f"{owner}.{method}"
        for owner, cls in embedded_classes(tmp_path).items()
        for method in sorted(public_members(cls)[0])
        if (owner, method) not in CONTRACT
    ]
    assert unmapped == [], "map each public method to its SDK counterpart in CONTRACT"


def test_every_public_property_exists_in_the_sdk(tmp_path: Path) -> None:
    missing = []
    for owner, cls in embedded_classes(tmp_path).items():
        properties = public_members(cls)[1]
        if owner not in SDK_CLASSES:
            assert not properties, f"{owner} has properties but no SDK class in SDK_CLASSES"
            continue
        sdk_class = sdk_object(SDK_CLASSES[owner])
        missing += [f"{owner}.{name}" for name in sorted(properties) if not hasattr(sdk_class, name)]
    assert missing == []


def test_the_checker_catches_each_kind_of_drift() -> None:
    def sdk(self, name: str, version: int | None = None, *, wait: bool = False, **kwargs: Any) -> None: ...

    def renamed(self, name: str, ver: int | None = None) -> None: ...

    def new_default(self, name: str, version: int | None = 1) -> None: ...

    def extra(
        self, name: str, version: int | None = None, *, wait: bool = False, color: str = ""
    ) -> None: ...

    def moved(self, version: int | None = None, name: str = "") -> None: ...

    def open_ended(self, name: str, **kwargs: Any) -> None: ...

    def positional_wait(self, name: str, version: int | None = None, wait: bool = False) -> None: ...

    def prefix(self, name: str) -> None: ...

    def sdk_closed(self, name: str, version: int | None = None) -> None: ...

    assert prefix_violations(prefix, sdk) == []
    assert prefix_violations(open_ended, sdk) == [], "the SDK takes **kwargs too"
    for drifted in (renamed, new_default, extra, moved, positional_wait):
        assert prefix_violations(drifted, sdk), drifted.__name__
    assert prefix_violations(open_ended, sdk_closed), "**kwargs the SDK does not take"
