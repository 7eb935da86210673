"""Notebook parameters: validation, and the context every report notebook works from.

Each notebook has one cell tagged ``parameters`` holding literals only (``data``, ``period``,
``freq``, ``out_dir``, ``pii``, ``owner``, ``seed``, ``result``, ``lang``, and ``customer_id``
for the on-demand customer view; ``lang`` is optional while the pages move to the catalogue); the next cell passes them to :func:`validate_parameters`, which checks
them and returns a :class:`ReportContext`. Under ``cpm report`` the ``result`` parameter names
the period's saved :class:`~cpm_analysis.pipeline.PeriodResult`: the kernel reads it and never
loads or validates the data again. Without it (an analyst in JupyterLab) the data is loaded and
:func:`~cpm_analysis.pipeline.build_period` runs the first time ``ctx.result`` is used. A bad value stops the notebook with
one readable line (:class:`ParameterError` renders without a traceback in Jupyter; papermill still
sees the error and ``cpm report`` exits 1).

Examples
--------
>>> ctx = validate_parameters(data="data/sample", period="2024-06")
>>> ctx.period.label, ctx.view.cutoff
('2024-06', Timestamp('2024-06-30 23:59:59.999999999'))
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from cpm_analysis.credentials import (
    expand_reference,
    is_url,
    redact_text,
    redact_url,
    remember_url,
)
from cpm_analysis.data import Dataset, load
from cpm_analysis.data.paths import PROJECT_ROOT
from cpm_analysis.exceptions import DataValidationError, PeriodError
from cpm_analysis.i18n import N_, Translator, format_locale, normalize_lang, translator
from cpm_analysis.periods import FREQS, Period, latest_period, normalize_freq, parse_period
from cpm_analysis.privacy import (
    PSEUDONYM_COLUMN,
    check_mode,
    load_key,
    mask_frame,
    mask_rejected,
    pseudonymize,
    restrict_to_owner,
)

DEFAULT_DATA = "data/sample"
# An explicitly named period counts as complete when the data ends at most this long before its
# last day (an export often has no order on the last day or two of a month: Superstore's last
# order is on 2022-12-30); `latest` still needs the data to reach the last day.
COMPLETE_GRACE = pd.Timedelta(days=3)
log = logging.getLogger("cpm_analysis.report")
DEFAULT_REPORTS = "reports"

PARAMETERS: dict[str, Any] = {
    "data": DEFAULT_DATA,
    "period": "latest",
    "freq": "monthly",
    "out_dir": "",
    "pii": "mask",
    "owner": "",
    "seed": 0,
    "result": "",
    "lang": "en",
}
"""The standard notebook parameters and their defaults (``customer_id`` is added by the
on-demand customer notebook)."""

FREQ_NAMES = {"M": "monthly", "Q": "quarterly", "Y": "yearly"}


class ParameterError(ValueError):
    """A notebook parameter is wrong; shown in Jupyter as one line, without a traceback.

    IPython calls ``_render_traceback_`` instead of formatting a traceback, so the analyst sees
    ``ParameterError: period: cannot read '2024-13' ...`` and what to do; papermill still
    records the error (``ename``/``evalue``) and stops the run.

    Examples
    --------
    >>> ParameterError("period: cannot read 'June'")._render_traceback_()[0]
    "ParameterError: period: cannot read 'June'"
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}", "Fix the parameters cell and run it again."]


def project_root() -> Path:
    """Return the project folder holding ``data/``, ``notebooks/`` and ``reports/``.

    ``$CPM_PROJECT_ROOT`` when set, else the folder above the installed package (the
    repository checkout for an editable install).

    Examples
    --------
    >>> (project_root() / "cpm_analysis").is_dir()
    True
    """
    return Path(os.environ.get("CPM_PROJECT_ROOT", PROJECT_ROOT))


