"""Did last period's actions work: the published customer action list, its follow-up, the effect.

The loop of customer performance management ends with a check of the improvement measures:

- :func:`customer_action_list`: the period's customers to contact (the largest expected
  loss), each with owner, reason, action and due date; with ``holdout`` a seeded random share is
  held out (``group = "holdout"``: listed, not to be contacted) for a true experiment;
- :func:`published_list`: the list as published, pseudonymised unless ``identified``; the
  report writes it as the care-campaign export for the CRM
  (:mod:`cpm_analysis.report.care_export`: ``care_campaign.csv`` and ``.jsonl``);
- :func:`previous_action_list`: the list published with last period's report in ``--out``;
- :func:`follow_up`: which listed customers were contacted (``activities``) and what happened
  in the follow-up window: bought again, or churned (no paid order in the window, or the
  contract ended by its end when ``customers.churned_at`` is recorded);
- :func:`contact_effect`: the effect of contact on the repurchase rate (or, with
  :func:`churn_effect`, on the churn rate) with an honest method:
  the randomised holdout when there is one (listed-to-contact vs held out, an intention-to-treat
  difference of two binomial rates with a Newcombe interval), else contacted vs not contacted
  within churn-score strata, labelled *observational*;
- :func:`action_review`: the whole check for the performance review page.

Examples
--------
>>> follow = pd.DataFrame({"group": ["contact"] * 40 + ["holdout"] * 40,
...                        "contacted": [True] * 40 + [False] * 40,
...                        "bought_again": [True] * 24 + [False] * 16 + [True] * 12 + [False] * 28,
...                        "churn_probability": 0.5})
>>> effect = contact_effect(follow)
>>> effect.method, round(effect.estimate, 2)
('randomised holdout', 0.3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cpm_analysis.actions import call_list_actions, largest_losses
from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.data.orders import paid_mask
from cpm_analysis.i18n import M_, N_, Translator, join
from cpm_analysis.periods import Period, parse_period
from cpm_analysis.privacy import PSEUDONYM_COLUMN, pseudonymize

CARE_STEM = "care_campaign"
"""File stem of the published action list (``care_campaign.csv`` and ``.jsonl``)."""

LIST_COLUMNS = [
    "rank",
    "group",
    "owner_id",
    "reason",
    "action",
    "due_date",
    "churn_probability",
    "expected_loss",
]
"""Columns of the action list besides the customer's id (``pseudonym`` or ``customer_id``)."""

GROUP_WORDS = (N_("contact"), N_("holdout"))
"""The groups of the list (``group``), marked for the catalogue: the page shows them translated."""

STRATA = 5
"""Churn-score strata of the observational comparison (quantiles of the listed customers)."""


def parse_share(value: str | float | None, name: str = "holdout") -> float:
    """Parse a holdout share: ``"10%"``, ``"0.1"`` or ``0.1``; ``None`` is 0.

    Raises
    ------
    ValueError
        Naming ``name`` when the value is not a share in [0, 0.9].

    Examples
    --------
    >>> parse_share("10%"), parse_share(0.25), parse_share(None)
    (0.1, 0.25, 0.0)
    """
    if value is None:
        return 0.0
    text = str(value).strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{name}: expected a share such as 10% or 0.1, got {value!r}") from None
    if not (math.isfinite(share) and 0 <= share <= 0.9):
        raise ValueError(f"{name}: expected a share between 0% and 90%, got {value!r}")
    return share


