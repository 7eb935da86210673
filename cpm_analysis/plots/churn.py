"""Charts of churn models: ROC, precision-recall, calibration, lift and gains, drivers.

Every function takes held-out predictions, as :func:`cpm_analysis.churn.backtest` returns them
(a :class:`~cpm_analysis.churn.BacktestResult`, or a DataFrame with ``y_true`` and ``y_score``
and optionally ``cutoff``, one curve per cutoff), an optional ``ax``, and returns the Axes.

Examples
--------
>>> from cpm_analysis.plots.churn import plot_roc, plot_drivers
>>> ax = plot_roc(result)
>>> ax = plot_drivers(result, top=12)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from cpm_analysis.churn.evaluation import calibration_table, lift_table
from cpm_analysis.churn.feature_names import feature_label
from cpm_analysis.i18n import shown
from cpm_analysis.plots.language import _

if TYPE_CHECKING:
    from cpm_analysis.churn.evaluation import BacktestResult


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _figure, ax = plt.subplots(figsize=size)
    return ax


def _predictions(data: Any) -> pd.DataFrame:
    """Return the predictions frame of a BacktestResult, or a DataFrame with y_true and y_score."""
    frame = getattr(data, "predictions", data)
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            "predictions: expected a BacktestResult or a DataFrame with 'y_true' and 'y_score'"
        )
    missing = [c for c in ("y_true", "y_score") if c not in frame.columns]
    if missing:
        raise ValueError(f"predictions: missing column(s) {missing}")
    if len(frame) == 0:
        raise ValueError("predictions: no rows")
    return frame


def _groups(frame: pd.DataFrame) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(label, y_true, y_score) per cutoff, or once for a frame without ``cutoff``."""
    if "cutoff" not in frame.columns:
        yield "", frame["y_true"].to_numpy(dtype=np.int64), frame["y_score"].to_numpy(float)
        return
    for cutoff, part in frame.groupby("cutoff", sort=True):
        label = pd.Timestamp(cutoff).strftime("%Y-%m-%d") if not isinstance(cutoff, str) else cutoff
        yield label, part["y_true"].to_numpy(dtype=np.int64), part["y_score"].to_numpy(float)


def _label(prefix: str, cutoff: str) -> str:
    return f"{cutoff}: {prefix}" if cutoff else prefix


