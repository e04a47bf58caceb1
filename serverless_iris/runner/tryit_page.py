"""The dashboard's "Try it" form: the exported k-nearest-neighbours model, predicting in the page.

The model (``serverless_iris.tryit.export_knn``'s format) and ``static/knn.js``, which replays
scikit-learn's k-d tree query, are inlined in the page, so it works opened from ``file://``.
"""

from __future__ import annotations

import html
import json
import statistics
from importlib.resources import files
from typing import Any


def try_it_html(model_json: dict[str, Any], pictures: dict[str, str]) -> str:
    """Return the self-contained "Try it" HTML fragment (form, ``#prediction``, style, script).

    The model and the pictures (variety -> image URL relative to the page) are inlined because a page
    opened from ``file://`` cannot fetch JSON. The inputs start at the training data's medians.
    """
    missing = [variety for variety in model_json["classes"] if variety not in pictures]
    if missing:
        raise ValueError(
            f"try_it_html needs a picture for every variety the model predicts; missing: {missing}"
        )
    columns = list(zip(*model_json["data"], strict=True))
    fields = "\n".join(
        _field(name, statistics.median(columns[i])) for i, name in enumerate(model_json["feature_names"])
    )
    n_train = len(model_json["data"])
    return f"""<section class="tryit" id="try-it">
<style>{_static("tryit.css")}</style>
<h2 class="tryit-title">Try it</h2>
<p class="tryit-intro">Measure a flower and the model in use guesses its variety, right here in your browser
from its {model_json["n_neighbors"]} nearest of {n_train} known flowers.</p>
<form class="tryit-form" novalidate>
{fields}
</form>
<div class="tryit-prediction" id="prediction" aria-live="polite"></div>
<script type="application/json" id="try-it-model">{_script_json(model_json)}</script>
<script type="application/json" id="try-it-pictures">{_script_json(pictures)}</script>
<script>
{_static("knn.js")}
window.irisTryIt = irisKnn.mountTryIt(document.getElementById("try-it"));
</script>
</section>
"""


def _field(name: str, default: float) -> str:
    label = html.escape(name.replace("_", " ").capitalize())
    return (
        f'<label class="tryit-field" for="try-it-{name}"><span class="tryit-field-label">{label} (cm)</span>'
        f'<input class="tryit-input" id="try-it-{name}" name="{name}" type="number" inputmode="decimal" '
        f'step="0.1" min="0" value="{default:.1f}" data-label="{label}" required></label>'
    )


def _static(name: str) -> str:
    return (files("serverless_iris.runner") / "static" / name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON that cannot end its ``<script>`` element early (``<`` is escaped, JSON.parse undoes it)."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")
