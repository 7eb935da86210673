"""Enough history for a churn model and for its backtest: the churn checks of the report.

A churn model is trained out of time in the longest churn window the history allows
(:func:`~cpm_analysis.churn.evaluation.training_window`); each check returns a
:class:`~cpm_analysis.availability.Check` with the verdict and the fact behind it (see
:mod:`cpm_analysis.availability`).

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> churn_model(generate(300, seed=1).to_dataset(), "2025-06-30").available
True
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cpm_analysis.availability import Check, history_days
from cpm_analysis.data import Dataset
from cpm_analysis.i18n import M_
from cpm_analysis.periods import Instant, Period

MIN_CHURN_CUSTOMERS = 50
"""Customers of the active base needed to train a churn model."""


BACKTEST_CUTOFFS = 3
"""Cutoffs of the churn backtest (the first one only trains)."""


# The cutoffs here are read with pd.Timestamp (as the availability facts read them), so they are
# instants or dates, not the Cutoff alias (a Period is not accepted).
def churn_model(
    view: Dataset,
    cutoff: Instant,
    windows: Sequence[tuple[str, str]] | None = None,
) -> Check:
    """Check that a churn model can be trained out of time at ``cutoff`` (the scored churn risk).

    The window is the longest of ``windows`` (default
    :data:`cpm_analysis.churn.evaluation.CHURN_WINDOWS`, the configuration's ``churn.windows``)
    the history allows (:func:`~cpm_analysis.churn.evaluation.training_window`).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> churn_model(generate(300, seed=1).to_dataset(), "2025-06-30").available
    True
    """
    from cpm_analysis.churn.evaluation import CHURN_WINDOWS, churn_windows, training_window

    windows = CHURN_WINDOWS if windows is None else windows
    first = view.orders["order_date"].min() if len(view.orders) else pd.NaT
    window = training_window(first, cutoff, windows)
    needs = M_("orders: a churn horizon plus an active window of history")
    if window is None:
        shortest = churn_windows(windows)[-1]
        days = (shortest.horizon + shortest.active_window).days
        return Check(
            M_("Churn model"),
            False,
            needs,
            M_(
                "%(n)s days of orders (needs %(days)s to train out of time)",
                n=f"{history_days(view, cutoff):,}",
                days=days,
            ),
        )
    from cpm_analysis.churn.labels import churn_labels

    labels = churn_labels(
        view,
        pd.Timestamp(cutoff) - window.horizon,
        window.horizon,
        active_window=window.active_window,
    )
    if labels.nunique() < 2 or len(labels) < MIN_CHURN_CUSTOMERS:
        return Check(
            M_("Churn model"),
            False,
            needs,
            M_(
                "%(n)s active customers to train on with %(outcomes)s outcome(s) "
                "(needs %(needed)s customers and both churners and stayers)",
                n=f"{len(labels):,}",
                outcomes=labels.nunique(),
                needed=MIN_CHURN_CUSTOMERS,
            ),
        )
    detail = window.describe()
    if not window.standard:
        detail = M_(
            "%(window)s (shorter than the standard window: the history is short)", window=detail
        )
    return Check(M_("Churn model"), True, needs, detail)


def churn_backtest(
    view: Dataset,
    period: Period,
    n: int = BACKTEST_CUTOFFS,
    windows: Sequence[tuple[str, str]] | None = None,
) -> Check:
    """Check that a churn backtest has two cutoffs or more in the longest window the history allows.

    ``windows`` are the ``(horizon, active window)`` pairs to try, longest first (default the
    built-in :data:`~cpm_analysis.churn.evaluation.CHURN_WINDOWS`; the configuration's
    ``churn.windows`` is ``config.churn.pairs``).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(300, seed=1).to_dataset()
    >>> churn_backtest(ds, parse_period("2025-06")).available
    True
    """
    from cpm_analysis.churn.evaluation import CHURN_WINDOWS, backtest_plan

    first = view.orders["order_date"].min() if len(view.orders) else pd.NaT
    needs = M_("orders: two cutoffs with a known outcome")
    pairs = CHURN_WINDOWS if windows is None else windows
    try:
        window, cutoffs = backtest_plan(first, period.end, n=n, windows=pairs)
    except ValueError as err:
        return Check(M_("The churn backtest"), False, needs, str(err).split(": ", 1)[1])
    from cpm_analysis.churn.labels import churn_labels

    for cutoff in cutoffs:
        labels = churn_labels(view, cutoff, window.horizon, active_window=window.active_window)
        if labels.nunique() < 2 or len(labels) < MIN_CHURN_CUSTOMERS:
            return Check(
                M_("The churn backtest"),
                False,
                needs,
                M_(
                    "%(n)s active customers at %(date)s with %(outcomes)s outcome(s) (needs "
                    "%(needed)s customers and both churners and stayers)",
                    n=f"{len(labels):,}",
                    date=f"{cutoff:%Y-%m-%d}",
                    outcomes=labels.nunique(),
                    needed=MIN_CHURN_CUSTOMERS,
                ),
            )
    detail = M_("%(n)s cutoffs, %(window)s", n=len(cutoffs), window=window.describe())
    if not window.standard:
        detail = M_(
            "%(detail)s (shorter than the standard 90 days over the last 365 days: the history "
            "is short)",
            detail=detail,
        )
    return Check(M_("The churn backtest"), True, needs, detail)


def churn_window_note(dataset: Dataset, cutoff: Instant) -> str:
    """One sentence: the churn window of the period's model, and why when it is not the standard.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> churn_window_note(generate(100, seed=1).to_dataset(), "2025-06-30").startswith(
    ...     "Churn here is a 90-day horizon"
    ... )
    True
    """
    from cpm_analysis.churn.evaluation import training_window

    first = dataset.orders["order_date"].min() if len(dataset.orders) else pd.NaT
    window = training_window(first, pd.Timestamp(cutoff))
    if window is None:
        return churn_model(dataset.as_of(cutoff), cutoff).sentence
    if window.standard:
        return M_("Churn here is %(window)s.", window=window.describe())
    return M_(
        "Churn here is %(window)s: shorter than the standard 90 days over the last 365 days, "
        "because the history is too short for it.",
        window=window.describe(),
    )
