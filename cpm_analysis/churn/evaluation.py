"""Out-of-time evaluation of churn models: metrics, lift, calibration and a rolling backtest.

A churn model is used at a cutoff to predict the following period, and it can only have been
trained on what was known by then. :func:`backtest` replays exactly that over several
consecutive cutoffs ``c1 < c2 < ... < ck``: for each pair it trains on the features at ``c(i)``
with the labels of ``(c(i), c(i) + horizon]`` (known by ``c(i+1)``, which is checked), and
scores the customers at ``c(i+1)`` against what happened in ``(c(i+1), c(i+1) + horizon]``.
Never a random split of one period: the test customers are scored at a later time than any
training label.

Metrics (per scored cutoff):

- ``roc_auc``: probability that a churner is ranked above a stayer;
- ``pr_auc``: average precision (area under the precision-recall curve);
- ``brier``: mean squared error of the probabilities (lower is better);
- ``lift_top_decile``: churn rate among the 10% highest scores divided by the overall rate;
- ``capture_top_decile``: share of all churners found in those 10%;
- a calibration table (mean predicted vs observed rate in ten equal-count score bins) and
  permutation importance of every feature on the held-out customers (drop in ROC AUC when a
  feature's values are shuffled).

Examples
--------
>>> from cpm_analysis.churn import ChurnModel, backtest
>>> model = ChurnModel(model="logistic", random_state=0)
>>> result = backtest(ds, ["2025-03", "2025-06"], horizon="90D", model=model, n_repeats=1)
>>> result.metrics[["roc_auc", "lift_top_decile"]].round(3)
                               roc_auc  lift_top_decile
cutoff
2025-06-30 23:59:59.999999999    0.739            1.417
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from cpm_analysis.churn.features import churn_features
from cpm_analysis.churn.importance import permutation_importance
from cpm_analysis.churn.labels import Horizon, churn_labels, parse_horizon
from cpm_analysis.churn.model import ChurnModel, Classifier
from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.i18n import M_
from cpm_analysis.periods import Instant, to_cutoff

if TYPE_CHECKING:
    from cpm_analysis.data.protocol import CustomerData
    from cpm_analysis.periods import Cutoff

IMPORTANCE_MAX_ROWS = 10_000
"""Permutation importance is measured on at most this many held-out customers (a seeded sample)."""

CHURN_WINDOWS: tuple[tuple[str, str], ...] = DEFAULT_CONFIG.churn.pairs
"""(horizon, active window) pairs of the churn definition, longest first: the standard 90-day
churn of a customer who bought in the last year, then shorter ones for a shorter history
(``90D/365D``, ``90D/180D``, ``60D/180D``, ``60D/120D``, ``30D/90D``; ``churn.windows`` of the
configuration)."""


@dataclass(frozen=True)
class ChurnWindow:
    """A churn definition: the ``horizon`` to come and the ``active_window`` looked back on.

    A customer who bought within ``active_window`` before a cutoff churns when they do not buy
    within ``horizon`` after it.

    Examples
    --------
    >>> ChurnWindow(pd.Timedelta("60D"), pd.Timedelta("180D")).describe()
    'a 60-day horizon over the customers who bought in the last 180 days'
    """

    horizon: pd.Timedelta
    active_window: pd.Timedelta

    @property
    def standard(self) -> bool:
        """Whether this is the longest (standard) window of :data:`CHURN_WINDOWS`."""
        horizon, active = CHURN_WINDOWS[0]
        return self.horizon == parse_horizon(horizon) and self.active_window == parse_horizon(
            active
        )

    def describe(self) -> str:
        """Return the window in words."""
        return M_(
            "a %(horizon)s-day horizon over the customers who bought in the last %(days)s days",
            horizon=self.horizon.days,
            days=self.active_window.days,
        )


def churn_windows(windows: Sequence[tuple[str, str]] = CHURN_WINDOWS) -> list[ChurnWindow]:
    """``windows`` (default :data:`CHURN_WINDOWS`) as :class:`ChurnWindow` objects, in order.

    Examples
    --------
    >>> churn_windows()[0].horizon.days
    90
    >>> churn_windows([("30D", "60D")])[0].describe()
    'a 30-day horizon over the customers who bought in the last 60 days'
    """
    if not windows:
        raise ValueError("windows: expected at least one (horizon, active window) pair")
    return [ChurnWindow(parse_horizon(h), parse_horizon(a)) for h, a in windows]


def training_window(
    first_order: Instant | None,
    cutoff: Cutoff,
    windows: Sequence[tuple[str, str]] = CHURN_WINDOWS,
) -> ChurnWindow | None:
    """Return the longest churn window whose model can be trained out of time at ``cutoff``.

    Training is at ``cutoff - horizon`` (its labels are known at ``cutoff``) on customers active
    in the ``active_window`` before it, so the history from the first order must cover
    ``horizon + active_window``. ``None`` when even the shortest window does not fit.

    Examples
    --------
    >>> training_window("2024-01-01", "2025-06-30").horizon.days
    90
    >>> training_window("2024-07-01", "2025-06-30").active_window.days
    180
    >>> training_window("2025-05-01", "2025-06-30") is None
    True
    >>> training_window("2025-05-01", "2025-06-30", [("14D", "28D")]).horizon.days
    14
    """
    if first_order is None or pd.isna(first_order):
        return None
    first, end = pd.Timestamp(first_order), to_cutoff(cutoff)
    for window in churn_windows(windows):
        if end - first >= window.horizon + window.active_window:
            return window
    return None


def window_cutoffs(
    first_order: Instant | None, end: Cutoff, window: ChurnWindow, n: int = 3
) -> list[pd.Timestamp]:
    """Return the last ``n`` month ends of a backtest of ``window`` whose outcomes are known at ``end``.

    Going back from ``end``: each cutoff is the last month end at least ``horizon`` before the
    next one (so a model trained at one cutoff has its labels known at the next), the last one
    at least ``horizon`` before ``end``, and the first at least ``active_window`` after the first
    order. Fewer than ``n`` when the history is short; a backtest needs two.

    Examples
    --------
    >>> w = churn_windows()[0]
    >>> [c.strftime("%Y-%m-%d") for c in window_cutoffs("2023-01-01", "2025-06-30", w)]
    ['2024-09-30', '2024-12-31', '2025-03-31']
    """
    if first_order is None or pd.isna(first_order):
        return []
    first, limit = pd.Timestamp(first_order), to_cutoff(end)
    earliest = first + window.active_window
    cutoffs: list[pd.Timestamp] = []
    while len(cutoffs) < n:  # at most n steps back
        latest = limit - window.horizon
        month = latest.to_period("M")
        month_end = month.end_time.floor("s")
        if month_end > latest:
            month_end = (month - 1).end_time.floor("s")
        if month_end < earliest:
            break
        cutoffs.insert(0, month_end)
        limit = month_end
    return cutoffs


def backtest_plan(
    first_order: Instant | None,
    end: Cutoff,
    n: int = 3,
    windows: Sequence[tuple[str, str]] = CHURN_WINDOWS,
) -> tuple[ChurnWindow, list[pd.Timestamp]]:
    """Return the longest churn window of ``windows`` with a backtest, and its cutoffs.

    ``windows`` are ``(horizon, active window)`` pairs, longest first (default
    :data:`CHURN_WINDOWS`; the configuration's ``churn.windows`` is ``config.churn.pairs``).

    Raises
    ------
    ValueError
        When even the shortest window has fewer than two cutoffs (naming the history needed).

    Examples
    --------
    >>> window, cutoffs = backtest_plan("2024-12-01", "2025-11-30")
    >>> window.describe(), len(cutoffs)
    ('a 90-day horizon over the customers who bought in the last 180 days', 2)
    >>> backtest_plan("2024-12-01", "2025-11-30", windows=[("30D", "60D")])[0].horizon.days
    30
    """
    for window in churn_windows(windows):
        cutoffs = window_cutoffs(first_order, end, window, n=n)
        if len(cutoffs) >= 2:
            return window, cutoffs
    shortest = churn_windows(windows)[-1]
    months = (shortest.active_window + 2 * shortest.horizon).days / 30.4
    raise ValueError(
        f"history: a churn backtest needs about {months:.0f} months of orders before the end "
        f"of the period (two cutoffs {shortest.horizon.days} days apart, the first "
        f"{shortest.active_window.days} days after the first order)"
    )


def _check_scores(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise ValueError(
            f"y_true, y_score: expected two 1-D arrays of the same length, got shapes "
            f"{y.shape} and {s.shape}"
        )
    if len(y) == 0:
        raise ValueError("y_true: no rows")
    if np.isnan(s).any():
        raise ValueError(f"y_score: {int(np.isnan(s).sum())} missing score(s)")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"y_true: expected 0/1 labels, got {sorted(values)[:5]}")
    return y.astype(np.int64), s


def _ranks(score: np.ndarray) -> np.ndarray:
    """Positions after sorting by score, highest first (ties in input order)."""
    order = np.argsort(-score, kind="stable")
    return order


def lift_table(y_true: npt.ArrayLike, y_score: npt.ArrayLike, n_bins: int = 10) -> pd.DataFrame:
    """Churn rate, lift and cumulative capture by score bin (bin 1 = highest scores).

    Customers are sorted by score (highest first, ties in input order) and cut into
    ``n_bins`` groups of equal size (deciles by default).

    Parameters
    ----------
    y_true : array-like of 0/1
        What happened.
    y_score : array-like of float
        Churn scores or probabilities.
    n_bins : int
        Number of groups.

    Returns
    -------
    DataFrame
        One row per bin: ``bin``, ``customers``, ``churners``, ``churn_rate``, ``lift`` (rate /
        overall rate), ``cumulative_share`` (of customers), ``cumulative_capture`` (share of all
        churners in this and the higher bins) and ``cumulative_lift``.

    Examples
    --------
    >>> lift_table([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3], n_bins=2)["lift"].tolist()
    [2.0, 0.0]
    """
    y, s = _check_scores(y_true, y_score)
    if not (isinstance(n_bins, int | np.integer) and 1 <= n_bins <= len(y)):
        raise ValueError(f"n_bins: expected an integer from 1 to {len(y)}, got {n_bins!r}")
    order = _ranks(s)
    position = np.empty(len(y), dtype=np.int64)
    position[order] = np.arange(len(y))
    bins = position * n_bins // len(y)
    customers = np.bincount(bins, minlength=n_bins)
    churners = np.bincount(bins, weights=y, minlength=n_bins)
    overall = y.mean()
    rate = churners / customers
    total = max(churners.sum(), 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = rate / overall if overall > 0 else np.full(n_bins, np.nan)
        cum_rate = np.cumsum(churners) / np.cumsum(customers)
        cum_lift = cum_rate / overall if overall > 0 else np.full(n_bins, np.nan)
    return pd.DataFrame(
        {
            "bin": np.arange(1, n_bins + 1),
            "customers": customers,
            "churners": churners.astype(np.int64),
            "churn_rate": rate,
            "lift": lift,
            "cumulative_share": np.cumsum(customers) / len(y),
            "cumulative_capture": np.cumsum(churners) / total,
            "cumulative_lift": cum_lift,
        }
    )


def calibration_table(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, n_bins: int = 10
) -> pd.DataFrame:
    """Mean predicted probability against the observed churn rate in equal-count score bins.

    Returns
    -------
    DataFrame
        ``bin`` (1 = lowest scores), ``customers``, ``mean_predicted``, ``observed_rate``.

    Examples
    --------
    >>> calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)["observed_rate"].tolist()
    [0.0, 1.0]
    """
    y, s = _check_scores(y_true, y_score)
    if not (isinstance(n_bins, int | np.integer) and 1 <= n_bins <= len(y)):
        raise ValueError(f"n_bins: expected an integer from 1 to {len(y)}, got {n_bins!r}")
    order = np.argsort(s, kind="stable")
    position = np.empty(len(y), dtype=np.int64)
    position[order] = np.arange(len(y))
    bins = position * n_bins // len(y)
    customers = np.bincount(bins, minlength=n_bins)
    return pd.DataFrame(
        {
            "bin": np.arange(1, n_bins + 1),
            "customers": customers,
            "mean_predicted": np.bincount(bins, weights=s, minlength=n_bins) / customers,
            "observed_rate": np.bincount(bins, weights=y, minlength=n_bins) / customers,
        }
    )


def churn_metrics(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier score, top-decile lift and capture, churn rate, customers.

    ``roc_auc`` and ``pr_auc`` are ``NaN`` when only one class occurs.

    Examples
    --------
    >>> m = churn_metrics([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], np.linspace(1, 0, 10))
    >>> m["roc_auc"], m["lift_top_decile"]
    (0.8125, 5.0)
    """
    y, s = _check_scores(y_true, y_score)
    both = 0 < y.sum() < len(y)
    top = lift_table(y, s, n_bins=10).iloc[0] if len(y) >= 10 else None
    return {
        "customers": int(len(y)),
        "churn_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, s)) if both else np.nan,
        "pr_auc": float(average_precision_score(y, s)) if both else np.nan,
        "brier": float(brier_score_loss(y, np.clip(s, 0.0, 1.0))),
        "lift_top_decile": float(top["lift"]) if top is not None else np.nan,
        "capture_top_decile": float(top["cumulative_capture"]) if top is not None else np.nan,
    }


