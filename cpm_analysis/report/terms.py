"""Each glossary term is defined where it first appears on a page.

:func:`link_terms` walks a page's body as the exporter wrote it and wraps the first occurrence
of every term of :data:`cpm_analysis.glossary.TERMS` (in the page's language) in running text:

- on a page that holds the glossary (page 05 ends with it), a link to the entry,
  ``<a class="cpm-term" href="#glossary-churn" title="definition">churn</a>``;
- on the other pages, ``<abbr class="cpm-term" title="definition">churn</abbr>``: the
  definition shows when the reader points at the word, and is printed nowhere else.

Only text is wrapped, never the inside of a link, a heading, a table header or caption, code,
bold text or a chart; the wrapped text is the page's own (already escaped) and the definition
is the package's catalogue text, escaped for an attribute. Both forms survive the sanitiser's
allow-list (:mod:`cpm_analysis.report.sanitize`: ``a`` with a ``#`` link, ``abbr``, ``class``
and ``title``). A term is matched by its name without the parenthesis (``CLV (customer
lifetime value)`` as ``CLV``), case-insensitively and on word boundaries; a name that two
entries share (``At risk``: a customer, a target) is not wrapped, since the page's words do
not say which is meant, nor is a capitalised term inside a longer name ("Score" in "Net
Promoter Score").

Examples
--------
>>> page = '<body><h2>Churn</h2><p>Churn is low; churn again.</p></body>'
>>> link_terms('<body><p>Net Promoter Score and the score</p></body>').count("<abbr")
1
>>> link_terms(page)
'<body><h2>Churn</h2><p><abbr class="cpm-term" title="A customer of the base who makes no paid order in the next 90 days.">Churn</abbr> is low; churn again.</p></body>'
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass

from cpm_analysis.glossary import TERMS
from cpm_analysis.i18n import Translator

SKIPPED: frozenset[str] = frozenset(
    {
        "a", "abbr", "h1", "h2", "h3", "h4", "h5", "h6", "th", "caption", "code", "pre",
        "strong", "b", "script", "style", "title", "head", "svg", "button", "label",
    }
)  # fmt: skip
"""Elements whose text is never wrapped."""

_VOID = frozenset({"br", "img", "hr", "meta", "link", "col", "input", "wbr", "source"})
_TOKEN = re.compile(r"(<[^>]*>)")
_TAG = re.compile(r"<\s*(/)?\s*([a-zA-Z][a-zA-Z0-9]*)")
_PAREN = re.compile(r"\s*[(（].*?[)）]\s*")
_IN_NAME = re.compile(r"\b[A-Z][\w-]*\s+$")


@dataclass(frozen=True)
class _Term:
    key: str
    name: str
    definition: str
    pattern: re.Pattern[str]


def _terms(tr: Translator) -> list[_Term]:
    names = {key: _PAREN.sub(" ", tr.gettext(t.term)).strip() for key, t in TERMS.items()}
    shared = Counter(n.lower() for n in names.values())
    out = []
    for key, name in names.items():
        if not name or shared[name.lower()] > 1:
            continue
        escaped = re.escape(html.escape(name, quote=False))
        # word boundaries where the language has them (not around Chinese characters)
        left = r"(?<![\w-])" if name[0].isascii() else ""
        right = r"(?![\w-])" if name[-1].isascii() else ""
        pattern = re.compile(left + escaped + right, re.IGNORECASE)
        definition = html.escape(tr.gettext(TERMS[key].definition), quote=True)
        out.append(_Term(key, name, definition, pattern))
    return sorted(out, key=lambda t: -len(t.name))  # "Churn probability" before "Churn"


def link_terms(page: str, tr: Translator | None = None) -> str:
    """Return ``page`` with the first occurrence of each glossary term defined in place.

    Parameters
    ----------
    page : str
        A page (or a body fragment) as the exporter wrote it: text already escaped.
    tr : Translator, optional
        The page's language (its terms and definitions); default English.
    """
    tr = tr if tr is not None else Translator("en")
    terms = _terms(tr)
    anchors = {t.key for t in terms if f'id="glossary-{t.key}"' in page}
    left = {t.key for t in terms}
    tokens = _TOKEN.split(page)
    stack: list[str] = []
    for i, token in enumerate(tokens):
        if not left:
            break
        if token.startswith("<"):
            match = _TAG.match(token)
            if match is None or token.startswith("<!"):
                continue
            closing, name = match.group(1), match.group(2).lower()
            if closing:
                if name in stack:
                    while stack and stack.pop() != name:
                        pass
            elif name not in _VOID and not token.rstrip().endswith("/>"):
                stack.append(name)
            continue
        if not token.strip() or SKIPPED.intersection(stack) or "body" not in stack:
            continue
        tokens[i] = _wrap(token, terms, left, anchors)
    return "".join(tokens)


def _wrap(text: str, terms: list[_Term], left: set[str], anchors: set[str]) -> str:
    """Wrap the first occurrence in ``text`` of each term still in ``left`` (removed from it)."""
    spans: list[tuple[int, int, _Term]] = []
    for term in terms:
        if term.key not in left:
            continue
        for match in term.pattern.finditer(text):
            start, end = match.span()
            if _IN_NAME.search(text[:start]) and text[start].isupper():
                continue  # "Score" in "Net Promoter Score": part of another name
            if all(end <= s or start >= e for s, e, _ in spans):
                spans.append((start, end, term))
                left.discard(term.key)
                break
    if not spans:
        return text
    out, last = [], 0
    for start, end, term in sorted(spans, key=lambda s: s[0]):
        word = text[start:end]
        if term.key in anchors:
            wrapped = (
                f'<a class="cpm-term" href="#glossary-{term.key}" title="{term.definition}">'
                f"{word}</a>"
            )
        else:
            wrapped = f'<abbr class="cpm-term" title="{term.definition}">{word}</abbr>'
        out += [text[last:start], wrapped]
        last = end
    out.append(text[last:])
    return "".join(out)
