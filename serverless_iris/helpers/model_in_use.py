"""Which registered model predicts: the newest version, unless ``MODEL_VERSION`` pins one.

Each version's accuracy was measured on the test set of its own day, drawn from the flowers stored then;
the data grows every day, so two versions' accuracies do not compare like with like, and "the most
accurate" could keep an old model that was scored on an older, easier test set, and ignore the model
``runner.py --daily`` has just retrained on an alert. The newest version is the one trained last, on the
most flowers. The inference notebook, the runner's retrain decision and the dashboard follow this rule.
"""

from __future__ import annotations

from typing import Any

NEWEST = "the newest registered version"  # why the model in use was chosen when nothing pins one


def pinned(version: int) -> str:
    """Why the model in use was chosen when ``MODEL_VERSION`` pins it."""
    return f"pinned by MODEL_VERSION={version}"


def model_in_use(registry: Any, name: str, version: int | None = None) -> tuple[Any, str]:
    """Model ``name`` of ``registry`` that predicts, and why: version ``version`` when given, else the newest.

    The model is None when the registry holds no such model (or version).
    """
    if version is not None:
        return registry.get_model(name, version=version), pinned(version)
    models = registry.get_models(name) or []
    return (max(models, key=lambda m: int(m.version)) if models else None), NEWEST
