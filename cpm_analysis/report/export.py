"""Executed notebook -> self-contained HTML that opens offline (e.g. from an e-mail attachment).

nbconvert's HTML exporter with the package's own template ``cpm_report`` (shipped in
``cpm_analysis/report/templates/``): JupyterLab's styles inlined, no code, no prompts, no
parameters or injected-parameters cell, no warnings (stderr) and no JavaScript: nothing is
loaded from the network, images are embedded as ``data:`` URIs.

The page is sanitised before it is written (:func:`cpm_analysis.report.sanitize.sanitize_page`),
and so are the HTML outputs kept in the executed notebook (:func:`sanitize_notebook`): values are
escaped where they are formatted, the sanitiser is the second line of defence.

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Data quality")])
>>> nbformat.write(nb, tmp / "01_data_quality.ipynb")
>>> export_html(tmp / "01_data_quality.ipynb").name
'01_data_quality.html'
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from cpm_analysis.i18n import translator
from cpm_analysis.report.sanitize import sanitize_fragment, sanitize_page
from cpm_analysis.report.terms import link_terms

TEMPLATE_NAME = "cpm_report"
REMOVED_CELL_TAGS: tuple[str, ...] = (
    "parameters",
    "injected-parameters",
    "remove-cell",
    "papermill-error-cell-tag",
)

# Resource-loading references to another host: <script src>, <link href>, <img src>, <iframe>,
# <source>, <embed>, <object data>, CSS url() and @import. Plain <a href> links are not resources.
_EXTERNAL = re.compile(
    r"<(?:script|img|iframe|source|embed|audio|video|track|input)\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//"
    r"|<link\b[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//"
    r"|<object\b[^>]*\bdata\s*=\s*[\"']?\s*(?:https?:)?//"
    r"|url\(\s*[\"']?\s*(?:https?:)?//"
    r"|@import\s+(?:url\()?\s*[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)


def templates_dir() -> Path:
    """Return the folder holding the package's nbconvert templates."""
    return Path(__file__).resolve().parent / "templates"


class ReportCleanPreprocessor(Preprocessor):
    """Drop what a report reader should not see.

    Removes stderr streams (warnings), JavaScript and widget outputs, and code cells left without
    any output (they would render as empty blocks once the code is hidden). Gives every image an
    alternative text naming the section it belongs to (the last Markdown heading above it).
    """

    def preprocess(
        self, nb: nbformat.NotebookNode, resources: dict
    ) -> tuple[nbformat.NotebookNode, dict]:
        """Clean the cells as the class docstring says; return the notebook and resources."""
        cells = []
        section = "Chart"
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                headings = re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", cell.source, flags=re.MULTILINE)
                section = headings[-1] if headings else section
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if _keep_output(o)]
                if not cell.outputs:
                    continue
                for output in cell.outputs:
                    if "image/png" in output.get("data", {}):
                        output.setdefault("metadata", {})["cpm_alt"] = f"Chart: {section}"
            cells.append(cell)
        nb.cells = cells
        return nb, resources


_ACTIVE_MIME = re.compile(r"javascript|widget|svg|ecmascript", re.IGNORECASE)


def sanitize_notebook(nb: nbformat.NotebookNode) -> bool:
    """Sanitise the outputs of an executed notebook in place; whether anything changed.

    Every ``text/html`` output goes through :func:`~cpm_analysis.report.sanitize.sanitize_fragment`;
    outputs that run code when displayed (JavaScript, widgets, SVG) are removed, and an output
    left without data is dropped.

    Examples
    --------
    >>> cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
    ...     "display_data", data={"text/html": "<b onclick='x()'>1</b>", "text/plain": "1"})])
    >>> nb = nbformat.v4.new_notebook(cells=[cell])
    >>> sanitize_notebook(nb), nb.cells[0].outputs[0].data["text/html"]
    (True, '<b>1</b>')
    """
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None:
                for mime in [m for m in data if _ACTIVE_MIME.search(m)]:
                    del data[mime]
                    changed = True
                if "text/html" in data:
                    raw = data["text/html"]
                    text = "".join(raw) if isinstance(raw, list) else str(raw)
                    clean = sanitize_fragment(text)
                    if clean != text:
                        data["text/html"] = clean
                        changed = True
                if not data:
                    changed = True
                    continue
            kept.append(output)
        cell.outputs = kept
    return changed


