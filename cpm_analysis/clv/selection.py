"""Which purchase model a period uses, chosen on a holdout: :func:`choose_value_model`.

Every period the candidates that apply to the data are fitted on a calibration window (the
orders up to ``weeks`` before the period's end) and their predictions of the holdout (the last
``weeks``) are set against what the customers did, in total, by calibration frequency group
(0, 1, ..., 6, 7+ repeat purchases, as in Fader, Hardie & Lee 2005, figure 4) and week by week
(the cumulative tracking series). The rule, stated once here:

1. **Route.** Data whose customers table has contract ends (``customers.churned_at``, at least
   one on or before the cutoff) is *contractual*: the dropout is observed, so the
   shifted-beta-geometric model (sBG) is the only candidate. Data whose customers transact at
   most once per calendar year (or quarter) -- no more than :data:`DISCRETE_MAX_SHARE` of the
   customer-years with a transaction hold two transaction days or more, over at least
   :data:`DISCRETE_MIN_OPPORTUNITIES` opportunities -- is *discrete*: BG/BB on yearly (or
   quarterly) opportunities. Anything else is *continuous*: BG/NBD, Pareto/NBD and MBG/NBD.
2. **Evidence.** Each candidate's holdout error by frequency group is
   ``sum_g |predicted_g - actual_g| / sum_g actual_g`` (the groups' absolute errors over the
   holdout purchases); the total error is ``predicted / actual - 1``.
3. **Choice.** The lowest group error wins; a candidate within :data:`TIE_MARGIN` (two
   percentage points) of the lowest is a near tie, and near ties go to the simpler model, in
   the order of :data:`SIMPLICITY` (BG/NBD, Pareto/NBD, MBG/NBD). A candidate that fails to fit
   (or gives a non-finite prediction) is listed as failed with its error, never fatal. With no
   holdout evidence (too few repeat buyers before the holdout) the route's default is used and
   the reason says so.
4. **Pin.** ``clv.model`` in the configuration (a name of :data:`MODEL_NAMES`, or ``"auto"``)
   pins the model: the comparison is still computed and shown, the pinned model is used and
   the reason is "pinned in the configuration".

Fits run on the distinct rows of each summary with their counts as weights.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(800, seed=3).to_dataset()
>>> choice = choose_value_model(ds, "2025-06-30")
>>> choice.route, choice.chosen in SIMPLICITY
('continuous', True)
>>> list(choice.table.columns[:4])
['model', 'status', 'group_error', 'total_error']
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cpm_analysis.clv.base import PURCHASE_COLUMNS, PurchaseModel
from cpm_analysis.clv.bgbb import BetaGeoBetaBinomModel
from cpm_analysis.clv.bgnbd import BetaGeoModel
from cpm_analysis.clv.mbgnbd import ModifiedBetaGeoModel
from cpm_analysis.clv.paretonbd import ParetoNBDModel
from cpm_analysis.clv.sbg import (
    PERIOD_DAYS,
    PERIOD_UNITS,
    ShiftedBetaGeoModel,
    contract_period_code,
    contract_periods,
)
from cpm_analysis.clv.sbg import (
    Period as SBGPeriod,
)
from cpm_analysis.clv.summary import period_summary, summary_cutoff, transaction_days
from cpm_analysis.clv.value import calibration_holdout_report
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.i18n import M_, N_, join

if TYPE_CHECKING:
    from cpm_analysis.data import Dataset
    from cpm_analysis.periods import Cutoff

__all__ = [
    "CONTINUOUS_MODELS",
    "DISCRETE_MAX_SHARE",
    "MODEL_NAMES",
    "SIMPLICITY",
    "TIE_MARGIN",
    "ModelChoice",
    "choose_value_model",
    "cumulative_transactions",
    "discrete_opportunities",
    "discrete_summary",
    "model_class",
]

ModelName = Literal["BG/NBD", "Pareto/NBD", "MBG/NBD", "BG/BB", "sBG"]
MODEL_NAMES: tuple[str, ...] = ("BG/NBD", "Pareto/NBD", "MBG/NBD", "BG/BB", "sBG")
"""The candidate purchase models, by the name the pages and ``clv.model`` use."""
CONTINUOUS_MODELS: dict[str, type] = {
    "BG/NBD": BetaGeoModel,
    "Pareto/NBD": ParetoNBDModel,
    "MBG/NBD": ModifiedBetaGeoModel,
}
"""The continuous-time candidates and their classes (fitted on the weekly summary)."""
SIMPLICITY: tuple[str, ...] = ("BG/NBD", "Pareto/NBD", "MBG/NBD")
"""Near ties go to the first of these: BG/NBD has a closed-form likelihood and is the house
default, Pareto/NBD needs a hypergeometric tail, MBG/NBD adds a dropout at the first purchase."""
TIE_MARGIN = 0.02
"""Candidates whose group error is within this (absolute) of the lowest are near ties."""
DISCRETE_MAX_SHARE = 0.02
"""Largest share of customer-periods with two transaction days or more for discrete data."""
DISCRETE_MIN_OPPORTUNITIES = 3
"""Fewest opportunities (calendar years or quarters) observed for the discrete route."""
DISCRETE_UNITS = {"Y": N_("year"), "Q": N_("quarter")}
"""The opportunity units the discrete route tries, coarsest first."""
NOT_APPLICABLE = M_("not applicable")
"""The status of a candidate the route leaves out."""
_WORDS = (N_("week"), N_("month"), N_("contractual"), N_("discrete"), N_("continuous"))
"""Units and routes that the sentences fill in (marked here for the catalogue)."""
MIN_REPEAT_BUYERS = 20
"""Repeat buyers the calibration window needs for a comparison (as the report's pages)."""
CONTRACT_PERIOD: Literal["M"] = "M"
"""The default contract period of the contractual route (monthly renewals;
``clv.contract_period`` sets another)."""
MAX_FREQUENCY = 7
"""Calibration frequencies from this value up share the last group (``"7+"``)."""

_NS_PER_DAY = 86_400_000_000_000


def model_class(name: str) -> type:
    """Return the class of the candidate called ``name`` (one of :data:`MODEL_NAMES`).

    Raises
    ------
    ValueError
        Naming the valid names.

    Examples
    --------
    >>> model_class("Pareto/NBD").__name__
    'ParetoNBDModel'
    """
    match name:
        case "BG/NBD" | "Pareto/NBD" | "MBG/NBD":
            return CONTINUOUS_MODELS[name]
        case "BG/BB":
            return BetaGeoBetaBinomModel
        case "sBG":
            return ShiftedBetaGeoModel
        case _:
            raise ValueError(
                f"model: expected one of {', '.join(repr(m) for m in MODEL_NAMES)}, got {name!r}"
            )


@dataclass
class ModelChoice:
    """What :func:`choose_value_model` returns: the comparison, the model chosen and why.

    Attributes
    ----------
    route : {"continuous", "discrete", "contractual"}
        Which family of models applies (see the module docstring).
    chosen : str
        The model the period uses (a name of :data:`MODEL_NAMES`).
    reason : str
        One sentence: which model and why.
    table : DataFrame
        One row per candidate: ``model``, ``status`` (``chosen``, ``fitted``, ``failed``, ``not
        applicable``), ``group_error``, ``total_error``, ``predicted``, ``actual``,
        ``log_likelihood``, ``parameters`` and ``note`` (why a candidate failed or does not
        apply).
    by_group : DataFrame
        Holdout purchases by calibration frequency group (index ``"0"`` ... ``"7+"``,
        ``"total"``): ``customers``, ``actual`` and one column per fitted candidate.
    tracking : DataFrame
        Cumulative repeat transactions since the first purchase of the calibration cohort,
        indexed by date (weekly; yearly or quarterly on the discrete route): ``actual`` and one
        column per fitted candidate.
    models : dict
        The candidates fitted on the calibration window, by name.
    pinned : bool
        Whether ``chosen`` was pinned by the configuration.
    unit : str
        Unit of the holdout (``"weeks"``, ``"years"``, ``"quarters"``, ``"months"``).
    holdout : int
        Length of the holdout in that unit.
    calibration_end, observation_end : Timestamp or None
        The end of the calibration window and of the holdout (``None`` without evidence).
    opportunity : str or None
        ``"Y"`` or ``"Q"`` on the discrete route.
    contract_period : str or None
        The contract period's code (``"W"``, ``"M"``, ``"Q"``, ``"Y"``, from
        ``contract_period=``) with which sBG is fitted and scored (the contractual route, or
        a pinned sBG).
    """

    route: str
    chosen: str
    reason: str
    table: pd.DataFrame
    by_group: pd.DataFrame
    tracking: pd.DataFrame
    models: dict[str, Any] = field(default_factory=dict)
    pinned: bool = False
    unit: str = "weeks"
    holdout: int = 0
    calibration_end: pd.Timestamp | None = None
    observation_end: pd.Timestamp | None = None
    opportunity: str | None = None
    contract_period: str | None = None

    @property
    def model(self) -> Any:
        """The chosen model fitted on the calibration window (``None`` when it was not)."""
        return self.models.get(self.chosen)

    @property
    def group_caption(self) -> str:
        """Return the caption of :attr:`by_group` on this route.

        Examples
        --------
        >>> ModelChoice("contractual", "sBG", "", pd.DataFrame(), pd.DataFrame(),
        ...             pd.DataFrame()).group_caption
        'Contracts still running at the end of the holdout, by renewals made before it'
        """
        if self.route == "contractual":
            return N_(
                "Contracts still running at the end of the holdout, by renewals made before it"
            )
        return N_("Holdout purchases by calibration frequency, each model")

    def comparison(self) -> pd.DataFrame:
        """Return the comparison table as the CLV page shows it (deviations in percent).

        Examples
        --------
        >>> from cpm_analysis.synthetic import generate
        >>> choice = choose_value_model(generate(400, seed=2).to_dataset(), "2025-06-30")
        >>> list(choice.comparison().columns)[:3]
        ['model', 'status', 'deviation by frequency group (%)']
        """
        table = self.table
        return pd.DataFrame(
            {
                "model": table["model"],
                "status": table["status"],
                "deviation by frequency group (%)": 100 * table["group_error"],
                "total deviation (%)": 100 * table["total_error"],
                f"predicted ({self.holdout} {self.unit})": table["predicted"],
                "actual": table["actual"],
                "parameters (calibration fit)": table["parameters"],
                "note": table["note"],
            }
        )


_TABLE_COLUMNS = [
    "model",
    "status",
    "group_error",
    "total_error",
    "predicted",
    "actual",
    "log_likelihood",
    "parameters",
    "note",
]


def _row(name: str, status: str, note: str = "", **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_TABLE_COLUMNS, np.nan)
    row.update(model=name, status=status, note=note, parameters="")
    row.update(values)
    return row


def _weighted_rows(summary: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Return the distinct rows of ``columns`` with their counts in ``n_customers``."""
    grouped = summary.groupby(list(columns), sort=True).size().rename("n_customers").reset_index()
    grouped.attrs = dict(summary.attrs)
    return grouped


def _fit_weighted(model: Any, summary: pd.DataFrame, columns: tuple[str, ...]) -> Any:
    rows = _weighted_rows(summary, columns)
    return model.fit(rows, sample_weight=rows["n_customers"].to_numpy(dtype=np.float64))


def _group_error(report: pd.DataFrame) -> tuple[float, float]:
    groups = report.drop(index="total")
    actual = float(report.loc["total", "actual"])
    predicted = float(report.loc["total", "predicted"])
    if not np.isfinite(predicted) or not np.isfinite(groups["predicted"]).all():
        raise ValueError("the holdout prediction is not finite")
    if actual <= 0:
        return np.nan, np.nan
    error = float(np.abs(groups["predicted"] - groups["actual"]).sum()) / actual
    return error, predicted / actual - 1.0


def _parameters(model: Any) -> str:
    return ", ".join(f"{k} = {v:.3g}" for k, v in model.params_.items())


# --- the weekly tracking series ---------------------------------------------------------------


def cumulative_transactions(
    models: Mapping[str, PurchaseModel],
    orders: pd.DataFrame | Dataset,
    *,
    observation_end: Cutoff,
    calibration_end: Cutoff | None = None,
    time_unit: str = "W",
    step_days: int = 1,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Cumulative repeat transactions of the calibration cohort, actual and expected by each model.

    The tracking series of Fader, Hardie & Lee (2005): the cohort of customers whose first
    purchase is at or before ``calibration_end`` (everyone without it); each customer is
    expected to make ``model.expected_purchases_new_customer(t)`` repeat purchases by ``t``
    after their first purchase, so the expected total on day ``d`` is the convolution of the
    daily count of first purchases with that curve. Transactions are counted as in
    :func:`~cpm_analysis.clv.rfm_summary` (paid orders, one per customer and day). Vectorised:
    one curve per model over the days, one convolution.

    Parameters
    ----------
    models : dict
        Name to a continuous purchase model fitted in ``time_unit``.
    orders : DataFrame or Dataset
        The orders.
    observation_end, calibration_end :
        As for :func:`~cpm_analysis.clv.rfm_summary`.
    time_unit : {"W", "D"}
        The unit the models were fitted in.
    step_days : int
        Keep every ``step_days``-th day (7: weekly), counted back from ``observation_end``.
    customer_col, date_col, amount_col : str
        Column names in ``orders``.

    Returns
    -------
    DataFrame
        Indexed by date: ``actual`` and one column per model; ``attrs["calibration_end"]``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=2).to_dataset()
    >>> bg = BetaGeoModel().fit(period_summary(ds, "2025-06-30"))
    >>> series = cumulative_transactions({"BG/NBD": bg}, ds, observation_end="2025-06-30",
    ...                                  step_days=7)
    >>> list(series.columns)
    ['actual', 'BG/NBD']
    """
    from cpm_analysis.clv.summary import days_per_unit

    unit_days = days_per_unit(time_unit)
    tx = transaction_days(
        orders,
        observation_end=observation_end,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
    )
    day, start = tx["day"], tx["start"]
    first_day = day[start]
    cut_day = (
        int(tx["obs_day"])
        if calibration_end is None
        else summary_cutoff(calibration_end, "calibration_end").value // _NS_PER_DAY
    )
    in_cohort = first_day <= cut_day
    cohort_tx = np.repeat(in_cohort, np.diff(np.append(start, len(day))))
    is_first = np.zeros(len(day), dtype=bool)
    is_first[start] = True
    firsts = first_day[in_cohort]
    if len(firsts) == 0:
        raise ValueError("orders: no customer made a first purchase in the period")
    d0 = int(firsts.min())
    span = int(tx["obs_day"]) - d0 + 1
    repeat_days = day[cohort_tx & ~is_first]
    out = {"actual": np.cumsum(np.bincount(repeat_days - d0, minlength=span)[:span])}
    new_per_day = np.bincount(firsts - d0, minlength=span).astype(np.float64)
    for name, model in models.items():
        curve = model.expected_purchases_new_customer(np.arange(span) / unit_days)
        if span > 2000:
            from scipy.signal import fftconvolve

            out[name] = fftconvolve(new_per_day, curve)[:span]
        else:
            # an array of times gives an array (the float of the return type is for a scalar t)
            out[name] = np.convolve(new_per_day, curve)[:span]  # type: ignore[arg-type]
    keep = np.arange(span - 1, -1, -max(int(step_days), 1))[::-1]
    frame = pd.DataFrame(
        {k: np.asarray(v, dtype=np.float64)[keep] for k, v in out.items()},
        index=pd.DatetimeIndex(pd.to_datetime(d0 + keep, unit="D"), name="date"),
    )
    frame.attrs["calibration_end"] = pd.to_datetime(cut_day, unit="D")
    return frame


# --- discrete opportunities -------------------------------------------------------------------


def _period_codes(days: np.ndarray, unit: str) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months // 12 if unit == "Y" else months // 3


def _period_end(code: int, unit: str) -> pd.Timestamp:
    months = (code + 1) * (12 if unit == "Y" else 3)
    first_next = np.datetime64(int(months), "M").astype("datetime64[D]")
    return pd.Timestamp(first_next) - pd.Timedelta(1, "ns")


def discrete_opportunities(
    data: pd.DataFrame | Dataset, cutoff: Cutoff
) -> tuple[str | None, dict[str, Any]]:
    """Whether the transactions come at discrete opportunities (years or quarters), and which.

    For each unit of :data:`DISCRETE_UNITS` (coarsest first), the share of customer-periods
    with a transaction that hold two transaction days or more; the data is discrete in the
    first unit where that share is at most :data:`DISCRETE_MAX_SHARE` and at least
    :data:`DISCRETE_MIN_OPPORTUNITIES` complete periods follow the first purchase period.

    Returns
    -------
    unit : str or None
        ``"Y"``, ``"Q"`` or ``None`` (continuous).
    evidence : dict
        ``share`` (by unit) and ``opportunities`` (by unit).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate_discrete
    >>> sd = generate_discrete(500, seed=1)
    >>> discrete_opportunities(sd.to_dataset(), "2024-12-31")[0]
    'Y'
    """
    tx = transaction_days(data, observation_end=cutoff)
    evidence: dict[str, Any] = {"share": {}, "opportunities": {}}
    if len(tx["day"]) == 0:
        return None, evidence
    for unit in DISCRETE_UNITS:
        _, p, days, _ = _period_cells(tx, unit)
        share = float((days > 1).mean())
        last = _last_complete(summary_cutoff(cutoff, "cutoff"), unit)
        opportunities = int(last - p.min())
        evidence["share"][unit] = share
        evidence["opportunities"][unit] = opportunities
        if share <= DISCRETE_MAX_SHARE and opportunities >= DISCRETE_MIN_OPPORTUNITIES:
            return unit, evidence
    return None, evidence


def _period_cells(
    tx: dict[str, Any], unit: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct (customer, period) cells with a transaction, and each first period.

    :func:`~cpm_analysis.clv.summary.transaction_days` sorts the transactions by customer and
    day, so a cell is a run of equal (code, period). Returns ``c`` and ``p`` (one entry per
    cell, sorted by customer then period), ``days`` (transaction days in each cell) and
    ``first`` (each customer's first period; the int64 maximum without a transaction).
    """
    code = tx["code"]
    periods = _period_codes(tx["day"], unit)
    first = np.full(len(tx["customers"]), np.iinfo(np.int64).max)
    new = np.ones(len(code), dtype=bool)
    new[1:] = (code[1:] != code[:-1]) | (periods[1:] != periods[:-1])
    starts = np.flatnonzero(new)
    c, p = code[starts].astype(np.int64), periods[starts]
    days = np.diff(np.append(starts, len(code)))
    np.minimum.at(first, c, p)
    return c, p, days, first


def _last_complete(cutoff: pd.Timestamp, unit: str) -> int:
    day = np.array([cutoff.value // _NS_PER_DAY], dtype=np.int64)
    code = int(_period_codes(day, unit)[0])
    return code if _period_end(code, unit) <= cutoff else code - 1


def discrete_summary(
    data: pd.DataFrame | Dataset, cutoff: Cutoff, unit: str, *, holdout: int = 0
) -> pd.DataFrame:
    """Return the BG/BB summary of the orders: opportunities are calendar years or quarters.

    A customer's first purchase period is their period 0; ``T`` counts the complete periods
    after it up to the calibration end (the last complete period at ``cutoff``, less
    ``holdout`` periods), ``frequency`` the periods among them with a transaction and
    ``recency`` the last of them (0 without any). With ``holdout`` > 0, ``frequency_holdout``
    counts the holdout periods with a transaction and ``duration_holdout`` is ``holdout``, so
    that :func:`~cpm_analysis.clv.calibration_holdout_report` reads it as it reads a weekly
    summary. Orders in an incomplete last period are left out.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate_discrete
    >>> sd = generate_discrete(300, seed=1)
    >>> s = discrete_summary(sd.to_dataset(), "2024-12-31", "Y")
    >>> int(s["T"].max()), bool((s["frequency"] == sd.truth["summary"]["frequency"]).all())
    (6, True)
    """
    if unit not in DISCRETE_UNITS:
        raise ValueError(f"unit: expected one of {', '.join(DISCRETE_UNITS)}, got {unit!r}")
    tx = transaction_days(data, observation_end=cutoff)
    last = _last_complete(summary_cutoff(cutoff, "cutoff"), unit)
    cal = last - int(holdout)
    c, p, _, first = _period_cells(tx, unit)
    keep = p <= last
    c, p = c[keep], p[keep]
    rel = p - first[c]
    in_cal = (rel > 0) & (p <= cal)
    n_cust = len(tx["customers"])
    frequency = np.bincount(c[in_cal], minlength=n_cust)
    recency = np.zeros(n_cust, dtype=np.int64)
    np.maximum.at(recency, c[in_cal], rel[in_cal])
    customers = np.flatnonzero(first <= cal)
    out = pd.DataFrame(
        {
            "frequency": frequency[customers].astype(np.float64),
            "recency": recency[customers].astype(np.float64),
            "T": (cal - first[customers]).astype(np.float64),
        },
        index=pd.Index(tx["customers"].take(customers), name="customer_id"),
    )
    if holdout:
        in_hold = p > cal
        out["frequency_holdout"] = np.bincount(c[in_hold], minlength=n_cust)[customers]
        out["duration_holdout"] = float(holdout)
    out.attrs["opportunity"] = unit
    return out


def _discrete_tracking(model: Any, data: Any, cutoff: Any, unit: str, holdout: int):
    """Cumulative repeat transactions by opportunity: actual and BG/BB's expectation."""
    tx = transaction_days(data, observation_end=cutoff)
    last = _last_complete(summary_cutoff(cutoff, "cutoff"), unit)
    c, p, _, first = _period_cells(tx, unit)
    cohort = first <= last - holdout
    p0 = int(first[cohort].min())
    span = int(last - p0 + 1)
    repeat = cohort[c] & (p > first[c]) & (p <= last)
    actual = np.cumsum(np.bincount(p[repeat] - p0, minlength=span)[:span])
    births = np.bincount(first[cohort] - p0, minlength=span).astype(np.float64)
    curve = np.asarray(model.expected_purchases_new_customer(np.arange(span)), dtype=np.float64)
    expected = np.convolve(births, curve)[:span]
    months = (p0 + np.arange(1, span + 1)) * (12 if unit == "Y" else 3)
    ends = months.astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
    frame = pd.DataFrame(
        {"actual": actual.astype(np.float64), "BG/BB": expected},
        index=pd.DatetimeIndex(ends.astype("datetime64[ns]"), name="date"),
    )
    frame.attrs["calibration_end"] = pd.Timestamp(ends[span - 1 - holdout])
    return frame


# --- the comparison ---------------------------------------------------------------------------


def _is_contractual(data: Any, cutoff: pd.Timestamp) -> bool:
    customers = getattr(data, "customers", None)
    if not isinstance(customers, pd.DataFrame) or "churned_at" not in customers.columns:
        return False
    ended = pd.to_datetime(customers["churned_at"], errors="coerce")
    return bool((ended <= cutoff).any())


def _repeat_buyers(summary: pd.DataFrame) -> int:
    return int((summary["frequency"] > 0).sum())


def _fit_candidate(fit: Any) -> tuple[Any, str]:
    """Run ``fit()``; return the model (``None`` when it raised) and what went wrong, in words.

    A fit that did not converge is returned with its reason: its holdout numbers are shown, but
    it is not a candidate of the choice.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = fit()
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as err:
        return None, f"the fit failed: {err}"
    if not getattr(model, "converged_", True):
        said = getattr(model, "fit_message_", "") or (str(caught[0].message) if caught else "")
        if not said:
            return model, M_("the fit did not converge")
        return model, M_("the fit did not converge (%(detail)s)", detail=said)
    return model, ""


def _evaluate(
    name: str, fit: Any, summary: pd.DataFrame, evidence: dict[str, Any], report_of: Any = None
) -> pd.DataFrame | None:
    """Fit one candidate, check it on the holdout and add its row; return its report."""
    model, failure = _fit_candidate(fit)
    if model is None:
        evidence["rows"].append(_row(name, M_("failed"), failure))
        return None
    try:
        report = (
            calibration_holdout_report(model, summary, max_frequency=MAX_FREQUENCY)
            if report_of is None
            else report_of(model)
        )
        group, total = _group_error(report)
    except (ValueError, ArithmeticError) as err:
        evidence["rows"].append(
            _row(name, M_("failed"), M_("the holdout prediction failed: %(error)s", error=err))
        )
        return None
    evidence["rows"].append(
        _row(
            name,
            M_("failed") if failure else M_("fitted"),
            failure,
            group_error=group,
            total_error=total,
            predicted=float(report.loc["total", "predicted"]),
            actual=float(report.loc["total", "actual"]),
            log_likelihood=float(model.log_likelihood_),
            parameters=_parameters(model),
        )
    )
    if not failure:
        evidence["models"][name] = model
    return report


def _evidence(unit: str, holdout: int, calibration_end: Any) -> dict[str, Any]:
    """Return a route's empty evidence: its holdout, and no rows, models or tracking yet."""
    return {
        "unit": unit,
        "holdout": holdout,
        "calibration_end": calibration_end,
        "rows": [],
        "models": {},
        "by_group": None,
        "tracking": None,
    }


def _continuous(
    data: Any, cutoff: pd.Timestamp, weeks: int, names: tuple[str, ...]
) -> dict[str, Any]:
    calibration_end = cutoff - pd.Timedelta(weeks=weeks)
    summary = period_summary(data, cutoff, calibration_end=calibration_end)
    evidence = _evidence("weeks", int(weeks), calibration_end)
    if _repeat_buyers(summary) < MIN_REPEAT_BUYERS:
        evidence["missing"] = M_(
            "fewer than %(n)s repeat buyers before the %(weeks)s-week holdout "
            "(calibration end %(date)s)",
            n=MIN_REPEAT_BUYERS,
            weeks=weeks,
            date=f"{calibration_end:%Y-%m-%d}",
        )
        return evidence
    reports = {}
    for name in names:
        report = _evaluate(
            name,
            lambda name=name: _fit_weighted(CONTINUOUS_MODELS[name](), summary, PURCHASE_COLUMNS),
            summary,
            evidence,
        )
        if report is not None:
            reports[name] = report
    evidence["by_group"] = _by_group(reports)
    if evidence["models"]:
        evidence["tracking"] = cumulative_transactions(
            evidence["models"],
            data,
            observation_end=cutoff,
            calibration_end=calibration_end,
            step_days=7,
        )
    return evidence


def _by_group(reports: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if not reports:
        return pd.DataFrame(columns=["customers", "actual"])
    first = next(iter(reports.values()))
    out = first[["customers", "actual"]].copy()
    for name, report in reports.items():
        out[name] = report["predicted"]
    return out


def _discrete(data: Any, cutoff: pd.Timestamp, unit: str, opportunities: int) -> dict[str, Any]:
    holdout = max(1, opportunities // 3)
    summary = discrete_summary(data, cutoff, unit, holdout=holdout)
    cal_code = _last_complete(cutoff, unit) - holdout
    evidence = _evidence(DISCRETE_UNITS[unit] + "s", holdout, _period_end(cal_code, unit))
    if _repeat_buyers(summary) < MIN_REPEAT_BUYERS:
        evidence["missing"] = M_(
            "fewer than %(n)s repeat buyers before the %(holdout)s-%(unit)s holdout",
            n=MIN_REPEAT_BUYERS,
            holdout=holdout,
            unit=M_(unit),
        )
        return evidence
    report = _evaluate(
        "BG/BB",
        lambda: _fit_weighted(BetaGeoBetaBinomModel(), summary, PURCHASE_COLUMNS),
        summary,
        evidence,
    )
    if report is None or "BG/BB" not in evidence["models"]:
        return evidence
    evidence["by_group"] = _by_group({"BG/BB": report})
    model = evidence["models"]["BG/BB"]
    evidence["tracking"] = _discrete_tracking(model, data, cutoff, unit, holdout)
    return evidence


def _contract_holdout(
    model: Any, start: pd.DataFrame, end: pd.DataFrame, lengths: np.ndarray
) -> pd.DataFrame:
    """Contracts running at the calibration end still running at the cutoff, by renewals."""
    T = start["T"].to_numpy(dtype=np.float64)
    ahead = np.maximum(np.floor(lengths + 1e-9) - T, 0.0)
    alive = model.survival(T + ahead) / model.survival(T)
    actual = (~end["churned"].to_numpy(dtype=bool)).astype(np.float64)
    group = np.minimum(T, MAX_FREQUENCY).astype(np.int64)
    labels = [str(i) for i in range(MAX_FREQUENCY)] + [f"{MAX_FREQUENCY}+"]
    report = pd.DataFrame(
        {
            "customers": np.bincount(group, minlength=MAX_FREQUENCY + 1),
            "actual": np.bincount(group, weights=actual, minlength=MAX_FREQUENCY + 1),
            "predicted": np.bincount(group, weights=alive, minlength=MAX_FREQUENCY + 1),
        },
        index=pd.Index(labels, name="renewals"),
    )
    report.loc["total"] = report.sum()
    return report


def _contractual(
    data: Any, cutoff: pd.Timestamp, weeks: int, period: SBGPeriod = CONTRACT_PERIOD
) -> dict[str, Any]:
    days = PERIOD_DAYS[period]
    periods = max(1, round(weeks * 7 / days))
    calibration_end = cutoff - pd.Timedelta(days=periods * days)
    evidence = _evidence(PERIOD_UNITS[period], periods, calibration_end)
    customers = data.customers
    start = contract_periods(customers, calibration_end, period=period)
    if not start["churned"].any():
        evidence["missing"] = M_(
            "no contract ended before %(date)s", date=f"{calibration_end:%Y-%m-%d}"
        )
        return evidence
    running = start.loc[~start["churned"].to_numpy(dtype=bool)]
    end = contract_periods(customers, cutoff, period=period).reindex(running.index)
    signup = pd.to_datetime(customers.set_index("customer_id")["signup_date"]).reindex(
        running.index
    )
    lengths = ((cutoff - signup).dt.total_seconds() / 86400.0 / days).to_numpy()
    report = _evaluate(
        "sBG",
        lambda: _fit_weighted(ShiftedBetaGeoModel(), start, ("T", "churned")),
        start,
        evidence,
        report_of=lambda model: _contract_holdout(model, running, end, lengths),
    )
    if report is None:
        return evidence
    evidence["by_group"] = _by_group({"sBG": report})
    if "sBG" in evidence["models"]:
        evidence["tracking"] = _contract_tracking(
            evidence["models"]["sBG"], customers, calibration_end, cutoff, days
        )
    return evidence


def _contract_tracking(
    model: Any,
    customers: pd.DataFrame,
    calibration_end: pd.Timestamp,
    cutoff: pd.Timestamp,
    days: float = PERIOD_DAYS[CONTRACT_PERIOD],
) -> pd.DataFrame:
    """Contracts of the calibration cohort still running at each month end: actual and sBG.

    A contract signed on day ``s`` is running at ``t`` with probability ``S(k)``, ``k`` the
    renewals due by ``t`` (whole periods of ``days`` since ``s``); evaluated once per distinct
    signup day.
    """
    signup = pd.to_datetime(customers["signup_date"]).to_numpy(dtype="datetime64[ns]")
    ended = pd.to_datetime(customers["churned_at"], errors="coerce").to_numpy(
        dtype="datetime64[ns]"
    )
    cohort = signup <= calibration_end.to_datetime64()
    signup, ended = signup[cohort], ended[cohort]
    grid = pd.date_range(pd.Timestamp(signup.min()).normalize(), cutoff, freq="ME")
    grid = grid[grid <= cutoff].append(pd.DatetimeIndex([cutoff.normalize()])).unique()
    t = grid.to_numpy(dtype="datetime64[ns]") + np.timedelta64(1, "D") - np.timedelta64(1, "ns")
    starts = np.sort(signup)
    stops = np.sort(ended[~np.isnat(ended)])
    actual = np.searchsorted(starts, t, side="right") - np.searchsorted(stops, t, side="right")
    first_days, counts = np.unique(signup.astype("datetime64[D]"), return_counts=True)
    age = (t[None, :] - first_days.astype("datetime64[ns]")[:, None]) / np.timedelta64(1, "D")
    renewals = np.floor(np.maximum(age, 0.0) / days + 1e-9)
    running = np.where(age >= 0, np.asarray(model.survival(renewals), dtype=np.float64), 0.0)
    frame = pd.DataFrame(
        {"actual": actual.astype(np.float64), "sBG": counts @ running},
        index=pd.DatetimeIndex(grid, name="date"),
    )
    frame.attrs["calibration_end"] = calibration_end
    frame.attrs["measure"] = N_("Contracts still running")
    return frame


def _pick(rows: list[dict[str, Any]], tie_margin: float) -> tuple[str | None, str]:
    """Apply the rule: the lowest group error, near ties to the simpler model."""
    fitted = [r for r in rows if r["status"] == "fitted" and np.isfinite(r["group_error"])]
    if not fitted:
        return None, ""
    best = min(fitted, key=lambda r: r["group_error"])
    order = {name: i for i, name in enumerate(SIMPLICITY)}
    near = [r for r in fitted if r["group_error"] <= best["group_error"] + tie_margin]
    chosen = min(near, key=lambda r: (order.get(r["model"], len(order)), r["group_error"]))
    others = [r for r in fitted if r is not chosen]
    against = ", ".join(f"{r['model']} {r['group_error']:.1%}" for r in others)
    if chosen is best:
        values = {"model": chosen["model"], "error": f"{chosen['group_error']:.1%}"}
        reason = (
            M_(
                "%(model)s predicted the holdout best: its purchases by calibration frequency "
                "were off by %(error)s of the actual in all, against %(others)s.",
                others=against,
                **values,
            )
            if against
            else M_(
                "%(model)s predicted the holdout best: its purchases by calibration frequency "
                "were off by %(error)s of the actual in all.",
                **values,
            )
        )
    else:
        reason = M_(
            "%(model)s is within %(margin)s percentage points of the best (%(best)s, %(best_error)s "
            "against %(error)s off by calibration frequency) and is the simpler model.",
            model=chosen["model"],
            margin=f"{tie_margin * 100:g}",
            best=best["model"],
            best_error=f"{best['group_error']:.1%}",
            error=f"{chosen['group_error']:.1%}",
        )
    return chosen["model"], reason


def choose_value_model(
    data: CustomerData,
    cutoff: Cutoff,
    *,
    model: str = "auto",
    weeks: int = 26,
    tie_margin: float = TIE_MARGIN,
    contract_period: str = "month",
) -> ModelChoice:
    """Fit the applicable candidates on a calibration window and choose on the holdout.

    See the module docstring for the routes and the rule.

    Parameters
    ----------
    data : Dataset
        The point-in-time view (``dataset.as_of(cutoff)``); its customers table decides the
        contractual route.
    cutoff : date-like or Period
        The end of the holdout (the period's end).
    model : str
        ``"auto"``, or a name of :data:`MODEL_NAMES` to pin (``clv.model``).
    weeks : int
        Length of the holdout in weeks (contract months and opportunities on the other routes:
        the same span in months; a third of the opportunities).
    tie_margin : float
        Near-tie margin of the group error (absolute).
    contract_period : {"week", "month", "quarter", "year"}
        How often a contract renews on the contractual route (``clv.contract_period``).

    Returns
    -------
    ModelChoice

    Raises
    ------
    ValueError
        For an unknown ``model`` or a ``weeks`` that is not a positive whole number.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(600, seed=5).to_dataset()
    >>> choose_value_model(ds, "2025-06-30", model="Pareto/NBD").reason
    'Pareto/NBD: pinned in the configuration (clv.model).'
    >>> choose_value_model(ds, "2025-06-30", model="NBD")
    Traceback (most recent call last):
    ...
    ValueError: model: expected 'auto' or one of 'BG/NBD', 'Pareto/NBD', 'MBG/NBD', 'BG/BB', 'sBG', got 'NBD'
    """
    data = customer_data(data, "data").collect()  # either engine; its pandas view
    if model != "auto" and model not in MODEL_NAMES:
        raise ValueError(
            f"model: expected 'auto' or one of {', '.join(repr(m) for m in MODEL_NAMES)}, "
            f"got {model!r}"
        )
    if isinstance(weeks, bool) or int(weeks) != weeks or weeks < 1:
        raise ValueError(f"weeks: expected a positive whole number, got {weeks!r}")
    if not 0 <= tie_margin < 1:
        raise ValueError(f"tie_margin: expected a number in [0, 1), got {tie_margin!r}")
    period = contract_period_code(contract_period)
    end = summary_cutoff(cutoff, "cutoff")
    rows: list[dict[str, Any]] = []
    opportunity = None
    if _is_contractual(data, end):
        route, default = "contractual", "sBG"
        why = M_("the customers table has contract ends (customers.churned_at)")
        evidence = _contractual(data, end, int(weeks), period)
        rows += [
            _row(n, NOT_APPLICABLE, M_("contractual data: %(why)s", why=why))
            for n in SIMPLICITY + ("BG/BB",)
        ]
    else:
        opportunity, facts = discrete_opportunities(data, end)
        if opportunity is not None:
            route, default = "discrete", "BG/BB"
            share = facts["share"][opportunity]
            why = M_(
                "customers transact at most once a %(unit)s (%(share)s of customer-%(unit)ss "
                "hold two transaction days or more, at most %(most)s allowed)",
                unit=M_(DISCRETE_UNITS[opportunity]),
                share=f"{share:.1%}",
                most=f"{DISCRETE_MAX_SHARE:.0%}",
            )
            evidence = _discrete(data, end, opportunity, facts["opportunities"][opportunity])
            rows += [
                _row(n, NOT_APPLICABLE, M_("discrete-time data: %(why)s", why=why))
                for n in SIMPLICITY
            ]
        else:
            route, default = "continuous", "BG/NBD"
            why = M_("purchases can happen at any time")
            evidence = _continuous(data, end, int(weeks), SIMPLICITY)
            rows += [
                _row(
                    "BG/BB",
                    NOT_APPLICABLE,
                    M_("no discrete opportunities: %(shares)s", shares=_share(facts)),
                ),
                _row("sBG", NOT_APPLICABLE, M_("no contract ends (customers.churned_at)")),
            ]
    rows = evidence["rows"] + rows
    best, reason = _pick(evidence["rows"], tie_margin)
    pinned = model != "auto"
    if pinned:
        chosen, reason = (
            model,
            M_("%(model)s: pinned in the configuration (clv.model).", model=model),
        )
    elif best is not None:
        chosen = best
        if route != "continuous":
            reason = M_(
                "%(model)s because %(why)s; %(holdout)s",
                model=best,
                why=why,
                holdout=_holdout_sentence(evidence["rows"][0], evidence),
            )
    else:
        chosen = default
        missing = evidence.get("missing") or M_(
            "no candidate converged on the calibration window, so the holdout numbers of the "
            "table below do not count"
        )
        reason = M_(
            "%(model)s, the default of %(route)s data (%(why)s): no holdout evidence, %(missing)s.",
            model=default,
            route=M_(route),
            why=why,
            missing=missing,
        )
    for row in rows:
        if row["model"] == chosen:
            if row["status"] == "failed":
                row["note"] = M_(
                    "used all the same (%(why)s); %(note)s",
                    why=M_("pinned") if pinned else M_("the default"),
                    note=row["note"],
                )
            row["status"] = M_("chosen")
    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS)
    order = {name: i for i, name in enumerate(MODEL_NAMES)}
    table = table.sort_values("model", key=lambda s: s.map(order), kind="stable")
    empty = pd.DataFrame(columns=["actual"], index=pd.DatetimeIndex([], name="date"))
    return ModelChoice(
        route=route,
        chosen=chosen,
        reason=reason,
        table=table.reset_index(drop=True),
        by_group=evidence["by_group"] if evidence["by_group"] is not None else _by_group({}),
        tracking=evidence["tracking"] if evidence["tracking"] is not None else empty,
        models=evidence["models"],
        pinned=pinned,
        unit=evidence["unit"],
        holdout=int(evidence["holdout"]),
        calibration_end=evidence["calibration_end"],
        observation_end=end,
        opportunity=opportunity,
        contract_period=period,
    )


def _share(facts: dict[str, Any]) -> str:
    shares = facts.get("share", {})
    if not shares:
        return M_("no transactions")
    return join(
        ", ",
        (
            M_(
                "%(share)s of customer-%(unit)ss hold two transaction days or more",
                share=f"{share:.0%}",
                unit=M_(DISCRETE_UNITS[unit]),
            )
            for unit, share in shares.items()
        ),
    )


def _holdout_sentence(row: dict[str, Any], evidence: dict[str, Any]) -> str:
    if row["status"] != "fitted":
        return M_("it could not be checked on the holdout.")
    return M_(
        "over the %(n)s-%(unit)s holdout it predicted %(predicted)s against %(actual)s actual "
        "(%(error)s off by group).",
        n=evidence["holdout"],
        unit=M_(evidence["unit"].rstrip("s")),
        predicted=f"{row['predicted']:,.0f}",
        actual=f"{row['actual']:,.0f}",
        error=f"{row['group_error']:.1%}",
    )
