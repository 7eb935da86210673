r"""Data values made safe for the report's HTML and Markdown: the one place that escapes them.

Every value that comes from the data (an owner id, a segment or KPI label, a category, a file
name) and reaches a page goes through one of these two functions where it is formatted:

- :func:`html_text` for HTML (table cells, captions, headers, attributes): ``& < > " '`` become
  character references, so ``<img src=x onerror=alert(1)>`` is shown as text;
- :func:`md_text` for Markdown (the generated sentences of the reports): the HTML characters
  become character references and every Markdown punctuation character is backslash-escaped,
  so a value can start no element, link, autolink (``http://x``, ``www.x``, ``a@b.x``),
  emphasis, heading, list, code span or maths span (``$...$``); runs of blanks and line breaks
  become one space so a value cannot start a new block.

The pages are sanitised once more before they are published
(:func:`cpm_analysis.report.sanitize.sanitize_page`): escaping is the first line of defence,
the sanitiser the second.

Examples
--------
>>> print(md_text("<img src=x onerror=alert(1)>"))
&lt;img src=x onerror=alert(1)&gt;
>>> html_text('"><svg onload=alert(1)>')
'&quot;&gt;&lt;svg onload=alert(1)&gt;'
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["html_text", "md_text"]

# Markdown punctuation that can start or end an inline construct anywhere in a line: HTML and
# code, emphasis and strike-through, links and images ('[' is enough: '(' and '!' are inert
# without it), maths ('$'), tables ('|'), and ':' and '@' to break autolinks (http://x, a@b.x).
_INLINE = re.compile(r"([\\`*_\[\]$|~:@#])")
# '.' outside a number breaks www. autolinks and 'N.' ordered lists; '-', '+', '=' and 'N)'
# only matter at the start of a line (lists, thematic breaks, setext headings).
_DOT = re.compile(r"\.(?!\d)|(?<!\d)\.")
_LEAD = re.compile(r"\A([-+=]|\d+\))")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def html_text(value: Any) -> str:
    """``value`` as text safe inside HTML content or a quoted attribute.

    ``None`` gives an empty string; anything else is ``str(value)`` with ``& < > " '``
    replaced by character references.

    Examples
    --------
    >>> html_text("<b>R&D</b>")
    '&lt;b&gt;R&amp;D&lt;/b&gt;'
    >>> html_text(None)
    ''
    """
    return html.escape(_text(value), quote=True)


def md_text(value: Any) -> str:
    r"""``value`` as literal text inside Markdown that is rendered to HTML.

    The result renders as exactly the characters of ``str(value)`` (blanks and line breaks
    shown as one space, as HTML shows them): no HTML element, link, autolink, emphasis,
    heading, list, code or maths.

    Examples
    --------
    >>> print(md_text("[x](javascript:alert(1))"))
    \[x\](javascript\:alert(1))
    >>> print(md_text("$\\frac{1}{0}$ at http://x"))
    \$\\frac{1}{0}\$ at http\://x
    >>> md_text("S001")
    'S001'
    """
    text = " ".join(_text(value).split())
    text = _DOT.sub(r"\\.", _INLINE.sub(r"\\\1", text))
    text = _LEAD.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
