"""Computing the registered KPIs for a period, or for a range of periods."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.kpis.context import SLA_HOURS, KPIContext, PreparedData, check_windows
from cpm_analysis.kpis.registry import KPI, KPIS, KPIUnavailable, get_kpi
from cpm_analysis.kpis.selection import kpi_dataset
from cpm_analysis.periods import Period, parse_period, resolve_period

if TYPE_CHECKING:
    from cpm_analysis.config import WindowsConfig

COLUMNS = [
    "period",
    "value",
    "previous",
    "change",
    "label_en",
    "label_zh",
    "unit",
    "direction",
    "available",
    "note",
]
"""Columns of :func:`compute_kpis`; :func:`kpi_history` has the same but ``period`` in the index."""

Scores: TypeAlias = pd.DataFrame | Mapping[str, pd.DataFrame] | None


def _select(kpis: Iterable[str] | None) -> list[KPI]:
    if kpis is None:
        return list(KPIS.values())
    if isinstance(kpis, str):
        kpis = [kpis]
    chosen = [get_kpi(k) for k in kpis]
    ids = [k.id for k in chosen]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"kpis: '{dup}' is listed twice")
    if not chosen:
        raise ValueError("kpis: the list of KPI ids is empty")
    return chosen


def _check_scores(scores: Scores) -> Scores:
    if scores is None or isinstance(scores, pd.DataFrame):
        return scores
    if isinstance(scores, Mapping):
        out = {}
        for label, frame in scores.items():
            if not isinstance(frame, pd.DataFrame):
                raise ValueError(f"scores: the entry for {label!r} is not a DataFrame")
            out[parse_period(label).label] = frame
        return out
    raise ValueError(
        "scores: expected a DataFrame indexed by customer_id (columns clv, churn_probability) "
        f"or a dict of them by period label, got {type(scores).__name__}"
    )


def _evaluate(ctx: KPIContext, kpis: list[KPI]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Values (K x groups), availability (K) and notes (K) of one period."""
    values = np.full((len(kpis), ctx.n_groups), np.nan)
    available = np.zeros(len(kpis), dtype=bool)
    notes = []
    for i, kpi in enumerate(kpis):
        try:
            values[i] = ctx.kpi(kpi.id)
            available[i] = True
            notes.append(ctx.notes(kpi.id))
        except KPIUnavailable as reason:
            notes.append(str(reason))
    return values, available, notes


def _frame(
    ctx: KPIContext,
    kpis: list[KPI],
    current: tuple[np.ndarray, np.ndarray, list[str]],
    previous: tuple[np.ndarray, np.ndarray, list[str]],
    previous_present: np.ndarray,
) -> pd.DataFrame:
    values, available, notes = current
    # a group that did not exist at the previous cutoff has no previous value
    prev_values = np.where(previous_present[None, :], previous[0], np.nan)
    present = np.flatnonzero(ctx.present)
    n_k, n_g = len(kpis), len(present)
    ids = np.repeat([k.id for k in kpis], n_g)
    if ctx.by is None:
        index = pd.Index(ids, name="kpi")
    else:
        labels = ctx.groups.take(np.tile(present, n_k))
        index = pd.MultiIndex.from_arrays([ids, labels], names=["kpi", ctx.by])
    value = values[:, present].ravel()
    prev = prev_values[:, present].ravel()
    note = np.repeat(np.array(notes, dtype=object), n_g)
    avail = np.repeat(available, n_g)
    undefined = avail & np.isnan(value) & (note == "")
    note[undefined] = f"undefined in {ctx.period.label}: no data to compute it from"
    out = pd.DataFrame(
        {
            "period": ctx.period.label,
            "value": value,
            "previous": prev,
            "change": value - prev,
            "label_en": np.repeat([k.label_en for k in kpis], n_g),
            "label_zh": np.repeat([k.label_zh for k in kpis], n_g),
            "unit": np.repeat([k.unit for k in kpis], n_g),
            "direction": np.repeat([k.direction for k in kpis], n_g),
            "available": avail,
            "note": pd.array(note, dtype="str"),
        },
        index=index,
    )
    return out


