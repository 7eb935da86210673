"""The churn backtest of a period: its cutoffs, the backtest, its metrics and its verdict.

The period's churn recipe is evaluated out of time at the cutoffs the history allows
(:func:`backtest_cutoffs`, :func:`churn_backtest`); the result is the
:class:`~cpm_analysis.availability.Unavailable` sentence when the history is too short.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(200, seed=2).to_dataset()
>>> window, cutoffs = backtest_cutoffs(ds, parse_period("2025-06"))
>>> len(cutoffs)
3
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from cpm_analysis import availability
from cpm_analysis.availability import Unavailable
from cpm_analysis.churn import sufficiency
from cpm_analysis.churn.sufficiency import BACKTEST_CUTOFFS
from cpm_analysis.data import Dataset
from cpm_analysis.i18n import M_, join
from cpm_analysis.periods import Period

if TYPE_CHECKING:
    from cpm_analysis.churn.evaluation import BacktestResult, ChurnWindow
    from cpm_analysis.data.protocol import CustomerData

IMPORTANCE_REPEATS = 2
"""Shuffles per feature of the permutation importance (each costs a full scoring pass)."""


def backtest_cutoffs(
    view: Dataset,
    period: Period,
    n: int = BACKTEST_CUTOFFS,
    windows: Sequence[tuple[str, str]] | None = None,
) -> tuple[ChurnWindow, list[pd.Timestamp]]:
    """Return the churn window and the cutoffs of the period's backtest.

    The window and the cutoffs are the longest the history allows.

    See :func:`cpm_analysis.churn.evaluation.backtest_plan`: the standard window (a 90-day
    horizon over the customers who bought in the last 365 days) when the history allows it,
    else a shorter one; the cutoffs are the last ``n`` month ends spaced a horizon apart whose
    outcome is known at the period's end. ``windows`` replaces the built-in windows (the
    configuration's ``churn.windows``: ``config.churn.pairs``).

    Raises
    ------
    ValueError
        When even the shortest window has fewer than two cutoffs.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(200, seed=2).to_dataset()
    >>> window, cutoffs = backtest_cutoffs(ds, parse_period("2025-06"))
    >>> window.horizon.days, [c.strftime("%Y-%m-%d") for c in cutoffs]
    (90, ['2024-09-30', '2024-12-31', '2025-03-31'])
    """
    from cpm_analysis.churn.evaluation import CHURN_WINDOWS, backtest_plan

    if n < 2:
        raise ValueError(f"n: a backtest needs at least 2 cutoffs, got {n!r}")
    first = view.orders["order_date"].min() if len(view.orders) else pd.NaT
    pairs = CHURN_WINDOWS if windows is None else windows
    return backtest_plan(first, period.end, n=n, windows=pairs)


def churn_backtest(
    view: CustomerData,
    period: Period,
    *,
    seed: int = 0,
    n: int = BACKTEST_CUTOFFS,
    windows: Sequence[tuple[str, str]] | None = None,
) -> Any:
    """Backtest the period's churn recipe at :func:`backtest_cutoffs` (one OpenMP thread).

    ``view`` is the period's point-in-time data of either engine: the labels and features of
    every cutoff are computed through the dataset protocol, the checks read its pandas view
    (``view.collect()``).

    Returns
    -------
    BacktestResult or Unavailable
        See :func:`cpm_analysis.churn.backtest`; its ``horizon`` and ``active_window`` say
        which churn window was tested. :class:`~cpm_analysis.availability.Unavailable`
        when the history is too short even for the shortest window, or every customer of a
        cutoff had the same outcome.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(300, seed=2).to_dataset()
    >>> bool(0.5 < churn_backtest(ds, parse_period("2025-06")).summary()["roc_auc"] < 1)
    True
    """
    from cpm_analysis.churn import backtest

    frames = view.collect()
    check = sufficiency.churn_backtest(frames, period, n=n, windows=windows)
    if not check.available:
        return check.missing()
    window, cutoffs = backtest_cutoffs(frames, period, n=n, windows=windows)
    # the P(alive) features only where BG/NBD can be fitted at every cutoff (as in the scoring)
    use_clv = availability.lifetime_value(frames, cutoffs[0]).available
    with threadpool_limits(limits=1, user_api="openmp"):
        return backtest(
            view,
            cutoffs,
            window.horizon,
            active_window=window.active_window,
            clv=use_clv,
            n_repeats=IMPORTANCE_REPEATS,
            random_state=seed,
        )


def backtest_metrics(result: BacktestResult | Unavailable) -> pd.DataFrame:
    """Return the backtest's metrics per scored cutoff and their mean, for display.

    Examples
    --------
    >>> m = pd.DataFrame({"roc_auc": [0.7, 0.8], "customers": [10, 12]},
    ...                  index=pd.to_datetime(["2025-03-31", "2025-06-30"]))
    >>> class R:
    ...     metrics = m
    >>> backtest_metrics(R()).index.tolist()
    ['2025-03-31', '2025-06-30', 'mean']
    """
    if isinstance(result, Unavailable):
        return result
    metrics = result.metrics.copy()
    columns = [
        c
        for c in (
            "model",
            "customers",
            "churn_rate",
            "roc_auc",
            "pr_auc",
            "brier",
            "lift_top_decile",
            "capture_top_decile",
        )
        if c in metrics.columns
    ]
    metrics = metrics[columns]
    metrics.index = pd.DatetimeIndex(metrics.index).strftime("%Y-%m-%d")
    numeric = metrics.select_dtypes("number")
    mean = numeric.mean().to_frame("mean").T
    out = pd.concat([metrics, mean])
    out.index.name = "scored at"
    return out


def backtest_verdict(result: BacktestResult | Unavailable) -> str | Unavailable:
    """One paragraph interpreting the backtest's mean ROC AUC, lift and calibration.

    Examples
    --------
    >>> m = pd.DataFrame({"roc_auc": [0.75], "lift_top_decile": [1.4], "churn_rate": [0.6],
    ...                   "brier": [0.18], "customers": [100]})
    >>> class R:
    ...     metrics = m
    >>> backtest_verdict(R()).startswith("Out of time")
    True
    """
    if isinstance(result, Unavailable):
        return result
    m = result.metrics
    auc = float(m["roc_auc"].mean())
    quality = (
        M_("strong")
        if auc >= 0.8
        else M_("useful")
        if auc >= 0.7
        else M_("weak")
        if auc >= 0.6
        else M_("poor")
    )
    parts = [
        M_(
            "Out of time, over %(n)s cutoff(s), the model ranks customers with a mean ROC AUC "
            "of %(auc)s (%(quality)s: 0.5 is a coin toss, 1 is perfect).",
            n=len(m),
            auc=f"{auc:.2f}",
            quality=quality,
        )
    ]
    if "lift_top_decile" in m:
        parts.append(
            M_(
                "The riskiest 10%% of customers churn %(lift)s times as often as average (base "
                "churn rate %(rate)s).",
                lift=f"{m['lift_top_decile'].mean():.1f}",
                rate=f"{m['churn_rate'].mean():.0%}",
            )
        )
    horizon = getattr(result, "horizon", None)
    active = getattr(result, "active_window", None)
    if horizon is not None and active is not None:
        from cpm_analysis.churn.evaluation import ChurnWindow

        window = ChurnWindow(horizon, active)
        parts.append(
            M_("Churn here is %(window)s.", window=window.describe())
            if window.standard
            else M_(
                "Churn here is %(window)s: shorter than the standard 90 days over the last 365 "
                "days, because the history is too short for it.",
                window=window.describe(),
            )
        )
    return join(" ", parts)


WEAK_RANKING_AUC = 0.6
"""Backtest ROC AUC below which the risk list carries a caveat: the model ranks customers
little better than chance (0.5), so the list is ordered mostly by the value at stake."""


def risk_list_caveat(result: BacktestResult | Unavailable) -> str:
    """Return the risk list's caveat when the backtest ranks little better than chance, else "".

    The list is still useful (it ranks by expected loss, which is mostly the value at stake
    then), but its reasons describe what a weak model weighed, not proven causes: the page says
    so above the list (seen on the Superstore export, whose backtest ROC AUC is 0.51).

    Examples
    --------
    >>> class R:
    ...     metrics = pd.DataFrame({"roc_auc": [0.53, 0.49]})
    >>> risk_list_caveat(R()).startswith("**Read this list with care.**")
    True
    >>> R.metrics = pd.DataFrame({"roc_auc": [0.75]})
    >>> risk_list_caveat(R())
    ''
    """
    if isinstance(result, Unavailable) or "roc_auc" not in getattr(result, "metrics", {}):
        return ""
    auc = float(result.metrics["roc_auc"].mean())
    if not np.isfinite(auc) or auc >= WEAK_RANKING_AUC:
        return ""
    return M_(
        "**Read this list with care.** Out of time the model ranks customers little better than "
        "chance (mean ROC AUC %(auc)s): the list is ordered mostly by the value at stake, and "
        "the reasons say what the model weighed, not proven causes of churn.",
        auc=f"{auc:.2f}",
    )