@dataclass
class BacktestResult:
    """What :func:`backtest` measured.

    Attributes
    ----------
    metrics : DataFrame
        One row per scored cutoff (index ``cutoff``): ``train_cutoff``, ``train_customers``,
        ``model`` (the kept candidate) and :func:`churn_metrics`.
    calibration : DataFrame
        :func:`calibration_table` per scored cutoff (column ``cutoff``).
    importance : DataFrame
        Permutation importance on the held-out customers: ``cutoff``, ``feature``,
        ``importance_mean``, ``importance_std`` (drop in ROC AUC when shuffled).
    predictions : DataFrame
        ``cutoff``, ``customer_id``, ``y_true``, ``y_score`` for every held-out customer.
    models : dict
        The fitted model per scored cutoff.
    horizon : Timedelta
        The churn window.
    active_window : Timedelta or None
        The active-base rule of the labels (``None``: every customer who bought).
    """

    metrics: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.DataFrame
    predictions: pd.DataFrame
    models: dict[pd.Timestamp, Any] = field(default_factory=dict, repr=False)
    horizon: pd.Timedelta | None = None
    active_window: pd.Timedelta | None = None

    def summary(self) -> pd.Series:
        """Mean of each metric over the scored cutoffs.

        Examples
        --------
        >>> round(result.summary()["roc_auc"], 3)
        np.float64(0.739)
        """
        numeric = self.metrics.select_dtypes("number")
        return numeric.mean()

    def drivers(self) -> pd.DataFrame:
        """Permutation importance averaged over cutoffs, most important first.

        Examples
        --------
        >>> result.drivers().head(3).round(3)
                                importance_mean  importance_std
        feature
        expected_purchases_90d            0.082             0.0
        orders_total                      0.082             0.0
        orders_365d                       0.045             0.0
        """
        if self.importance.empty:
            return pd.DataFrame(columns=["importance_mean", "importance_std"])
        grouped = self.importance.groupby("feature", sort=False)
        out = pd.DataFrame(
            {
                "importance_mean": grouped["importance_mean"].mean(),
                "importance_std": grouped["importance_std"].mean(),
            }
        )
        return out.sort_values("importance_mean", ascending=False, kind="stable")


