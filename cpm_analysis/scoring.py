"""The scored customer table of a period: one row per customer, every model's verdict.

This is the table the CRM team imports back to trigger its care campaigns. The period pipeline
(:func:`cpm_analysis.pipeline.build_period`) calls :func:`score_customers` once per period, so
that models are fitted once and every notebook reads the same numbers.

For a period *P* with cutoff *c* (its last instant), from ``dataset.as_of(c)`` only:

- **segments** (:mod:`cpm_analysis.segments`): RFM scores and named segment at *c*, the
  segment's recommended action, value tier (A/B/C by historical revenue) and behavioural cluster;
- **lifetime value** (:mod:`cpm_analysis.clv`): the period's purchase model (BG/NBD, or the
  one the model choice took: :func:`cpm_analysis.clv.selection.choose_value_model`) and
  Gamma-Gamma fitted on the weekly RFM summary at *c*; ``p_alive``, ``expected_purchases_90d``
  and ``clv`` (12 months, 1 % monthly discount rate by default, in the orders' currency);
- **churn** (:mod:`cpm_analysis.churn`): a :class:`~cpm_analysis.churn.ChurnModel` trained on
  the features at *c - horizon* with the labels known at *c* (out of time), scoring the active
  base at *c* (customers with a paid order in the trailing 365 days); ``churn_probability``,
  ``expected_loss`` (probability x CLV) and ``reason_codes``. Customers outside the active base
  have no churn probability (they are already lapsed; the segment says so). Its P(alive) and
  expected-purchases features are BG/NBD's at each feature cutoff, whatever model values the
  period, so that a feature means the same in training and scoring (the period's BG/NBD fit
  is reused at *c* when BG/NBD is the period's model).

Customers who signed up but never bought are listed with empty model columns.

The horizons, the discount rate, the churn windows, the tier cut-offs and the segment map are
keyword parameters of :func:`score_customers` whose defaults are the configuration's
(:data:`cpm_analysis.config.DEFAULT_CONFIG`); :func:`scoring_options` reads them from a loaded
configuration.

Examples
--------
>>> from cpm_analysis.data import load
>>> ds = load("data/sample")
>>> result = score_customers(ds, "2025-06", seed=0)
>>> len(result.scored) == len(ds.as_of("2025-06").customers)
True
>>> scored = result.scored.dropna(subset=["churn_probability", "clv"])
>>> bool(scored["churn_probability"].between(0, 1).all()), bool((scored["clv"] >= 0).all())
(True, True)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from threadpoolctl import threadpool_limits

from cpm_analysis.config import DEFAULT_CONFIG, CPMConfig
from cpm_analysis.data import Dataset
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.periods import Period, parse_period

if TYPE_CHECKING:
    from cpm_analysis.clv.selection import ModelChoice
    from cpm_analysis.segments.maps import SegmentMapSource

WEEKS_PER_DAY = 1.0 / 7.0
CLV_HORIZON_MONTHS = DEFAULT_CONFIG.clv.horizon_months
CLV_DISCOUNT_RATE = DEFAULT_CONFIG.clv.monthly_discount_rate
CHURN_WINDOWS = DEFAULT_CONFIG.churn.pairs
TIER_SHARES = DEFAULT_CONFIG.segments.tier_shares
CHURN_HORIZON = CHURN_WINDOWS[0][0]
"""The standard churn horizon (shorter ones are used when the history is short)."""
ACTIVE_WINDOW = "365D"

SCORED_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "owner_id",
    "region",
    "channel",
    "segment",
    "segment_group",
    "tier",
    "cluster",
    "cluster_name",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "p_alive",
    "expected_purchases_90d",
    "clv",
    "churn_probability",
    "expected_loss",
    "reason_codes",
    "recommended_action",
)


@dataclass
class ScoredPeriod:
    """What :func:`score_customers` returns.

    Attributes
    ----------
    scored : DataFrame
        One row per customer signed up by the cutoff (columns :data:`SCORED_COLUMNS`).
    metrics : dict
        JSON-able model metrics (``models``) and segment counts (``segments``).
        ``models["model_choice"]`` names the purchase model, its route and why; a purchase
        model other than BG/NBD is reported under ``models["purchase"]`` (with its ``name``).
        The CLV models carry their health: ``models["bgnbd"]`` has ``converged``, ``at_boundary``,
        ``no_dropout`` and ``warnings`` (plain sentences for the page), and
        ``models["gamma_gamma"]`` has ``fitted`` and ``excluded`` (repeat buyers left out for a
        spend of 0 or less; they get the population mean spend) besides the same flags.
    models : dict
        The fitted models: ``purchase`` (the purchase model behind the scores), ``bgnbd`` (the
        same when it is BG/NBD, else ``None``), ``gamma_gamma``, ``churn`` (or ``None`` with the
        reason in ``notes``) and, with 50 buyers or more, ``clusters`` (the
        :class:`~cpm_analysis.segments.clusters.ClusterResult` behind the ``cluster`` column).
    notes : list of str
        What could not be estimated and why.
    segments : DataFrame
        The segment table behind ``segment`` and ``tier``
        (:func:`~cpm_analysis.segments.period.segment_table`: RFM scores, segment, action and
        tier of every buyer, by customer), which the segment pages show.
    """

    scored: pd.DataFrame
    metrics: dict[str, Any]
    models: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)


def _clv_block(
    data: Any,
    cutoff: pd.Timestamp,
    horizon_months: int = CLV_HORIZON_MONTHS,
    discount_rate: float = CLV_DISCOUNT_RATE,
    choice: Any = None,
    view: Any = None,
) -> tuple[pd.DataFrame, dict, dict, list[str]]:
    """Fit the period's purchase model and Gamma-Gamma on the summary's distinct rows, then score.

    The purchase model is the one the period's model choice took (``choice``, a
    :class:`~cpm_analysis.clv.selection.ModelChoice`; BG/NBD without one). A continuous model
    scores every customer through the dataset protocol (the pandas dataset in one step, a Dask
    one bucket by bucket); BG/BB and sBG score the pandas ``view``
    (:func:`cpm_analysis.clv.routes.score_route`).
    """
    from cpm_analysis.clv import (
        GammaGammaModel,
        fit_on_rows,
        score_summary,
        summary_rows,
    )
    from cpm_analysis.clv.selection import CONTINUOUS_MODELS

    name = "BG/NBD" if choice is None else choice.chosen
    rows = summary_rows(data, cutoff)
    customers = int(rows["n_customers"].sum())
    repeat_buyers = int(rows.loc[rows["frequency"] > 0, "n_customers"].sum())
    notes, models = _clv_enough(repeat_buyers)
    if notes:
        return pd.DataFrame(), models, {}, notes
    if name not in CONTINUOUS_MODELS:
        return _route_block(
            view if view is not None else data,
            cutoff,
            name,
            choice,
            horizon_months=horizon_months,
            discount_rate=discount_rate,
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bg = fit_on_rows(CONTINUOUS_MODELS[name](), rows)
        gg = fit_on_rows(GammaGammaModel(exclude_nonpositive=True), rows)
    notes.extend(_fit_notes(caught, bg, gg))
    scores = score_summary(
        data,
        cutoff,
        bg,
        gg,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
    )
    (scores,) = data.gather(scores)
    out = scores[["p_alive", "expected_purchases_90d", "clv"]]
    models.update(bgnbd=bg if name == "BG/NBD" else None, gamma_gamma=gg, purchase=bg)
    metrics = _clv_metrics(
        bg, gg, customers, repeat_buyers, out["clv"], horizon_months, discount_rate
    )
    if name != "BG/NBD":
        metrics["purchase"] = {"name": name, **metrics.pop("bgnbd")}
    metrics["model_choice"] = _choice_metrics(name, choice)
    return out, models, metrics, notes


def _choice_metrics(name: str, choice: Any) -> dict[str, Any]:
    """``metrics.json``'s ``models.model_choice``: the model used, its route and why."""
    if choice is None:
        return {"model": name, "route": "continuous", "reason": "not chosen (the default)"}
    return {
        "model": name,
        "route": str(choice.route),
        "pinned": bool(choice.pinned),
        "reason": str(choice.reason),
    }


