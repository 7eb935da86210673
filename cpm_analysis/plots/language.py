"""The language of the charts' text: titles, axis labels, legends, category names.

The chart functions write their text in English and pass it through :func:`_`, which returns
it in the language the report set with :func:`use` (``style.apply(lang=..., words=...)`` in a
notebook; English by default, so a chart drawn in JupyterLab or a test reads as before). The
strings are marked for ``pybabel extract`` (``_`` is one of its keywords) and translated in the
message catalogues with the rest of the pages (see ``docs/report.md``, "Languages").

Examples
--------
>>> from cpm_analysis.i18n import translator
>>> _("Rows per table")
'Rows per table'
>>> use(translator("zh").gettext)
>>> _("Rows per table")
'各数据表行数'
>>> use(None)
"""

from __future__ import annotations

from collections.abc import Callable

from cpm_analysis import i18n


def use(words: Callable[[str], str] | None) -> None:
    """Draw the charts' text with ``words`` (a translator's ``gettext``, ``ctx.word``); ``None``: English.

    It is the page's language (:func:`cpm_analysis.i18n.use`): the package's sentences shown on
    the page without a translator at hand follow it too.
    """
    i18n.use(words)


def _(text: str) -> str:
    """Return ``text`` (a chart's title, label or category name) in the charts' language."""
    return i18n.shown(text)


def category(text: object) -> str:
    """Return a category shown on a chart (a segment name, a table name) in the charts' language.

    Values that are not strings (numbers, missing values) are shown as they are.
    """
    return _(text) if isinstance(text, str) else str(text)
