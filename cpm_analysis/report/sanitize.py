"""The second line of defence: every report page is sanitised before it is published.

Values from the data are escaped where they are formatted (:mod:`cpm_analysis.report.escaping`);
the page the exporter writes is then passed through nh3 (the Python binding of the Rust
sanitiser ammonia) configured to exactly what the report template produces:

- the ``<head>`` is the template's own (metadata, the escaped title, inline ``<style>``): it is
  kept as written, after a parse checks that it holds only ``<meta>``, ``<title>`` and
  ``<style>`` elements, and no ``on*=``, ``src``, ``href``, ``style`` or ``http-equiv``
  attribute and no ``javascript:`` URL (the title, which names the owner, is text);
- the ``<body>`` keeps only the elements and attributes a report uses (text, headings, lists,
  tables, images, the cell ``div`` s with their classes and ids). ``<script>`` and ``<style>``
  elements in the body are removed with their content, every ``on*=`` attribute and every
  ``style=`` attribute is dropped;
- links: only the anchors the exporter makes (``href="#section"``) survive; any other ``href``
  (``http:``, ``javascript:``, a relative file) is removed with the attribute, leaving the text;
- images: only embedded PNG charts (``src="data:image/png;base64,..."``) survive.

For normal data the sanitised page renders identically (``tests/test_browser.py``).

Examples
--------
>>> page = ('<html><head><title>t</title></head><body class="jp-Notebook">'
...         '<p onclick="x()">hi <a href="javascript:alert(1)">me</a></p>'
...         '<script>alert(1)</script></body></html>')
>>> sanitize_page(page)
'<html><head><title>t</title></head><body class="jp-Notebook"><p>hi <a>me</a></p></body></html>'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import nh3

__all__ = ["UnsafeTemplateError", "sanitize_fragment", "sanitize_page"]

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
        "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "ins", "kbd", "li", "main", "mark", "ol", "p", "pre", "q", "s",
        "samp", "section", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
        "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
"""Elements a report page's body may hold (the template's and those Markdown produces)."""

_COMMON = {"class", "id", "title", "lang", "dir", "tabindex", "role", "aria-label", "hidden"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": _COMMON | {"data-mime-type"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "li": {"value"},
}
"""Attributes kept per element (``*``: on every element); anything else is dropped."""

SPARKLINE_TAGS: frozenset[str] = frozenset({"svg", "polyline", "circle", "title"})
"""The inline SVG elements of the index page's sparklines (no ``<use>``, ``<image>`` or script)."""
SPARKLINE_ATTRIBUTES: dict[str, set[str]] = {
    "svg": {"width", "height", "viewbox", "viewBox", "role", "aria-label"},
    "polyline": {"fill", "stroke", "stroke-width", "points"},
    "circle": {"cx", "cy", "r", "fill"},
}

_PNG = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=\s]*\Z")
_BODY = re.compile(r"(<body\b[^>]*>)(.*)(</body\s*>)", re.IGNORECASE | re.DOTALL)
_HEAD_TAGS = frozenset({"html", "head", "meta", "title", "style", "body"})


class _HeadCheck(HTMLParser):
    """Finds in the template's part of a page what it must not hold."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HEAD_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in {"style", "src", "href", "http-equiv"}:
                self.found.append(f"{name}= on <{tag}>")
            elif "javascript:" in (value or "").lower():
                self.found.append(f"a javascript: URL on <{tag}>")

    handle_startendtag = handle_starttag


class UnsafeTemplateError(ValueError):
    """The part of the page that the template makes holds something it must not."""


def _attribute_filter(
    tag: str, attribute: str, value: str, link_ok: Callable[[str], bool] | None = None
) -> str | None:
    if attribute == "href":
        if value.startswith("#") or (link_ok is not None and link_ok(value)):
            return value
        return None
    if attribute == "src":
        return value if tag == "img" and _PNG.match(value) else None
    return value


def sanitize_fragment(
    fragment: str, *, link_ok: Callable[[str], bool] | None = None, sparklines: bool = False
) -> str:
    """Sanitise a piece of body HTML (see the module docstring for what is kept).

    Examples
    --------
    >>> sanitize_fragment('<img src=x onerror=alert(1)><a href="http://evil">x</a>')
    '<img><a>x</a>'
    >>> sanitize_fragment('<h2 id="Top">Top<a class="anchor-link" href="#Top">¶</a></h2>')
    '<h2 id="Top">Top<a class="anchor-link" href="#Top">¶</a></h2>'

    ``link_ok`` admits the other links the report made (the index page's links to the files
    it published); ``sparklines`` admits the index page's inline SVG sparklines.
    """
    tags = set(ALLOWED_TAGS) | (set(SPARKLINE_TAGS) if sparklines else set())
    attributes = {k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()}
    if sparklines:
        for tag, names in SPARKLINE_ATTRIBUTES.items():
            attributes[tag] = attributes.get(tag, set()) | names
    return nh3.clean(
        fragment,
        tags=tags,
        clean_content_tags={"script", "style"},
        attributes=attributes,
        attribute_filter=lambda tag, name, value: _attribute_filter(tag, name, value, link_ok),
        strip_comments=True,
        link_rel=None,
        url_schemes={"data"},
    )


def sanitize_page(
    page: str, *, link_ok: Callable[[str], bool] | None = None, sparklines: bool = False
) -> str:
    """Sanitise a whole HTML page written by the report exporter.

    Everything up to and including the ``<body>`` start tag is the template's and is kept
    after a check; the body's content is passed through :func:`sanitize_fragment`.

    Raises
    ------
    UnsafeTemplateError
        When the page has no ``<body>``, or the head holds a script, a resource link, an
        event handler or a ``javascript:`` URL (the template drifted).

    Examples
    --------
    >>> sanitize_page("<html><head><script>x</script></head><body></body></html>")
    Traceback (most recent call last):
    ...
    cpm_analysis.report.sanitize.UnsafeTemplateError: the page's head holds <script> ...
    """
    match = _BODY.search(page)
    if match is None:
        raise UnsafeTemplateError("the page has no <body> to sanitise")
    head, body_tag = page[: match.start()], match.group(1)
    check = _HeadCheck()
    check.feed(head + body_tag)
    check.close()
    if check.found:
        raise UnsafeTemplateError(
            f"the page's head holds {check.found[0]} (template drift?); the report template "
            "must not load or run anything"
        )
    tail = page[match.end() :]
    if "<" in tail.replace("</html>", ""):
        raise UnsafeTemplateError("the page has markup after </body>")
    body = sanitize_fragment(match.group(2), link_ok=link_ok, sparklines=sparklines)
    return f"{head}{body_tag}{body}{match.group(3)}{tail}"