def _route_block(
    view: Any,
    cutoff: pd.Timestamp,
    name: str,
    choice: Any,
    *,
    horizon_months: int,
    discount_rate: float,
) -> tuple[pd.DataFrame, dict, dict, list[str]]:
    """Score with BG/BB or sBG (:func:`cpm_analysis.clv.routes.score_route`)."""
    from cpm_analysis.clv.routes import score_route

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, fitted, block = score_route(
            view,
            cutoff,
            name,
            opportunity=getattr(choice, "opportunity", None),
            contract_period=getattr(choice, "contract_period", None) or "M",
            horizon_months=horizon_months,
            discount_rate=discount_rate,
        )
    notes.extend(f"lifetime value: {w.message}" for w in caught)
    models: dict[str, Any] = {"bgnbd": None, "gamma_gamma": fitted.get("gamma_gamma")}
    models["purchase"] = fitted["purchase"]
    metrics = {
        "purchase": block,
        "clv": {
            "horizon_months": horizon_months,
            "monthly_discount_rate": discount_rate,
            "total": float(out["clv"].sum()),
            "mean": float(out["clv"].mean()),
        },
        "model_choice": _choice_metrics(name, choice),
    }
    return out, models, metrics, notes


# health sentences that repeat a warning the fit issued anyway
_WARNED_ALREADY = (
    "The BG/NBD fit did not converge",
    "The Gamma-Gamma fit did not converge",
    "The Gamma-Gamma fit has q =",
)


