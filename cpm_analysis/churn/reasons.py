"""Reason codes: turn per-feature contributions into phrases an account owner can read.

The features built by :func:`~cpm_analysis.churn.churn_features` have fixed names and get
specific phrases:

========================================  ===============================================
feature                                   reason
========================================  ===============================================
``days_since_last_order``                 no order in 120 days
``orders_90d`` (any window)               no order in the last 90 days / 1 order in ...
``spend_trend_90d``                       spend down 60% vs the previous 90 days
``complaints_90d`` (any window)           2 complaints in the last 90 days
``last_csat``                             last CSAT 2/5
``last_nps``                              last NPS answer 3/10
``p_alive``                               35% likely to still be an active buyer (BG/NBD)
========================================  ===============================================

(and similar ones for every other canonical feature). Any other column, e.g. of an analyst's
own table, is phrased generically: ``Contract = Month-to-month`` for a categorical column,
``tenure = 2 (low)`` for a number (``low`` below the training data's 25th percentile, ``high``
above its 75th), ``TotalCharges missing`` for a missing value.

All formatting is vectorised: the loops run over reason ranks and features, never over
customers.

Examples
--------
>>> values = pd.DataFrame({"complaints_90d": [2.0, 0.0], "Contract": ["Month-to-month", "Two year"]})
>>> contrib = pd.DataFrame({"complaints_90d": [0.8, -0.1], "Contract": [0.5, -0.9]})
>>> format_reasons(contrib, values, kinds={"complaints_90d": "numeric",
...                "Contract": "categorical"}, quartiles={}, n_reasons=2)["reasons"].tolist()
['2 complaints in the last 90 days; Contract = Month-to-month', '']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from cpm_analysis.churn.risk_side import risk_side
from cpm_analysis.i18n import N_

Phrase = Callable[[np.ndarray, re.Match], np.ndarray]


def _int(x: np.ndarray) -> np.ndarray:
    return np.round(x).astype(np.int64).astype(str)


def _num(x: np.ndarray) -> np.ndarray:
    """Compact numbers: integers as such, others with 3 significant decimals."""
    x = np.asarray(x, dtype=np.float64)
    whole = np.isclose(x, np.round(x)) & (np.abs(x) < 1e15)
    out = np.char.mod("%.4g", x).astype(object)
    big = np.abs(x) >= 1e4
    out[big] = np.char.mod("%.0f", x[big])
    out[whole] = np.round(x[whole]).astype(np.int64).astype(str)
    return out


def _money(x: np.ndarray) -> np.ndarray:
    return np.char.mod("%.0f", np.asarray(x, dtype=np.float64)).astype(object)


def _pct(x: np.ndarray) -> np.ndarray:
    return _int(100.0 * np.asarray(x, dtype=np.float64))


def _plural(n: np.ndarray, singular: str, plural: str) -> np.ndarray:
    return np.where(np.round(n) == 1, singular, plural).astype(object)


def _cat(*parts: np.ndarray | str) -> np.ndarray:
    out = np.asarray("", dtype=object)
    for part in parts:
        out = out + (np.asarray(part, dtype=object) if not isinstance(part, str) else part)
    return out


def _with_missing(x: np.ndarray, text: np.ndarray, missing: str) -> np.ndarray:
    return np.where(np.isnan(x), missing, text).astype(object)


def _days_since_last_order(x: np.ndarray, m: re.Match) -> np.ndarray:
    return _with_missing(x, _cat("no order in ", _int(np.nan_to_num(x)), " days"), "no order yet")


def _orders_window(x: np.ndarray, m: re.Match) -> np.ndarray:
    w = m.group(1)
    n = np.nan_to_num(x)
    some = _cat(_int(n), _plural(n, " order", " orders"), f" in the last {w} days")
    return np.where(n == 0, f"no order in the last {w} days", some).astype(object)


def _spend_window(x: np.ndarray, m: re.Match) -> np.ndarray:
    return _cat("spend ", _money(np.nan_to_num(x)), f" in the last {m.group(1)} days")


def _trend(what: str) -> Phrase:
    def phrase(x: np.ndarray, m: re.Match) -> np.ndarray:
        w = m.group(1)
        t = np.clip(np.nan_to_num(x), -1.0, 1.0)
        # t = (last - previous) / (last + previous), so last / previous = (1 + t) / (1 - t)
        ratio = (1.0 + t) / np.where(t < 1, 1.0 - t, 1.0)
        down = _cat(f"{what} down ", _pct(1.0 - ratio), f"% vs the previous {w} days")
        up = _cat(f"{what} up ", _pct(ratio - 1.0), f"% vs the previous {w} days")
        out = np.where(t < 0, down, np.where(t > 0, up, f"{what} flat vs the previous {w} days"))
        out = np.where(t <= -1, f"no {what} in the last {w} days, some in the {w} before", out)
        out = np.where(t >= 1, f"{what} in the last {w} days, none in the {w} before", out)
        return out.astype(object)

    return phrase


def _count(singular: str, plural: str, suffix: str) -> Phrase:
    def phrase(x: np.ndarray, m: re.Match) -> np.ndarray:
        n = np.nan_to_num(x)
        tail = suffix.format(*m.groups())
        return _cat(_int(n), _plural(n, f" {singular}", f" {plural}"), tail)

    return phrase


def _template(
    prefix: str, fmt: Callable[[np.ndarray], np.ndarray], suffix: str, missing: str
) -> Phrase:
    def phrase(x: np.ndarray, m: re.Match) -> np.ndarray:
        text = _cat(prefix.format(*m.groups()), fmt(np.nan_to_num(x)), suffix.format(*m.groups()))
        return _with_missing(x, text, missing.format(*m.groups()))

    return phrase


def _p_alive(x: np.ndarray, m: re.Match) -> np.ndarray:
    pct = np.where(np.nan_to_num(x) < 0.005, "<1", _pct(np.nan_to_num(x))).astype(object)
    text = _cat(pct, "% likely to still be an active buyer (BG/NBD)")
    return _with_missing(x, text, "no purchase history for P(alive)")


def _expected_purchases(x: np.ndarray, m: re.Match) -> np.ndarray:
    w = m.group(1)
    v = np.nan_to_num(x)
    some = _cat(np.char.mod("%.1f", v).astype(object), f" purchases expected in the next {w} days")
    text = np.where(v < 0.05, f"almost no purchase expected in the next {w} days", some)
    return _with_missing(x, text.astype(object), "no purchase history for a forecast")


PHRASES: tuple[str, ...] = (
    N_("no order in %(n)s days"),
    N_("no order yet"),
    N_("%(n)s order in the last %(w)s days"),
    N_("%(n)s orders in the last %(w)s days"),
    N_("no order in the last %(w)s days"),
    N_("spend %(x)s in the last %(w)s days"),
    N_("%(what)s down %(p)s%% vs the previous %(w)s days"),
    N_("%(what)s up %(p)s%% vs the previous %(w)s days"),
    N_("%(what)s flat vs the previous %(w)s days"),
    N_("no %(what)s in the last %(w)s days, some in the %(w)s before"),
    N_("%(what)s in the last %(w)s days, none in the %(w)s before"),
    N_("spend"),
    N_("first order %(n)s days ago"),
    N_("customer for %(n)s days"),
    N_("signup date unknown"),
    N_("%(n)s order in the %(w)s days before the last %(w)s"),
    N_("%(n)s orders in the %(w)s days before the last %(w)s"),
    N_("spend %(x)s in the %(w)s days before the last %(w)s"),
    N_("%(n)s order in total"),
    N_("%(n)s orders in total"),
    N_("lifetime spend %(x)s"),
    N_("no spend yet"),
    N_("average order %(x)s"),
    N_("%(p)s%% of spend refunded in the last %(w)s days"),
    N_("nothing bought in the last %(w)s days"),
    N_("%(n)s support ticket in the last %(w)s days"),
    N_("%(n)s support tickets in the last %(w)s days"),
    N_("%(n)s complaint in the last %(w)s days"),
    N_("%(n)s complaints in the last %(w)s days"),
    N_("%(n)s ticket still open"),
    N_("%(n)s tickets still open"),
    N_("first replies took %(n)s h on average (last %(w)s days)"),
    N_("no ticket in the last %(w)s days"),
    N_("tickets took %(n)s h to resolve on average (last %(w)s days)"),
    N_("last CSAT %(n)s/5"),
    N_("no CSAT answer"),
    N_("average CSAT %(x)s/5 in the last %(w)s days"),
    N_("no CSAT answer in the last %(w)s days"),
    N_("last NPS answer %(n)s/10"),
    N_("no NPS answer"),
    N_("average NPS answer %(x)s/10 in the last %(w)s days"),
    N_("no NPS answer in the last %(w)s days"),
    N_("%(p)s%% likely to still be an active buyer (BG/NBD)"),
    N_("no purchase history for P(alive)"),
    N_("%(x)s purchases expected in the next %(w)s days"),
    N_("almost no purchase expected in the next %(w)s days"),
    N_("no purchase history for a forecast"),
    N_("no order for %(n)s days"),
    N_("no order for %(n)s days, usual gap %(gap)s"),
    N_("%(name)s missing"),
    N_("%(phrase)s (low)"),
    N_("%(phrase)s (high)"),
)
"""The phrases below as templates, for the catalogue: a page in another language translates a
reason by the template it matches (:meth:`cpm_analysis.i18n.Translator.sentence`); a test
checks that every phrase matches one."""


CANONICAL: list[tuple[re.Pattern, Phrase]] = [
    (re.compile(r"^days_since_last_order$"), _days_since_last_order),
    (
        re.compile(r"^days_since_first_order$"),
        _template("first order ", _int, " days ago", "no order yet"),
    ),
    (
        re.compile(r"^tenure_days$"),
        _template("customer for ", _int, " days", "signup date unknown"),
    ),
    (re.compile(r"^orders_(\d+)d$"), _orders_window),
    (re.compile(r"^spend_(\d+)d$"), _spend_window),
    (
        re.compile(r"^orders_prev_(\d+)d$"),
        _count("order", "orders", " in the {0} days before the last {0}"),
    ),
    (
        re.compile(r"^spend_prev_(\d+)d$"),
        _template("spend ", _money, " in the {0} days before the last {0}", ""),
    ),
    (re.compile(r"^spend_trend_(\d+)d$"), _trend("spend")),
    (re.compile(r"^orders_trend_(\d+)d$"), _trend("orders")),
    (re.compile(r"^orders_total$"), _count("order", "orders", " in total")),
    (re.compile(r"^spend_total$"), _template("lifetime spend ", _money, "", "no spend yet")),
    (re.compile(r"^avg_order_value$"), _template("average order ", _money, "", "no order yet")),
    (
        re.compile(r"^refund_share_(\d+)d$"),
        _template(
            "",
            _pct,
            "% of spend refunded in the last {0} days",
            "nothing bought in the last {0} days",
        ),
    ),
    (
        re.compile(r"^tickets_(\d+)d$"),
        _count("support ticket", "support tickets", " in the last {0} days"),
    ),
    (
        re.compile(r"^complaints_(\d+)d$"),
        _count("complaint", "complaints", " in the last {0} days"),
    ),
    (re.compile(r"^open_tickets$"), _count("ticket", "tickets", " still open")),
    (
        re.compile(r"^first_response_hours_(\d+)d$"),
        _template(
            "first replies took ",
            _int,
            " h on average (last {0} days)",
            "no ticket in the last {0} days",
        ),
    ),
    (
        re.compile(r"^resolution_hours_(\d+)d$"),
        _template(
            "tickets took ",
            _int,
            " h to resolve on average (last {0} days)",
            "no ticket in the last {0} days",
        ),
    ),
    (re.compile(r"^last_csat$"), _template("last CSAT ", _int, "/5", "no CSAT answer")),
    (
        re.compile(r"^mean_csat_(\d+)d$"),
        _template(
            "average CSAT ", _num, "/5 in the last {0} days", "no CSAT answer in the last {0} days"
        ),
    ),
    (re.compile(r"^last_nps$"), _template("last NPS answer ", _int, "/10", "no NPS answer")),
    (
        re.compile(r"^mean_nps_(\d+)d$"),
        _template(
            "average NPS answer ",
            _num,
            "/10 in the last {0} days",
            "no NPS answer in the last {0} days",
        ),
    ),
    (re.compile(r"^p_alive$"), _p_alive),
    (re.compile(r"^expected_purchases_(\d+)d$"), _expected_purchases),
]


def phrase_feature(
    name: str,
    values: pd.Series,
    *,
    kind: str = "numeric",
    quartiles: tuple[float, float] | None = None,
) -> np.ndarray:
    """Phrase one feature's values (a canonical churn feature, or ``name = value`` otherwise).

    Parameters
    ----------
    name : str
        Feature (column) name.
    values : Series
        The values, as :class:`~cpm_analysis.churn.table.TableCoercer` outputs them.
    kind : str
        The column's kind (numeric kinds are phrased as numbers).
    quartiles : tuple of float, optional
        25th and 75th percentiles of the training data, for ``(low)`` / ``(high)``.

    Returns
    -------
    ndarray of str

    Examples
    --------
    >>> phrase_feature("days_since_last_order", pd.Series([120.0])).tolist()
    ['no order in 120 days']
    >>> phrase_feature("tenure", pd.Series([2.0]), quartiles=(9.0, 42.0)).tolist()
    ['tenure = 2 (low)']
    >>> phrase_feature("Contract", pd.Series(["Month-to-month"]), kind="categorical").tolist()
    ['Contract = Month-to-month']
    """
    if kind != "categorical":
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        for pattern, phrase in CANONICAL:
            match = pattern.match(name)
            if match:
                return np.asarray(phrase(x, match), dtype=object)
        text = _cat(f"{name} = ", _num(np.nan_to_num(x)))
        if quartiles is not None:
            low, high = quartiles
            tag = np.where(x < low, " (low)", np.where(x > high, " (high)", ""))
            text = _cat(text, tag.astype(object))
        return _with_missing(x, text, f"{name} missing")
    present = values.notna().to_numpy()
    text = np.asarray(values.astype(object).where(values.notna(), ""), dtype=object)
    return np.where(present, _cat(f"{name} = ", text), f"{name} missing").astype(object)


def is_behaviour(name: str) -> bool:
    """Whether a feature is a behaviour (a canonical churn feature) rather than an attribute.

    Examples
    --------
    >>> is_behaviour("orders_90d"), is_behaviour("channel")
    (True, False)
    """
    return any(pattern.match(name) for pattern, _ in CANONICAL)


def usual_gap(values: pd.DataFrame) -> np.ndarray | None:
    """Return each customer's usual days between orders (NaN with fewer than two orders).

    ``None`` when ``values`` lacks ``days_since_first_order``, ``days_since_last_order`` or
    ``orders_total``.

    Examples
    --------
    >>> usual_gap(pd.DataFrame({"days_since_first_order": [100.0, 5.0],
    ...     "days_since_last_order": [40.0, 5.0], "orders_total": [4.0, 1.0]})).tolist()
    [20.0, nan]
    """
    needed = ("days_since_first_order", "days_since_last_order", "orders_total")
    if not all(c in values for c in needed):
        return None
    first, last, n = (values[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in needed)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 2, (first - last) / (n - 1), np.nan)


def _overdue(since: np.ndarray, gap: np.ndarray) -> np.ndarray:
    text = _cat("no order for ", _int(np.nan_to_num(since)), " days")
    usual = _cat(text, ", usual gap ", _int(np.nan_to_num(gap)))
    out = np.where(np.isfinite(gap), usual, text)
    return np.where(np.isnan(since), "no order yet", out).astype(object)


def format_reasons(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    *,
    kinds: Mapping[str, str],
    quartiles: Mapping[str, tuple[float, float]],
    n_reasons: int = 3,
    attributes: bool = True,
) -> pd.DataFrame:
    """Return the top ``n_reasons`` risk-raising features per row, phrased.

    With ``attributes=False`` only behaviour is a reason (the canonical features of
    :data:`CANONICAL`: orders, spend, tickets, answers...), never what a customer is
    (``channel = phone``): a manager can act on a behaviour, not on an attribute. The recency
    is a reason only when the customer is overdue by their own rhythm: ``no order for 94 days,
    usual gap 21`` (the usual gap is ``(days_since_first_order - days_since_last_order) /
    (orders_total - 1)`` when those columns are there); a customer who ordered within their
    usual gap gets no recency reason, however much the model weighs it.
    A behaviour is a reason only when its value is a warning sign by the customers' own
    distribution (:func:`~cpm_analysis.churn.risk_side.risk_side`): "27 orders in total" or
    a recent purchase never reads as a reason to call.

    Parameters
    ----------
    contributions : DataFrame
        Per-customer, per-feature contributions to the log-odds of churn.
    values : DataFrame
        The customers' feature values (same index and columns).
    kinds, quartiles : dict
        Column kinds and training quartiles (see :class:`~cpm_analysis.churn.ChurnModel`).
    n_reasons : int
        Reasons per customer at most; only positive contributions qualify.
    attributes : bool
        Whether a column that is not a canonical behavioural feature may be a reason (an
        analyst's own table: ``Contract = Month-to-month``); the churn call list passes False.

    Returns
    -------
    DataFrame
        ``reasons`` (joined by ``"; "``) and ``reason_i``, ``feature_i``, ``impact_i`` per rank.
    """
    columns = list(contributions.columns)
    c = contributions.to_numpy(dtype=np.float64).copy()
    if not attributes:
        for j, name in enumerate(columns):
            if not is_behaviour(name) or kinds.get(name) == "categorical":
                c[:, j] = -np.inf
    for j, name in enumerate(columns):
        if kinds.get(name) != "categorical" and name in values:
            x = values[name].to_numpy(dtype=np.float64, na_value=np.nan)
            c[~risk_side(name, x, quartiles.get(name)), j] = -np.inf  # not a warning sign
    same_fact = {"tenure_days", "days_since_first_order"}
    if same_fact <= set(columns) and same_fact <= set(values.columns):
        # one fact, one reason: a customer whose tenure starts at the first order would read
        # "first order 609 days ago; customer for 609 days"
        tenure = values["tenure_days"].to_numpy(dtype=np.float64, na_value=np.nan)
        first = values["days_since_first_order"].to_numpy(dtype=np.float64, na_value=np.nan)
        c[np.isclose(tenure, first), columns.index("days_since_first_order")] = -np.inf
    gap = usual_gap(values)
    if "days_since_last_order" in columns and gap is not None:
        j = columns.index("days_since_last_order")
        since = values["days_since_last_order"].to_numpy(dtype=np.float64, na_value=np.nan)
        c[np.isfinite(gap) & ~(since > gap), j] = -np.inf  # not overdue: not a reason
    n, k = c.shape[0], min(n_reasons, c.shape[1])
    order = np.argsort(-c, axis=1, kind="stable")[:, :k]
    impact = np.take_along_axis(c, order, axis=1)
    out: dict[str, np.ndarray] = {}
    joined = np.full(n, "", dtype=object)
    for rank in range(n_reasons):
        reason = np.full(n, "", dtype=object)
        feature = np.full(n, "", dtype=object)
        value = np.full(n, np.nan)
        if rank < k:
            positive = impact[:, rank] > 1e-9
            for j in np.unique(order[positive, rank]):
                rows = positive & (order[:, rank] == j)
                name = columns[j]
                reason[rows] = phrase_feature(
                    name,
                    values[name].iloc[np.flatnonzero(rows)],
                    kind=kinds.get(name, "numeric"),
                    quartiles=quartiles.get(name),
                )
                if name == "days_since_last_order" and gap is not None:
                    reason[rows] = _overdue(values[name].to_numpy(float)[rows], gap[rows])
                feature[rows] = name
            value = np.where(positive, impact[:, rank], np.nan)
        has = reason != ""
        sep = np.where((joined != "") & has, "; ", "").astype(object)
        joined = joined + sep + reason
        out[f"reason_{rank + 1}"] = reason
        out[f"feature_{rank + 1}"] = feature
        out[f"impact_{rank + 1}"] = value
    frame = pd.DataFrame({"reasons": joined, **out}, index=contributions.index)
    text_cols = ["reasons"] + [
        f"{p}_{r + 1}" for r in range(n_reasons) for p in ("reason", "feature")
    ]
    return frame.astype({col: "str" for col in text_cols})
