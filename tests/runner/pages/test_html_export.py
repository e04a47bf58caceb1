"""The reports' exporter against nbconvert's own ``HTMLExporter``: the same page, without its re-parse.

``ReportExporter`` skips the BeautifulSoup pass nbconvert runs over every page and adds its alt texts and
tabindex attributes itself; rendered on nbconvert's lab template, both must give the same document.
"""

from __future__ import annotations

import base64

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from serverless_iris.runner.pages.html_export import MISSING_ALT, ReportExporter, accessible

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode()


def _notebook() -> nbformat.NotebookNode:
    """The same notebook every time (fixed cell ids): images with and without alt text, every output kind."""
    v4 = nbformat.v4
    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell(
                "# Title\n\n![](data:image/png;base64," + PNG + ")\n\n<img alt='kept' src='x.png'>"
            ),
            v4.new_code_cell(
                "print('a <div class=\"jp-Cell-inputWrapper\">')",
                execution_count=1,
                outputs=[
                    v4.new_output("stream", name="stdout", text='a <div class="jp-Cell-inputWrapper">\n')
                ],
            ),
            v4.new_code_cell(
                "plot()",
                execution_count=2,
                outputs=[
                    v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
                    v4.new_output(
                        "execute_result",
                        execution_count=2,
                        data={"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "1"},
                    ),
                ],
            ),
            v4.new_code_cell(
                "1 / 0", execution_count=3, outputs=[v4.new_output("error", ename="E", evalue="v")]
            ),
        ]
    )
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number}"
    return nb


def _document(page: str) -> str:
    return str(BeautifulSoup(page, features="html.parser"))


@pytest.mark.parametrize("results_only", [False, True])
def test_the_report_exporter_gives_nbconvert_s_page(results_only: bool) -> None:
    options = {"template_name": "lab", "exclude_input": results_only, "exclude_output_prompt": results_only}
    theirs, _ = HTMLExporter(**options).from_notebook_node(_notebook())
    ours, _ = ReportExporter(**options).from_notebook_node(_notebook())
    assert theirs.count(MISSING_ALT) >= 1 and theirs.count('tabindex="0"') >= 3  # the case is covered
    assert _document(ours) == _document(theirs)


def test_one_exporter_switches_between_the_views() -> None:
    exporter = ReportExporter(template_name="lab")
    full = exporter.from_notebook_node(_notebook())[0]
    exporter.exclude_input = exporter.exclude_output_prompt = True
    results = exporter.from_notebook_node(_notebook())[0]
    exporter.exclude_input = exporter.exclude_output_prompt = False
    assert exporter.from_notebook_node(_notebook())[0] == full
    plot = '<span class="n">plot</span>'
    assert plot in full and plot not in results
    assert "Out[2]:" in full and "Out[2]:" not in results


def test_accessible_marks_only_the_tags_nbconvert_marks() -> None:
    page = (
        '<div class="jp-Cell-inputWrapper x"><img src="a.png"><img alt="" src="b.png">'
        '<div class="jp-OutputArea-output-x"></div><div class="a jp-OutputArea-output" tabindex="1"></div>'
        '<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="text/plain"></div></div>'
    )
    soup = BeautifulSoup(accessible(page), features="html.parser")
    assert [img.get("alt") for img in soup.find_all("img")] == [MISSING_ALT, ""]
    assert [div.get("tabindex") for div in soup.find_all("div")] == ["0", None, "1", "0"]
