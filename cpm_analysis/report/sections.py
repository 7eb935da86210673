"""Small building blocks of the segment, lifetime-value and churn report notebooks.

Each function turns the period's data or scored table into one table or chart of a report
section, so that the notebooks hold one call per cell and no logic. The per-customer numbers
always come from the period's scored table (``ReportContext.scored_table()``), so the notebooks
agree with ``customers_scored.parquet``; the model checks (calibration against a holdout, the
churn backtest) are refitted here because they need data the period's models never saw.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(300, seed=1).to_dataset()
>>> period = parse_period("2025-06")
>>> segments = segment_table(ds.as_of(period.end), period.end)
>>> {"segment", "tier", "r_score"} <= set(segments.columns)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from threadpoolctl import threadpool_limits

from cpm_analysis import availability
from cpm_analysis.availability import CALIBRATION_WEEKS, Unavailable
from cpm_analysis.churn import sufficiency
from cpm_analysis.churn.sufficiency import BACKTEST_CUTOFFS
from cpm_analysis.data import Dataset
from cpm_analysis.periods import Period

IMPORTANCE_REPEATS = 2
"""Shuffles per feature of the permutation importance (each costs a full scoring pass)."""

RISK_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "owner_id",
    "segment",
    "tier",
    "churn_probability",
    "clv",
    "expected_loss",
    "reason_codes",
    "recommended_action",
)


# --- segments ----------------------------------------------------------------------------------


def segment_table(view: Dataset, cutoff: Any) -> pd.DataFrame:
    """RFM scores, named segment and value tier of every buyer at ``cutoff``.

    Parameters
    ----------
    view : Dataset
        The point-in-time data (only orders up to ``cutoff`` count).
    cutoff : Timestamp or str
        The instant the segments describe.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: :func:`~cpm_analysis.segments.rfm_scores` columns,
        ``segment``, ``action``, ``tier``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=2).to_dataset()
    >>> segment_table(ds, "2025-06-30").index.name
    'customer_id'
    """
    from cpm_analysis.segments import rfm_scores, rfm_segments, value_tiers

    return value_tiers(rfm_segments(rfm_scores(view, cutoff)))


def period_migration(
    view: Dataset,
    period: Period,
    *,
    previous: pd.DataFrame | None = None,
    current: pd.DataFrame | None = None,
) -> Any:
    """Segment migration from the end of the previous period to the end of ``period``.

    ``previous`` and ``current`` are the :func:`segment_table` of the two cutoffs when they
    are already computed (an owner's book: the company's rows of its customers, so that the
    book's segments are the company's); otherwise they are computed from ``view``.

    Returns
    -------
    SegmentMigration or Unavailable
        See :func:`cpm_analysis.segments.segment_migration` (``counts``, ``shares``,
        ``fallen``); :class:`~cpm_analysis.availability.Unavailable` when no customer
        had bought by the end of the previous period.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(200, seed=2).to_dataset()
    >>> migration = period_migration(ds, parse_period("2025-06"))
    >>> int(migration.counts.to_numpy().sum()) > 0
    True
    """
    from cpm_analysis.segments import segment_migration

    check = availability.migration(view, period)
    if not check.available:
        return check.missing()
    if previous is None:
        previous = segment_table(view, period.previous().end)
    if current is None:
        current = segment_table(view, period.end)
    return segment_migration(previous, current)


def fallen_customers(migration: Any, scored: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """Return the customers who fell from a top segment, most valuable first, with owner and action.

    Parameters
    ----------
    migration : SegmentMigration
        From :func:`period_migration`.
    scored : DataFrame
        The period's scored table (for the owner, CLV and recommended action).
    n : int
        Rows to return (the most valuable by historical revenue).

    Returns
    -------
    DataFrame or Unavailable
        The sentence "No customer fell ..." instead of an empty table.

    Examples
    --------
    >>> from cpm_analysis.segments import segment_migration
    >>> prev = pd.Series({"C1": "Champions", "C2": "Lost"})
    >>> cur = pd.Series({"C1": "At Risk", "C2": "Lost"})
    >>> m = segment_migration(prev, cur)
    >>> fallen_customers(m, pd.DataFrame({"customer_id": ["C1"], "owner_id": ["S1"]}))[
    ...     "customer_id"
    ... ].tolist()
    ['C1']
    """
    _positive("n", n)
    if isinstance(migration, Unavailable):
        return migration
    fallen = migration.fallen.reset_index()
    fallen = fallen.rename(columns={fallen.columns[0]: "customer_id"})
    keep = [c for c in ("customer_id", "owner_id", "clv", "recommended_action") if c in scored]
    out = fallen.merge(scored[keep], on="customer_id", how="left")
    columns = [
        c
        for c in (
            "customer_id",
            "owner_id",
            "previous",
            "current",
            "recency_days",
            "frequency",
            "monetary",
            "clv",
            "recommended_action",
        )
        if c in out
    ]
    out = out.sort_values("monetary", ascending=False, kind="stable") if "monetary" in out else out
    if out.empty:
        return Unavailable("No customer fell from a top segment since the previous period.")
    return out[columns].head(n).reset_index(drop=True)


def migration_summary(migration: Any) -> pd.DataFrame:
    """Per previous segment: customers, how many stayed, moved up or down a group, or left.

    A move counts as *down* when it lands in the previous segment's group or a worse one
    (groups ordered top, growth, at_risk, lapsed) in another segment of a worse group, *up*
    when the group is better; ``new`` and ``lost`` rows/columns are entries and exits.

    Examples
    --------
    >>> from cpm_analysis.segments import segment_migration
    >>> m = segment_migration(pd.Series({"a": "Champions"}), pd.Series({"a": "At Risk"}))
    >>> int(migration_summary(m).loc["Champions", "down"])
    1
    """
    from cpm_analysis.segments import default_segment_map

    if isinstance(migration, Unavailable):
        return migration
    counts = migration.counts
    groups = dict(default_segment_map().groups)
    order = {"top": 0, "growth": 1, "at_risk": 2, "lapsed": 3}
    rank_rows = pd.Series(counts.index.map(groups), index=counts.index).map(order)
    rank_cols = pd.Series(counts.columns.map(groups), index=counts.columns).map(order)
    diff = rank_cols.to_numpy()[None, :] - rank_rows.to_numpy()[:, None]
    values = counts.to_numpy()
    same = counts.index.to_numpy()[:, None] == counts.columns.to_numpy()[None, :]
    known = ~np.isnan(diff)
    out = pd.DataFrame(
        {
            "customers": values.sum(axis=1),
            "stayed": (values * same).sum(axis=1),
            "up": (values * (known & (diff < 0))).sum(axis=1),
            "down": (values * (known & (diff > 0))).sum(axis=1),
        },
        index=counts.index,
    )
    out["sideways"] = (values * (known & (diff == 0) & ~same)).sum(axis=1)
    if migration.lost_label in counts.columns:
        out["left"] = counts[migration.lost_label].to_numpy()
    out["stayed_share"] = out["stayed"] / out["customers"].where(out["customers"] > 0)
    out.index.name = "previous segment"
    return out


def behaviour_clusters(segments: pd.DataFrame, view: Dataset, cutoff: Any, seed: int = 0) -> Any:
    """Return the behavioural clusters of the customers, or why not.

    The clusters are computed by :func:`cpm_analysis.segments.cluster_customers`.

    Returns
    -------
    CustomerClusters or Unavailable
        :class:`~cpm_analysis.availability.Unavailable` with fewer than
        :data:`~cpm_analysis.availability.MIN_CLUSTER_BUYERS` buyers.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(30, seed=2).to_dataset()
    >>> behaviour_clusters(segment_table(ds, "2025-06-30"), ds, "2025-06-30").available
    False
    """
    from cpm_analysis.segments import cluster_customers

    check = availability.clusters(view, cutoff)
    if not check.available:
        return check.missing()
    return cluster_customers(segments, random_state=seed)


def cluster_table(clusters: Any) -> pd.DataFrame:
    """Return the clusters' profile for display, ``name`` renamed ``cluster_name``.

    (A column called ``name`` would be dropped as personal data by the masked display.)

    Examples
    --------
    >>> class C:
    ...     profile = pd.DataFrame({"name": ["Recent"], "customers": [3]})
    >>> cluster_table(C()).columns.tolist()
    ['cluster_name', 'customers']
    """
    if isinstance(clusters, Unavailable):
        return clusters
    return clusters.profile.rename(columns={"name": "cluster_name"})


# --- lifetime value ----------------------------------------------------------------------------


@dataclass
class CalibrationCheck:
    """What :func:`calibration_check` returns.

    Attributes
    ----------
    model : BetaGeoModel
        BG/NBD fitted on the calibration window.
    summary : DataFrame
        The calibration/holdout RFM summary (weeks).
    report : DataFrame
        :func:`~cpm_analysis.clv.calibration_holdout_report` of the model.
    calibration_end, observation_end : Timestamp
        The end of the calibration window and of the holdout.
    """

    model: Any
    summary: pd.DataFrame
    report: pd.DataFrame
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp

    def verdict(self) -> str:
        """One sentence comparing predicted and actual holdout purchases in total.

        Examples
        --------
        >>> report = pd.DataFrame({"actual": [90.0], "predicted": [100.0]}, index=["total"])
        >>> CalibrationCheck(None, pd.DataFrame(), report, pd.Timestamp(0), pd.Timestamp(0)
        ...                  ).verdict()[:40]
        'Over the 0-week holdout the model predic'
        """
        total = self.report.loc["total"]
        weeks = round((self.observation_end - self.calibration_end) / pd.Timedelta(weeks=1))
        predicted, actual = total["predicted"], total["actual"]
        if not availability.finite(predicted):
            return (
                f"Over the {weeks}-week holdout customers made {actual:,.0f} repeat purchases; "
                "the model's prediction is not available (the fit did not give a finite "
                "number of purchases)."
            )
        if not actual > 0:
            return (
                f"Over the {weeks}-week holdout the model predicted {predicted:,.0f} repeat "
                "purchases and customers made none, so the error is not available."
            )
        error = predicted / actual - 1
        direction = "over" if error > 0 else "under"
        return (
            f"Over the {weeks}-week holdout the model predicted {predicted:,.0f} repeat "
            f"purchases against {actual:,.0f} actual ({abs(error):.0%} {direction}"
            "-estimate in total)."
        )


def calibration_check(
    view: Dataset, cutoff: Any, weeks: int = CALIBRATION_WEEKS
) -> CalibrationCheck:
    """Fit BG/NBD on the orders up to ``cutoff - weeks`` and compare with the holdout.

    Parameters
    ----------
    view : Dataset
        The point-in-time data.
    cutoff : Timestamp
        End of the holdout (the period's end).
    weeks : int
        Length of the holdout in weeks.

    Returns
    -------
    CalibrationCheck or Unavailable
        :class:`~cpm_analysis.availability.Unavailable` when the calibration window
        lacks repeat buyers (:func:`cpm_analysis.availability.calibration`).

    Raises
    ------
    ValueError
        When ``weeks`` is not positive.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(400, seed=3).to_dataset()
    >>> check = calibration_check(ds, pd.Timestamp("2025-06-30 23:59:59"))
    >>> "total" in check.report.index
    True
    """
    from cpm_analysis.clv import BetaGeoModel, calibration_holdout_report, period_summary

    _positive("weeks", weeks)
    check = availability.calibration(view, cutoff, weeks)
    if not check.available:
        return check.missing()
    end = pd.Timestamp(cutoff)
    calibration_end = end - pd.Timedelta(weeks=weeks)
    summary = period_summary(view, end, calibration_end=calibration_end)
    if not (summary["frequency"] > 0).any():
        raise ValueError(
            f"weeks: no repeat buyer before {calibration_end:%Y-%m-%d}; shorten the holdout"
        )
    model = BetaGeoModel().fit(summary)
    report = calibration_holdout_report(model, summary)
    return CalibrationCheck(model, summary, report, calibration_end, end)


def fit_value_models(view: Dataset, cutoff: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """BG/NBD and Gamma-Gamma fitted at ``cutoff`` on the weekly RFM summary.

    The same recipe as :func:`cpm_analysis.scoring.score_customers` (maximum likelihood, no
    randomness), so the parameters shown are those behind the scored table's CLV.

    Returns
    -------
    models : dict
        ``{"BG/NBD": BetaGeoModel, "Gamma-Gamma": GammaGammaModel}``.
    summary : DataFrame
        The RFM summary the models were fitted on.

    Both are the same :class:`~cpm_analysis.availability.Unavailable` when the data
    has too little history or too few repeat buyers
    (:func:`cpm_analysis.availability.lifetime_value`).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(400, seed=3).to_dataset()
    >>> models, summary = fit_value_models(ds, pd.Timestamp("2025-06-30 23:59:59"))
    >>> sorted(models)
    ['BG/NBD', 'Gamma-Gamma']
    """
    import warnings

    from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, period_summary

    check = availability.lifetime_value(view, cutoff)
    if not check.available:
        missing = check.missing()
        return missing, missing
    summary = period_summary(view, pd.Timestamp(cutoff))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "BG/NBD": BetaGeoModel().fit(summary),
            "Gamma-Gamma": GammaGammaModel().fit(summary),
        }
    return models, summary


NO_DROPOUT_P_ALIVE = 0.99
"""P(alive) above which, for every repeat buyer, the purchase model detects no dropout."""


def value_model_health(models: Any, summary: Any) -> str:
    """One or two sentences on the fits: did they converge, does the model detect dropout.

    The models' own health sentences (``fit_warnings_``: not converged, parameters at the edge
    of their range, no detectable dropout, spend left out) are used when they have them.
    Otherwise, from ``converged_`` and ``no_dropout_``, and when the purchase model has no
    ``no_dropout_``, *no detectable dropout* is computed here: P(alive) of at least
    :data:`NO_DROPOUT_P_ALIVE` for every repeat buyer (customers who bought once always have
    P(alive) = 1 in BG/NBD), which makes the lifetime value an upper bound.

    Examples
    --------
    >>> class M:
    ...     converged_ = False
    ...     no_dropout_ = True
    >>> value_model_health({"BG/NBD": M()}, None)[:40]
    'The BG/NBD fit did not converge: its num'
    >>> class Healthy:
    ...     fit_warnings_ = []
    >>> value_model_health({"BG/NBD": Healthy()}, None)
    'Both fits converged and the purchase model detects dropout.'
    """
    if isinstance(models, Unavailable):
        return models
    parts: list[str] = []
    for name, model in models.items():
        if model is None:
            continue
        if hasattr(model, "fit_warnings_"):
            parts.extend(str(sentence) for sentence in model.fit_warnings_)
            continue
        if getattr(model, "converged_", True) is False:
            parts.append(
                f"The {name} fit did not converge: its numbers are the optimiser's last "
                "estimate, read them with care."
            )
        if name != "BG/NBD":
            continue
        no_dropout = getattr(model, "no_dropout_", None)
        if no_dropout is None and summary is not None:
            repeat = summary.loc[summary["frequency"] > 0]
            p_alive = (
                np.asarray(model.probability_alive(repeat), dtype=float) if len(repeat) else []
            )
            no_dropout = bool(len(p_alive)) and bool(np.nanmin(p_alive) >= NO_DROPOUT_P_ALIVE)
        if no_dropout:
            parts.append(
                "The purchase model found no detectable dropout: P(alive) is about 1 for every "
                "customer, so the lifetime values assume nobody leaves and are an upper bound."
            )
    if not parts:
        parts.append("Both fits converged and the purchase model detects dropout.")
    return " ".join(parts)


PARAMETER_MEANINGS = {
    "r": "shape of the purchase-rate distribution across customers",
    "alpha": "scale of the purchase-rate distribution (weeks)",
    "a": "first shape of the drop-out probability distribution",
    "b": "second shape of the drop-out probability distribution",
    "p": "shape of the spend-per-order distribution",
    "q": "shape of the customers' mean-spend distribution",
    "v": "scale of the customers' mean-spend distribution",
}


def model_parameters(models: dict[str, Any]) -> pd.DataFrame:
    """Return the fitted parameters of the lifetime-value models, one row each, with their meaning.

    Parameters
    ----------
    models : dict
        Model name to fitted model (``params_`` dict), e.g. ``{"BG/NBD": bg}``; ``None``
        values are skipped.

    Examples
    --------
    >>> class M:
    ...     params_ = {"r": 0.5, "alpha": 4.0}
    >>> model_parameters({"BG/NBD": M()})["parameter"].tolist()
    ['r', 'alpha']
    """
    if isinstance(models, Unavailable):
        return models
    rows = [
        {
            "model": name,
            "parameter": key,
            "value": float(value),
            "meaning": PARAMETER_MEANINGS.get(key, ""),
        }
        for name, model in models.items()
        if model is not None
        for key, value in model.params_.items()
    ]
    return pd.DataFrame(rows, columns=["model", "parameter", "value", "meaning"])


def value_by(scored: pd.DataFrame, by: str) -> pd.DataFrame:
    """Predicted 12-month CLV by a column of the scored table (segment, owner_id, tier, ...).

    Returns
    -------
    DataFrame
        Indexed by ``by``: customers, total and mean CLV, share of total CLV, mean P(alive),
        expected loss; sorted by total CLV, largest first.

        :class:`~cpm_analysis.availability.Unavailable` when ``scored`` lacks ``by``
        or ``clv`` (no account owners, or the lifetime-value models were not fitted).

    Examples
    --------
    >>> value_by(pd.DataFrame({"clv": [1.0]}), "owner_id").text[:50]
    'Lifetime value by account owner is not available: '
    >>> s = pd.DataFrame({"segment": ["A", "A", "B"], "clv": [1.0, 3.0, 4.0],
    ...                   "p_alive": [0.5, 0.5, 1.0]})
    >>> value_by(s, "segment")["clv_share"].tolist()
    [0.5, 0.5]
    """
    missing = _missing_columns(scored, ("clv", by), f"Lifetime value by {_label(by)}")
    if missing is not None:
        return missing
    frame = scored.loc[scored["clv"].notna()]
    grouped = frame.groupby(by, observed=True, sort=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "total_clv": grouped["clv"].sum(),
            "mean_clv": grouped["clv"].mean(),
        }
    )
    total = out["total_clv"].sum()
    out["clv_share"] = out["total_clv"] / total if total > 0 else np.nan
    if "p_alive" in frame:
        out["mean_p_alive"] = grouped["p_alive"].mean()
    if "expected_loss" in frame:
        out["expected_loss"] = grouped["expected_loss"].sum(min_count=1)
    return out.sort_values("total_clv", ascending=False, kind="stable")


def top_customers(scored: pd.DataFrame, by: str = "clv", n: int = 20) -> pd.DataFrame:
    """Return the ``n`` customers with the largest ``by``, with the columns a manager acts on.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "clv": [1.0, 2.0]})
    >>> top_customers(s, n=1)["customer_id"].tolist()
    ['b']
    """
    _positive("n", n)
    missing = _missing_columns(scored, (by,), f"Top customers by {_label(by)}")
    if missing is not None:
        return missing
    columns = [
        c
        for c in (
            "customer_id",
            "owner_id",
            "segment",
            "tier",
            "frequency",
            "monetary",
            "p_alive",
            "expected_purchases_90d",
            "clv",
            "churn_probability",
            "recommended_action",
        )
        if c in scored.columns
    ]
    if by not in columns:
        columns.append(by)
    return scored.nlargest(n, by)[columns].reset_index(drop=True)


def plot_clv_distribution(scored: pd.DataFrame, *, ax: Axes | None = None) -> Axes | None:
    """Histogram of predicted 12-month CLV (log scale), with the median and the mean marked.

    Customers with a CLV of zero or below (never bought) are left out of the log scale and
    counted in the title. Without a ``clv`` column the sentence saying why is displayed and
    ``None`` returned.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_clv_distribution(pd.DataFrame({"clv": [1.0, 10.0, 100.0, 0.0]}))
    >>> "CLV" in ax.get_xlabel()
    True
    """
    import matplotlib.pyplot as plt

    missing = _missing_columns(scored, ("clv",), "The distribution of lifetime value")
    if missing is not None:
        missing.display()
        return None
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    clv = scored["clv"].dropna().to_numpy(dtype=float)
    positive = clv[clv > 0]
    if len(positive):
        bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()) + 1e-9, 40)
        ax.hist(positive, bins=bins, color="#4C72B0", alpha=0.85)
        ax.set_xscale("log")
        for value, label, style in (
            (np.median(positive), "median", "--"),
            (positive.mean(), "mean", ":"),
        ):
            ax.axvline(value, color="#333333", linestyle=style, linewidth=1.2)
            ax.annotate(
                f"{label} {value:,.0f}",
                (value, 1),
                xycoords=("data", "axes fraction"),
                xytext=(4, -14),
                textcoords="offset points",
                fontsize=9,
            )
    skipped = len(clv) - len(positive)
    note = f" ({skipped:,} with no value left out)" if skipped else ""
    ax.set_title(f"Predicted 12-month CLV of {len(positive):,} customers{note}")
    ax.set_xlabel("Predicted 12-month CLV (log scale)")
    ax.set_ylabel("Customers")
    return ax


# --- churn -------------------------------------------------------------------------------------


def backtest_cutoffs(
    view: Dataset, period: Period, n: int = BACKTEST_CUTOFFS
) -> tuple[Any, list[pd.Timestamp]]:
    """Return the churn window and the cutoffs of the period's backtest.

    The window and the cutoffs are the longest the history allows.

    See :func:`cpm_analysis.churn.evaluation.backtest_plan`: the standard window (a 90-day
    horizon over the customers who bought in the last 365 days) when the history allows it,
    else a shorter one; the cutoffs are the last ``n`` month ends spaced a horizon apart whose
    outcome is known at the period's end.

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
    from cpm_analysis.churn.evaluation import backtest_plan

    if n < 2:
        raise ValueError(f"n: a backtest needs at least 2 cutoffs, got {n!r}")
    first = view.orders["order_date"].min() if len(view.orders) else pd.NaT
    return backtest_plan(first, period.end, n=n)