def _keep_output(output: Any) -> bool:
    if output.get("output_type") == "stream":
        return output.get("name") != "stderr"
    data = output.get("data")
    if data is not None:
        for mime in [m for m in data if "javascript" in m or "widget" in m]:
            del data[mime]
        return bool(data)
    return True


def html_exporter() -> HTMLExporter:
    """Return an HTML exporter configured for reports (see the module docstring).

    Examples
    --------
    >>> html_exporter().exclude_input
    True
    """
    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(templates_dir())],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags=set(REMOVED_CELL_TAGS), enabled=True), enabled=True
    )
    exporter.register_preprocessor(ReportCleanPreprocessor(enabled=True), enabled=True)
    return exporter


_EXPORTERS = threading.local()


def _thread_exporter() -> HTMLExporter:
    """Return this thread's :func:`html_exporter`, made once: its templates are compiled once.

    Compiling the template costs a few tenths of a second per page; an owner book has a hundred.
    One per thread, as the runner exports pages from several threads at a time.

    Examples
    --------
    >>> _thread_exporter() is _thread_exporter()
    True
    """
    exporter = getattr(_EXPORTERS, "exporter", None)
    if exporter is None:
        exporter = _EXPORTERS.exporter = html_exporter()
    return exporter


def notebook_title(nb: nbformat.NotebookNode, default: str) -> str:
    """Return the text of the notebook's first level-1 Markdown heading, else ``default``.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Data quality")])
    >>> notebook_title(nb, "x")
    'Data quality'
    """
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+?)\s*#*\s*$", cell.source, flags=re.MULTILINE)
            if match:
                return match.group(1)
    return default


def export_html(
    notebook: str | os.PathLike,
    html_path: str | os.PathLike | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Export an executed notebook to a self-contained, offline HTML report.

    Parameters
    ----------
    notebook : path
        The executed ``.ipynb``.
    html_path : path, optional
        Where to write; default next to the notebook with ``.html``.
    title : str, optional
        The page title; default the notebook's first heading.

    Returns
    -------
    Path
        The HTML file.

    Raises
    ------
    ValueError
        When the HTML would load anything from the network, or its template part holds a
        script or an event handler (:class:`~cpm_analysis.report.sanitize.UnsafeTemplateError`):
        guards against template drift.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Data quality")])
    >>> nbformat.write(nb, tmp / "01_data_quality.ipynb")
    >>> export_html(tmp / "01_data_quality.ipynb").name
    '01_data_quality.html'
    """
    source = Path(notebook)
    target = Path(html_path) if html_path is not None else source.with_suffix(".html")
    nb = nbformat.read(source, as_version=4)
    if sanitize_notebook(nb):
        nbformat.write(nb, source)
    nb.metadata["title"] = title or notebook_title(nb, source.stem)
    body, _ = _thread_exporter().from_notebook_node(
        nb, resources={"metadata": {"name": source.stem}}
    )
    body = sanitize_page(link_terms(body, translator(_page_lang(nb))))
    offending = external_references(body)
    if offending:
        raise ValueError(
            f"{target.name}: the HTML would load {len(offending)} external resource(s), e.g. "
            f"{offending[0]!r}"
        )
    target.write_text(body, encoding="utf-8")
    return target


def _page_lang(nb: Any) -> str:
    """Return the language the page was run in (its papermill ``lang``), else English."""
    parameters = nb.metadata.get("papermill", {}).get("parameters", {}) or {}
    lang = parameters.get("lang", "en")
    return lang if isinstance(lang, str) and lang else "en"


def external_references(html: str) -> list[str]:
    """Snippets of ``html`` that load a resource from another host (empty when offline-safe).

    Examples
    --------
    >>> external_references('<script src="https://cdn.example/x.js"></script><a href="https://x">')
    ['<script src="https://']
    """
    return [m.group(0) for m in _EXTERNAL.finditer(html)]