def _fit_notes(caught: list, *models: Any) -> list[str]:
    """Collect the warnings the fits issued, then the models' other health sentences.

    The health sentences are those of the models' ``fit_warnings_`` that no warning carried
    (excluded spend, no dropout, parameters at a bound).
    """
    warned = [str(w.message) for w in caught]
    notes = [f"lifetime value: {message}" for message in warned]
    for model in models:
        notes.extend(
            f"lifetime value: {sentence}"
            for sentence in model.fit_warnings_
            if not sentence.startswith(_WARNED_ALREADY) and sentence not in warned
        )
    return notes


def _clv_enough(repeat_buyers: int) -> tuple[list[str], dict[str, Any]]:
    models: dict[str, Any] = {"bgnbd": None, "gamma_gamma": None}
    from cpm_analysis.availability import MIN_REPEAT_BUYERS

    if repeat_buyers < MIN_REPEAT_BUYERS:  # the same threshold as the report's pages
        return ["lifetime value: fewer than 20 repeat buyers, models not fitted"], models
    return [], models


def _clv_metrics(
    bg: Any,
    gg: Any,
    customers: int,
    repeat_buyers: int,
    clv: pd.Series,
    horizon_months: int = CLV_HORIZON_MONTHS,
    discount_rate: float = CLV_DISCOUNT_RATE,
) -> dict[str, Any]:
    bg_health = bg.diagnostics()
    gg_health = gg.diagnostics()
    return {
        "bgnbd": {
            "params": dict(bg.params_),
            "log_likelihood": bg.log_likelihood_,
            "customers": int(customers),
            "time_unit": "weeks",
            "converged": bg_health["converged"],
            "at_boundary": bg_health["at_boundary"],
            "no_dropout": bg_health["no_dropout"],
            "warnings": bg_health["warnings"],
        },
        "gamma_gamma": {
            "params": dict(gg.params_),
            "repeat_buyers": int(repeat_buyers),
            "fitted": int(gg.n_customers_),
            "excluded": int(gg.n_excluded_),
            "converged": gg_health["converged"],
            "at_boundary": gg_health["at_boundary"],
            "warnings": gg_health["warnings"],
        },
        "clv": {
            "horizon_months": horizon_months,
            "monthly_discount_rate": discount_rate,
            "total": float(clv.sum()),
            "mean": float(clv.mean()),
        },
    }