def churn_backtest(
    view: Dataset, period: Period, *, seed: int = 0, n: int = BACKTEST_CUTOFFS
) -> Any:
    """Backtest the period's churn recipe at :func:`backtest_cutoffs` (one OpenMP thread).

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
    >>> ds = generate(300, seed=2).to_dataset()  # doctest: +SKIP
    >>> churn_backtest(ds, parse_period("2025-06")).summary()["roc_auc"]  # doctest: +SKIP
    """
    from cpm_analysis.churn import backtest

    check = sufficiency.churn_backtest(view, period, n=n)
    if not check.available:
        return check.missing()
    window, cutoffs = backtest_cutoffs(view, period, n=n)
    # the P(alive) features only where BG/NBD can be fitted at every cutoff (as in the scoring)
    use_clv = availability.lifetime_value(view, cutoffs[0]).available
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


def backtest_metrics(result: Any) -> pd.DataFrame:
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


def backtest_verdict(result: Any) -> str:
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
        "strong" if auc >= 0.8 else "useful" if auc >= 0.7 else "weak" if auc >= 0.6 else "poor"
    )
    text = (
        f"Out of time, over {len(m)} cutoff(s), the model ranks customers with a mean ROC AUC "
        f"of {auc:.2f} ({quality}: 0.5 is a coin toss, 1 is perfect)."
    )
    if "lift_top_decile" in m:
        text += (
            f" The riskiest 10% of customers churn {m['lift_top_decile'].mean():.1f} times as "
            f"often as average (base churn rate {m['churn_rate'].mean():.0%})."
        )
    horizon = getattr(result, "horizon", None)
    active = getattr(result, "active_window", None)
    if horizon is not None and active is not None:
        from cpm_analysis.churn.evaluation import ChurnWindow

        window = ChurnWindow(horizon, active)
        text += f" Churn here is {window.describe()}"
        text += (
            "."
            if window.standard
            else ": shorter than the standard 90 days over the last 365 days, because the "
            "history is too short for it."
        )
    return text