def resolve_data_source(data: str | os.PathLike) -> str:
    """Make a ``data`` argument absolute: URLs pass, ``$NAME`` is read, relative folders are found.

    ``$NAME`` (or ``${NAME}``) is the value of the environment variable ``NAME``: the way to give
    a database URL with a password without writing it on a command line or in a notebook (see
    :mod:`cpm_analysis.credentials`). A relative folder is looked up in the current working
    directory first, then in the project root (so ``data/sample`` works from a notebook in
    ``notebooks/`` as well as from the project folder). ``data/sample`` itself means the bundled sample (``$CPM_DATA_DIR/sample`` when that
    is set).

    Raises
    ------
    DataValidationError
        When the folder exists in neither place, or ``$NAME`` is not set.

    Examples
    --------
    >>> resolve_data_source("sqlite:///crm.db")
    'sqlite:///crm.db'
    """
    text = os.fspath(data).strip()
    if not text:
        raise DataValidationError("data: empty; give a folder of CSV/Parquet files or a URL")
    try:
        text = expand_reference(text)
    except ValueError as err:
        raise DataValidationError(str(err)) from None
    if is_url(text):
        remember_url(text)
        return text
    path = Path(text).expanduser()
    if path.is_absolute():
        if not path.exists():
            raise DataValidationError(f"data: {path} does not exist")
        return str(path)
    if path.as_posix().rstrip("/") == DEFAULT_DATA and "CPM_DATA_DIR" in os.environ:
        from cpm_analysis.data import sample_dir

        return str(sample_dir())
    tried = [Path.cwd() / path, project_root() / path]
    for candidate in tried:
        if candidate.exists():
            return str(candidate.resolve())
    raise DataValidationError(
        f"data: folder '{text}' not found (looked in {tried[0].parent} and {tried[1].parent}); "
        "give a folder of CSV/Parquet files or a database URL"
    )


def display_source(source: str) -> str:
    """How a data source is shown on a page: a URL redacted, a folder by its name only.

    Examples
    --------
    >>> display_source("postgresql://cpm:S3cretPw@db/crm")
    'postgresql://cpm:***@db/crm'
    >>> display_source("/srv/exports/crm")
    'crm'
    """
    return redact_url(source) if is_url(source) else Path(source).name


def default_reports_dir() -> Path:
    """``<project root>/reports``: where ``cpm report`` writes by default."""
    return project_root() / DEFAULT_REPORTS


def resolve_period(dataset: Dataset, period: str | Period, freq: str | None = None) -> Period:
    """Return the reporting period a label names, checked against the data.

    ``latest`` is the last complete period of frequency ``freq`` (monthly when ``None``). An
    explicit label carries its own frequency; a ``freq`` that disagrees is an error, not a silent
    override. The period must be complete in the data (the data reaches its last day) and must
    not end before the data starts.

    Raises
    ------
    PeriodError
        For a malformed label, a conflicting ``freq`` or a period the data does not cover.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1, end="2024-07-15").to_dataset()
    >>> resolve_period(ds, "latest", "quarterly").label
    '2024-Q2'
    >>> resolve_period(ds, "2024-05").label
    '2024-05'
    """
    code = None if freq in (None, "") else normalize_freq(freq)
    text = period.label if isinstance(period, Period) else str(period).strip()
    last = dataset.last_date()
    if text.lower() == "latest":
        resolved = latest_period(last, code or "M")
    else:
        resolved = parse_period(text)
        if code is not None and resolved.freq != code:
            raise PeriodError(
                f"period: '{resolved.label}' is {FREQS[resolved.freq]} but freq is "
                f"{FREQS[code]}; set freq to {FREQS[resolved.freq]} (or leave it out)"
            )
    first = dataset.orders["order_date"].min()
    if pd.notna(first) and resolved.end < first:
        raise PeriodError(
            f"period: {resolved.label} ends before the data starts ({first:%Y-%m-%d})"
        )
    short = resolved.last_day - last.normalize()
    if text.lower() != "latest" and pd.Timedelta(0) < short <= COMPLETE_GRACE:
        log.warning(
            "period %s: the data ends %s, %d day(s) before the period ends; reported as complete",
            resolved.label,
            f"{last:%Y-%m-%d}",
            short.days,
        )
    elif last.normalize() < resolved.last_day:
        latest = latest_period(last, resolved.freq)
        raise PeriodError(
            f"period: {resolved.label} is not complete in the data (the data ends "
            f"{last:%Y-%m-%d}); the latest complete {FREQS[resolved.freq]} period is "
            f"{latest.label}"
        )
    return resolved