def customer_action_list(
    scored: pd.DataFrame,
    period: Period | str,
    *,
    size: int = 25,
    due_days: int = DEFAULT_CONFIG.windows.action_due_days,
    holdout: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Return the period's customers to contact: the ``size`` largest expected losses.

    Parameters
    ----------
    scored : DataFrame
        The period's scored table: ``customer_id``, ``expected_loss``, ``churn_probability``;
        ``owner_id``, ``reason_codes``, ``recommended_action`` and ``pseudonym`` when present.
    period : Period or str
        The period the list is published for; the due date is ``due_days`` after its end.
    size : int
        Customers on the list (``actions.risk_list_size``).
    due_days : int
        Days after the period's end by which each customer is to be contacted.
    holdout : float
        Share of the list held out at random (``group = "holdout"``: not to be contacted), so
        that the next period can compare contacted and held-out customers; 0: none.
    seed : int
        Seed of the holdout draw (with the period, so each period draws anew, reproducibly).

    Returns
    -------
    DataFrame
        ``customer_id`` (and ``pseudonym`` when the scored table has it), then
        :data:`LIST_COLUMNS`; ordered by rank (1 = largest expected loss).

    Raises
    ------
    ValueError
        Naming the column or parameter: no ``customer_id`` or ``expected_loss`` column, a
        size or due_days below 1, a holdout share outside [0, 0.9].

    Examples
    --------
    >>> scored = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "owner_id": "S1",
    ...                        "expected_loss": [5.0, 9.0, 1.0],
    ...                        "churn_probability": [0.5, 0.9, 0.2]})
    >>> customer_action_list(scored, "2025-06", size=2)[["customer_id", "due_date"]].values.tolist()
    [['C2', '2025-07-30'], ['C1', '2025-07-30']]
    """
    for column in ("customer_id", "expected_loss"):
        if column not in scored.columns:
            raise ValueError(f"scored table: the column '{column}' is missing")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size: expected an integer >= 1, got {size!r}")
    if isinstance(due_days, bool) or not isinstance(due_days, int) or due_days < 1:
        raise ValueError(f"due_days: expected an integer >= 1, got {due_days!r}")
    share = parse_share(holdout)
    period = parse_period(period)
    loss = pd.to_numeric(scored["expected_loss"], errors="coerce")
    top = largest_losses(scored, size)
    rows = scored.loc[top]
    out = pd.DataFrame({"customer_id": rows["customer_id"].astype("str").to_numpy()})
    if PSEUDONYM_COLUMN in rows.columns:
        out[PSEUDONYM_COLUMN] = rows[PSEUDONYM_COLUMN].astype("str").to_numpy()
    out["rank"] = np.arange(1, len(out) + 1)
    group = np.full(len(out), "contact", dtype=object)
    n_out = int(round(share * len(out)))
    if n_out:
        rng = np.random.default_rng([int(seed), period.start.year, period.start.month, 17])
        group[rng.choice(len(out), n_out, replace=False)] = "holdout"
    out["group"] = group
    out["owner_id"] = (
        rows["owner_id"].astype("str").to_numpy() if "owner_id" in rows else "unassigned"
    )
    reasons = rows["reason_codes"] if "reason_codes" in rows else pd.Series("", index=rows.index)
    probability = pd.to_numeric(rows.get("churn_probability"), errors="coerce")
    out["reason"] = [
        _reason(p, value, str(codes) if isinstance(codes, str) else "")
        for p, value, codes in zip(
            probability.reindex(rows.index).to_numpy(),
            loss.loc[top].to_numpy(),
            reasons,
            strict=True,
        )
    ]
    actions = call_list_actions(rows).astype("str").to_numpy()
    out["action"] = np.where(group == "holdout", "Hold out: do not contact this period", actions)
    out["due_date"] = (period.last_day + pd.Timedelta(due_days, "D")).strftime("%Y-%m-%d")
    out["churn_probability"] = probability.reindex(rows.index).to_numpy()
    out["expected_loss"] = loss.loc[top].to_numpy()
    return out


def _reason(probability: float, loss: float, codes: str) -> str:
    text = f"expected 90-day loss {loss:,.0f}"
    if probability == probability:  # not NaN
        text = f"churn probability {probability:.0%}, {text}"
    return f"{text}; {codes}" if codes else text


def published_list(actions: pd.DataFrame, *, identified: bool = False) -> pd.DataFrame:
    """Return the list as published: pseudonymised (``pseudonym``), or with ``customer_id`` too.

    Raises
    ------
    ValueError
        When the list has no ``pseudonym`` column and ``identified`` is false (the report runs
        with ``--pii show``, which publishes real ids: pass ``identified=True``).

    Examples
    --------
    >>> actions = pd.DataFrame({"customer_id": ["C1"], "pseudonym": ["P-X"], "rank": [1]})
    >>> published_list(actions).columns.tolist()
    ['pseudonym', 'rank']
    """
    if identified:
        return actions.reset_index(drop=True)
    if PSEUDONYM_COLUMN not in actions.columns:
        raise ValueError(
            "action list: no 'pseudonym' column to publish; without a pseudonym key the list "
            "can only be published identified (identified=True)"
        )
    return actions.drop(columns="customer_id").reset_index(drop=True)


def previous_action_list(out_dir: str | Path, period: Period | str) -> pd.DataFrame | None:
    """Read the action list published with last period's report (``care_campaign.csv``).

    Returns ``None`` when last period has no published report or its report has no list.
    The formula neutralisation of the CSV (a leading ``'``) is undone on the text columns.

    Examples
    --------
    >>> import tempfile
    >>> previous_action_list(tempfile.mkdtemp(), "2025-06") is None
    True
    """
    previous = parse_period(period).previous()
    path = Path(out_dir) / previous.label / f"{CARE_STEM}.csv"
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype={"customer_id": "str", PSEUDONYM_COLUMN: "str"})
    for column in table.columns:
        if pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].map(_unneutralize, na_action="ignore")
    table.attrs["source"] = f"published report of {previous.label}"
    return table


def _unneutralize(value: object) -> object:
    if isinstance(value, str) and value.startswith("'") and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value


def follow_up(
    actions: pd.DataFrame,
    dataset,
    period: Period | str,
    *,
    key: bytes | None = None,
) -> pd.DataFrame:
    """Check what happened to last period's listed customers during ``period``.

    The window runs from the start to the end of ``period`` (the period after the list was
    published). A customer is *contacted* when ``activities`` has a contact of them in the
    window, and *bought again* when ``orders`` has a paid order of theirs in the window.

    Parameters
    ----------
    actions : DataFrame
        Last period's list (:func:`previous_action_list`): ``customer_id``, or ``pseudonym``
        with ``key``.
    dataset : Dataset
        The data, at least up to the end of ``period``.
    period : Period or str
        The follow-up period.
    key : bytes, optional
        The pseudonym key of the output folder, to find the customers of a pseudonymised list.

    Returns
    -------
    DataFrame
        The list with ``customer_id`` (when known), ``found`` (the customer is in the data),
        ``contacted``, ``bought_again``, ``no_purchase`` (bought nothing in the window) and
        ``churned``: the contract ended by the window's end when the customers have
        ``churned_at`` (``attrs["churn_rule"]`` is ``"contract end"``), else no paid order in
        the window (``"no order"``).

    Raises
    ------
    ValueError
        The list has neither ``customer_id`` nor ``pseudonym``, or only pseudonyms and no key.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1).to_dataset()
    >>> actions = pd.DataFrame({"customer_id": ["C000001"], "group": ["contact"]})
    >>> follow_up(actions, ds, "2025-06")[["contacted", "bought_again", "churned"]].dtypes.tolist()
    [dtype('bool'), dtype('bool'), dtype('bool')]
    """
    period = parse_period(period)
    out = actions.copy()
    customers = dataset.customers["customer_id"].astype("str")
    if "customer_id" not in out.columns:
        if PSEUDONYM_COLUMN not in out.columns:
            raise ValueError("action list: neither 'customer_id' nor 'pseudonym' column")
        if key is None:
            raise ValueError("action list: pseudonymised; key: the output folder's key is needed")
        lookup = pd.Series(customers.to_numpy(), index=pseudonymize(customers, key).to_numpy())
        out["customer_id"] = out[PSEUDONYM_COLUMN].map(lookup)
    ids = out["customer_id"].astype("str")
    out["found"] = ids.isin(customers).to_numpy() & out["customer_id"].notna().to_numpy()
    start, end = period.start, period.end
    acts = getattr(dataset, "activities", None)
    if acts is not None and len(acts):
        inside = (acts["at"] >= start) & (acts["at"] <= end)
        met = set(acts.loc[inside, "customer_id"].astype("str"))
        out["contacted"] = ids.isin(met).to_numpy()
    else:
        out["contacted"] = False
        out.attrs["no_activities"] = True
    orders = dataset.orders
    paid = paid_mask(orders)  # the one paid-order rule
    when = orders["order_date"]
    inside = paid & (when >= start) & (when <= end)
    buyers = set(orders.loc[inside, "customer_id"].astype("str"))
    out["bought_again"] = ids.isin(buyers).to_numpy()
    out["no_purchase"] = ~out["bought_again"]
    out["churned"] = out["no_purchase"].to_numpy()
    customers_table = dataset.customers
    if "churned_at" in customers_table.columns:  # a contract end decides, where recorded
        ended = customers_table["churned_at"] <= end
        ended_ids = set(
            customers_table.loc[ended.to_numpy(dtype=bool), "customer_id"].astype("str")
        )
        out["churned"] = ids.isin(ended_ids).to_numpy()
        out.attrs["churn_rule"] = N_("contract end")
    else:
        out.attrs["churn_rule"] = N_("no order")
    out.attrs["window"] = M_(
        "%(start)s to %(end)s", start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"
    )
    return out


@dataclass
class ContactEffect:
    """An estimated effect of contact on a rate, with its method, interval and caveats.

    Attributes
    ----------
    method : str
        ``"randomised holdout"``, ``"observational (within churn-score strata)"`` or
        ``"none"`` when nothing can be estimated.
    outcome : str
        The rate compared (``bought_again``).
    estimate : float
        Rate of the treated minus rate of the comparison group (NaN when ``none``).
    low, high : float
        The 95% interval.
    n_treated, n_control : int
    rate_treated, rate_control : float
    caveats : list of str
    """

    method: str
    outcome: str
    estimate: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")
    n_treated: int = 0
    n_control: int = 0
    rate_treated: float = float("nan")
    rate_control: float = float("nan")
    caveats: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One sentence for the page (a :class:`~cpm_analysis.i18n.Message`).

        Examples
        --------
        >>> ContactEffect("none", "bought_again", caveats=["no list"]).summary()
        'No estimate: no list.'
        """
        if self.method == "none":
            return M_("No estimate: %(caveats)s.", caveats=join("; ", map(M_, self.caveats)))
        return M_(
            "%(method)s: %(outcome)s rate %(treated)s (n=%(n_treated)s) vs %(control)s "
            "(n=%(n_control)s); difference %(estimate)s (95%% interval %(low)s to %(high)s).",
            method=M_(self.method),
            outcome=M_(self.outcome.replace("_", " ")),
            treated=f"{self.rate_treated:.1%}",
            n_treated=self.n_treated,
            control=f"{self.rate_control:.1%}",
            n_control=self.n_control,
            estimate=f"{self.estimate:+.1%}",
            low=f"{self.low:+.1%}",
            high=f"{self.high:+.1%}",
        )