def _churn_block(
    data: CustomerData,
    view: Dataset,
    cutoff: pd.Timestamp,
    clv: pd.Series | None,
    segments: pd.Series,
    seed: int,
    windows: tuple[tuple[str, str], ...] = CHURN_WINDOWS,
    bgnbd: Any = None,
) -> tuple[pd.DataFrame, Any, dict, list[str]]:
    """Train the churn model out of time and score the active base at ``cutoff``.

    The P(alive) and expected-purchases features are BG/NBD's at each feature cutoff (the
    training one and ``cutoff``), whatever purchase model values the period: a feature must
    mean the same thing where the model learns it and where it is scored. At ``cutoff`` the
    period's own BG/NBD fit is reused when the period's model is BG/NBD (``bgnbd``).

    The labels and the features are per-customer steps of the dataset protocol on ``data``
    (bucket by bucket on a Dask dataset); the model is trained and scored on the gathered
    per-customer tables, and the sufficiency checks and the active base read ``view``, the
    same point in time in pandas.
    """
    from cpm_analysis.availability import lifetime_value
    from cpm_analysis.churn import (
        ChurnModel,
        churn_features,
        churn_labels,
        churn_metrics,
        risk_list,
    )
    from cpm_analysis.churn.evaluation import churn_windows, training_window
    from cpm_analysis.churn.sufficiency import churn_model as churn_check

    notes: list[str] = []
    check = churn_check(view, cutoff, windows)
    if not check.available:
        notes.append(f"churn: {check.detail}, model not trained")
        return pd.DataFrame(), None, {}, notes
    window = training_window(view.orders["order_date"].min(), cutoff, windows)
    if window is None:  # the sufficiency check says so first; kept for a direct caller
        notes.append("churn: the history is shorter than every churn window, model not trained")
        return pd.DataFrame(), None, {}, notes
    horizon, active_window = window.horizon, window.active_window
    train_cut = cutoff - horizon
    if window != churn_windows(windows)[0]:
        notes.append(f"churn: {window.describe()}, shorter than the standard: the history is short")
    # in customer order on every engine (a Dask dataset gathers its buckets one after another):
    # the model sees its training rows in the same order, so it is the same model
    y = churn_labels(data, train_cut, horizon, active_window=active_window).sort_index(
        kind="stable"
    )
    # P(alive) and expected purchases are features only where BG/NBD can be fitted (at the
    # training cutoff, hence also later): never a degenerate fit's numbers
    use_clv = lifetime_value(view, train_cut).available
    if not use_clv:
        notes.append("churn: too few repeat buyers for the P(alive) features, trained without them")
    (X,) = data.gather(churn_features(data, train_cut, clv=use_clv))
    X = X.loc[y.index]
    model = ChurnModel(random_state=seed).fit(X, y)
    (features_now,) = data.gather(
        churn_features(data, cutoff, clv=use_clv, clv_model=bgnbd if use_clv else None)
    )
    risk = risk_list(
        model,
        view,
        cutoff,
        clv=clv,
        segments=segments,
        features=features_now,
        active_window=active_window,
    )
    out = risk.set_index("customer_id")[["churn_probability", "expected_loss", "reasons"]]
    out = out.rename(columns={"reasons": "reason_codes"})
    metrics: dict[str, Any] = {
        "horizon_days": int(horizon.days),
        "active_window_days": int(active_window.days),
        "trained_at": str(train_cut.date()),
        "training_customers": int(len(y)),
        "training_churn_rate": float(y.mean()),
        "chosen_model": str(model.selected_model_),
        "scored_customers": int(len(out)),
        "mean_churn_probability": float(out["churn_probability"].mean()),
    }
    # out-of-time check of the same recipe one horizon earlier, whose outcome is known now
    earlier = train_cut - horizon
    try:
        y_old = churn_labels(data, earlier, horizon, active_window=active_window)
        y_old = y_old.sort_index(kind="stable")
        if y_old.nunique() == 2:
            (X_old,) = data.gather(churn_features(data, earlier, clv=use_clv))
            old = ChurnModel(random_state=seed).fit(X_old.loc[y_old.index], y_old)
            p = old.predict_proba(X)[:, 1]
            metrics["out_of_time"] = {
                "trained_at": str(earlier.date()),
                "scored_at": str(train_cut.date()),
                **churn_metrics(y.to_numpy(), p),
            }
    except ValueError as err:  # not enough history for the check: say so, never fake it
        notes.append(f"churn: no out-of-time check ({err})")
    return out, model, metrics, notes