def plot_roc(predictions: BacktestResult | pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """ROC curve per scored cutoff, with its AUC, against the chance diagonal.

    Examples
    --------
    >>> ax = plot_roc(result)
    """
    frame = _predictions(predictions)
    ax = _axes(ax, (5.5, 5))
    colors = sns.color_palette("viridis", max(frame.get("cutoff", pd.Series([0])).nunique(), 1))
    for (cutoff, y, s), color in zip(_groups(frame), colors, strict=False):
        if 0 < y.sum() < len(y):
            fpr, tpr, _thresholds = roc_curve(y, s)
            auc = roc_auc_score(y, s)
            ax.plot(fpr, tpr, color=color, label=_label(f"AUC {auc:.3f}", cutoff))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label=_("chance"))
    ax.set(
        xlabel=_("False positive rate (stayers flagged)"),
        ylabel=_("True positive rate (churners found)"),
        title=_("ROC curve (out of time)"),
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_precision_recall(
    predictions: BacktestResult | pd.DataFrame, *, ax: Axes | None = None
) -> Axes:
    """Precision-recall curve per scored cutoff, with the churn rate as the chance level.

    Examples
    --------
    >>> ax = plot_precision_recall(result)
    """
    frame = _predictions(predictions)
    ax = _axes(ax, (5.5, 5))
    colors = sns.color_palette("viridis", max(frame.get("cutoff", pd.Series([0])).nunique(), 1))
    for (cutoff, y, s), color in zip(_groups(frame), colors, strict=False):
        if 0 < y.sum() < len(y):
            precision, recall, _thresholds = precision_recall_curve(y, s)
            ap = average_precision_score(y, s)
            ax.plot(recall, precision, color=color, label=_label(f"AP {ap:.3f}", cutoff))
            ax.axhline(y.mean(), color=color, linestyle=":", linewidth=1)
    ax.set(
        xlabel=_("Recall (share of churners found)"),
        ylabel=_("Precision (share of flagged who churn)"),
        title=_("Precision-recall (dotted: churn rate)"),
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_calibration(
    predictions: BacktestResult | pd.DataFrame, *, n_bins: int = 10, ax: Axes | None = None
) -> Axes:
    """Observed churn rate against mean predicted probability in equal-count bins.

    Points on the diagonal mean the probabilities can be read as churn rates.

    Examples
    --------
    >>> ax = plot_calibration(result)
    """
    frame = _predictions(predictions)
    ax = _axes(ax, (5.5, 5))
    colors = sns.color_palette("viridis", max(frame.get("cutoff", pd.Series([0])).nunique(), 1))
    top = 0.0
    for (cutoff, y, s), color in zip(_groups(frame), colors, strict=False):
        table = calibration_table(y, s, n_bins=min(n_bins, len(y)))
        ax.plot(
            table["mean_predicted"],
            table["observed_rate"],
            marker="o",
            color=color,
            label=_label("observed", cutoff),
        )
        top = max(top, float(table[["mean_predicted", "observed_rate"]].to_numpy().max()))
    top = min(1.0, top * 1.05 + 0.01)
    ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label=_("perfect"))
    ax.set(
        xlabel=_("Mean predicted churn probability"),
        ylabel=_("Observed churn rate"),
        title=_("Calibration"),
        xlim=(0, top),
        ylim=(0, top),
    )
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_lift(
    predictions: BacktestResult | pd.DataFrame, *, n_bins: int = 10, ax: Axes | None = None
) -> Axes:
    """Lift by score decile (bars: churn rate / overall rate; 1 is no better than random).

    With several cutoffs the bars show their mean and the whiskers their range.

    Examples
    --------
    >>> ax = plot_lift(result)
    """
    frame = _predictions(predictions)
    ax = _axes(ax, (6.5, 4.5))
    tables = [
        lift_table(y, s, n_bins=n_bins)["lift"].to_numpy() for _cutoff, y, s in _groups(frame)
    ]
    lifts = np.vstack(tables)
    mean = lifts.mean(axis=0)
    x = np.arange(1, n_bins + 1)
    bars = ax.bar(x, mean, color=sns.color_palette("rocket", n_bins))
    if len(tables) > 1:
        ax.errorbar(
            x,
            mean,
            yerr=[mean - lifts.min(axis=0), lifts.max(axis=0) - mean],
            fmt="none",
            ecolor="black",
            capsize=3,
            linewidth=1,
        )
    ax.bar_label(bars, labels=[f"{v:.1f}" for v in mean], fontsize="small", padding=2)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set(
        xlabel=_("Score decile (1 = highest churn risk)"),
        ylabel=_("Lift"),
        title=_("Lift by decile"),
        xticks=x,
    )
    return ax


def plot_gains(predictions: BacktestResult | pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Cumulative gains: share of churners reached when contacting the riskiest X% first.

    Examples
    --------
    >>> ax = plot_gains(result)
    """
    frame = _predictions(predictions)
    ax = _axes(ax, (5.5, 5))
    colors = sns.color_palette("viridis", max(frame.get("cutoff", pd.Series([0])).nunique(), 1))
    for (cutoff, y, s), color in zip(_groups(frame), colors, strict=False):
        order = np.argsort(-s, kind="stable")
        captured = np.concatenate([[0.0], np.cumsum(y[order]) / max(y.sum(), 1)])
        share = np.linspace(0.0, 1.0, len(y) + 1)
        ten = captured[int(np.ceil(0.1 * len(y)))]
        ax.plot(
            share,
            captured,
            color=color,
            label=_label(_("top 10%%: %(share)s of churners") % {"share": f"{ten:.0%}"}, cutoff),
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label=_("random"))
    ax.set(
        xlabel=_("Share of customers contacted (riskiest first)"),
        ylabel=_("Share of churners reached"),
        title=_("Cumulative gains"),
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_drivers(
    importance: BacktestResult | pd.DataFrame | pd.Series, *, top: int = 15, ax: Axes | None = None
) -> Axes:
    """Bar chart of the churn drivers: permutation importance (drop in ROC AUC when shuffled).

    Parameters
    ----------
    importance : BacktestResult, DataFrame or Series
        A backtest result (its :meth:`~cpm_analysis.churn.BacktestResult.drivers`), a frame
        with ``feature`` (or the index) and ``importance_mean`` (and optionally
        ``importance_std``; several cutoffs are averaged), or a Series by feature.
    top : int
        Number of features shown, most important first.
    ax : Axes, optional

    Examples
    --------
    >>> ax = plot_drivers(result, top=10)
    """
    if hasattr(importance, "drivers"):
        table = importance.drivers()
    elif isinstance(importance, pd.Series):
        table = importance.rename("importance_mean").to_frame()
    elif isinstance(importance, pd.DataFrame):
        if "importance_mean" not in importance.columns:
            raise ValueError("importance: expected an 'importance_mean' column")
        table = importance
        if "feature" in table.columns:
            grouped = table.groupby("feature", sort=False)
            table = grouped[[c for c in ("importance_mean", "importance_std") if c in table]].mean()
    else:
        raise ValueError("importance: expected a BacktestResult, a DataFrame or a Series")
    if len(table) == 0:
        raise ValueError("importance: no features")
    if not (isinstance(top, int | np.integer) and top >= 1):
        raise ValueError(f"top: expected a positive integer, got {top!r}")
    table = table.sort_values("importance_mean", ascending=False, kind="stable").head(top)
    ax = _axes(ax, (6.5, max(2.5, 0.35 * len(table) + 1)))
    y = np.arange(len(table))[::-1]
    err = table["importance_std"].to_numpy() if "importance_std" in table.columns else None
    ax.barh(
        y,
        table["importance_mean"].to_numpy(),
        xerr=err,
        color=sns.color_palette("crest", len(table))[::-1],
        capsize=2,
    )
    ax.set_yticks(y, [shown(feature_label(name)) for name in table.index])
    ax.axvline(0.0, color="grey", linewidth=1)
    ax.set(xlabel=_("Drop in ROC AUC when shuffled"), title=_("Churn drivers (held-out data)"))
    return ax