def _expect(name: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise ParameterError(f"{name}: expected {expected}, got {value!r}")


@dataclass(frozen=True)
class ReportContext:
    """Everything a report notebook needs, validated.

    Attributes
    ----------
    source : str
        The data source as it may be shown: a database URL with its password and secret query
        values redacted (the real URL never reaches a notebook's variables or outputs).
    dataset : Dataset
        The full data as loaded (restricted to the owner's book when ``owner`` is set), with its
        rejected rows.
    view : Dataset
        ``dataset.as_of(period.end)``: what every analysis of the period uses.
    period : Period
        The reporting period.
    pii : str
        ``"mask"`` or ``"show"``.
    owner : str or None
        The account owner whose book this is, or ``None`` for everyone.
    seed : int
        Seed for every random step.
    out_dir : Path
        The report folder (its ``.pseudonym_key`` is used unless ``$CPM_PSEUDONYM_KEY`` is set).
    result_path : Path or None
        The period's saved :class:`~cpm_analysis.pipeline.PeriodResult` when the runner
        built it.
    customer_id : str or None
        The customer of the on-demand customer notebook (a real id, resolved from a pseudonym
        when one was given).
    key : bytes or None
        The pseudonym key (``None`` in ``show`` mode).
    lang : str
        The report's language tag (``en``, ``zh``, ``en-GB``, ...): :attr:`translator` gives
        its words and formats.

    Examples
    --------
    >>> ctx = validate_parameters(period="2024-06")
    >>> type(ctx.show(ctx.view.customers.head())).__name__  # an HTML table, personal data masked
    'HTML'
    """

    source: str
    dataset: Dataset
    view: Dataset
    period: Period
    pii: str
    owner: str | None
    seed: int
    out_dir: Path
    result_path: Path | None = None
    customer_id: str | None = None
    key: bytes | None = field(default=None, repr=False)
    lang: str = "en"
    _full_view: Dataset | None = field(default=None, repr=False, compare=False)
    _company: Dataset | None = field(default=None, repr=False, compare=False)
    _result: Any = field(default=None, repr=False, compare=False)

    @cached_property
    def translator(self) -> Translator:
        """The words and formats of the report's language (:mod:`cpm_analysis.i18n`).

        A page translates a sentence with ``tr = ctx.translator`` and ``tr._("...")``, and
        formats numbers with ``tr.integer``, ``tr.percent``, ``tr.money``, ``tr.date``. Money
        is in the configured ``currency`` of the period's result once there is one (the
        runner's saved result, or :attr:`result` after its first use).
        """
        result = self._result if self._result is not None else self.__dict__.get("result")
        config = getattr(result, "config", None)
        names = {k: v for k, v in self._segment_labels.items() if k != v}
        if normalize_lang(self.lang) == "zh":  # the KPIs' names, from the registry
            from cpm_analysis.kpis.registry import KPIS

            names.update({kpi.label_en: kpi.label_zh for kpi in KPIS.values()})
        return translator(self.lang, currency=getattr(config, "currency", None), names=names)

    @property
    def freq(self) -> str:
        """``"monthly"``, ``"quarterly"`` or ``"yearly"``."""
        return FREQ_NAMES[self.period.freq]

    @property
    def rejected(self) -> pd.DataFrame:
        """The rejected rows, personal fields masked and ids pseudonymised in ``mask`` mode."""
        return mask_rejected(self.dataset.rejected, self.pii, key=self.key)

    def mask(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with personal columns dropped and ids pseudonymised (``mask`` mode)."""
        return mask_frame(frame, self.pii, key=self.key)

    def pseudonym(self, customer_id: str) -> str:
        """How ``customer_id`` is shown: its pseudonym in ``mask`` mode, itself in ``show``."""
        if self.pii == "show" or self.key is None:
            return customer_id
        return str(pseudonymize(pd.Series([customer_id], dtype="str"), self.key).iloc[0])

    @property
    def company_view(self) -> Dataset:
        """``view`` of every customer, also on an owner's pages.

        What the models are fitted on and checked against (the owner's scores are a slice of
        the company's).
        """
        return self._full_view if self._full_view is not None else self.view

    @property
    def company(self) -> Dataset:
        """``dataset`` of every customer, also on an owner's pages.

        What the models are fitted on (an owner's numbers are a slice of the company's, never a
        refit on the book).
        """
        return self._company if self._company is not None else self.dataset

    def show(self, frame: pd.DataFrame, **kwargs: Any) -> Any:
        """Display ``frame`` as a formatted, masked HTML table (see :func:`tables.show`).

        A section result that is not available
        (:class:`~cpm_analysis.availability.Unavailable`) is shown as its one sentence,
        an empty table as one sentence naming it (never an empty "No rows." table). Numbers
        are formatted for the report's language and money carries the configured currency
        (:attr:`translator`, unless the call passes its own).
        """
        from cpm_analysis.availability import Unavailable
        from cpm_analysis.report.tables import show

        if isinstance(frame, Unavailable):
            return frame
        tr = self.translator
        if isinstance(frame, pd.DataFrame) and frame.empty:  # a sentence, not an empty table
            caption = kwargs.get("caption") or tr._("This table")
            return Unavailable(tr._("%(table)s: none.", table=caption))
        kwargs.setdefault("translate", self.word)
        kwargs.setdefault("translator", self.translator)
        if isinstance(frame, pd.DataFrame):  # staff by name (report.staff_names)
            frame = self.staff_names.frame(frame)
        if tr.lang != "en" and isinstance(frame, pd.DataFrame):
            if kwargs.pop("index", False):
                frame = frame.reset_index()
            frame = frame.copy()
            for column in NAME_COLUMNS.intersection(map(str, frame.columns)):
                if not pd.api.types.is_numeric_dtype(frame[column].dtype):
                    frame[column] = frame[column].map(
                        lambda v: self.word(v) if isinstance(v, str) else v
                    )
        return show(frame, pii=self.pii, key=self.key, **kwargs)

    @cached_property
    def staff_names(self) -> Any:
        """How staff are shown on this page (:func:`cpm_analysis.staff.staff_names`).

        By name and id (``Yuki Mensah (S001)``), or by id only when the configuration's
        ``report.staff_names`` is ``pseudonym``; :meth:`show` applies it to every staff column.
        """
        from cpm_analysis.staff import staff_names

        result = self._result if self._result is not None else self.__dict__.get("result")
        config = getattr(result, "config", None)
        report = getattr(config, "report", None)
        mode = getattr(report, "staff_names", "name")
        company = self.company
        return staff_names(company.staff if company.has("staff") else None, mode)

    @property
    def segment_map(self) -> Any:
        """The period's segment map: the configured one (``segments.map``), else ``None``.

        ``None`` is the built-in map (:func:`~cpm_analysis.segments.load_segment_map`).
        """
        result = self._result if self._result is not None else self.__dict__.get("result")
        rules = getattr(result, "config", None)
        return getattr(getattr(rules, "segments", None), "segment_map", None)

    @cached_property
    def _segment_labels(self) -> dict[str, str]:
        from cpm_analysis.segments import segment_labels

        try:
            return segment_labels(normalize_lang(self.lang), self.segment_map)
        except ValueError:  # a map of the company's own names without labels: shown as named
            return {}

    def word(self, text: str) -> str:
        """Return a name shown on a page in the report's language.

        A segment name is its label in the segment map (``label_zh``); anything else (a column
        header, a status) is looked up in the catalogue.

        Examples
        --------
        >>> ctx = ReportContext.__new__(ReportContext)  # as validate_parameters(..., lang="zh")
        >>> for name, value in {"lang": "zh", "_result": None}.items():
        ...     object.__setattr__(ctx, name, value)
        >>> ctx.word("Champions"), ctx.word("Revenue share")
        ('重要价值客户', '收入占比')
        """
        labels = self._segment_labels
        return labels[text] if text in labels else self.translator.sentence(text)

    @cached_property
    def result(self) -> Any:
        """Return the period's :class:`~cpm_analysis.pipeline.PeriodResult`: what the pages render.

        It is the owner's book when ``owner`` is set.

        The runner's saved result when ``result`` was given; otherwise built here with
        :func:`~cpm_analysis.pipeline.build_period` on every customer the first time it is
        used (an owner's book is then :meth:`~cpm_analysis.pipeline.PeriodResult.for_owner`).
        """
        if self._result is not None:
            return self._result
        from cpm_analysis.pipeline import build_period

        company = build_period(self.company, self.period, seed=self.seed)
        return company.for_owner(self.owner) if self.owner is not None else company

    def scored_table(self) -> pd.DataFrame:
        """Return the period's per-customer scoring table (one row per customer).

        The result's (:attr:`result`) when there is one; otherwise only the scoring is run
        (:func:`cpm_analysis.scoring.score_customers`, as the customer view needs no more).
        Restricted to the owner's book when ``owner`` is set. Holds real ids: show it through
        :meth:`show`.
        """
        if self._result is not None or "result" in self.__dict__:
            return self.result.scored
        from cpm_analysis.pipeline.scored import finalize_scored
        from cpm_analysis.scoring import score_customers

        view = self.company_view
        scored = finalize_scored(score_customers(view, self.period, seed=self.seed).scored, view)
        if self.owner is not None and "owner_id" in scored.columns:
            scored = scored.loc[(scored["owner_id"] == self.owner).to_numpy(dtype=bool)]
        return scored.reset_index(drop=True)

    def summary(self) -> Any:
        """Return a Markdown block stating period, data, scope and personal-data mode."""
        from IPython.display import Markdown

        from cpm_analysis.report.escaping import md_text

        p = self.period
        tr = self.translator
        customers = len(self.view.customers)
        scope = (
            tr._(
                "the book of account owner **%(owner)s**",
                owner=md_text(str(self.staff_names(self.owner))),
            )
            if self.owner
            else tr._("all owners")
        )
        privacy = (
            tr._("masked: no names, e-mails or phone numbers; customer ids shown as pseudonyms")
            if self.pii == "mask"
            else tr._("**shown** (internal use only)")
        )
        source = display_source(self.source)
        last = self.dataset.last_date().normalize()
        ends_early = (
            [
                tr._(
                    "- **Note:** the data ends %(last)s, %(days)s day(s) before the end of the "
                    "period; the period is reported as if complete",
                    last=tr.date(last),
                    days=tr.integer((p.last_day - last).days),
                )
            ]
            if last < p.last_day
            else []
        )
        freq = {"monthly": N_("monthly"), "quarterly": N_("quarterly"), "yearly": N_("yearly")}
        lines = [
            tr._(
                "- **Period:** %(label)s (%(freq)s, %(start)s to %(end)s)",
                label=p.label,
                freq=tr.gettext(freq.get(self.freq, self.freq)),
                start=tr.date(p.start),
                end=tr.date(p.last_day),
            ),
            tr._(
                "- **Data:** `%(source)s` as of %(end)s: %(customers)s customers (%(scope)s); "
                "fingerprint `%(fingerprint)s`",
                source=source,
                end=tr.date(p.last_day),
                customers=tr.integer(customers),
                scope=scope,
                fingerprint=self.dataset.fingerprint()[:12],
            ),
            tr._("- **Personal data:** %(privacy)s", privacy=privacy),
            *ends_early,
        ]
        return Markdown("\n".join(lines))


NAME_COLUMNS: frozenset[str] = frozenset(
    {
        "segment",
        "previous_segment",
        "current_segment",
        "from_segment",
        "to_segment",
        "stage",
        "outcome",
        "member",
        "reason",
        "group",
    }
)
"""Columns of names that a page shows translated (segment names: their map's label; the
funnel's stages, the sales cycle's outcomes, a roll-up's ``(team)``, a follow-up's reason and
the action list's groups: their catalogue entry)."""


def validate_parameters(
    *,
    data: str = DEFAULT_DATA,
    period: str = "latest",
    freq: str = "monthly",
    out_dir: str = "",
    pii: str = "mask",
    owner: str = "",
    seed: int = 0,
    result: str = "",
    lang: str = "en",
    customer_id: str | None = None,
    **unknown: Any,
) -> ReportContext:
    """Check a notebook's parameters and return the :class:`ReportContext`.

    With ``result`` (``cpm report`` passes it) the period's saved
    :class:`~cpm_analysis.pipeline.PeriodResult` is read and the data source is neither loaded
    nor validated again (``data`` is then not read at all). Without it the data is loaded and
    checked here, and :attr:`ReportContext.result` builds the period when first used.

    Parameters
    ----------
    data : str
        Folder of CSV/Parquet files, database URL, or ``$NAME`` for a URL held in the
        environment variable ``NAME`` (``cpm report`` passes ``$CPM_DATA_URL``); a relative
        folder is found from the working directory or the project root (see
        :func:`resolve_data_source`).
    period : str
        ``2024-06``, ``2024-Q2``, ``2024`` or ``latest``.
    freq : str
        ``monthly``, ``quarterly`` or ``yearly``: the frequency of ``latest``; an explicit
        period must agree with it.
    out_dir : str
        The report folder whose pseudonym key is used; ``""`` means ``<project>/reports``.
    pii : str
        ``mask`` (default) or ``show``.
    owner : str
        An ``owner_id``: restrict everything to that account owner's customers; ``""`` for all.
    seed : int
        Seed of every random step.
    result : str
        Path of the period's saved result (:meth:`~cpm_analysis.pipeline.PeriodResult.save`);
        ``""`` loads the data and computes the period in the notebook.
    lang : str
        The report's language: ``en`` (default), ``zh``, or a tag with a region (``en-GB``,
        ``zh-CN``); ``cpm report`` passes its ``--lang`` (default the configuration's
        ``locale``).
    customer_id : str, optional
        For the customer view: a customer id, or its pseudonym.

    Raises
    ------
    ParameterError
        With one readable line naming the parameter, for any bad value, unknown period,
        missing data folder or unusable data.

    Examples
    --------
    >>> validate_parameters(period="2024-13")
    Traceback (most recent call last):
    ...
    cpm_analysis.report.params.ParameterError: period: month 13 in '2024-13' is not 1-12
    """
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ParameterError(
            f"unknown parameter(s) {names}; the parameters are "
            f"{', '.join([*PARAMETERS, 'customer_id'])}"
        )
    for name, value, kind in (
        ("data", data, str),
        ("period", period, str),
        ("freq", freq, str),
        ("out_dir", out_dir, str),
        ("pii", pii, str),
        ("owner", owner, str),
        ("seed", seed, int),
        ("result", result, str),
        ("lang", lang, str),
    ):
        _expect(name, value, kind)
    if customer_id is not None:
        _expect("customer_id", customer_id, str)
    try:
        check_mode(pii)
        format_locale(lang)  # a report language, with a region Babel knows
        code = normalize_freq(freq)
        reports = Path(out_dir).expanduser() if out_dir.strip() else default_reports_dir()
        key = load_key(reports) if pii == "mask" else None
        saved, result_path = None, None
        if result.strip():
            from cpm_analysis.pipeline import load_period_result

            result_path = Path(result).expanduser().resolve()
            saved = saved_result(result_path) if owner.strip() else load_period_result(result_path)
            dataset = saved.dataset if saved.company_dataset is None else saved.company_dataset
            full_view = saved.view if saved.company_view is None else saved.company_view
            source = dataset.source
            resolved = resolve_period(dataset, period, code)
            if resolved != saved.period or seed != saved.seed:
                raise ValueError(
                    f"result: {result_path.name} is the result of period {saved.period.label} "
                    f"with seed {saved.seed}, not of {resolved.label} with seed {seed}"
                )
        else:
            source = resolve_data_source(data)
            dataset = load(source)
            resolved = resolve_period(dataset, period, code)
            full_view = dataset.as_of(resolved.end)
        book, view = dataset, full_view
        if owner.strip():
            if saved is not None:
                saved = saved.for_owner(owner.strip())
                book, view = saved.dataset, saved.view
            else:
                book = restrict_to_owner(dataset, owner.strip())
                view = restrict_to_owner(full_view, owner.strip())
        real_id = None
        if customer_id is not None:
            real_id = _find_customer(book, customer_id.strip(), key)
    except (DataValidationError, PeriodError, ValueError) as err:
        if isinstance(err, ParameterError):
            raise
        raise ParameterError(redact_text(str(err))) from None
    return ReportContext(
        source=redact_url(source),
        dataset=book,
        view=view,
        period=resolved,
        pii=pii,
        owner=owner.strip() or None,
        seed=seed,
        out_dir=reports,
        result_path=result_path,
        customer_id=real_id,
        key=key,
        lang=lang.strip() or "en",
        _full_view=full_view,
        _company=dataset,
        _result=saved,
    )


_SAVED: dict[Path, tuple[tuple[int, int, int], Any]] = {}
"""The company result :func:`saved_result` read last, by path, with the file's identity."""


def saved_result(path: str | os.PathLike) -> Any:
    """Read a saved company result once per process, for the owner books rendered from it.

    ``cpm report --per-owner`` renders one owner book after the other in each warm kernel
    (:mod:`cpm_analysis.report.kernels`), all from the same saved result: the first reads it
    (:func:`~cpm_analysis.pipeline.load_period_result`), the next ones reuse it while the file
    is the same (path, size, modification time and inode). Each book is then
    :meth:`~cpm_analysis.pipeline.PeriodResult.for_owner` of it: new tables, the company's
    untouched. Only the last result is kept.

    Raises
    ------
    ValueError
        As :func:`~cpm_analysis.pipeline.load_period_result`.

    Examples
    --------
    >>> saved_result("/nonexistent/period-result.pickle")
    Traceback (most recent call last):
    ...
    ValueError: result: /nonexistent/period-result.pickle does not exist
    """
    from cpm_analysis.pipeline import load_period_result

    target = Path(path)
    try:
        stat = target.stat()
    except OSError:
        return load_period_result(target)  # says what is wrong with the path
    identity = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    known = _SAVED.get(target)
    if known is not None and known[0] == identity:
        return known[1]
    result = load_period_result(target)
    _SAVED.clear()
    _SAVED[target] = (identity, result)
    return result


def _find_customer(dataset: Dataset, customer_id: str, key: bytes | None) -> str:
    ids = dataset.customers["customer_id"]
    if (ids == customer_id).any():
        return customer_id
    if key is not None and customer_id.startswith("P-"):
        pseudonyms = pseudonymize(ids, key)
        match = (pseudonyms == customer_id).to_numpy(dtype=bool)
        if match.any():
            return str(ids.loc[match].iloc[0])
    raise ValueError(
        f"customer_id: '{customer_id}' is not a customer in this data (give a customer id or "
        f"its pseudonym from the {PSEUDONYM_COLUMN} column of customers_scored.csv)"
    )