def score_customers(
    data: CustomerData,
    period: str | Period,
    *,
    seed: int = 0,
    horizon_months: int = CLV_HORIZON_MONTHS,
    discount_rate: float = CLV_DISCOUNT_RATE,
    churn_windows: tuple[tuple[str, str], ...] = CHURN_WINDOWS,
    tier_shares: tuple[float, ...] = TIER_SHARES,
    segment_map: SegmentMapSource | None = None,
    model_choice: ModelChoice | None = None,
) -> ScoredPeriod:
    """Score every customer at a period's cutoff: segment, tier, cluster, CLV, churn risk.

    Parameters
    ----------
    data : Dataset or DaskDataset
        The data, of either engine (the dataset protocol, :mod:`cpm_analysis.data.protocol`);
        only ``data.as_of(period.end)`` is read. The RFM measures and the lifetime-value stage
        (summary, fits on its distinct rows, scoring) run bucket by bucket on a Dask dataset;
        the clusters and the churn model take the per-customer tables in pandas
        (``collect``). The results are the same on both engines.
    period : str or Period
        The reporting period (``"2025-06"``, ``"2025-Q2"``, ``"2025"``).
    seed : int
        Seed of every random step (clustering, churn model).
    horizon_months : int
        Months of future value in ``clv`` (``clv.horizon_months``, default 12).
    discount_rate : float
        Monthly discount rate of ``clv`` (``clv.monthly_discount_rate``, default 0.01).
    churn_windows : tuple of (str, str)
        ``(horizon, active window)`` pairs, standard first (``churn.windows``); the model uses
        the first the history can train out of time.
    tier_shares : tuple of float
        Value shares of the tiers A, B, C (``segments.tier_shares``, default 0.8, 0.15, 0.05).
    segment_map : optional
        A segment map (``segments.map``; see :func:`cpm_analysis.segments.load_segment_map`);
        default the built-in one.
    model_choice : ModelChoice, optional
        The period's purchase-model choice
        (:func:`cpm_analysis.clv.selection.choose_value_model`): the model fitted for
        ``p_alive``, ``expected_purchases_90d`` and ``clv`` (its name, its route, why, in
        ``metrics["models"]["model_choice"]``); BG/NBD without one.

    Returns
    -------
    ScoredPeriod

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(600, seed=1).to_dataset()
    >>> result = score_customers(ds, "2025-06", seed=0)
    >>> int(result.scored["customer_id"].is_unique)
    1

    Notes
    -----
    OpenMP is limited to one thread while scoring: the per-period tables are small, and on a
    busy machine scikit-learn's multi-threaded gradient boosting was 10x slower than one thread.
    """
    data = customer_data(data, "data")
    period = parse_period(period)
    with threadpool_limits(limits=1, user_api="openmp"):
        return _score(
            data,
            period,
            seed,
            horizon_months=horizon_months,
            discount_rate=discount_rate,
            churn_windows=tuple(churn_windows),
            tier_shares=tuple(tier_shares),
            segment_map=segment_map,
            model_choice=model_choice,
        )


def scoring_options(config: CPMConfig) -> dict[str, Any]:
    """Return the keyword arguments of :func:`score_customers` a configuration sets.

    Examples
    --------
    >>> scoring_options(DEFAULT_CONFIG)["horizon_months"]
    12
    """
    return {
        "horizon_months": config.clv.horizon_months,
        "discount_rate": config.clv.monthly_discount_rate,
        "churn_windows": config.churn.pairs,
        "tier_shares": config.segments.tier_shares,
        "segment_map": config.segments.segment_map,
    }


