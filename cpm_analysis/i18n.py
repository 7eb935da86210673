"""The languages of the reports: message catalogues and locale-aware numbers and dates.

English is the source language. Every visible string is written in English in the code and
marked for translation (``tr._("...")``, ``tr.ngettext(...)``, or :func:`N_` where the string is
defined and translated later); Babel extracts the marked strings into the template
``cpm_analysis/locale/cpm_analysis.pot`` and each language has its catalogue
``cpm_analysis/locale/<catalogue>/LC_MESSAGES/cpm_analysis.po`` (see ``docs/report.md``,
"Languages"). The catalogues are read from the ``.po`` files and compiled in memory the first
time a language is used (a fraction of a second, once per process): no compiled ``.mo`` file is
kept in git or needs building at install, so a fresh clone and a ``pip install`` work the same
and a catalogue can never be out of date with its compiled form. A fuzzy entry (a translation
``pybabel update`` guessed) counts as untranslated until a translator confirms it.

The report languages are :data:`LANGUAGES`: ``en`` and ``zh`` (Simplified Chinese). A language
tag may carry a region for the formats (``en-GB``: English words, British dates; ``zh-CN``); a
tag of another language, or Traditional Chinese (``zh-TW``, ``zh-Hant``), is an error rather than
a report silently in English or in the wrong script.

Numbers, percentages, money, durations and dates are formatted by Babel for the locale
(:class:`Translator`).

Examples
--------
>>> tr = translator("zh")
>>> tr._("Customer performance reports")
'客户绩效报告'
>>> tr.integer(1234567), tr.percent(0.125), tr.date("2025-12-31")
('1,234,567', '12.5%', '2025年12月31日')
>>> translator("en-GB").date("2025-12-31")
'31 Dec 2025'
"""

from __future__ import annotations

import ast
import datetime as dt
import gettext as _gettext
import io
import json
import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

if TYPE_CHECKING:
    import pandas as pd
    from nbformat import NotebookNode

Lang = Literal["en", "zh"]

DOMAIN = "cpm_analysis"
"""The gettext domain: the catalogues' file name."""

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
"""Where the catalogues live: ``<LOCALE_DIR>/<catalogue>/LC_MESSAGES/cpm_analysis.po``."""

TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
"""The template ``pybabel extract`` writes: every marked string of the package and notebooks."""


@dataclass(frozen=True)
class Language:
    """A report language.

    Attributes
    ----------
    code : str
        The value of ``--lang`` and of the configuration's ``locale`` (``en``, ``zh``).
    name : str
        The language's name in itself.
    catalogue : str or None
        The catalogue folder under :data:`LOCALE_DIR` (``zh_Hans``); ``None`` for the source
        language, whose strings are the code's own.
    locale : str
        The Babel locale of the formats when the tag names no region (``zh_Hans_CN``).
    html : str
        The BCP 47 tag of the pages' ``lang`` attribute when the tag names no region.
    """

    code: str
    name: str
    catalogue: str | None
    locale: str
    html: str


LANGUAGES: dict[str, Language] = {
    "en": Language("en", "English", None, "en", "en"),
    "zh": Language("zh", "简体中文", "zh_Hans", "zh_Hans_CN", "zh-Hans"),
}
"""The report languages, by code."""

DEFAULT_LANG: Lang = "en"

COUNT_UNITS: frozenset[str] = frozenset({"count", "orders", "customers", "tickets"})
"""The units of counts: shown as integers."""

