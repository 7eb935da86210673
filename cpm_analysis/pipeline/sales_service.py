"""The tables of page 06 (sales and service) for one period: :func:`sales_service_tables`.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> view = generate(300, seed=1).to_dataset().as_of("2025-06")
>>> tables = sales_service_tables(view, parse_period("2025-06"))
>>> sorted(tables)[:4]
['by_category', 'by_product', 'campaigns', 'closed']
"""

from __future__ import annotations

from typing import Any

from cpm_analysis.availability import Unavailable
from cpm_analysis.config import DEFAULT_CONFIG, CPMConfig
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.periods import Period

OWNER_ROLLUP = (
    "The team roll-ups are not shown on an account owner's pages: they are on the company "
    "report, where every team's rows are."
)
"""The sentence of the roll-ups on an owner's pages."""


def sales_service_tables(
    view: CustomerData, period: Period, config: CPMConfig | None = None, *, owner: str | None = None
) -> dict[str, Any]:
    """Every table of page 06 for ``period``, from its point-in-time ``view``.

    Parameters
    ----------
    view : Dataset
        ``dataset.as_of(period.end)`` (an owner's book on an owner's result).
    period : Period
        The reporting period.
    config : CPMConfig, optional
        The business rules (the SLA hours, the day windows of the KPIs and of campaign
        response); default
        :data:`~cpm_analysis.config.DEFAULT_CONFIG`.
    owner : str, optional
        The account owner of an owner's result: the roll-ups are then :data:`OWNER_ROLLUP`.

    Returns
    -------
    dict
        The keys of :func:`cpm_analysis.sales.sales_tables`,
        :func:`cpm_analysis.service.service_tables` and
        :func:`cpm_analysis.marketing.marketing_tables`.
    """
    view = customer_data(view, "view").collect()  # either engine; its pandas view
    from cpm_analysis import marketing, sales, service

    rules = DEFAULT_CONFIG if config is None else config
    hours = rules.sla.first_response_hours
    out: dict[str, Any] = {}
    out.update(
        sales.sales_tables(
            view, period, sla_hours=hours, rollups=owner is None, windows=rules.windows
        )
    )
    if owner is not None:
        out["sales_rollup"], out["service_rollup"] = (
            Unavailable(OWNER_ROLLUP),
            Unavailable(OWNER_ROLLUP),
        )
    out.update(service.service_tables(view, period, sla_hours=hours))
    out.update(
        marketing.marketing_tables(
            view,
            period,
            window_days=rules.windows.campaign_response_days,
            months=rules.windows.campaign_lookback_months,
        )
    )
    return out
