"""Charts of the CLV models; every function takes an optional ``ax`` and returns the Axes.

Examples
--------
>>> from cpm_analysis.plots.clv import plot_probability_alive_matrix
>>> ax = plot_probability_alive_matrix(bgf)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

from cpm_analysis.availability import missing_columns
from cpm_analysis.clv.value import calibration_holdout_report
from cpm_analysis.i18n import M_, N_
from cpm_analysis.plots.language import _, category

if TYPE_CHECKING:
    from cpm_analysis.clv.base import PurchaseModel, PurchasePredictor
    from cpm_analysis.clv.forecast import ForecastCheck
    from cpm_analysis.clv.selection import ModelChoice
    from cpm_analysis.data.dataset import Dataset
    from cpm_analysis.periods import Cutoff

_UNIT_NAMES = {"W": N_("weeks"), "D": N_("days")}
_MEASURES = (N_("Holdout purchases"), N_("Contracts still running"), N_("time units"))
"""Words the charts fill in from their data's attributes (marked here for the catalogue)."""


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _fig, ax = plt.subplots(figsize=size)
    return ax


def _unit_name(model: Any) -> str:
    return _(_UNIT_NAMES.get(getattr(model, "time_unit_", None) or "", "time units"))


def _grid(
    model: Any, max_frequency: int | None, max_recency: float | None, n_recency: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Return a (frequency x recency) grid of hypothetical customers observed for T = max_recency."""
    model._check_fitted()
    fitted = model._fitted
    if max_frequency is None:
        max_frequency = int(np.max(fitted["frequency"])) if len(fitted["frequency"]) else 10
    if max_recency is None:
        max_recency = float(np.max(fitted["T"])) if len(fitted["T"]) else 1.0
    if max_frequency < 0 or not max_recency > 0:
        raise ValueError("max_frequency must be >= 0 and max_recency > 0")
    freqs = np.arange(0, int(max_frequency) + 1, dtype=np.float64)
    recs = np.linspace(0.0, float(max_recency), int(n_recency))
    f, r = np.meshgrid(freqs, recs, indexing="ij")
    r = np.where(f == 0, 0.0, r)  # no repeat purchase: recency is 0 by definition
    grid = pd.DataFrame(
        {"frequency": f.ravel(), "recency": r.ravel(), "T": np.full(f.size, float(max_recency))}
    )
    return grid, freqs, recs


def _matrix_plot(
    values: np.ndarray,
    freqs: np.ndarray,
    recs: np.ndarray,
    ax: Axes | None,
    title: str,
    label: str,
    unit: str,
    cmap: str,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Axes:
    ax = _axes(ax, (7, 5.5))
    matrix = values.reshape(len(freqs), len(recs))
    image = ax.imshow(
        matrix,
        aspect="auto",
        origin="lower",
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        extent=(recs[0], recs[-1], freqs[0] - 0.5, freqs[-1] + 0.5),
        interpolation="nearest",
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel(
        _("Recency: time of the last purchase (%(unit)s after the first)") % {"unit": unit}
    )
    ax.set_ylabel(_("Frequency: repeat purchases"))
    ax.set_title(title)
    return ax


def plot_frequency_recency_matrix(
    model: PurchaseModel,
    t: float = 1.0,
    *,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    n_recency: int = 100,
    cmap: str = "viridis",
    ax: Axes | None = None,
) -> Axes:
    """Return the expected purchases in the next ``t`` time units over a frequency x recency grid.

    Every cell is a hypothetical customer observed for ``T = max_recency`` (default: the longest
    ``T`` among the fitted customers); the best customers buy often and recently (top right).

    Parameters
    ----------
    model : BetaGeoModel or ParetoNBDModel
        A fitted purchase model.
    t : float
        Horizon, in the model's time unit.
    max_frequency, max_recency : optional
        Grid limits; default the fitted customers' largest frequency and T.
    n_recency : int
        Recency points.

    Examples
    --------
    >>> ax = plot_frequency_recency_matrix(bgf, t=4)
    """
    grid, freqs, recs = _grid(model, max_frequency, max_recency, n_recency)
    values = model.expected_purchases(t, grid).to_numpy()
    unit = _unit_name(model)
    return _matrix_plot(
        values,
        freqs,
        recs,
        ax,
        _("Expected purchases in the next %(t)s %(unit)s, by frequency and recency")
        % {"t": f"{t:g}", "unit": unit},
        _("expected purchases"),
        unit,
        cmap,
    )


def plot_probability_alive_matrix(
    model: PurchaseModel,
    *,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    n_recency: int = 100,
    cmap: str = "viridis",
    ax: Axes | None = None,
) -> Axes:
    """Probability that a customer is still active, over a frequency x recency grid.

    Cells as in :func:`plot_frequency_recency_matrix`. Frequent buyers who have not bought for
    a while (bottom right of the top rows) are the ones most likely lost.

    Examples
    --------
    >>> ax = plot_probability_alive_matrix(bgf)
    """
    grid, freqs, recs = _grid(model, max_frequency, max_recency, n_recency)
    values = model.probability_alive(grid).to_numpy()
    return _matrix_plot(
        values,
        freqs,
        recs,
        ax,
        _("Probability that the customer is still active"),
        "P(alive)",
        _unit_name(model),
        cmap,
        vmin=0.0,
        vmax=1.0,
    )


def plot_calibration_purchases_vs_holdout_purchases(
    report_or_model: pd.DataFrame | PurchasePredictor,
    summary: pd.DataFrame | None = None,
    *,
    max_frequency: int = 7,
    ax: Axes | None = None,
) -> Axes:
    """Mean holdout purchases per customer, actual against predicted, by calibration frequency.

    Parameters
    ----------
    report_or_model : DataFrame or purchase model
        A :func:`~cpm_analysis.clv.calibration_holdout_report`, or a fitted model (then
        ``summary`` is required and the report is computed).
    summary : DataFrame, optional
        Calibration/holdout summary from ``rfm_summary(..., calibration_end=...)``.
    max_frequency : int
        Frequencies from this value up are grouped, when the report is computed here.

    Examples
    --------
    >>> ax = plot_calibration_purchases_vs_holdout_purchases(bgf, summary)
    """
    if isinstance(report_or_model, pd.DataFrame):
        report = report_or_model
    else:
        if summary is None:
            raise ValueError("summary: needed to compute the report from a model")
        report = calibration_holdout_report(report_or_model, summary, max_frequency=max_frequency)
    rows = report.drop(index="total", errors="ignore")
    ax = _axes(ax, (7, 4.5))
    labels = [str(i) for i in rows.index]
    positions = np.arange(len(labels))
    palette = sns.color_palette("colorblind", 2)
    ax.plot(positions, rows["actual_mean"], marker="o", color=palette[0], label=_("actual"))
    ax.plot(
        positions,
        rows["predicted_mean"],
        marker="s",
        linestyle="--",
        color=palette[1],
        label=_("model"),
    )
    ax.set_xticks(positions, labels)
    # a report may name what it counts (contracts still running, by renewals)
    measure = report.attrs.get("measure", "holdout purchases")
    ax.set_xlabel(_(report.attrs.get("groups", "Repeat purchases in the calibration period")))
    ax.set_ylabel(_("Mean %(measure)s per customer") % {"measure": _(measure)})
    ax.set_title(_("%(measure)s: actual vs model, by group") % {"measure": _(measure.capitalize())})
    ax.legend()
    return ax


def plot_cumulative_transactions(
    model: PurchaseModel,
    orders: pd.DataFrame | Dataset,
    *,
    observation_end: Cutoff,
    calibration_end: Cutoff | None = None,
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
    ax: Axes | None = None,
) -> Axes:
    """Cumulative repeat transactions over time: actual against the model's expectation.

    The tracking plot of Fader, Hardie & Lee (2005): the cohort of customers whose first
    purchase is at or before ``calibration_end`` (all customers without it); each customer is
    expected to make ``model.expected_purchases_new_customer(t)`` repeat purchases by ``t``
    after their first purchase, so the expected total on day ``d`` is the convolution of the
    daily count of first purchases with that curve. Transactions are counted as in
    :func:`~cpm_analysis.clv.rfm_summary` (paid orders, one per customer and day).

    Parameters
    ----------
    model : BetaGeoModel or ParetoNBDModel
        A model fitted in ``time_unit``.
    orders : DataFrame or Dataset
        The orders (with the same columns as for ``rfm_summary``).
    observation_end, calibration_end :
        As for :func:`~cpm_analysis.clv.rfm_summary`; the calibration end is marked.
    time_unit : {"W", "D"}
        The unit the model was fitted in.

    Examples
    --------
    >>> ax = plot_cumulative_transactions(
    ...     bgf, cdnow.orders, calibration_end="1997-09-30", observation_end="1998-06-30"
    ... )
    """
    from cpm_analysis.clv.selection import cumulative_transactions

    series = cumulative_transactions(
        {"model": model},
        orders,
        observation_end=observation_end,
        calibration_end=calibration_end,
        time_unit=time_unit,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
    )
    dates, actual, expected = series.index, series["actual"], series["model"]
    cut_day = series.attrs["calibration_end"]
    ax = _axes(ax, (8, 4.5))
    palette = sns.color_palette("colorblind", 2)
    ax.plot(dates, actual, color=palette[0], label=_("actual"))
    ax.plot(dates, expected, color=palette[1], linestyle="--", label=_("model"))
    if calibration_end is not None:
        ax.axvline(cut_day, color="grey", linestyle=":", label=_("calibration end"))
    ax.set_ylabel(_("Cumulative repeat transactions"))
    ax.set_title(_("Cumulative repeat transactions: actual vs model"))
    ax.legend()
    return ax


def plot_model_tracking(choice: ModelChoice, *, ax: Axes | None = None) -> Axes:
    """Cumulative repeat transactions of the calibration cohort: actual and every candidate.

    The tracking plot of a period's model choice
    (:func:`~cpm_analysis.clv.selection.choose_value_model`): the actual cumulative repeat
    transactions, each fitted candidate's expectation (the chosen one drawn thicker) and the
    end of the calibration window.

    Parameters
    ----------
    choice : ModelChoice
        The period's model choice; its ``tracking`` frame is drawn.

    On the contractual route the series is the contracts of the calibration cohort still
    running at each month end. Without a tracking series (no candidate was fitted) the axes
    say so in one sentence.

    Examples
    --------
    >>> from cpm_analysis.clv.selection import choose_value_model
    >>> from cpm_analysis.synthetic import generate
    >>> choice = choose_value_model(generate(400, seed=2).to_dataset(), "2025-06-30")
    >>> plot_model_tracking(choice).get_ylabel()
    'Cumulative repeat transactions'
    """
    series = choice.tracking
    ax = _axes(ax, (8, 4.5))
    if len(series) == 0 or len(series.columns) < 2:
        sentence = _(
            "No candidate was fitted on a calibration window, so there is nothing to track."
        )
        ax.text(0.5, 0.5, sentence, ha="center", va="center", wrap=True, transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    palette = sns.color_palette("colorblind", len(series.columns) - 1)
    ax.plot(series.index, series["actual"], color="black", linewidth=2, label=_("actual"))
    for colour, name in zip(palette, series.columns[1:], strict=True):
        chosen = name == choice.chosen
        ax.plot(
            series.index,
            series[name],
            color=colour,
            linestyle="--",
            linewidth=2.5 if chosen else 1.3,
            label=_("%(model)s (chosen)") % {"model": name} if chosen else name,
        )
    cut = series.attrs.get("calibration_end", choice.calibration_end)
    if cut is not None:
        ax.axvline(pd.Timestamp(cut), color="grey", linestyle=":", label=_("calibration end"))
    ax.set_ylabel(_(series.attrs.get("measure", "Cumulative repeat transactions")))
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(_("Tracking the holdout: actual vs each candidate model"))
    ax.legend()
    return ax


def plot_forecast_check(check: ForecastCheck, *, ax: Axes | None = None) -> Axes | None:
    """Predicted against actual repeat purchases by segment (bars), ``None`` if empty.

    ``check`` is a :class:`~cpm_analysis.clv.forecast.ForecastCheck`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> p = pd.DataFrame({"customers": [10, 10], "predicted": [11.0, 11.0],
    ...                   "actual": [10.0, 10.0], "error": [0.1, 0.1]},
    ...                  index=["Champions", "total"])
    >>> from cpm_analysis.clv.forecast import ForecastCheck
    >>> from cpm_analysis.periods import parse_period
    >>> plot_forecast_check(ForecastCheck(p, {}, parse_period("2025-05"))).get_title()[:9]
    'Predicted'
    """
    frame = check.purchases.drop(index="total", errors="ignore")
    if frame.empty:
        return None
    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 0.45 * len(frame) + 1.5))
    y = np.arange(len(frame))
    ax.barh(y - 0.2, frame["predicted"], height=0.4, label=_("predicted"), color="#9DB4D3")
    ax.barh(y + 0.2, frame["actual"], height=0.4, label=_("actual"), color="#4C72B0")
    ax.set_yticks(y, [category(name) for name in frame.index.astype("str")])
    ax.invert_yaxis()
    ax.set_xlabel(_("Repeat purchases in the period"))
    ax.set_title(
        _("Predicted (end of %(period)s) against actual, by segment")
        % {"period": check.previous.label}
    )
    ax.legend(loc="lower right")
    return ax


CLV_FLOOR = 1.0
"""The smallest predicted CLV the distribution chart shows (one unit of money)."""


def plot_clv_distribution(scored: pd.DataFrame, *, ax: Axes | None = None) -> Axes | None:
    """Histogram of predicted 12-month CLV (log scale), with the median and the mean marked.

    Customers with a CLV below :data:`CLV_FLOOR` (one unit of money: no value, or never
    bought) are left out of the log scale and counted in the title; the axis shows plain
    numbers, and the median and mean labels sit on separate lines. Without a ``clv`` column the sentence saying why is displayed and
    ``None`` returned.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_clv_distribution(pd.DataFrame({"clv": [1.0, 10.0, 100.0, 0.0]}))
    >>> "CLV" in ax.get_xlabel()
    True
    """
    missing = missing_columns(scored, ("clv",), M_("The distribution of lifetime value"))
    if missing is not None:
        missing.display()
        return None
    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 4))
    clv = scored["clv"].dropna().to_numpy(dtype=float)
    # below one unit of money a value is none: it would stretch the log axis down to 10^-9
    positive = clv[clv >= CLV_FLOOR]
    if len(positive):
        bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()) + 1e-9, 40)
        ax.hist(positive, bins=list(bins), color="#4C72B0", alpha=0.85)
        ax.set_xscale("log")
        # plain numbers (text.parse_math is off, so the default 10^k labels would show as code)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, pos: f"{v:,.0f}" if v >= 1 else ""))
        ax.xaxis.set_minor_formatter(NullFormatter())
        for row, (value, label, style) in enumerate(
            ((np.median(positive), _("median"), "--"), (positive.mean(), _("mean"), ":"))
        ):
            ax.axvline(value, color="#333333", linestyle=style, linewidth=1.2)
            ax.annotate(  # one line each, so that close median and mean do not overlap
                f"{label} {value:,.0f}",
                (value, 1),
                xycoords=("data", "axes fraction"),
                xytext=(4, -14 - 14 * row),
                textcoords="offset points",
                fontsize=9,
            )
    skipped = len(clv) - len(positive)
    values = {"n": f"{len(positive):,}", "skipped": f"{skipped:,}"}
    title = (
        _("Predicted 12-month CLV of %(n)s customers (%(skipped)s with no value left out)")
        if skipped
        else _("Predicted 12-month CLV of %(n)s customers")
    )
    ax.set_title(title % values)
    ax.set_xlabel(_("Predicted 12-month CLV (log scale)"))
    ax.set_ylabel(_("Customers"))
    return ax
