"""Which registered model predicts (helpers/model_in_use.py)."""

from __future__ import annotations

from types import SimpleNamespace

from serverless_iris.helpers import model_in_use


def test_the_model_in_use_is_the_newest_version_unless_pinned() -> None:
    """Not the most accurate: each version's accuracy was measured on its own day's test set."""
    models = [SimpleNamespace(version=v, training_metrics={"accuracy": a}) for v, a in ((1, 0.97), (2, 0.88))]
    registry = SimpleNamespace(
        get_models=lambda name: models if name == "iris" else [],
        get_model=lambda name, version: next((m for m in models if m.version == version), None),
    )
    assert model_in_use.model_in_use(registry, "iris") == (models[1], "the newest registered version")
    assert model_in_use.model_in_use(registry, "iris", 1) == (models[0], "pinned by MODEL_VERSION=1")
    assert model_in_use.model_in_use(registry, "other") == (None, "the newest registered version")
