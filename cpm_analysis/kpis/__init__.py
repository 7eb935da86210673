"""KPIs of a period, set against SMART targets and the previous period.

- :func:`compute_kpis`: every registered KPI for one period (optionally broken down by owner,
  region, segment or agent), with the previous period's value and the change;
- :func:`kpi_history`: the same for a range of periods;
- :func:`evaluate_targets`: attainment, status (met / at risk / missed) and trend per target;
- the registry: :data:`KPIS`, :class:`KPI`, :func:`register_kpi` to add your own.

Every built-in KPI is one small function in :mod:`cpm_analysis.kpis.definitions` whose docstring
is its exact definition; :func:`kpi_table` lists them.

Not available versus zero
-------------------------
A KPI whose input is absent (no tickets table, no ``is_complaint`` column, no scored customer
table, an order KPI broken down by agent) is reported with ``value`` NaN, ``available`` False
and the reason in ``note``; it is never reported as 0. Zero means the input is there and nothing
happened (no complaints this month).

Examples
--------
>>> from cpm_analysis import load
>>> from cpm_analysis.kpis import compute_kpis, evaluate_targets
>>> ds = load("data/sample")
>>> june = compute_kpis(ds, "2024-06")
>>> june.loc[["revenue", "nps"], ["value", "previous", "label_zh"]]
            value  previous label_zh
kpi
revenue  11114.43  11439.68     销售收入
nps          0.00     20.00     净推荐值
"""

from __future__ import annotations

from cpm_analysis.data.validate import register_kpi_ids
from cpm_analysis.kpis import definitions as definitions  # registers the built-in KPIs
from cpm_analysis.kpis.compute import compute_kpis, kpi_history
from cpm_analysis.kpis.context import MISSING_GROUP, KPIContext, PreparedData
from cpm_analysis.kpis.registry import (
    KPI,
    KPIS,
    KPIUnavailable,
    get_kpi,
    kpi_table,
    register_kpi,
    unregister_kpi,
)
from cpm_analysis.kpis.targets import attainment, evaluate_targets, period_targets

# validation quarantines targets of unknown KPIs: it reads the live registry through this hook
register_kpi_ids(lambda: list(KPIS))

__all__ = [
    "KPI",
    "KPIS",
    "MISSING_GROUP",
    "KPIContext",
    "KPIUnavailable",
    "PreparedData",
    "attainment",
    "compute_kpis",
    "evaluate_targets",
    "period_targets",
    "get_kpi",
    "kpi_history",
    "kpi_table",
    "register_kpi",
    "unregister_kpi",
]