def risk_table(scored: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """Return the ``n`` active customers with the largest expected loss, with their reasons.

    Returns :class:`~cpm_analysis.availability.Unavailable` when the scored table has
    no churn columns (the churn model was not trained for the period).

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b", "c"], "churn_probability": [0.9, 0.2, None],
    ...                   "expected_loss": [5.0, 9.0, None]})
    >>> risk_table(s)["customer_id"].tolist()
    ['b', 'a']
    """
    _positive("n", n)
    missing = _missing_columns(scored, ("churn_probability", "expected_loss"), "The risk list")
    if missing is not None:
        return missing
    frame = scored.loc[scored["expected_loss"].notna()]
    columns = [c for c in RISK_COLUMNS if c in frame.columns]
    return frame.nlargest(n, "expected_loss")[columns].reset_index(drop=True)


def risk_overview(scored: pd.DataFrame) -> pd.DataFrame:
    """Churn risk by segment over the active base: customers, mean probability, expected loss.

    Examples
    --------
    >>> s = pd.DataFrame({"segment": ["A", "A"], "churn_probability": [0.2, 0.4],
    ...                   "expected_loss": [1.0, 2.0], "clv": [5.0, 5.0]})
    >>> float(risk_overview(s).loc["A", "expected_loss"])
    3.0
    """
    missing = _missing_columns(scored, ("churn_probability",), "Churn risk by segment")
    if missing is not None:
        return missing
    frame = scored.loc[scored["churn_probability"].notna()]
    grouped = frame.groupby("segment", observed=True, sort=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "mean_churn_probability": grouped["churn_probability"].mean(),
            "clv": grouped["clv"].sum(min_count=1) if "clv" in frame else np.nan,
            "expected_loss": grouped["expected_loss"].sum(min_count=1),
        }
    )
    total = out["expected_loss"].sum()
    out["loss_share"] = out["expected_loss"] / total if total > 0 else np.nan
    return out.sort_values("expected_loss", ascending=False, kind="stable")


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


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
        return sufficiency.churn_model(dataset.as_of(cutoff), cutoff).sentence
    text = f"Churn here is {window.describe()}"
    if window.standard:
        return text + "."
    return (
        text
        + ": shorter than the standard 90 days over the last 365 days, because the history is too short for it."
    )


COLUMN_NEEDS = {
    "owner_id": "the customers have no owner_id, so there are no account owners",
    "clv": "the lifetime-value models were not fitted for this period (see What the data "
    "allows on the data-quality page)",
    "expected_loss": "the expected loss is the churn probability times the lifetime value, "
    "which was not fitted for this period",
    "churn_probability": "the churn model was not trained for this period (see What the data "
    "allows on the data-quality page)",
}


def _label(column: str) -> str:
    return {"owner_id": "account owner", "clv": "CLV"}.get(column, column.replace("_", " "))


def _missing_columns(
    scored: pd.DataFrame, columns: tuple[str, ...], what: str
) -> Unavailable | None:
    for column in columns:
        if column not in scored.columns or not scored[column].notna().any():
            reason = COLUMN_NEEDS.get(column, f"the scored table has no {column}")
            return availability.Check(what, False, column, reason).missing()
    return None