_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_TRADITIONAL = {"hant", "tw", "hk", "mo"}


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (it is translated later).

    For strings defined at import time, such as the labels of a table: the code stores the
    English text and passes it through :meth:`Translator.gettext` when the page is drawn.

    Examples
    --------
    >>> LABELS = {"M": N_("Monthly")}
    >>> translator("zh").gettext(LABELS["M"])
    '月度'
    """
    return message


class Message(str):
    """A sentence written by the package: its English text, and what translates it later.

    The package builds its sentences (verdicts, reasons, availability sentences, table cells
    that are words) before it knows the report's language, and a period's result is rendered in
    either. A ``Message`` is the English sentence itself (a ``str``: equal to it, printed as it,
    so an English page and every comparison read as before) that also keeps its ``msgid`` and
    the ``values`` of its ``%(name)s`` placeholders; :meth:`Translator.gettext` shows it in the
    translator's language, translating the values that are messages too. Make one with
    :func:`M_`; :func:`join` joins messages.

    Examples
    --------
    >>> reason = M_("no order for %(days)s days", days="94")
    >>> reason == "no order for 94 days", reason.msgid
    (True, 'no order for %(days)s days')
    >>> gone = M_("%(analysis)s is not available: %(detail)s.", analysis=M_("Churn model"),
    ...           detail=M_("the data has no tickets table"))
    >>> translator("zh").gettext(gone)
    '流失模型不可用：数据中没有工单表。'
    """

    msgid: str
    values: dict[str, Any]
    lookup: bool
    names: dict[str, str]

    def __new__(
        cls,
        msgid: str,
        values: dict[str, Any] | None = None,
        lookup: bool = True,
        names: dict[str, str] | None = None,
    ) -> Message:
        """Build the English text of ``msgid`` with ``values`` (kept for the translation)."""
        values = dict(values or {})
        text = msgid % {k: str(v) for k, v in values.items()} if values else msgid
        message = super().__new__(cls, text)
        message.msgid, message.values, message.lookup = msgid, values, lookup
        message.names = dict(names or {})
        return message

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the msgid and the values (a saved period result keeps its messages)."""
        return (Message, (self.msgid, self.values, self.lookup, self.names))


def M_(message: str, **values: Any) -> Message:
    """Mark ``message`` for extraction and return it as a :class:`Message`, translated when shown.

    ``values`` fill its ``%(name)s`` placeholders: strings (numbers formatted by the caller,
    names, ids) are shown as they are, messages are translated with the sentence. A translator
    may put the placeholders in any order.

    Examples
    --------
    >>> status = M_("fitted")
    >>> status, translator("zh").gettext(status)
    ('fitted', '已拟合')
    """
    return Message(message, values)


def named(english: str, **languages: str | None) -> Message:
    """Return a name whose translations come with the data (a KPI's ``label_zh``), not the catalogue.

    Examples
    --------
    >>> revenue = named("Revenue", zh="销售收入")
    >>> revenue, translator("zh").gettext(revenue)
    ('Revenue', '销售收入')
    """
    names = {lang: text for lang, text in languages.items() if isinstance(text, str) and text}
    return Message(english, lookup=False, names=names)


def join(separator: str, parts: Iterable[object]) -> Message:
    """Join messages (and strings) with ``separator``: a :class:`Message` each part translates in.

    Examples
    --------
    >>> both = join("; ", [M_("fitted"), "BG/NBD"])
    >>> both, translator("zh").gettext(both)
    ('fitted; BG/NBD', '已拟合; BG/NBD')
    """
    items = list(parts)
    template = separator.replace("%", "%%").join(f"%(p{i})s" for i in range(len(items)))
    return Message(template, {f"p{i}": part for i, part in enumerate(items)}, lookup=False)


_page_words: Callable[[str], str] | None = None


def use(words: Callable[[str], str] | None) -> None:
    """Show the package's sentences on this page with ``words`` (``ctx.word``); ``None``: English.

    Set once per page (``style.apply(lang=..., words=...)`` does it), for what is displayed
    without a translator at hand: a section's :class:`~cpm_analysis.availability.Unavailable`
    sentence, a chart's text (:mod:`cpm_analysis.plots.language`).
    """
    global _page_words
    _page_words = words


def shown(text: str) -> str:
    """Return ``text`` in the page's language (:func:`use`); English when none is set.

    Examples
    --------
    >>> shown(M_("fitted"))
    'fitted'
    >>> use(translator("zh").gettext)
    >>> shown(M_("fitted"))
    '已拟合'
    >>> use(None)
    """
    if _page_words is None:
        return str(text)
    return str(_page_words(text))


