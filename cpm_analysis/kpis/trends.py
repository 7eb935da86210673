"""KPI trends: the KPIs of the last periods and the headline KPIs a trend chart draws.

Examples
--------
>>> [p.label for p in recent_periods("2025-03", 3)]
['2025-01', '2025-02', '2025-03']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.data import Dataset
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.periods import Period, parse_period

if TYPE_CHECKING:
    from cpm_analysis.config import WindowsConfig
    from cpm_analysis.kpis.compute import Scores

HEADLINE_KPIS: tuple[str, ...] = (
    "revenue",
    "active_customers",
    "repeat_rate",
    "retention_rate",
    "nps",
    "csat",
)
"""KPIs drawn in the trend small multiples (those the data allows)."""


TREND_PERIODS = 12
"""Periods of history in the trends."""


def recent_periods(period: Period | str, n: int = TREND_PERIODS) -> list[Period]:
    """Return the ``n`` periods ending with ``period`` (same frequency), oldest first.

    Examples
    --------
    >>> [p.label for p in recent_periods("2025-03", 3)]
    ['2025-01', '2025-02', '2025-03']
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive integer, got {n!r}")
    last = parse_period(period)
    return [last.shift(-k) for k in range(n - 1, -1, -1)]


def kpi_trends(
    view: CustomerData,
    period: Period | str,
    n: int = TREND_PERIODS,
    *,
    scores: Scores = None,
    sla_hours: float = DEFAULT_CONFIG.sla.first_response_hours,
    windows: WindowsConfig | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """:func:`~cpm_analysis.kpis.kpi_history` of the last ``n`` periods that the data covers.

    Periods that end before the first order are left out. ``windows`` are the
    configuration's day windows (``config.windows``; default the built-in). ``by`` breaks
    every KPI down by a customer column (``"owner_id"``), and ``scores`` (per-customer
    ``clv`` and ``churn_probability``) give the model KPIs, as
    :func:`~cpm_analysis.kpis.kpi_history` does. ``view`` is a dataset of either engine
    (the dataset protocol; bucket by bucket on a Dask dataset).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> h = kpi_trends(ds, "2025-06", 3)
    >>> sorted(h.index.get_level_values("period").unique())
    ['2025-04', '2025-05', '2025-06']
    """
    from cpm_analysis.kpis import kpi_history

    view = customer_data(view, "view")
    (firsts,) = view.gather(view.map_customers(_first_order, tables=("orders",)))
    first = firsts["first"].min()
    periods = [p for p in recent_periods(period, n) if p.end >= first]  # none without orders
    return kpi_history(view, periods, by=by, sla_hours=sla_hours, scores=scores, windows=windows)


def _first_order(bucket: Dataset) -> pd.DataFrame:
    """Return the bucket's first order date (one row; the earliest bucket's is the data's)."""
    first = bucket.orders["order_date"].min() if len(bucket.orders) else pd.NaT
    return pd.DataFrame({"first": pd.Series([first], dtype="datetime64[ns]")})


def headline_kpis(history: pd.DataFrame, kpis: tuple[str, ...] = HEADLINE_KPIS) -> list[str]:
    """Return the headline KPIs with at least one value in ``history``.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_tuples([("2025-01", "revenue"), ("2025-01", "nps")],
    ...                                 names=["period", "kpi"])
    >>> h = pd.DataFrame({"value": [1.0, None], "available": [True, False]}, index=idx)
    >>> headline_kpis(h)
    ['revenue']
    """
    values = history["value"].groupby(level="kpi").count()
    return [k for k in kpis if values.get(k, 0) > 0]


def trend_table(
    history: pd.DataFrame, kpis: tuple[str, ...] = HEADLINE_KPIS, *, lang: str = "en"
) -> pd.DataFrame:
    """Return the headline KPIs of ``history`` as a table: one row per period, one column per KPI.

    What the trend chart draws (:func:`headline_kpis`), as numbers: the columns are the KPIs'
    labels in ``lang`` (``label_zh`` for Chinese, else ``label_en``), oldest period first.

    Parameters
    ----------
    history : DataFrame
        From :func:`kpi_trends` (indexed by ``period`` and ``kpi``).
    kpis : tuple of str
        The KPIs to show, in this order; those without any value are left out.
    lang : str
        The report's language tag (``en``, ``zh``, ``zh-CN``, ...).

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["2025-01", "2025-02"], ["revenue", "nps"]],
    ...                                  names=["period", "kpi"])
    >>> h = pd.DataFrame({"value": [1.0, None, 2.0, None], "label_en": ["Revenue", "NPS"] * 2,
    ...                   "label_zh": ["收入", "净推荐值"] * 2}, index=idx)
    >>> trend_table(h)
             Revenue
    period
    2025-01      1.0
    2025-02      2.0
    """
    names = headline_kpis(history, kpis)
    column = "label_zh" if str(lang).lower().startswith("zh") else "label_en"
    chosen = history.loc[history.index.get_level_values("kpi").isin(names)]
    table = chosen["value"].unstack("kpi").reindex(columns=names)
    labels = chosen[column].groupby(level="kpi").first()
    table = table.rename(columns=labels.to_dict())
    table.columns.name = None
    periods = list(dict.fromkeys(history.index.get_level_values("period")))
    return table.reindex(periods).rename_axis("period")
