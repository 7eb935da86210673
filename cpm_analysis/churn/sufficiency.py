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

from typing import Any

import pandas as pd

from cpm_analysis.availability import Check, history_days
from cpm_analysis.data import Dataset
from cpm_analysis.periods import Period

MIN_CHURN_CUSTOMERS = 50
"""Customers of the active base needed to train a churn model."""


BACKTEST_CUTOFFS = 3
"""Cutoffs of the churn backtest (the first one only trains)."""


def churn_model(view: Dataset, cutoff: Any, windows: Any = None) -> Check:
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
    needs = "orders: a churn horizon plus an active window of history"
    if window is None:
        shortest = churn_windows(windows)[-1]
        days = (shortest.horizon + shortest.active_window).days
        return Check(
            "Churn model",
            False,
            needs,
            f"{history_days(view, cutoff):,} days of orders (needs {days} to train out of time)",
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
            "Churn model",
            False,
            needs,
            f"{len(labels):,} active customers to train on with {labels.nunique()} outcome(s) "
            f"(needs {MIN_CHURN_CUSTOMERS} customers and both churners and stayers)",
        )
    detail = window.describe()
    if not window.standard:
        detail += " (shorter than the standard window: the history is short)"
    return Check("Churn model", True, needs, detail)


def churn_backtest(
    view: Dataset, period: Period, n: int = BACKTEST_CUTOFFS, windows: Any = None
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
    needs = "orders: two cutoffs with a known outcome"
    pairs = CHURN_WINDOWS if windows is None else windows
    try:
        window, cutoffs = backtest_plan(first, period.end, n=n, windows=pairs)
    except ValueError as err:
        return Check("The churn backtest", False, needs, str(err).split(": ", 1)[1])
    from cpm_analysis.churn.labels import churn_labels

    for cutoff in cutoffs:
        labels = churn_labels(view, cutoff, window.horizon, active_window=window.active_window)
        if labels.nunique() < 2 or len(labels) < MIN_CHURN_CUSTOMERS:
            return Check(
                "The churn backtest",
                False,
                needs,
                f"{len(labels):,} active customers at {cutoff:%Y-%m-%d} with "
                f"{labels.nunique()} outcome(s) (needs {MIN_CHURN_CUSTOMERS} customers and "
                "both churners and stayers)",
            )
    detail = f"{len(cutoffs)} cutoffs, {window.describe()}"
    if not window.standard:
        detail += (
            " (shorter than the standard 90 days over the last 365 days: the history is short)"
        )
    return Check("The churn backtest", True, needs, detail)


def churn_window_note(dataset: Dataset, cutoff: Any) -> str:
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
    text = f"Churn here is {window.describe()}"
    if window.standard:
        return text + "."
    return (
        text
        + ": shorter than the standard 90 days over the last 365 days, because the history is too short for it."
    )