def normalize_lang(tag: str | None, *, name: str = "lang") -> Lang:
    """Return the report language of a language tag: ``en`` or ``zh``.

    ``None`` or ``""`` is English. Regions and scripts are accepted (``en-GB``, ``en_US``,
    ``zh-CN``, ``zh_Hans``) and case does not matter. ``name`` is the parameter an error
    message starts with (``--lang``; ``""`` for none).

    Raises
    ------
    ValueError
        For a tag of another language, or Traditional Chinese (no catalogue yet); the message
        lists the languages.

    Examples
    --------
    >>> normalize_lang("zh-CN"), normalize_lang("EN_gb"), normalize_lang(None)
    ('zh', 'en', 'en')
    >>> normalize_lang("fr")
    Traceback (most recent call last):
    ...
    ValueError: lang: no report language 'fr'; the languages are en (English), zh (简体中文), with an optional region such as en-GB or zh-CN
    """
    if tag is None or not str(tag).strip():
        return DEFAULT_LANG
    text = str(tag).strip()
    choices = ", ".join(f"{code} ({lang.name})" for code, lang in LANGUAGES.items())
    prefix = f"{name}: " if name else ""
    if not _TAG.match(text):
        raise ValueError(
            f"{prefix}expected a language tag such as en or zh-CN, got {text!r}; "
            f"the languages are {choices}"
        )
    parts = [p.lower() for p in re.split(r"[-_]", text)]
    if parts[0] == "zh" and _TRADITIONAL.intersection(parts[1:]):
        raise ValueError(
            f"{prefix}no catalogue for Traditional Chinese ({text!r}) yet; the languages are "
            f"{choices} (zh is Simplified Chinese)"
        )
    if parts[0] not in LANGUAGES:
        raise ValueError(
            f"{prefix}no report language {text!r}; the languages are {choices}, with an "
            "optional region such as en-GB or zh-CN"
        )
    return parts[0]  # type: ignore[return-value]


def format_locale(tag: str | None, *, name: str = "lang") -> Locale:
    """Return the Babel locale of the formats for a language tag (its region, if it has one).

    Raises
    ------
    ValueError
        As :func:`normalize_lang`, and for a region Babel does not know (``en-XX``).

    Examples
    --------
    >>> str(format_locale("zh")), str(format_locale("en-GB")), str(format_locale("zh-CN"))
    ('zh_Hans_CN', 'en_GB', 'zh_Hans_CN')
    """
    lang = LANGUAGES[normalize_lang(tag, name=name)]
    text = str(tag or "").strip().replace("-", "_")
    if "_" not in text:
        return Locale.parse(lang.locale)
    try:
        return Locale.parse(text)
    except (ValueError, UnknownLocaleError):
        prefix = f"{name}: " if name else ""
        raise ValueError(f"{prefix}unknown region in {tag!r}; try {lang.code}") from None


def html_lang(tag: str | None) -> str:
    """Return the BCP 47 tag of a page in this language (its ``<html lang>``).

    Examples
    --------
    >>> html_lang("zh"), html_lang("en-GB")
    ('zh-Hans', 'en-GB')
    """
    lang = LANGUAGES[normalize_lang(tag)]
    text = str(tag or "").strip()
    if not re.search(r"[-_]", text):
        return lang.html
    locale = format_locale(tag)
    return "-".join(filter(None, [locale.language, locale.script, locale.territory]))


def catalogue_path(lang: str) -> Path:
    """Return the ``.po`` file of a language's catalogue.

    Raises
    ------
    ValueError
        For the source language, which has no catalogue.

    Examples
    --------
    >>> catalogue_path("zh").relative_to(LOCALE_DIR).as_posix()
    'zh_Hans/LC_MESSAGES/cpm_analysis.po'
    """
    folder = LANGUAGES[normalize_lang(lang)].catalogue
    if folder is None:
        raise ValueError(f"lang: {lang} is the source language; it has no catalogue")
    return LOCALE_DIR / folder / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def read_catalogue(lang: str) -> Catalog:
    """Return the Babel catalogue of a language, as read from its ``.po`` file (cached).

    Examples
    --------
    >>> read_catalogue("zh").locale.language
    'zh'
    """
    path = catalogue_path(lang)
    with path.open("rb") as handle:
        return read_po(handle, locale=LANGUAGES[normalize_lang(lang)].catalogue, domain=DOMAIN)


@cache
def _translations(lang: Lang) -> _gettext.NullTranslations:
    """Compile the catalogue of a language to MO in memory (once per process)."""
    if LANGUAGES[lang].catalogue is None:
        return _gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(lang), use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def missing_translations(messages: Iterable[str | tuple[str, str]], lang: str) -> list[str]:
    """Return the messages a language's catalogue does not translate (or translates fuzzily).

    A message is a msgid, or ``(singular, plural)`` for a plural message. The source language
    translates everything.

    Examples
    --------
    >>> missing_translations(["Customer performance reports", "No such sentence"], "zh")
    ['No such sentence']
    """
    if LANGUAGES[normalize_lang(lang)].catalogue is None:
        return []
    catalogue = read_catalogue(lang)
    missing = []
    for message in messages:
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalogue.get(msgid)
        found: Any = None if entry is None else entry.string
        strings = list(found) if isinstance(found, tuple | list) else [found]
        if entry is None or entry.fuzzy or not all(s and s.strip() for s in strings):
            missing.append(msgid)
    return missing


