"""The reports' nbconvert exporter: one per process, both views, without the BeautifulSoup pass.

nbconvert's ``HTMLExporter`` re-parses every finished page with BeautifulSoup to give images without
``alt`` a placeholder text and to make cell inputs and outputs focusable (``tabindex="0"``): much of
the CPU of an export. :func:`accessible` adds the same attributes with one regular expression over the
tags. The full report and the results-only view share one exporter (its compiled templates): the view is
chosen per call by ``exclude_input`` and ``exclude_output_prompt``, which nbconvert reads at every
conversion. This module imports nbconvert; :mod:`serverless_iris.runner.pages.report` imports it when the
first report is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nbconvert import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

MISSING_ALT = "No description has been provided for this image"  # nbconvert's placeholder text
FOCUSABLE = ("jp-Cell-inputWrapper", "jp-OutputArea-output")  # the classes nbconvert makes focusable

_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^<>]*\salt\s*=)", re.I)
_CLASSES = "|".join(FOCUSABLE)
_FOCUSABLE_DIV = re.compile(
    rf"""<div(?=\s[^<>]*\bclass\s*=\s*"[^"]*(?<![\w-])(?:{_CLASSES})(?![\w-]))(?![^<>]*\stabindex\s*=)"""
)


class ReportExporter(HTMLExporter):  # type: ignore[misc]
    """``HTMLExporter`` with its filters set as nbconvert sets them, minus the re-parse of the page."""

    def from_notebook_node(
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name"))
        self.register_filter("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        widgets = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("filter_data_type", widgets)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return accessible(page), resources


def report_exporter(templates: Path) -> ReportExporter:
    """The exporter of ``iris_report.html.j2`` in ``templates`` (on nbconvert's lab template)."""
    return ReportExporter(
        template_name="lab",
        template_file="iris_report.html.j2",
        extra_template_paths=[str(templates)],
        embed_images=True,
        optimistic_validation=True,  # validate once after the preprocessors, not after each of them
    )


def accessible(page: str) -> str:
    """What nbconvert's HTML exporter adds to a page: a placeholder ``alt`` on images without one, and
    ``tabindex="0"`` on cell input wrappers and outputs."""
    page = _IMG_WITHOUT_ALT.sub(f'<img alt="{MISSING_ALT}"', page)
    return _FOCUSABLE_DIV.sub('<div tabindex="0"', page)