def _wilson(successes: float, n: float, z: float) -> tuple[float, float]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def rate_difference(
    treated: np.ndarray | pd.Series, control: np.ndarray | pd.Series, *, z: float = 1.96
) -> tuple[float, float, float]:
    """Difference of two binomial rates with Newcombe's hybrid score interval (method 10).

    Better than the Wald interval for small groups and rates near 0 or 1.

    Raises
    ------
    ValueError
        When a group is empty.

    Examples
    --------
    >>> est, low, high = rate_difference([1] * 30 + [0] * 10, [1] * 20 + [0] * 20)
    >>> round(est, 2), low < est < high
    (0.25, True)
    """
    a = np.asarray(treated, dtype=float)
    b = np.asarray(control, dtype=float)
    if not len(a) or not len(b):
        raise ValueError("rate_difference: both groups need at least one customer")
    p1, p2 = a.mean(), b.mean()
    l1, u1 = _wilson(a.sum(), len(a), z)
    l2, u2 = _wilson(b.sum(), len(b), z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return float(d), float(low), float(high)


OUTCOMES = (N_("bought again"), N_("no purchase"))
"""The outcomes of the follow-up, as the page names them."""
CAVEATS_HOLDOUT = [
    N_("intention to treat: listed-to-contact vs held out, whether or not the contact happened"),
    N_("the follow-up window is one period; later effects are not counted"),
    N_("a small list gives a wide interval: pool several periods before acting on it"),
]
CAVEATS_OBSERVATIONAL = [
    N_(
        "observational: who was contacted was not random; customers contacted may differ in ways "
        "the churn score does not capture, so the difference is not a causal effect"
    ),
    N_("compared within churn-score strata of the listed customers only"),
    N_("the follow-up window is one period; later effects are not counted"),
]


def contact_effect(
    follow: pd.DataFrame, outcome: str = "bought_again", *, z: float = 1.96
) -> ContactEffect:
    """Estimate the effect of contact on ``outcome`` with the most honest method available.

    1. **Randomised holdout** (``group`` holds both ``contact`` and ``holdout``): the rate of
       the customers listed to contact minus that of the held-out ones (intention to treat),
       with :func:`rate_difference`'s interval.
    2. **Observational**, otherwise: contacted vs not contacted within :data:`STRATA`
       churn-probability strata of the list, the differences weighted by stratum size over the
       strata that hold both (the interval from the strata's Wald variances).
    3. ``none`` when neither comparison has two non-empty groups.

    Examples
    --------
    >>> follow = pd.DataFrame({"contacted": [True, False] * 20, "bought_again": [True] * 40,
    ...                        "churn_probability": np.linspace(0, 1, 40)})
    >>> contact_effect(follow).method
    'observational (within churn-score strata)'
    """
    if outcome not in follow.columns:
        raise ValueError(f"follow-up table: the column '{outcome}' is missing")
    y = follow[outcome].astype(float).to_numpy()
    if "group" in follow.columns:
        group = follow["group"].astype("str").to_numpy()
        treated, control = y[group == "contact"], y[group == "holdout"]
        if len(treated) and len(control):
            d, low, high = rate_difference(treated, control, z=z)
            return ContactEffect(
                N_("randomised holdout"),
                outcome,
                d,
                low,
                high,
                len(treated),
                len(control),
                float(treated.mean()),
                float(control.mean()),
                list(CAVEATS_HOLDOUT),
            )
    if "contacted" not in follow.columns:
        raise ValueError("follow-up table: the column 'contacted' is missing")
    contacted = follow["contacted"].astype(bool).to_numpy()
    score = pd.to_numeric(follow.get("churn_probability"), errors="coerce")
    if score is None or score.isna().all():
        strata = np.zeros(len(follow), dtype=int)
    else:
        ranks = score.rank(method="first").fillna(0).to_numpy()
        strata = np.ceil(ranks / max(len(follow), 1) * STRATA).astype(int)
    effects, weights, variances = [], [], []
    for s in np.unique(strata):
        a = y[(strata == s) & contacted]
        b = y[(strata == s) & ~contacted]
        if len(a) and len(b):
            effects.append(a.mean() - b.mean())
            weights.append(len(a) + len(b))
            variances.append(
                max(a.mean() * (1 - a.mean()), 0.25 / len(a)) / len(a)
                + max(b.mean() * (1 - b.mean()), 0.25 / len(b)) / len(b)
            )
    if not effects:
        return ContactEffect(
            "none",
            outcome,
            caveats=[N_("no stratum of the list holds both contacted and not contacted customers")],
        )
    w = np.asarray(weights, dtype=float) / sum(weights)
    d = float(np.dot(w, effects))
    se = float(math.sqrt(np.dot(w * w, variances)))
    return ContactEffect(
        N_("observational (within churn-score strata)"),
        outcome,
        d,
        d - z * se,
        d + z * se,
        int(contacted.sum()),
        int((~contacted).sum()),
        float(y[contacted].mean()) if contacted.any() else float("nan"),
        float(y[~contacted].mean()) if (~contacted).any() else float("nan"),
        list(CAVEATS_OBSERVATIONAL),
    )


def action_review(
    out_dir: str | Path,
    period: Period | str,
    dataset,
    *,
    key: bytes | None = None,
) -> tuple[pd.DataFrame | None, ContactEffect]:
    """Check last period's action list for ``period``'s performance review.

    Finds the list published with last period's report in ``out_dir``
    (:func:`previous_action_list`), follows it up over ``period`` (:func:`follow_up`) and
    estimates the effect of contact (:func:`contact_effect`).

    Returns
    -------
    follow : DataFrame or None
        The followed-up list without the real ids (``None`` when there was no list).
    effect : ContactEffect

    Examples
    --------
    >>> import tempfile
    >>> action_review(tempfile.mkdtemp(), "2025-06", None)[1].method
    'none'
    """
    actions = previous_action_list(out_dir, period)
    if actions is None:
        label = parse_period(period).previous().label
        return None, ContactEffect(
            "none",
            "bought_again",
            caveats=[M_("no action list was published with %(period)s", period=label)],
        )
    if key is None and "customer_id" not in actions.columns:
        from cpm_analysis.privacy import load_key

        key = load_key(out_dir, create=False)
    follow = follow_up(actions, dataset, period, key=key)
    effect = contact_effect(follow.loc[follow["found"]])
    shown = follow.drop(columns="customer_id") if PSEUDONYM_COLUMN in follow else follow
    return shown, effect


def follow_up_summary(follow: pd.DataFrame | None) -> pd.DataFrame:
    """Summarise the follow-up by group: listed, found, contacted, bought again, churned, rates.

    ``churn_rate_low`` and ``churn_rate_high`` are the 95% Wilson interval of the churn rate.

    Returns an empty table (columns only) when there was no list.

    Examples
    --------
    >>> follow = pd.DataFrame({"group": ["contact", "contact", "holdout"], "found": True,
    ...                        "contacted": [True, False, False],
    ...                        "bought_again": [True, False, True]})
    >>> follow_up_summary(follow).loc["contact", ["listed", "contacted", "bought_again"]].tolist()
    [2, 1, 1]
    """
    columns = [
        "listed",
        "found",
        "contacted",
        "bought_again",
        "churned",
        "contact_rate",
        "repurchase_rate",
        "churn_rate",
        "churn_rate_low",
        "churn_rate_high",
    ]
    if follow is None or not len(follow):
        return pd.DataFrame(columns=columns)
    group = follow["group"] if "group" in follow else pd.Series("contact", index=follow.index)
    found = follow["found"].astype(bool)
    churned = follow["churned"] if "churned" in follow else ~follow["bought_again"].astype(bool)
    table = pd.DataFrame(
        {
            "listed": group.value_counts(),
            "found": found.groupby(group).sum(),
            "contacted": (follow["contacted"] & found).groupby(group).sum(),
            "bought_again": (follow["bought_again"] & found).groupby(group).sum(),
            "churned": (churned.astype(bool) & found).groupby(group).sum(),
        }
    ).fillna(0)
    table = table.astype(int)
    known = table["found"].where(table["found"] > 0)
    table["contact_rate"] = table["contacted"] / known
    table["repurchase_rate"] = table["bought_again"] / known
    table["churn_rate"] = table["churned"] / known
    bounds = [
        _wilson(c, n, 1.96) if n > 0 else (np.nan, np.nan)
        for c, n in zip(table["churned"], table["found"], strict=True)
    ]
    table["churn_rate_low"] = [max(low, 0.0) for low, _ in bounds]
    table["churn_rate_high"] = [min(high, 1.0) for _, high in bounds]
    table.index.name = "group"
    return table[columns]


def churn_effect(follow: pd.DataFrame | None, *, z: float = 1.96) -> ContactEffect:
    """Estimate the effect of contact on churn after it (:func:`contact_effect` of ``churned``).

    The same method as the repurchase effect (randomised holdout, else observational within
    churn-score strata), on the customers found in the data; ``none`` without a list.

    Examples
    --------
    >>> follow = pd.DataFrame({"group": ["contact"] * 20 + ["holdout"] * 20, "found": True,
    ...                        "contacted": [True] * 20 + [False] * 20,
    ...                        "churned": [False] * 15 + [True] * 5 + [False] * 10 + [True] * 10})
    >>> effect = churn_effect(follow)
    >>> effect.outcome, round(effect.estimate, 2)
    ('churned', -0.25)
    >>> churn_effect(None).method
    'none'
    """
    if follow is None or "churned" not in follow.columns:
        return ContactEffect("none", "churned", caveats=["no followed-up action list"])
    found = follow.loc[follow["found"].astype(bool)] if "found" in follow else follow
    return contact_effect(found, "churned", z=z)


def effect_markdown(
    effect: ContactEffect,
    follow: pd.DataFrame | None = None,
    churn: ContactEffect | None = None,
    *,
    tr: Translator | None = None,
) -> str:
    """Write the page's text on the effect of contact: the estimate, method and caveats.

    In the language of ``tr`` (default English).

    Examples
    --------
    >>> print(effect_markdown(ContactEffect("none", "bought_again", caveats=["no list"])))
    No estimate: no list.
    """
    tr = tr if tr is not None else Translator("en")
    lines = [tr.gettext(effect.summary())]
    if churn is not None and churn.method != "none":
        rule = (follow.attrs.get("churn_rule") if follow is not None else None) or "no order"
        lines.append(
            tr._(
                "Churn after contact (%(rule)s): %(summary)s",
                rule=tr.gettext(rule),
                summary=tr.gettext(churn.summary()),
            )
        )
    if follow is not None and "window" in follow.attrs:
        lines.insert(
            0, tr._("Follow-up window: %(window)s.", window=tr.gettext(follow.attrs["window"]))
        )
    if follow is not None and follow.attrs.get("no_activities"):
        lines.append(tr._("The data has no activities table: no contact can be seen."))
    if effect.method != "none":
        lines.append("")
        lines.extend(tr._("- Caveat: %(caveat)s.", caveat=tr.gettext(c)) for c in effect.caveats)
    return "\n".join(lines)
