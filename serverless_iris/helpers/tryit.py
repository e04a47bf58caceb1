"""The dashboard's "Try it" model: the registered k-nearest-neighbours model as data a page can predict with.

The page has no server, so the model travels inside it and the runner.s ``knn.js`` predicts.
It must agree with ``model.predict`` even where training points are equally near, which the iris data's
one-decimal values make common: which tied points count depends on the order scikit-learn's k-d
tree visits them.
So the export carries the fitted tree itself (``KDTree.get_arrays()``) and the JavaScript replays
scikit-learn's query step by step instead of re-implementing "nearest neighbours" its own way.
"""

from __future__ import annotations

from typing import Any

from serverless_iris.helpers.flowers import FEATURES

FORMAT = "sklearn-kdtree-knn/1"


def export_knn(model: Any) -> dict[str, Any]:
    """Return a fitted ``KNeighborsClassifier`` as JSON-able data the index page's ``knn.js`` reads.

    Only what the JavaScript can replay bit for bit is accepted: a k-d tree (``algorithm`` "auto" or
    "kd_tree"), the Euclidean metric, ``weights`` "uniform" or "distance", one output, and the four iris
    measurements as features. Anything else raises ``ValueError`` naming the setting and what is allowed.
    """
    from sklearn import __version__ as sklearn_version
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(model, KNeighborsClassifier):
        raise TypeError(f"export_knn needs a fitted KNeighborsClassifier, got {type(model).__name__}")
    check_is_fitted(model)
    checks = (
        ("algorithm", model._fit_method, ("kd_tree",), "'kd_tree' (algorithm='auto' or 'kd_tree')"),
        ("metric", model.effective_metric_, ("euclidean",), "'euclidean' (the default minkowski, p=2)"),
        ("weights", model.weights, ("uniform", "distance"), "'uniform' or 'distance'"),
    )
    for name, got, replayable, allowed in checks:
        if got not in replayable:
            raise ValueError(f"export_knn cannot replay {name}={got!r} in the page; allowed: {allowed}")
    if model.outputs_2d_:
        raise ValueError("export_knn handles one target column; this model was fitted with several")
    names = getattr(model, "feature_names_in_", None)  # None: fitted on a bare array, taken in order
    features = list(FEATURES) if names is None else [str(name) for name in names]
    if sorted(features) != sorted(FEATURES) or model.n_features_in_ != len(FEATURES):
        got = features if names is not None else f"{model.n_features_in_} unnamed columns"
        raise ValueError(f"export_knn needs the features {list(FEATURES)} (any order), got {got}")
    data, idx_array, node_data, node_bounds = model._tree.get_arrays()
    if model.n_neighbors > len(data):
        raise ValueError(f"n_neighbors={model.n_neighbors} exceeds the {len(data)} training rows")
    return {
        "format": FORMAT,
        "sklearn_version": sklearn_version,
        "n_neighbors": int(model.n_neighbors),
        "weights": model.weights,
        "feature_names": features,
        "classes": model.classes_.tolist(),
        "y": model._y.tolist(),
        "data": data.tolist(),
        "idx_array": idx_array.tolist(),
        "nodes": [[int(start), int(end), bool(leaf)] for start, end, leaf, _ in node_data.tolist()],
        "node_bounds": node_bounds.tolist(),
    }