def _score(
    data: CustomerData,
    period: Period,
    seed: int,
    *,
    horizon_months: int = CLV_HORIZON_MONTHS,
    discount_rate: float = CLV_DISCOUNT_RATE,
    churn_windows: tuple[tuple[str, str], ...] = CHURN_WINDOWS,
    tier_shares: tuple[float, ...] = TIER_SHARES,
    segment_map: SegmentMapSource | None = None,
    model_choice: ModelChoice | None = None,
) -> ScoredPeriod:
    from cpm_analysis.segments import cluster_customers, load_segment_map, rfm_scores
    from cpm_analysis.segments.period import segment_table

    cutoff = period.end
    at_cutoff = data.as_of(cutoff)  # the protocol's view: per-customer steps run on it
    view = at_cutoff.collect()  # the same view in pandas, for the steps that need all rows
    notes: list[str] = []
    models: dict[str, Any] = {}
    base = view.customers.set_index("customer_id")
    scored = pd.DataFrame(index=base.index)
    for column in ("owner_id", "region", "channel"):
        if column in base.columns:
            scored[column] = base[column]

    scores = rfm_scores(at_cutoff, cutoff)
    seg_map = load_segment_map(segment_map)
    segments = segment_table(
        at_cutoff, cutoff, segment_map=seg_map, tier_shares=tier_shares, scores=scores
    )
    for column in ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"):
        scored[column] = segments[column]
    scored["segment"] = segments["segment"].astype("str")
    scored["tier"] = segments["tier"].astype("str")
    scored["recommended_action"] = segments["action"].astype("str")
    groups = dict(seg_map.groups)
    scored["segment_group"] = scored["segment"].map(groups)
    metrics: dict[str, Any] = {
        "segments": {
            "customers": {k: int(v) for k, v in scored["segment"].value_counts().items()},
            "tiers": {k: int(v) for k, v in scored["tier"].value_counts().items()},
        }
    }
    if len(scores) >= 50:
        clusters = cluster_customers(scores, random_state=seed)
        scored["cluster"] = clusters.labels.astype("Int64")
        scored["cluster_name"] = scored["cluster"].map(clusters.names)
        metrics["segments"]["clusters"] = {"k": int(clusters.k)}
        models["clusters"] = clusters
    else:
        notes.append("clusters: fewer than 50 buyers, not clustered")

    clv_frame, clv_models, clv_metrics, clv_notes = _clv_block(
        at_cutoff, cutoff, horizon_months, discount_rate, choice=model_choice, view=view
    )
    models.update(clv_models)
    notes += clv_notes
    for column in clv_frame.columns:
        scored[column] = clv_frame[column]
    churn_frame, churn_model, churn_metrics_, churn_notes = _churn_block(
        at_cutoff,
        view,
        cutoff,
        clv_frame["clv"] if "clv" in clv_frame else None,
        segments["segment"],
        seed,
        churn_windows,
        bgnbd=models.get("bgnbd"),
    )
    notes += churn_notes
    models["churn"] = churn_model
    for column in churn_frame.columns:
        scored[column] = churn_frame[column]
    if "churn_probability" in scored:  # no loyalty reward for a customer flagged as leaving
        from cpm_analysis.actions import risk_aware_actions

        scored["recommended_action"] = risk_aware_actions(
            scored["recommended_action"], scored["churn_probability"]
        )
    metrics["models"] = {**clv_metrics, **({"churn": churn_metrics_} if churn_metrics_ else {})}
    metrics["notes"] = notes

    scored = scored.reset_index()
    present = [c for c in SCORED_COLUMNS if c in scored.columns]
    scored = scored[present].sort_values("customer_id", kind="stable").reset_index(drop=True)
    for column in ("clv", "p_alive", "expected_purchases_90d", "churn_probability"):
        if column in scored:
            scored[column] = scored[column].astype("float64")
    return ScoredPeriod(
        scored=scored, metrics=metrics, models=models, notes=notes, segments=segments
    )