def backtest(
    dataset: CustomerData,
    cutoffs: Sequence[Cutoff],
    horizon: Horizon = "90D",
    *,
    model: Classifier | None = None,
    active_window: Horizon | None = "365D",
    clv: bool = True,
    importance: bool = True,
    n_repeats: int = 3,
    random_state: int | None = 0,
) -> BacktestResult:
    """Train at each cutoff, score the next one out of time, and measure.

    Parameters
    ----------
    dataset : Dataset or DaskDataset
        The full data; it must reach the last cutoff plus ``horizon``.
    cutoffs : sequence
        At least two cutoffs (period labels, dates or instants), at least ``horizon`` apart so
        that the training labels are known at the next cutoff. Sorted before use.
    horizon : str, Timedelta or int
        The churn window (see :func:`~cpm_analysis.churn.churn_labels`).
    model : estimator, optional
        A scikit-learn classifier with ``predict_proba``; cloned for every cutoff. Default
        ``ChurnModel(random_state=random_state)``.
    active_window : str, Timedelta, int or None
        The active-base rule of the labels.
    clv : bool
        Include the BG/NBD features (see :func:`~cpm_analysis.churn.churn_features`).
    importance : bool
        Compute permutation importance on the held-out customers (the slowest step).
    n_repeats : int
        Shuffles per feature for the permutation importance.
    random_state : int or None
        Seeds the default model and the permutation importance.

    Returns
    -------
    BacktestResult

    Raises
    ------
    ValueError
        Fewer than two cutoffs, two cutoffs closer than ``horizon``, or a last cutoff whose
        labels are not known yet.

    Examples
    --------
    >>> from cpm_analysis.churn import ChurnModel
    >>> model = ChurnModel(model="logistic", random_state=0)
    >>> result = backtest(ds, ["2025-03", "2025-06"], "90D", model=model, importance=False)
    >>> result.summary()[["roc_auc", "lift_top_decile"]].round(3)
    roc_auc            0.739
    lift_top_decile    1.417
    dtype: float64
    """
    if isinstance(cutoffs, str) or len(cutoffs) < 2:
        raise ValueError(
            "cutoffs: need at least two cutoffs (train at one, score the next), e.g. "
            "['2024-06', '2024-09', '2024-12']"
        )
    delta = parse_horizon(horizon)
    stamps = sorted(to_cutoff(c) for c in cutoffs)
    for earlier, later in zip(stamps[:-1], stamps[1:], strict=True):
        if later - earlier < delta:
            raise ValueError(
                f"cutoffs: {earlier} and {later} are closer than the horizon ({delta.days} days);"
                " the training labels would not be known at the scoring cutoff"
            )
    template = model if model is not None else ChurnModel(random_state=random_state)
    frames: dict[pd.Timestamp, tuple[pd.DataFrame, pd.Series]] = {}
    for ts in stamps:  # per-customer steps of the dataset protocol (bucket by bucket on Dask)
        # in customer order on every engine, so that every model sees the same rows
        labels = churn_labels(dataset, ts, delta, active_window=active_window)
        labels = labels.sort_index(kind="stable")
        (features,) = dataset.gather(churn_features(dataset, ts, clv=clv))
        frames[ts] = (features.loc[labels.index], labels)

    rows, calibrations, importances, predictions = [], [], [], []
    models: dict[pd.Timestamp, Any] = {}
    for train_ts, test_ts in zip(stamps[:-1], stamps[1:], strict=True):
        X_train, y_train = frames[train_ts]
        X_test, y_test = frames[test_ts]
        fitted = clone(template).fit(X_train, y_train)
        models[test_ts] = fitted
        score = fitted.predict_proba(X_test)[:, 1]
        metrics = churn_metrics(y_test.to_numpy(), score)
        rows.append(
            {
                "cutoff": test_ts,
                "train_cutoff": train_ts,
                "train_customers": len(y_train),
                "model": getattr(fitted, "selected_model_", type(fitted).__name__),
                **metrics,
            }
        )
        table = calibration_table(y_test.to_numpy(), score)
        table.insert(0, "cutoff", test_ts)
        calibrations.append(table)
        predictions.append(
            pd.DataFrame(
                {
                    "cutoff": test_ts,
                    "customer_id": X_test.index.to_numpy(),
                    "y_true": y_test.to_numpy(),
                    "y_score": score,
                }
            )
        )
        if importance and 0 < y_test.sum() < len(y_test):
            result = permutation_importance(
                fitted,
                X_test,
                y_test.to_numpy(),
                n_repeats=n_repeats,
                random_state=random_state,
                max_samples=min(1.0, IMPORTANCE_MAX_ROWS / len(y_test)),
            )
            importances.append(
                pd.DataFrame(
                    {
                        "cutoff": test_ts,
                        "feature": list(X_test.columns),
                        "importance_mean": result.importances_mean,
                        "importance_std": result.importances_std,
                    }
                ).sort_values("importance_mean", ascending=False, kind="stable")
            )
    metrics_frame = pd.DataFrame(rows).set_index("cutoff")
    importance_frame = (
        pd.concat(importances, ignore_index=True)
        if importances
        else pd.DataFrame(columns=["cutoff", "feature", "importance_mean", "importance_std"])
    )
    return BacktestResult(
        metrics=metrics_frame,
        calibration=pd.concat(calibrations, ignore_index=True),
        importance=importance_frame,
        predictions=pd.concat(predictions, ignore_index=True),
        models=models,
        horizon=delta,
        active_window=None if active_window is None else parse_horizon(active_window),
    )