def _run(
    dataset: Dataset,
    periods: Sequence[Period],
    *,
    by: str | pd.Series | None,
    kpis: Iterable[str] | None,
    sla_hours: float,
    scores: Scores,
    windows: WindowsConfig | None = None,
) -> dict[Period, pd.DataFrame]:
    chosen = _select(kpis)
    prepared = PreparedData(dataset, by=by, scores=_check_scores(scores), windows=windows)
    needed = sorted(set(periods) | {p.previous() for p in periods})
    last = max(periods)
    results = {}
    contexts = {}
    for period in needed:
        ctx = prepared.context(period, sla_hours=sla_hours, last=period == last)
        contexts[period] = ctx
        results[period] = _evaluate(ctx, chosen)
    return {
        p: _frame(
            contexts[p], chosen, results[p], results[p.previous()], contexts[p.previous()].present
        )
        for p in periods
    }


def compute_kpis(
    dataset: CustomerData,
    period: str | Period,
    *,
    by: str | pd.Series | None = None,
    kpis: Iterable[str] | None = None,
    sla_hours: float = SLA_HOURS,
    scores: Scores = None,
    windows: WindowsConfig | None = None,
) -> pd.DataFrame:
    """Every registered KPI for one period, with the previous period and the change.

    Each period is computed as at its cutoff, exactly as ``dataset.as_of(period.end)`` sees the
    data, so nothing dated later changes a value; ``previous`` is the value the previous period
    (same frequency) had at *its* cutoff, i.e. what its own report showed.

    Parameters
    ----------
    dataset : Dataset
        The data (see :func:`cpm_analysis.data.load`); any dataset of the dataset protocol
        (:mod:`cpm_analysis.data.protocol`), a Dask one too, gives the same table (the rows
        the period needs are selected bucket by bucket, see :mod:`cpm_analysis.kpis.selection`).
    period : str or Period
        ``"2024-06"``, ``"2024-Q2"``, ``"2024"``, a :class:`~cpm_analysis.periods.Period`, or
        ``"latest"`` (the last complete month in the data).
    by : str or Series, optional
        Break every KPI down by a column of ``customers`` (``owner_id``, ``region``,
        ``channel``, ...), by ``"agent_id"`` (ticket KPIs by the agent who handled them, and
        activity and opportunity KPIs of those agents; other KPIs are then not available), by
        ``"staff_id"`` (every staff member named by a ticket's ``agent_id``, an activity's
        ``staff_id`` or an opportunity's ``owner_id``, with those rows), or by a Series mapping customer_id to a group (e.g.
        ``rfm_segments(...)["segment"]``; named after the Series). A customer's orders, tickets
        and survey answers count in the customer's group; customers without a value form the
        group ``"(missing)"``. Only groups that exist at the cutoff are listed.
    kpis : list of str, optional
        KPI ids to compute (default: every registered KPI, in registration order).
    sla_hours : float
        The first-response SLA for ``sla_compliance``, in hours (default 24).
    scores : DataFrame or dict, optional
        The scored customer table, indexed by customer_id, with ``clv`` (12-month CLV) and
        ``churn_probability``, from the CLV and churn models. A single table is taken as scored
        at this period's cutoff, so ``previous`` of the model KPIs stays NaN; a dict
        ``{period label: table}`` gives each period its own. Without it ``predicted_clv`` and
        ``revenue_at_risk`` are not available.
    windows : WindowsConfig, optional
        The day windows of ``at_risk_follow_up_rate`` and ``inquiry_conversion`` (the
        configuration's ``windows``: ``config.windows``); default the built-in 60, 14 and 30
        days.

    Returns
    -------
    DataFrame
        Indexed by ``kpi`` (or ``kpi`` and the breakdown), columns: ``period``, ``value``,
        ``previous``, ``change`` (value - previous), ``label_en``, ``label_zh``, ``unit``,
        ``direction`` (``higher``/``lower`` is better), ``available`` and ``note``. A KPI whose
        input is absent has ``value`` NaN, ``available`` False and the reason in ``note`` (never
        0); an available KPI that is undefined in the period (e.g. ``aov`` without orders) has
        ``value`` NaN and a note saying so. ``attrs`` holds ``period``, ``previous_period``,
        ``cutoff``, ``by`` and ``sla_hours``.

    Raises
    ------
    ValueError
        For an unknown KPI id, a malformed period, an unknown ``by`` column or a malformed
        scored customer table.

    Examples
    --------
    >>> from cpm_analysis import load
    >>> from cpm_analysis.kpis import compute_kpis
    >>> ds = load("data/sample")
    >>> compute_kpis(ds, "2024-06").loc["revenue", ["value", "previous", "change"]]
    value       11114.43
    previous    11439.68
    change       -325.25
    Name: revenue, dtype: float64
    >>> compute_kpis(ds, "2024-Q2", by="owner_id").xs("csat", level="kpi")["value"].head(3).round(2)
    owner_id
    S001    3.67
    S002    4.50
    S003    2.00
    Name: value, dtype: float64
    """
    dataset = customer_data(dataset)
    target = resolve_period(period, dataset) if isinstance(period, str) else parse_period(period)
    windows = check_windows(windows)
    data = kpi_dataset(dataset, [target], by, at_risk_days=windows.at_risk_days)
    out = _run(
        data, [target], by=by, kpis=kpis, sla_hours=sla_hours, scores=scores, windows=windows
    )[target]
    out.attrs.update(
        period=target.label,
        previous_period=target.previous().label,
        cutoff=min(target.end, dataset.cutoff) if dataset.cutoff is not None else target.end,
        by=out.index.names[1] if out.index.nlevels > 1 else None,
        sla_hours=float(sla_hours),
    )
    return out