class Translator:
    """The words and formats of one report language.

    Get one with :func:`translator`. It translates the marked strings of the code through the
    language's catalogue (:meth:`gettext`, :meth:`ngettext`, and :meth:`_`, which also fills in
    ``%(name)s`` values) and formats numbers, percentages, money, durations and dates for the
    locale. It records the messages it was asked for (:attr:`used`), so that a test can check
    that a page has no untranslated string.

    Parameters
    ----------
    tag : str, optional
        A language tag: ``en``, ``zh``, ``en-GB``, ``zh-CN``, ...; default English.
    currency : str, optional
        ISO 4217 code of the amounts (the configuration's ``currency``), for :meth:`money`.
    names : dict, optional
        Translations that come with the data rather than the catalogue, by English name (the
        segment map's ``label_zh``); used by :meth:`gettext` before the catalogue.

    Attributes
    ----------
    lang : {"en", "zh"}
        The report language.
    locale : babel.Locale
        The locale of the formats.
    html_lang : str
        The BCP 47 tag for ``<html lang>``.
    used : set
        Every msgid (or ``(singular, plural)``) looked up so far.

    Examples
    --------
    >>> tr = Translator("zh", currency="CNY")
    >>> tr._("Trends %(first)s to %(last)s", first="2025-01", last="2025-06")
    '2025-01 至 2025-06 的趋势'
    >>> tr.money(1234.5), tr.hours(5.25), tr.days(94)
    ('¥1,234.50', '5.2小时', '94天')
    >>> Translator("en").ngettext("%(count)s published period", "%(count)s published periods", 2)
    '%(count)s published periods'
    """

    def __init__(
        self,
        tag: str | None = None,
        *,
        currency: str | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        self.lang: Lang = normalize_lang(tag)
        self.locale: Locale = format_locale(tag)
        self.html_lang = html_lang(tag)
        self.currency = currency
        self.names: dict[str, str] = {} if self.lang == DEFAULT_LANG else dict(names or {})
        self.used: set[str | tuple[str, str]] = set()
        self._catalogue = _translations(self.lang)

    def __repr__(self) -> str:
        """Show the language and the locale of the formats."""
        return f"Translator({self.lang!r}, locale={str(self.locale)!r})"

    # --- words ------------------------------------------------------------------------------

    def gettext(self, message: str) -> str:
        """Return the translation of ``message`` (itself in English or when untranslated).

        A :class:`Message` is translated with its values (those that are messages too).
        """
        if isinstance(message, Message):
            if self.lang in message.names:
                return message.names[self.lang]
            template = self.gettext(message.msgid) if message.lookup else message.msgid
            if not message.values:
                return template
            values = {key: self._value(value) for key, value in message.values.items()}
            return template % values
        if message in self.names:
            return self.names[message]
        self.used.add(message)
        return self._catalogue.gettext(message)

    def listing(self, items: Iterable[object]) -> str:
        """Return ``items`` as a list in a sentence: ``a, b`` in English, ``a、b`` in Chinese.

        Examples
        --------
        >>> Translator("en").listing(["Ann", "Bo"]), Translator("zh").listing(["Ann", "Bo"])
        ('Ann, Bo', 'Ann、Bo')
        """
        return ("、" if self.lang == "zh" else ", ").join(map(str, items))

    def sentence(self, text: object) -> str:
        """Return a sentence the package wrote as plain English in the report's language.

        Most of the package's sentences are :class:`Message` objects, translated by
        :meth:`gettext`. Text built in bulk (the churn reasons of every customer, joined with
        ``"; "``) is plain English; it is matched here, part by part, against the catalogue's
        templates (a msgid with ``%(name)s`` placeholders and at least one word), and the
        values it holds are translated the same way. Text that matches nothing is returned as
        it is.

        Examples
        --------
        >>> Translator("zh").sentence("no order for 94 days, usual gap 21; 3 orders in the last 90 days")
        '94 天未下单，通常间隔 21 天；过去 90 天内 3 笔订单'
        >>> Translator("en").sentence("no order for 94 days, usual gap 21")
        'no order for 94 days, usual gap 21'
        """
        if isinstance(text, Message):
            return self.gettext(text)
        if not isinstance(text, str) or self.lang == DEFAULT_LANG or not text.strip():
            return str(text)
        found = self._sentence(text, 0)
        if found is not None:
            return found
        parts = text.split("; ")
        if len(parts) > 1:
            return "；".join(self.sentence(part) for part in parts)
        parts = text.split(" / ")  # the reasons of one flag (a scorecard's spared rules)
        if len(parts) > 1:
            return " / ".join(self.sentence(part) for part in parts)
        return self.gettext(text)  # recorded as asked for, and shown as it is when untranslated

    def _sentence(self, text: str, depth: int) -> str | None:
        """Translate ``text`` by the first template it matches; ``None`` when none does."""
        if self.knows(text):
            return self.gettext(text)
        if depth > 4:
            return None
        items = text.split(", ")
        listed = None
        if len(items) > 1:  # a list: of names, or of phrases (each translated, or the whole)
            if all(self.knows(item) for item in items):
                return "、".join(self.gettext(item) for item in items)
            shown = [self._sentence(item, depth + 1) for item in items]
            if all(t is not None for t in shown):
                return "，".join(t for t in shown if t is not None)
            if all(
                t is not None or not _WORDY.search(i) for i, t in zip(items, shown, strict=True)
            ):  # values among the phrases ("within noise in 2025-11, 2025-12"): a template first
                listed = "，".join(i if t is None else t for i, t in zip(items, shown, strict=True))
        for msgid, pattern in _templates(self.lang, _first_word(text)):
            found = pattern.fullmatch(text)
            if found is None:
                continue
            values: dict[str, str] = {}
            for key, value in found.groupdict().items():
                if key in AS_IS_PLACEHOLDERS:  # the data's own name or code
                    values[key] = value
                    continue
                inner = self._sentence(value, depth + 1)
                if "; " in value or (inner is None and _WORDY.search(value)):
                    break  # words left over: the wrong template, or the wrong split
                values[key] = value if inner is None else inner
            if len(values) < len(found.groupdict()):
                continue
            self.used.add(msgid)
            return str(self._catalogue.gettext(msgid) % values)
        terms = text.split(" + ")  # a sum of terms ("30% self + 70% manager"), each translated
        if listed is None and len(terms) > 1:
            shown_terms = [self._sentence(term, depth + 1) for term in terms]
            if all(
                t is not None or not _WORDY.search(i)
                for i, t in zip(terms, shown_terms, strict=True)
            ):
                return " + ".join(
                    i if t is None else t for i, t in zip(terms, shown_terms, strict=True)
                )
        return listed

    def _value(self, value: Any) -> str:
        """Return a value of a message: a message translated, plain text by :meth:`sentence`."""
        if isinstance(value, Message):
            return self.gettext(value)
        if self.lang == DEFAULT_LANG or not isinstance(value, str):
            return str(value)
        return self.sentence(value)

    def knows(self, text: object) -> bool:
        """Whether ``text`` is a message of the catalogue (a word a table cell may hold).

        Examples
        --------
        >>> Translator("zh").knows("yes"), Translator("zh").knows("C000123")
        (True, False)
        """
        if isinstance(text, Message):
            return True
        if not isinstance(text, str) or self.lang == DEFAULT_LANG:
            return False
        if text in self.names:
            return True
        entry = read_catalogue(self.lang).get(text)
        return entry is not None and bool(entry.string) and not entry.fuzzy

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Return the translation of ``singular`` or ``plural``, whichever ``n`` calls for."""
        self.used.add((singular, plural))
        return self._catalogue.ngettext(singular, plural, n)

    def _(self, message: str, **values: Any) -> str:
        """Return the translation of ``message`` with its ``%(name)s`` placeholders filled in.

        Examples
        --------
        >>> Translator("en")._("fingerprint %(value)s", value="ab12")
        'fingerprint ab12'
        """
        text = self.gettext(message)
        return text % values if values else text

    def n_(self, singular: str, plural: str, n: int, **values: Any) -> str:
        """Return :meth:`ngettext` with ``%(count)s`` (``n`` formatted) and ``values`` filled in.

        Examples
        --------
        >>> tr = Translator("zh")
        >>> one, many = "%(count)s owner report in %(folder)s", "%(count)s owner reports in %(folder)s"
        >>> tr.n_(one, many, 1200, folder="2025-12/owners/")
        '2025-12/owners/ 中有 1,200 份客户负责人报告'
        """
        return self.ngettext(singular, plural, n) % {"count": self.integer(n), **values}

    # --- formats ----------------------------------------------------------------------------

    def not_available(self) -> str:
        """Return how a number that cannot be computed is shown."""
        return self.gettext("not available")

    def number(self, value: float | None, decimals: int | None = None) -> str:
        """Return ``value`` with the locale's separators.

        With ``decimals`` exactly that many decimals; without, a whole number as an integer,
        a number of 100 or more with none, of 1 or more with two, and a smaller one with three
        significant digits.

        Examples
        --------
        >>> tr = Translator("en")
        >>> tr.number(1234.0), tr.number(12.345), tr.number(0.012345), tr.number(2.5, 1)
        ('1,234', '12.35', '0.0123', '2.5')
        >>> Translator("en").number(float("nan"))
        'not available'
        """
        if not _finite(value):
            return self.not_available()
        assert value is not None
        if decimals is not None:
            pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        elif value == round(value) and abs(value) >= 1 or abs(value) >= 100:
            pattern = "#,##0"
        elif abs(value) >= 1:
            pattern = "#,##0.00"
        else:
            pattern = "@@@"
        return format_decimal(value, format=pattern, locale=self.locale)

    def integer(self, value: float | None) -> str:
        """Return a count: rounded, with the locale's thousands separator."""
        if not _finite(value):
            return self.not_available()
        assert value is not None
        return format_decimal(round(value), format="#,##0", locale=self.locale)

    def percent(self, share: float | None, decimals: int = 1) -> str:
        """Return a share (0.125) as a percentage (12.5%).

        Examples
        --------
        >>> Translator("en").percent(0.4567), Translator("en").percent(0.4567, 0)
        ('45.7%', '46%')
        """
        if not _finite(share):
            return self.not_available()
        assert share is not None
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
        return format_percent(share, format=pattern, locale=self.locale)

    def change(self, share: float | None, decimals: int = 1) -> str:
        """Return a relative change as a signed percentage (+50.0%, -12.5%).

        Examples
        --------
        >>> Translator("zh").change(0.5), Translator("zh").change(-0.125)
        ('+50.0%', '-12.5%')
        """
        if not _finite(share):
            return self.not_available()
        assert share is not None
        body = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
        return format_percent(share, format=f"+{body};-{body}", locale=self.locale)

    def money(self, amount: float | None, currency: str | None = None) -> str:
        """Return an amount in ``currency`` (default the translator's); a plain number without one.

        Examples
        --------
        >>> Translator("en", currency="EUR").money(1234.5), Translator("en").money(1234.5)
        ('€1,234.50', '1,234.50')
        """
        if not _finite(amount):
            return self.not_available()
        assert amount is not None
        code = currency or self.currency
        if code is None:
            return self.number(amount, 2)
        return format_currency(amount, code, locale=self.locale)

    def hours(self, value: float | None, decimals: int = 1) -> str:
        """Return a duration in hours with the locale's unit (``5.2 hr``, ``5.2小时``)."""
        return self._unit(value, "duration-hour", decimals)

    def days(self, value: float | None, decimals: int = 0) -> str:
        """Return a duration in days with the locale's unit (``94 days``, ``94天``)."""
        return self._unit(value, "duration-day", decimals, length="long")

    def _unit(self, value: float | None, unit: str, decimals: int, length: str = "short") -> str:
        if not _finite(value):
            return self.not_available()
        assert value is not None
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return format_unit(
            round(value, decimals),
            unit,
            length=length,  # type: ignore[arg-type]
            format=pattern,
            locale=self.locale,
        )

    def quantity(self, value: float | None, unit: str | None = None) -> str:
        """Return a value formatted by what it measures (a KPI's ``unit``).

        ``currency``: :meth:`money`; ``share``: :meth:`percent`; ``hours`` and ``days``: with
        the unit; a count (``orders``, ``customers``, ``tickets``, ``count``): :meth:`integer`;
        anything else: :meth:`number`.

        Examples
        --------
        >>> tr = Translator("en", currency="EUR")
        >>> tr.quantity(0.35, "share"), tr.quantity(388.0, "customers"), tr.quantity(1549, "currency")
        ('35.0%', '388', '€1,549.00')
        """
        if unit == "currency":
            return self.money(value)
        if unit == "share":
            return self.percent(value)
        if unit == "hours":
            return self.hours(value)
        if unit == "days":
            return self.days(value)
        if unit in COUNT_UNITS:
            return self.integer(value)
        return self.number(value)

    def points(self, difference: float | None, decimals: int = 1) -> str:
        """Return the difference of two shares in percentage points (``+3.0 pp``, ``+3.0个百分点``).

        Examples
        --------
        >>> Translator("en").points(0.03), Translator("zh").points(-0.005)
        ('+3.0 pp', '-0.5个百分点')
        """
        if not _finite(difference):
            return self.not_available()
        assert difference is not None
        body = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        number = format_decimal(
            round(difference * 100, decimals), format=f"+{body};-{body}", locale=self.locale
        )
        return self._("%(number)s pp", number=number)

    def date(self, value: dt.date | str | pd.Timestamp, format: str = "medium") -> str:
        """Return a date for the locale: ``Dec 31, 2025``, ``31 Dec 2025``, ``2025年12月31日``.

        ``value`` is a date, a datetime or a pandas Timestamp, or an ISO date string.
        """
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.not_available()
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        if isinstance(value, dt.datetime):
            value = value.date()
        return format_date(value, format=format, locale=self.locale)


_PLACEHOLDER = re.compile(r"%\(([a-z_0-9]+)\)s|%%")
_WORD_IN = re.compile(r"[A-Za-z]{2,}")
AS_IS_PLACEHOLDERS = frozenset({"column", "allowed", "code", "params"})
"""Placeholders that hold the data's own names and codes (a column, a category's allowed
values, a KPI id, a model's parameter names): a sentence matched against a template keeps them
as they are."""

_WORDY = re.compile(r"(?<![\w.])[a-z]{2,}(?![\w.])")  # a lower-case word, not an identifier


def _first_word(text: str) -> str:
    return text.split(" ", 1)[0].lower()


@cache
def _template_index(
    lang: str,
) -> tuple[dict[str, list[tuple[str, re.Pattern]]], list[tuple[str, re.Pattern]]]:
    """Return the catalogue's templates as patterns, by first word, and those a value starts."""
    by_word: dict[str, list[tuple[str, re.Pattern]]] = {}
    leading: list[tuple[str, re.Pattern]] = []
    entries = [
        str(m.id)
        for m in read_catalogue(lang)
        if isinstance(m.id, str) and "%(" in m.id and m.string and not m.fuzzy
    ]
    entries.sort(key=lambda msgid: -len(_PLACEHOLDER.sub("", msgid)))  # the most specific first
    for msgid in entries:
        if not _WORD_IN.search(_PLACEHOLDER.sub("", msgid)):
            continue
        seen: set[str] = set()
        regex: list[str] = []
        last = 0
        for found in _PLACEHOLDER.finditer(msgid):
            regex.append(re.escape(msgid[last : found.start()]))
            name = found.group(1)
            if name is None:
                regex.append("%")
            elif name in seen:
                regex.append(f"(?P={name})")
            else:
                seen.add(name)
                regex.append(f"(?P<{name}>.+?)")
            last = found.end()
        regex.append(re.escape(msgid[last:]))
        entry = (msgid, re.compile("".join(regex), re.DOTALL))
        if "%(" in msgid.split(" ", 1)[0]:
            leading.append(entry)
        else:
            by_word.setdefault(_first_word(msgid), []).append(entry)
    return by_word, leading


def _templates(lang: str, word: str) -> list[tuple[str, re.Pattern]]:
    by_word, leading = _template_index(lang)
    return by_word.get(word, []) + leading


def _finite(value: Any) -> bool:
    return (
        value is not None
        and not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
    )


def translator(
    tag: str | None = None, *, currency: str | None = None, names: dict[str, str] | None = None
) -> Translator:
    """Return the :class:`Translator` of a language tag (``en``, ``zh``, ``zh-CN``, ...).

    Raises
    ------
    ValueError
        For a language without a catalogue (see :func:`normalize_lang`).

    Examples
    --------
    >>> translator("zh").gettext("Period")
    '周期'
    """
    return Translator(tag, currency=currency, names=names)


_BLANK_LINES = re.compile(r"(\n[ \t]*\n\s*)")


def markdown_blocks(text: str) -> list[str]:
    r"""Return the translatable blocks of a Markdown cell: its paragraphs, headings and lists.

    A block is a run of lines between blank lines, stripped; each is one msgid of the
    catalogue, so that a translator sees a paragraph at a time and an edit to one paragraph
    leaves the others translated.

    Examples
    --------
    >>> markdown_blocks("# Churn risk\n\nWho may leave,\nand why.\n")
    ['# Churn risk', 'Who may leave,\nand why.']
    """
    return [block.strip() for block in _BLANK_LINES.split(text)[::2] if block.strip()]


def translate_markdown(text: str, tr: Translator) -> str:
    r"""Return a Markdown cell in ``tr``'s language, block by block (:func:`markdown_blocks`).

    The blank lines between blocks are kept; a block without a translation stays in English
    (and is recorded in ``tr.used``, so the untranslated-string checks see it).

    Examples
    --------
    >>> translate_markdown("# Data quality\n\nNo such paragraph.", translator("zh"))
    '# 数据质量\n\nNo such paragraph.'
    """
    parts = _BLANK_LINES.split(text)
    for i in range(0, len(parts), 2):
        block = parts[i].strip()
        if block:
            head, tail = parts[i][: len(parts[i]) - len(parts[i].lstrip())], parts[i].rstrip()
            trailing = parts[i][len(tail) :]
            parts[i] = head + tr.gettext(block) + trailing
    return "".join(parts)


def translate_notebook(nb: NotebookNode, tr: Translator) -> NotebookNode:
    """Translate the Markdown cells of a notebook in place (and return it).

    The notebooks are written in English, readable as they are in JupyterLab; their prose
    lives in the catalogue, one msgid per paragraph (extracted by :func:`extract_notebook`).
    The runner translates a page's Markdown cells this way before it executes the page in a
    language other than English. Code cells are untouched: they translate their own output
    with ``tr._(...)``.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Data quality")])
    >>> translate_notebook(nb, translator("zh")).cells[0].source
    '# 数据质量'
    """
    if tr.lang == DEFAULT_LANG:
        return nb
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = translate_markdown(cell.source, tr)
    return nb


def extract_notebook(
    fileobj: IO[bytes],
    # Babel's keyword specs and extractor options: Babel's own (private) types, passed through
    keywords: Any,
    comment_tags: Collection[str],
    options: Any,
) -> Iterator[tuple[int, Any, Any, Any]]:
    r"""Extract the marked strings and the prose of a notebook for Babel (``[tool.babel]``).

    It runs Babel's Python extractor on each code cell, so that ``tr._("...")`` in a notebook
    is extracted like the same call in the package, and yields every block of every Markdown
    cell (:func:`markdown_blocks`), which :func:`translate_notebook` translates; line numbers
    count from the notebook's first cell.

    Examples
    --------
    >>> import io, json
    >>> nb = {"cells": [{"cell_type": "markdown", "source": ["# Churn\n", "\n", "Who leaves."]},
    ...                 {"cell_type": "code", "source": ["x = tr._('Churn risk')"]}]}
    >>> found = extract_notebook(io.BytesIO(json.dumps(nb).encode()), {"_": None}, [], {})
    >>> [message for _, _, message, _ in found]
    ['# Churn', 'Who leaves.', 'Churn risk']
    """
    from babel.messages.extract import extract_python

    notebook = json.load(io.TextIOWrapper(fileobj, encoding="utf-8"))
    offset = 0
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "markdown":
            for block in markdown_blocks(text):
                yield offset + 1, None, block, ["A paragraph of a notebook's Markdown cell."]
        elif cell.get("cell_type") == "code" and _parses(text):
            found = extract_python(io.BytesIO(text.encode()), keywords, comment_tags, options)
            for lineno, funcname, message, comments in found:
                yield lineno + offset, funcname, message, comments
        offset += text.count("\n") + 1


def extract_segment_map(
    fileobj: IO[bytes],
    # Babel's keyword specs and extractor options: Babel's own (private) types, passed through
    keywords: Any,
    comment_tags: Collection[str],
    options: Any,
) -> Iterator[tuple[int, Any, Any, Any]]:
    r"""Extract the recommended actions and descriptions of a segment map for Babel.

    The segment names have their labels in the map itself (``label_zh``); the sentences are
    translated in the catalogue, so that a page in Chinese shows the default map's actions in
    Chinese (a company's own action, not in the catalogue, is shown as written).

    Examples
    --------
    >>> import io
    >>> text = b"segments:\n  - segment: Lost\n    action: Do nothing.\n    description: Gone.\n"
    >>> [m for _, _, m, _ in extract_segment_map(io.BytesIO(text), {}, [], {})]
    ['Do nothing.', 'Gone.']
    """
    import yaml

    document = yaml.safe_load(io.TextIOWrapper(fileobj, encoding="utf-8")) or {}
    for number, rule in enumerate(document.get("segments", []) or [], 1):
        for key in ("action", "description"):
            text = rule.get(key) if isinstance(rule, dict) else None
            if isinstance(text, str) and text.strip():
                yield number, None, text.strip(), [f"The {key} of a segment of the default map."]


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:  # IPython magics: not Python, nothing to extract
        return False
    return True
