"""Every availability check of a period, in the order of page 01's "What the data allows".

:func:`checks` gathers the data checks (:mod:`cpm_analysis.availability`) and the churn checks
(:mod:`cpm_analysis.churn.sufficiency`); :attr:`cpm_analysis.pipeline.PeriodResult.checks`
holds them for a period.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(200, seed=1).to_dataset().as_of("2024-06")
>>> [c.analysis for c in checks(ds, parse_period("2024-06"))][-1]
'Activity KPIs, campaign response and action follow-up'
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cpm_analysis.availability import (
    Check,
    agents,
    calibration,
    clusters,
    forecast,
    lifetime_value,
    migration,
    owners,
    sales,
    table,
    targets,
)
from cpm_analysis.churn.sufficiency import churn_backtest, churn_model
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.i18n import M_, join
from cpm_analysis.periods import Period
from cpm_analysis.sales import opportunity_check
from cpm_analysis.service import service_check


def checks(
    view: CustomerData,
    period: Period,
    company: CustomerData | None = None,
    owner: str | None = None,
    windows: Sequence[tuple[str, str]] | None = None,
) -> list[Check]:
    """Every check of the report, in the order of page 01's "What the data allows".

    The model checks (lifetime value, holdout, churn model, backtest, forecast) read
    ``company``, the view of every customer the models are fitted on (also on an owner's
    pages, whose scores are a slice of the company's); the others read ``view``, the page's
    own data. ``company`` defaults to ``view``; ``owner`` is the account owner of the page;
    ``windows`` are the churn windows of the churn checks (the configuration's
    ``churn.windows``: ``config.churn.pairs``; default the built-in ones).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(200, seed=1).to_dataset().as_of("2024-06")
    >>> [c.analysis for c in checks(ds, parse_period("2024-06"))][:2]
    ['Sales KPIs', 'Refund and cancellation rates']
    """
    view = customer_data(view, "view").collect()  # either engine; its pandas view
    company = None if company is None else customer_data(company, "company").collect()
    orders, customers = view.orders, view.customers
    models = view if company is None else company
    status = "status" in orders.columns
    out = [
        sales(view, period),
        Check(
            M_("Refund and cancellation rates"),
            status,
            "orders.status",
            M_("order status present")
            if status
            else M_("no order status, so every order counts as paid"),
        ),
        Check(
            M_("Product mix"),
            "category" in orders.columns,
            "orders.category",
            M_("%(n)s categories", n=f"{orders['category'].nunique():,}")
            if "category" in orders.columns
            else M_("no product category in orders"),
        ),
        lifetime_value(models, period.end),
        calibration(models, period.end),
        churn_model(models, period.end, windows),
        churn_backtest(models, period, windows=windows),
        forecast(models, period),
        Check(
            M_("Contract churn"),
            "churned_at" in customers.columns,
            "customers.churned_at",
            M_("contract ends recorded")
            if "churned_at" in customers.columns
            else M_("no churned_at, so churn is inferred from purchase behaviour"),
        ),
    ]
    attributes = [c for c in ("region", "channel") if c in customers.columns]
    out.append(
        Check(
            M_("Segments by region and channel"),
            bool(attributes),
            "customers.region, customers.channel",
            M_("attributes: %(names)s", names=join(", ", map(M_, attributes)))
            if attributes
            else M_("no region or channel in customers"),
        )
    )
    out += [
        clusters(view, period.end),
        migration(view, period),
        owners(view),
        table(view, "tickets", M_("Service KPIs"), period),
        agents(view, period, owner),
        table(view, "surveys", "NPS", period),
        table(view, "staff", M_("Team scorecards"), period),
        targets(view, period),
        table(view, "assessments", M_("Blended assessments"), period),
        # page 06: the same checks its sections use
        opportunity_check(view, period),
        service_check(view, period),
        table(
            view, "activities", M_("Activity KPIs, campaign response and action follow-up"), period
        ),
    ]
    return out


_all_checks = checks  # capabilities() has a parameter named checks


def capabilities(
    view: CustomerData,
    period: Period,
    company: CustomerData | None = None,
    owner: str | None = None,
    *,
    checks: Sequence[Check] | None = None,
) -> pd.DataFrame:
    """Which analyses the data supports for the period, and why not when it does not.

    One row per check of :func:`checks`, the same checks the
    report pages use to show or leave out a section: ``analysis``, ``available`` (bool),
    ``needs`` (the tables and columns) and ``detail`` (the fact behind the verdict, e.g. "the
    data has no tickets table"). On an owner's page, ``company`` is the view of every customer:
    the model rows are checked on it, as the models are fitted on it. ``checks`` are the
    checks already made (:attr:`cpm_analysis.pipeline.PeriodResult.checks`).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(200, seed=1).to_dataset()
    >>> caps = capabilities(ds.as_of("2024-06"), parse_period("2024-06")).set_index("analysis")
    >>> bool(caps.loc["Service KPIs", "available"])
    True
    """
    view = customer_data(view, "view").collect()  # either engine; its pandas view
    company = None if company is None else customer_data(company, "company").collect()
    if checks is None:
        checks = _all_checks(view, period, company=company, owner=owner)
    columns = ["analysis", "available", "needs", "detail"]
    rows = [(c.analysis, c.available, c.needs, c.detail) for c in checks]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)  # object: the sentences stay messages
    return frame.astype({"available": bool})