def kpi_history(
    dataset: CustomerData,
    periods: Iterable[str | Period],
    *,
    by: str | pd.Series | None = None,
    kpis: Iterable[str] | None = None,
    sla_hours: float = SLA_HOURS,
    scores: Scores = None,
    windows: WindowsConfig | None = None,
) -> pd.DataFrame:
    """:func:`compute_kpis` for several periods at once, sharing the preparation.

    Parameters
    ----------
    dataset : Dataset
        The data: any dataset of the dataset protocol, a Dask one too (as
        :func:`compute_kpis`; the rows of all the periods are selected once).
    periods : list of str or Period
        The periods, e.g. ``period_range("2024-01", "2025-12")`` or ``["2024-Q1", "2024-Q2"]``;
        distinct, of any frequency. Each period is computed as at its own cutoff.
    by, kpis, sla_hours, windows
        As in :func:`compute_kpis`.
    scores : DataFrame or dict, optional
        A dict ``{period label: scored customer table}``; a single table applies to the last
        period only.

    Returns
    -------
    DataFrame
        Indexed by ``period``, ``kpi`` (and the breakdown), in the order of ``periods``, with
        the columns of :func:`compute_kpis` except ``period``.

    Examples
    --------
    >>> from cpm_analysis.periods import period_range
    >>> hist = kpi_history(ds, period_range("2024-01", "2024-12"))
    >>> ax = hist.xs("revenue", level="kpi")["value"].plot()
    """
    if isinstance(periods, str | Period):
        raise ValueError(
            "periods: expected a list of periods, e.g. period_range('2024-01', '2024-12')"
        )
    parsed = [parse_period(p) for p in periods]
    if not parsed:
        raise ValueError("periods: the list of periods is empty")
    labels = [p.label for p in parsed]
    if len(set(labels)) != len(labels):
        dup = next(label for label in labels if labels.count(label) > 1)
        raise ValueError(f"periods: '{dup}' is listed twice")
    windows = check_windows(windows)
    data = kpi_dataset(customer_data(dataset), parsed, by, at_risk_days=windows.at_risk_days)
    frames = _run(
        data, parsed, by=by, kpis=kpis, sla_hours=sla_hours, scores=scores, windows=windows
    )
    out = pd.concat(
        [frames[p].drop(columns="period") for p in parsed], keys=labels, names=["period"]
    )
    out.attrs.update(
        periods=labels,
        by=out.index.names[2] if out.index.nlevels > 2 else None,
        sla_hours=float(sla_hours),
    )
    return out
