"""A seeded generator of a realistic company in the canonical tables.

The purchase process is the buy-till-you-die model the CLV module fits, so tests can check that
the models recover the truth:

- each customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)`` (per week) from their first
  order, made on the signup day;
- after each repeat purchase the customer drops out with probability ``p ~ Beta(a, b)``
  (BG/NBD);
- each paid order's value is ``Gamma(p, nu)`` with ``nu ~ Gamma(q, v)`` per customer
  (Gamma-Gamma).

Cancelled and refunded orders are extra rows on top of that process, so the paid orders follow
it exactly. A few percent of customers sign up and never buy. Attributes (channel, company size),
complaints, CSAT and NPS are drawn *conditionally on* the customer's dropout probability, which
leaves the BG/NBD mixing distributions intact while giving churn models real signal.

Personal data (names, e-mails, phones) is made from built-in word lists, with no network or
fake-data service, so masking in reports can be tested.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> sd = generate(n_customers=500, seed=1)
>>> sorted(sd.tables)  # doctest: +NORMALIZE_WHITESPACE
['activities', 'assessments', 'customers', 'opportunities', 'orders', 'staff', 'surveys',
 'targets', 'tickets']
>>> sd.truth["bgnbd"]["r"]
0.75
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data.orders import PAID, paid_mask, paid_orders

DEFAULT_BGNBD = {"r": 0.75, "alpha": 7.5, "a": 0.8, "b": 4.0}
DEFAULT_GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}

FIRST_NAMES = (
    "Olivia Liam Emma Noah Ava Elijah Sophia Lucas Mia Mateo Amelia Levi Harper Ethan Evelyn "
    "Wei Fang Jing Lei Xiu Min Hao Yan Jun Ling Priya Arjun Ananya Rohan Fatima Omar Layla "
    "Yusuf Chloe Hugo Lea Jonas Mila Finn Sofia Luca Giulia Pablo Lucia Kenji Yuki Haruto "
    "Aiko Minjun Seoyeon Ines Tomas Zofia Jakub Freya Oscar Ingrid Astrid Kwame Ama Tariq"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Wang Li Zhang "
    "Liu Chen Yang Huang Zhao Wu Zhou Patel Sharma Singh Kumar Khan Ali Hassan Nguyen Tran "
    "Kim Park Lee Choi Tanaka Suzuki Sato Mueller Schmidt Schneider Fischer Weber Rossi "
    "Russo Ferrari Dubois Martin Bernard Silva Santos Kowalski Nowak Jensen Hansen Larsen "
    "Andersson Johansson Okafor Mensah Novak Horvat"
).split()
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "corp.example.com")
REGIONS = ("North", "South", "East", "West", "Central")
CHANNELS = ("web", "store", "referral", "marketplace", "phone")
SIZES = ("small", "medium", "large")
TICKET_CATEGORIES = ("delivery", "billing", "product", "returns", "account")
SURVEY_CHANNELS = ("email", "web", "app")


@dataclass
class SyntheticData:
    """A generated data set: raw canonical tables plus the truth they were drawn from.

    Attributes
    ----------
    tables : dict of DataFrame
        ``customers``, ``orders``, ``tickets``, ``surveys``, ``staff``, ``targets``,
        ``assessments``, ``activities``, ``opportunities`` in the canonical columns.
    truth : dict
        ``bgnbd`` (r, alpha, a, b; rates per week), ``gamma_gamma`` (p, q, v) and
        ``customers``, a DataFrame by customer id with ``lambda_`` (purchase rate per week),
        ``p_dropout``, ``nu``, ``n_repeat``, ``dropout_at`` (the timestamp at which the customer
        dropped out, NaT while alive) and ``alive`` at the end of the data. From
        :func:`generate` also ``contact_effect``, ``contact_random_share``, ``contacts`` (by
        at-risk customer: ``at_risk_at``, ``contacted``, ``contact_at``, ``randomised``,
        ``orders_before``, ``p_dropout`` and the potential outcomes ``dropped_if_contacted``
        and ``dropped_if_not``) and ``funnel`` (``stage_conversion``, ``win``).
    observation_end : Timestamp
        The last day of the data (midnight); the data runs to the end of that day.
    seed : int
        The seed used.
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    observation_end: pd.Timestamp
    seed: int
    faults: dict[str, int] = field(default_factory=dict)

    def to_dataset(self):
        """Validate the tables into a :class:`~cpm_analysis.data.Dataset`.

        Examples
        --------
        >>> generate(200, seed=3).to_dataset().customers.shape[0]
        200
        """
        from cpm_analysis.data import validate_frames

        return validate_frames(self.tables, source=f"synthetic(seed={self.seed})")

    def write(self, out_dir: str | os.PathLike, *, format: str = "csv") -> Path:
        """Write one file per table (``csv`` or ``parquet``) into ``out_dir``.

        Examples
        --------
        >>> generate(200, seed=3).write(tmp / "cpm-sample").name
        'cpm-sample'
        """
        if format not in ("csv", "parquet"):
            raise ValueError(f"format: expected 'csv' or 'parquet', got {format!r}")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables.items():
            for stale in (out / f"{name}.csv", out / f"{name}.parquet"):
                stale.unlink(missing_ok=True)
            if format == "csv":
                frame.to_csv(out / f"{name}.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
            else:
                frame.to_parquet(out / f"{name}.parquet", index=False)
        return out


def _ids(prefix: str, n: int, width: int | None = None, offset: int = 0) -> np.ndarray:
    """Ids ``prefix`` + zero-padded ``offset + 1 .. offset + n`` (never cut to ``width``)."""
    width = width or max(4, len(str(n)))
    if n == 0:
        return np.array([], dtype=f"<U{len(prefix) + width}")
    numbers = np.arange(offset + 1, offset + n + 1).astype(str)
    return np.char.add(prefix, np.char.zfill(numbers, width))


ID_TABLES = ("customers", "orders", "tickets")


def _id_settings(name: str, value: Mapping[str, int] | None, minimum: int) -> dict[str, int]:
    """Check ``id_offsets`` / ``id_widths``: integers >= ``minimum`` by id-bearing table."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: expected a dict by table ({', '.join(ID_TABLES)})")
    out = {}
    for table, number in value.items():
        if table not in ID_TABLES:
            raise ValueError(f"{name}: unknown table {table!r} (tables with ids: {ID_TABLES})")
        if isinstance(number, bool) or not isinstance(number, int | np.integer):
            raise ValueError(f"{name}: {table} must be an integer, got {number!r}")
        if number < minimum:
            raise ValueError(f"{name}: {table} must be at least {minimum}, got {number}")
        out[table] = int(number)
    return out


def _people(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    first = np.array(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)]
    names = pd.Series(first) + " " + pd.Series(last)
    tag = pd.Series(rng.integers(1, 10_000, n).astype(str))
    domain = pd.Series(np.array(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)])
    emails = pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + tag + "@" + domain
    digits = rng.integers(0, 10, size=(n, 9)).astype(str)
    local = pd.Series(["".join(row) for row in digits]) if n < 50_000 else None
    if local is None:  # vectorised path for large n
        numbers = rng.integers(100_000_000, 999_999_999, n).astype(str)
        local = pd.Series(numbers)
    phones = "+1-555-" + local.str.slice(0, 3) + "-" + local.str.slice(3, 7)
    return names.to_numpy(), emails.to_numpy(), phones.to_numpy()


def _simulate_repeat_purchases(
    rng: np.random.Generator, lam: np.ndarray, n_repeat: np.ndarray, horizon: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat purchase times (weeks after the first) of a Poisson process stopped at dropout.

    Vectorised over customers: each round draws the next inter-purchase gap for every customer
    still buying, so the loop runs over purchase numbers, never over customers.

    Returns (customer index per purchase, time in weeks per purchase, purchases per customer).
    """
    n = len(lam)
    t = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    active = np.flatnonzero(n_repeat > 0)
    who, when = [], []
    while active.size:
        t_next = t[active] + rng.exponential(1.0 / lam[active])
        inside = t_next <= horizon[active]
        idx = active[inside]
        t[idx] = t_next[inside]
        count[idx] += 1
        who.append(idx)
        when.append(t_next[inside])
        active = idx[count[idx] < n_repeat[idx]]
    if who:
        return np.concatenate(who), np.concatenate(when), count
    return np.array([], dtype=np.int64), np.array([]), count


def _choice_by_score(
    rng: np.random.Generator, score: np.ndarray, labels: tuple[str, ...], tilt: np.ndarray
) -> np.ndarray:
    """Draw a label per row with log-odds ``tilt * score`` (score in [0, 1])."""
    logits = np.outer(score, tilt)
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    cum = prob.cumsum(axis=1)
    u = rng.random(len(score))[:, None]
    return np.array(labels)[(u > cum).sum(axis=1).clip(0, len(labels) - 1)]


def generate(
    n_customers: int = 3000,
    *,
    seed: int = 0,
    start: str = "2022-01-01",
    end: str = "2025-12-31",
    bgnbd: dict[str, float] | None = None,
    gamma_gamma: dict[str, float] | None = None,
    never_ordered_share: float = 0.04,
    tickets_per_order: float = 0.15,
    surveys_per_year: float = 0.3,
    cancel_share: float = 0.03,
    refund_share: float = 0.02,
    faults: float = 0.0,
    id_offsets: Mapping[str, int] | None = None,
    id_widths: Mapping[str, int] | None = None,
    staff_for_customers: int | None = None,
    contact_effect: float = 0.0,
    contact_random_share: float = 0.2,
) -> SyntheticData:
    """Generate a company's customers, orders, tickets, surveys, staff, targets, assessments.

    Also its activities (contacts of customers by staff) and opportunities (the sales funnel),
    drawn from a random stream of their own (``default_rng([seed, 17])``), so the other tables
    are the same whatever those two hold.

    Parameters
    ----------
    n_customers : int
        Customers to create (a few hundred to millions; a million takes well under a minute).
    seed : int
        Seed of the random generator: the same seed gives the same tables.
    start, end : str
        First and last day of the data. Signups spread over the period, more in later years.
    bgnbd : dict, optional
        True BG/NBD parameters ``r, alpha, a, b`` (rates per week); default
        ``r=0.75, alpha=7.5, a=0.8, b=4.0`` (about 5 paid orders per customer over 4 years).
    gamma_gamma : dict, optional
        True Gamma-Gamma spend parameters ``p, q, v``; default ``p=6, q=4, v=15`` (mean order
        value 30).
    never_ordered_share : float
        Share of customers who sign up and never order.
    tickets_per_order : float
        Mean support tickets per paid order (more for customers likely to drop out).
    surveys_per_year : float
        Mean NPS answers per customer-year.
    cancel_share, refund_share : float
        Extra cancelled and refunded orders per paid order.
    faults : float
        Share of rows (at least one per kind) given row-level faults that validation must
        quarantine; 0 for clean data. The faults are listed in ``SyntheticData.faults``.
    id_offsets : dict, optional
        Where the numbering of ``customers``, ``orders`` and ``tickets`` ids starts (default 0:
        ``C000001``, ``O00000001``, ``T0000001``); an offset of 500 makes the first customer
        ``C000501``. Lets chunks of one large company (see :func:`write_partitioned`) have ids
        unique across chunks.
    id_widths : dict, optional
        Digits of the ``customers``, ``orders`` and ``tickets`` ids (default: customers
        ``max(6, digits of n_customers)``, orders 8, tickets 7). Longer numbers are never cut.
    staff_for_customers : int, optional
        Size the staff (account owners, service agents) as for a company of this many customers
        instead of ``n_customers``, so chunks of one company share staff ids and roles.
    contact_effect : float
        The true effect of contacting an at-risk customer: after the contact, the dropout
        probability after each purchase is multiplied by ``1 - contact_effect`` (0: contact
        does nothing; 0.5 halves the dropout hazard). A customer is at risk once
        :data:`AT_RISK_DAYS` (60) days pass after a paid order without another, and is
        contacted 1-14 days later or not (see ``contact_random_share``). With the default 0 every
        table but activities and opportunities is exactly the company without contacts; with
        an effect the contacted customers buy more, so orders and the tables drawn after them
        differ.
    contact_random_share : float
        Share of the at-risk customers whose contact is randomised (a fair coin); the others
        are contacted by a targeting rule that favours customers with more orders. The truth
        says who was randomised, so an estimate can be checked against ``contact_effect``.

    Returns
    -------
    SyntheticData

    Examples
    --------
    >>> sd = generate(1000, seed=42)
    >>> sd.tables["orders"]["status"].value_counts().index[0]
    'paid'
    """
    if n_customers < 10:
        raise ValueError(f"n_customers: need at least 10 customers, got {n_customers}")
    offsets = _id_settings("id_offsets", id_offsets, minimum=0)
    widths = _id_settings("id_widths", id_widths, minimum=1)
    if staff_for_customers is not None and staff_for_customers < 10:
        raise ValueError(
            f"staff_for_customers: need at least 10 customers, got {staff_for_customers}"
        )
    for name, value in (("faults", faults), ("never_ordered_share", never_ordered_share)):
        if not 0 <= value < 1:
            raise ValueError(f"{name}: expected a share in [0, 1), got {value}")
    for name, value in (
        ("contact_effect", contact_effect),
        ("contact_random_share", contact_random_share),
    ):
        if not (isinstance(value, int | float) and 0 <= value <= 1):
            raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
    truth_bg = {**DEFAULT_BGNBD, **(bgnbd or {})}
    truth_gg = {**DEFAULT_GAMMA_GAMMA, **(gamma_gamma or {})}
    rng = np.random.default_rng(seed)
    t_start, t_end = pd.Timestamp(start), pd.Timestamp(end)
    end_instant = t_end + pd.Timedelta(1, "D") - pd.Timedelta(1, "s")
    n = int(n_customers)

    # --- customers: signup days (growing business), attributes, owners ------------------------
    span_days = (t_end - t_start).days
    signup_day = np.floor(span_days * rng.random(n) ** 0.8).astype(np.int64)
    signup = (
        t_start.to_datetime64()
        + signup_day.astype("timedelta64[D]")
        + rng.integers(8 * 3600, 20 * 3600, n).astype("timedelta64[s]")
    )
    lam = rng.gamma(truth_bg["r"], 1.0 / truth_bg["alpha"], n)
    p_drop = rng.beta(truth_bg["a"], truth_bg["b"], n)
    nu = rng.gamma(truth_gg["q"], 1.0 / truth_gg["v"], n)
    buyer = rng.random(n) >= never_ordered_share
    risk = np.clip(p_drop / np.quantile(p_drop, 0.99), 0, 1)  # 0 loyal .. 1 about to leave

    n_staffed = n if staff_for_customers is None else int(staff_for_customers)
    n_owners = int(np.clip(n_staffed // 150, 4, 60))
    n_agents = int(np.clip(n_staffed // 300, 3, 40))
    staff_ids = _ids("S", n_owners + n_agents + 4, 3)
    owners = staff_ids[:n_owners]
    agents = staff_ids[n_owners : n_owners + n_agents]
    owner_weights = rng.dirichlet(np.full(n_owners, 4.0))
    owner_of = owners[rng.choice(n_owners, n, p=owner_weights)]
    names, emails, phones = _people(rng, n)
    customer_ids = _ids(
        "C", n, widths.get("customers", max(6, len(str(n)))), offsets.get("customers", 0)
    )
    customers = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "signup_date": signup.astype("datetime64[ns]"),
            "name": names,
            "email": emails,
            "phone": phones,
            "owner_id": owner_of,
            "region": np.array(REGIONS)[rng.choice(5, n, p=[0.25, 0.2, 0.2, 0.2, 0.15])],
            "channel": _choice_by_score(rng, risk, CHANNELS, np.array([0.0, -1.0, -1.5, 1.5, 0.5])),
            "company_size": _choice_by_score(rng, risk, SIZES, np.array([1.0, 0.0, -1.0])),
        }
    )

    # --- orders: BG/NBD purchases, Gamma-Gamma spend ------------------------------------------
    first_order = signup + rng.integers(0, 2 * 3600, n).astype("timedelta64[s]")
    horizon_weeks = (end_instant.to_datetime64() - first_order) / np.timedelta64(1, "D") / 7.0
    n_repeat = np.where(buyer, rng.geometric(p_drop), 0)
    rep_who, rep_weeks, rep_count = _simulate_repeat_purchases(rng, lam, n_repeat, horizon_weeks)
    # contacts of at-risk customers, from their own stream (the main one is left untouched)
    crng = np.random.default_rng([int(seed), 17])
    plan = _contact_plan(crng, buyer, rep_who, rep_weeks, horizon_weeks, contact_random_share)
    x_who, x_weeks, x_extra = _contact_outcomes(
        crng,
        plan,
        lam,
        p_drop,
        n_repeat,
        rep_count,
        rep_who,
        rep_weeks,
        horizon_weeks,
        float(contact_effect),
    )
    if contact_effect > 0:  # contacted customers drop out later: their extra purchases
        rep_who = np.concatenate([rep_who, x_who])
        rep_weeks = np.concatenate([rep_weeks, x_weeks])
        rep_count = rep_count + np.bincount(x_who, minlength=n)
        n_repeat = n_repeat + x_extra
    buyers = np.flatnonzero(buyer)
    who = np.concatenate([buyers, rep_who])
    when = np.concatenate(
        [
            first_order[buyers],
            first_order[rep_who] + (rep_weeks * 7 * 86400).astype("timedelta64[s]"),
        ]
    )
    order_by = np.lexsort((when, who))
    who, when = who[order_by], when[order_by]
    amount = np.round(rng.gamma(truth_gg["p"], 1.0 / nu[who]), 2)
    amount = np.maximum(amount, 0.01)
    n_paid = len(who)

    extra_n = rng.binomial(n_paid, cancel_share + refund_share)
    base = rng.integers(0, n_paid, extra_n)
    extra_when = np.minimum(
        when[base] + rng.integers(600, 5 * 86400, extra_n).astype("timedelta64[s]"),
        end_instant.to_datetime64(),
    )
    extra_status = np.where(
        rng.random(extra_n) < cancel_share / (cancel_share + refund_share), "cancelled", "refunded"
    )
    extra_amount = np.round(rng.gamma(truth_gg["p"], 1.0 / nu[who[base]]), 2)
    extra_amount = np.where(extra_status == "refunded", -extra_amount, extra_amount)
    all_who = np.concatenate([who, who[base]])
    all_when = np.concatenate([when, extra_when])
    order_rows = np.lexsort((all_when, all_who))
    status = np.concatenate([np.full(n_paid, PAID), extra_status])[order_rows]
    orders = pd.DataFrame(
        {
            "order_id": _ids("O", len(all_who), widths.get("orders", 8), offsets.get("orders", 0)),
            "customer_id": customer_ids[all_who[order_rows]],
            "order_date": all_when[order_rows].astype("datetime64[ns]"),
            "amount": np.concatenate([amount, extra_amount])[order_rows],
            "status": status,
            "quantity": rng.integers(1, 6, len(all_who)),
            "category": np.array(["music", "books", "electronics", "home", "games"])[
                rng.integers(0, 5, len(all_who))
            ],
        }
    )

    # --- truth ---------------------------------------------------------------------------------
    died = buyer & (rep_count == n_repeat) & (n_repeat > 0)
    last_rep = np.zeros(n)
    if rep_who.size:
        np.maximum.at(last_rep, rep_who, rep_weeks)
    dropout_at = pd.Series(
        np.where(
            died,
            first_order + (last_rep * 7 * 86400).astype("timedelta64[s]"),
            np.datetime64("NaT"),
        ).astype("datetime64[ns]")
    )
    truth_customers = pd.DataFrame(
        {
            "lambda_": lam,
            "p_dropout": p_drop,
            "nu": nu,
            "buyer": buyer,
            "n_repeat": n_repeat,
            "dropout_at": dropout_at.to_numpy(),
            "alive": buyer & ~died,
        },
        index=pd.Index(customer_ids, name="customer_id"),
    )

    # --- tickets: more and angrier for customers about to leave --------------------------------
    ticket_prob = np.clip(tickets_per_order * (0.4 + 1.6 * risk[who]), 0, 1)
    has_ticket = rng.random(n_paid) < ticket_prob
    t_who = who[has_ticket]
    n_t = len(t_who)
    opened = when[has_ticket] + (rng.exponential(3.0, n_t) * 86400).astype("timedelta64[s]")
    keep = opened <= end_instant.to_datetime64()
    t_who, opened, n_t = t_who[keep], opened[keep], int(keep.sum())
    agent_speed = rng.lognormal(0.0, 0.35, n_agents)
    agent_quality = rng.normal(0.0, 0.3, n_agents)
    agent_idx = rng.integers(0, n_agents, n_t)
    response_h = rng.lognormal(np.log(5.0), 0.9, n_t) * agent_speed[agent_idx]
    resolve_h = response_h + rng.lognormal(np.log(20.0), 1.0, n_t)
    complaint = rng.random(n_t) < 0.12 + 0.45 * risk[t_who]
    first_resp = opened + (response_h * 3600).astype("timedelta64[s]")
    resolved = opened + (resolve_h * 3600).astype("timedelta64[s]")
    nat = np.datetime64("NaT")
    end64 = end_instant.to_datetime64()
    first_resp = np.where(first_resp <= end64, first_resp, nat)
    resolved = np.where(resolved <= end64, resolved, nat)
    csat_latent = (
        4.4
        - 1.1 * complaint
        - 0.015 * response_h
        - 1.2 * risk[t_who]
        + agent_quality[agent_idx]
        + rng.normal(0, 0.6, n_t)
    )
    answered = (rng.random(n_t) < 0.7) & ~pd.isna(resolved)
    satisfaction = np.where(answered, np.clip(np.round(csat_latent), 1, 5), np.nan)
    t_order = np.argsort(opened, kind="stable")
    tickets = pd.DataFrame(
        {
            "ticket_id": _ids("T", n_t, widths.get("tickets", 7), offsets.get("tickets", 0)),
            "customer_id": customer_ids[t_who[t_order]],
            "opened_at": opened[t_order].astype("datetime64[ns]"),
            "first_response_at": first_resp[t_order].astype("datetime64[ns]"),
            "resolved_at": resolved[t_order].astype("datetime64[ns]"),
            "category": np.array(TICKET_CATEGORIES)[rng.integers(0, 5, n_t)],
            "is_complaint": complaint[t_order],
            "agent_id": agents[agent_idx[t_order]],
            "satisfaction": satisfaction[t_order],
        }
    )

    # --- surveys (NPS) -------------------------------------------------------------------------
    tenure_years = np.where(buyer, (end64 - first_order) / np.timedelta64(1, "D") / 365.25, 0.0)
    n_surveys = rng.poisson(surveys_per_year * tenure_years)
    s_who = np.repeat(np.arange(n), n_surveys)
    s_when = first_order[s_who] + (
        rng.random(len(s_who)) * (end64 - first_order[s_who]) / np.timedelta64(1, "s")
    ).astype("timedelta64[s]")
    score = np.clip(np.round(rng.normal(9.2 - 6.0 * risk[s_who], 1.6)), 0, 10)
    s_order = np.argsort(s_when, kind="stable")
    surveys = pd.DataFrame(
        {
            "customer_id": customer_ids[s_who[s_order]],
            "responded_at": s_when[s_order].astype("datetime64[ns]"),
            "score": score[s_order],
            "channel": np.array(SURVEY_CHANNELS)[rng.integers(0, 3, len(s_who))],
        }
    )

    # --- staff ---------------------------------------------------------------------------------
    n_staff = len(staff_ids)
    staff_names, _, _ = _people(rng, n_staff)
    roles = np.array(
        ["sales"] * n_owners + ["service"] * n_agents + ["sales", "service"] + ["marketing"] * 2
    )
    sales_mgr, service_mgr = staff_ids[n_owners + n_agents], staff_ids[n_owners + n_agents + 1]
    managers = np.array(
        [sales_mgr] * n_owners + [service_mgr] * n_agents + [None, None, None, None], dtype=object
    )
    teams = np.array(
        ["Sales"] * n_owners + ["Service"] * n_agents + ["Sales", "Service"] + ["Marketing"] * 2
    )
    staff = pd.DataFrame(
        {
            "staff_id": staff_ids,
            "role": roles,
            "name": staff_names,
            "team": teams,
            "manager_id": managers,
        }
    )

    targets = _targets(rng, customers, orders, tickets, t_start, t_end)
    assessments = _assessments(rng, np.concatenate([owners, agents]), t_start, t_end)

    tables = {
        "customers": customers,
        "orders": orders,
        "tickets": tickets,
        "surveys": surveys,
        "staff": staff,
        "targets": targets,
        "assessments": assessments,
    }
    marketing = staff_ids[n_owners + n_agents + 2 :]
    activities = _activities(crng, plan, customers, first_order, tickets, marketing, t_start, end64)
    opportunities = _opportunities(crng, customers, buyer, end64)
    # a table with no rows is left out (a source has no such table rather than an empty one)
    for name, frame in (("activities", activities), ("opportunities", opportunities)):
        if len(frame):
            tables[name] = frame
    contacts = pd.DataFrame(
        {
            "at_risk_at": _weeks_after(first_order[plan.customer], plan.at_risk_week),
            "contacted": plan.contacted,
            "contact_at": _weeks_after(first_order[plan.customer], plan.contact_week),
            "randomised": plan.randomised,
            "orders_before": plan.orders_before,
            "p_dropout": p_drop[plan.customer],
            "dropped_if_contacted": plan.dropped_if_contacted,
            "dropped_if_not": plan.dropped_if_not,
        },
        index=pd.Index(customer_ids[plan.customer], name="customer_id"),
    )
    contacts["contact_at"] = contacts["contact_at"].where(contacts["contacted"])
    injected: dict[str, int] = {}
    if faults > 0:
        tables, injected = _inject_faults(rng, tables, faults)
        injected.update(_inject_contact_faults(crng, tables, faults))
    return SyntheticData(
        tables=tables,
        truth={
            "bgnbd": truth_bg,
            "gamma_gamma": truth_gg,
            "customers": truth_customers,
            "contact_effect": float(contact_effect),
            "contact_random_share": float(contact_random_share),
            "contacts": contacts,
            "funnel": {"stage_conversion": dict(STAGE_CONVERSION), "win": WIN_PROBABILITY},
        },
        observation_end=t_end,
        seed=seed,
        faults=injected,
    )


# --- activities and opportunities: a separate random stream ------------------------------------

#: Days without a paid order after which a customer counts as at risk (the contact rule).
AT_RISK_DAYS = 60
#: Contacts of at-risk customers follow within this many days of their becoming at risk.
CONTACT_WITHIN_DAYS = 14
#: Outcome probabilities (success, no_answer, declined, follow_up) by activity type.
OUTCOME_PROBABILITIES: dict[str, tuple[float, float, float, float]] = {
    "call": (0.45, 0.30, 0.10, 0.15),
    "visit": (0.60, 0.05, 0.15, 0.20),
    "email": (0.25, 0.60, 0.05, 0.10),
    "meeting": (0.55, 0.05, 0.15, 0.25),
    "care": (0.70, 0.20, 0.10, 0.00),
}
#: Probability that an opportunity moves on from each stage to the next (lead -> qualified,
#: qualified -> proposal, proposal -> negotiation, negotiation -> closed).
STAGE_CONVERSION: dict[str, float] = {
    "qualified": 0.65,
    "proposal": 0.70,
    "negotiation": 0.60,
    "closed": 0.80,
}
#: Probability that an opportunity that reached ``closed`` is won.
WIN_PROBABILITY = 0.65
#: Mean days an opportunity spends in each stage.
STAGE_DAYS = 10.0
_OUTCOMES = ("success", "no_answer", "declined", "follow_up")
_STAGES = ("lead", "qualified", "proposal", "negotiation", "closed")
_WEEK_S = 7 * 86400


@dataclass
class _ContactPlan:
    """Who became at risk when, who was contacted, and whether at random.

    Times are weeks after the customer's first order, as the purchase simulation counts time.
    """

    customer: np.ndarray  # customer index of each at-risk customer
    at_risk_week: np.ndarray
    contact_week: np.ndarray
    randomised: np.ndarray
    contacted: np.ndarray
    orders_before: np.ndarray  # paid orders up to becoming at risk (the first one included)
    dropped_if_contacted: np.ndarray | None = None
    dropped_if_not: np.ndarray | None = None


def _contact_plan(
    rng: np.random.Generator,
    buyer: np.ndarray,
    rep_who: np.ndarray,
    rep_weeks: np.ndarray,
    horizon_weeks: np.ndarray,
    random_share: float,
) -> _ContactPlan:
    """At-risk customers (no paid order for :data:`AT_RISK_DAYS`) and the contacts they get.

    A customer becomes at risk the first time :data:`AT_RISK_DAYS` pass after a paid order
    without another one (while the data runs for :data:`CONTACT_WITHIN_DAYS` more). A share
    ``random_share`` of them is randomised: contacted on a fair coin. The others are contacted
    by the targeting rule ``P(contact) = min(0.15 + 0.12 x earlier paid orders, 0.8)`` (the
    better customers are called more), which confounds a naive comparison. The contact comes
    1-14 days after becoming at risk.
    """
    buyers = np.flatnonzero(buyer)
    who = np.concatenate([buyers, rep_who])
    weeks = np.concatenate([np.zeros(len(buyers)), rep_weeks])
    order = np.lexsort((weeks, who))
    who, weeks = who[order], weeks[order]
    rank = np.arange(len(who)) - np.searchsorted(who, who)  # 0 = the first order
    nxt = np.append(weeks[1:], np.inf)
    nxt[np.append(who[1:] != who[:-1], True)] = np.inf
    gap = AT_RISK_DAYS / 7.0
    margin = CONTACT_WITHIN_DAYS / 7.0
    lapse = (nxt > weeks + gap) & (weeks + gap + margin <= horizon_weeks[who])
    rows = np.flatnonzero(lapse)
    first = rows[np.unique(who[rows], return_index=True)[1]]
    customer = who[first]
    at_risk = weeks[first] + gap
    earlier = rank[first] + 1
    n = len(customer)
    randomised = rng.random(n) < random_share
    coin = rng.random(n) < 0.5
    targeted = rng.random(n) < np.minimum(0.15 + 0.12 * earlier, 0.8)
    contacted = np.where(randomised, coin, targeted)
    contact_week = at_risk + rng.uniform(1.0, CONTACT_WITHIN_DAYS, n) / 7.0
    return _ContactPlan(customer, at_risk, contact_week, randomised, contacted, earlier)


def _contact_outcomes(
    rng: np.random.Generator,
    plan: _ContactPlan,
    lam: np.ndarray,
    p_drop: np.ndarray,
    n_repeat: np.ndarray,
    rep_count: np.ndarray,
    rep_who: np.ndarray,
    rep_weeks: np.ndarray,
    horizon_weeks: np.ndarray,
    effect: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both potential outcomes of each at-risk customer, and the purchases contact would add.

    A contact multiplies the dropout probability after each later purchase by ``1 - effect``.
    The remaining purchases until dropout are geometric (memoryless), so they are coupled: the
    uniform behind the observed count ``m`` is drawn again within its interval and read under
    the lower probability, which gives ``m' >= m``. The ``m' - m`` extra purchases continue the
    customer's Poisson process after their last one. Fills ``plan.dropped_if_contacted`` and
    ``plan.dropped_if_not`` (dropped out by the end of the data) and returns the extra
    purchases of the contacted customers as (customer index, weeks after the first order),
    and per customer the purchases added before dropout (also those beyond the data).
    """
    c = plan.customer
    if not len(c):  # nobody at risk (a short or tiny company)
        plan.dropped_if_not = plan.dropped_if_contacted = np.zeros(0, dtype=bool)
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), np.zeros(len(lam), dtype=np.int64)
    after = rep_weeks > plan.contact_week[np.searchsorted(c, rep_who).clip(0, len(c) - 1)]
    in_plan = np.isin(rep_who, c)
    before = np.bincount(rep_who[in_plan & ~after], minlength=len(lam))[c]
    died = (rep_count[c] == n_repeat[c]) & (n_repeat[c] > 0)
    alive_at_contact = before < n_repeat[c]
    m = np.maximum(n_repeat[c] - before, 1)
    p = np.clip(p_drop[c], 1e-12, 1 - 1e-12)
    v = rng.random(len(c))
    log_u = (m - 1) * np.log1p(-p) + np.log1p(-p * (1.0 - v))
    p_new = np.clip(p * (1.0 - effect), 1e-12, 1 - 1e-12)
    m_new = np.maximum(np.ceil(log_u / np.log1p(-p_new)), m).astype(np.int64)
    extra = np.where(alive_at_contact & died, m_new - m, 0)
    last = np.zeros(len(lam))
    if len(rep_who):
        np.maximum.at(last, rep_who, rep_weeks)
    idx = np.flatnonzero(extra > 0)
    cust = c[idx]
    x_who, x_weeks, x_count = _simulate_repeat_purchases(
        rng, lam[cust], extra[idx], horizon_weeks[cust] - last[cust]
    )
    finished = np.zeros(len(c), dtype=bool)
    finished[idx] = x_count == extra[idx]
    plan.dropped_if_not = died
    plan.dropped_if_contacted = np.where(extra > 0, finished, died)
    treated = plan.contacted[idx][x_who]
    added = np.zeros(len(lam), dtype=np.int64)
    added[c] = np.where(plan.contacted, extra, 0)
    return cust[x_who][treated], (last[cust][x_who] + x_weeks)[treated], added


def _weeks_after(origin: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    """``origin`` plus ``weeks`` (the purchase simulation's clock) as ``datetime64[ns]``."""
    return (origin + (weeks * _WEEK_S).astype("timedelta64[s]")).astype("datetime64[ns]")


def _draw(rng: np.random.Generator, labels: tuple[str, ...], probs: Any, n: int) -> np.ndarray:
    return np.array(labels)[rng.choice(len(labels), n, p=np.asarray(probs) / np.sum(probs))]


def _outcomes(rng: np.random.Generator, types: np.ndarray) -> np.ndarray:
    out = np.empty(len(types), dtype=object)
    for kind, probs in OUTCOME_PROBABILITIES.items():  # five types: a loop over types only
        rows = np.flatnonzero(types == kind)
        out[rows] = _draw(rng, _OUTCOMES, probs, len(rows))
    return out.astype(str)


def _activities(
    rng: np.random.Generator,
    plan: _ContactPlan,
    customers: pd.DataFrame,
    first_order: np.ndarray,
    tickets: pd.DataFrame,
    marketing: np.ndarray,
    t_start: pd.Timestamp,
    end64: np.datetime64,
) -> pd.DataFrame:
    """Contacts: at-risk follow-ups, routine sales contacts, care calls, campaign e-mails."""
    ids = customers["customer_id"].to_numpy()
    owner = customers["owner_id"].to_numpy()
    signup = customers["signup_date"].to_numpy(dtype="datetime64[s]")
    parts: list[tuple[Any, ...]] = []
    # at-risk follow-ups by the owner (a follow_up outcome brings a second contact)
    c = plan.customer[plan.contacted]
    when = first_order[c] + (plan.contact_week[plan.contacted] * _WEEK_S).astype("timedelta64[s]")
    kind = _draw(rng, ("call", "visit", "email"), (0.5, 0.2, 0.3), len(c))
    outcome = _outcomes(rng, kind)
    parts.append((c, owner[c], kind, when, outcome, None))
    again = np.flatnonzero(outcome == "follow_up")
    later = when[again] + (rng.uniform(3, 10, len(again)) * 86400).astype("timedelta64[s]")
    kind2 = _draw(rng, ("meeting", "call"), (0.5, 0.5), len(again))
    parts.append((c[again], owner[c[again]], kind2, later, _outcomes(rng, kind2), None))
    # routine contacts by the owner over the customer's life in the data
    years = np.maximum((end64 - signup) / np.timedelta64(1, "D") / 365.25, 0.0)
    who = np.repeat(np.arange(len(ids)), rng.poisson(0.5 * years))
    span = ((end64 - signup[who]) / np.timedelta64(1, "s")).astype(float)
    when = signup[who] + (rng.random(len(who)) * span).astype("timedelta64[s]")
    kind = _draw(rng, ("call", "visit", "email", "meeting"), (0.35, 0.25, 0.25, 0.15), len(who))
    parts.append((who, owner[who], kind, when, _outcomes(rng, kind), None))
    # care calls by the agent after half of the resolved complaints
    if len(tickets) and "agent_id" in tickets:
        complaint = tickets["is_complaint"].to_numpy(dtype=bool) & tickets["resolved_at"].notna()
        rows = np.flatnonzero(complaint.to_numpy() & (rng.random(len(tickets)) < 0.5))
        pos = pd.Index(ids).get_indexer(tickets["customer_id"].to_numpy()[rows])
        resolved = tickets["resolved_at"].to_numpy(dtype="datetime64[s]")[rows]
        when = resolved + (rng.uniform(1, 3, len(rows)) * 86400).astype("timedelta64[s]")
        kind = np.full(len(rows), "care")
        agent = tickets["agent_id"].to_numpy()[rows]
        parts.append((pos, agent, kind, when, _outcomes(rng, kind), None))
    # a campaign e-mail each quarter from marketing to 15% of the customers signed up by then
    for q in pd.period_range(t_start, pd.Timestamp(end64), freq="Q")[1:]:  # a few dozen
        day = q.start_time.to_datetime64().astype("datetime64[s]")
        reach = np.flatnonzero((signup <= day) & (rng.random(len(ids)) < 0.15))
        when = day + (rng.uniform(0, 3, len(reach)) * 86400).astype("timedelta64[s]")
        kind = np.full(len(reach), "email")
        outcome = _draw(rng, _OUTCOMES, (0.08, 0.85, 0.05, 0.02), len(reach))
        sender = marketing[rng.integers(0, len(marketing), len(reach))]
        label = f"{q.year}-Q{q.quarter} newsletter"
        parts.append((reach, sender, kind, when, outcome, label))
    frames = []
    for cust, staff, kind, when, outcome, campaign in parts:  # the five kinds of contact
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": ids[cust],
                    "staff_id": staff,
                    "type": kind,
                    "at": np.asarray(when, dtype="datetime64[s]").astype("datetime64[ns]"),
                    "outcome": outcome,
                    "campaign": campaign,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out = out.loc[out["at"] <= end64].sort_values("at", kind="stable").reset_index(drop=True)
    out.insert(0, "activity_id", _ids("A", len(out), 7))
    return out


def _opportunities(
    rng: np.random.Generator,
    customers: pd.DataFrame,
    buyer: np.ndarray,
    end64: np.datetime64,
) -> pd.DataFrame:
    """Sales opportunities moving through the funnel with :data:`STAGE_CONVERSION`."""
    ids = customers["customer_id"].to_numpy()
    owner = customers["owner_id"].to_numpy()
    signup = customers["signup_date"].to_numpy(dtype="datetime64[s]")
    years = np.where(buyer, (end64 - signup) / np.timedelta64(1, "D") / 365.25, 0.0)
    who = np.repeat(np.arange(len(ids)), rng.poisson(0.15 * np.maximum(years, 0.0)))
    n = len(who)
    span = ((end64 - signup[who]) / np.timedelta64(1, "s")).astype(float)
    created = signup[who] + (rng.random(n) * span).astype("timedelta64[s]")
    moves = rng.random((n, 4)) < np.array(list(STAGE_CONVERSION.values()))
    furthest = np.cumprod(moves, axis=1).sum(axis=1)  # 0 lead .. 4 closed
    days = rng.exponential(STAGE_DAYS, (n, 5))
    enter = np.concatenate([np.zeros((n, 1)), np.cumsum(days[:, :4], axis=1)], axis=1)
    rows = np.arange(n)
    close_days = np.where(furthest == 4, enter[rows, 4], enter[rows, furthest] + days[rows, 4])
    closed_at = created + (close_days * 86400).astype("timedelta64[s]")
    closed = closed_at <= end64
    won = np.where(furthest == 4, rng.random(n) < WIN_PROBABILITY, False)
    elapsed = (end64 - created) / np.timedelta64(1, "D")
    reached = (enter <= elapsed[:, None]).sum(axis=1) - 1
    stage = np.where(closed, furthest, np.minimum(reached, np.minimum(furthest, 3)))
    out = pd.DataFrame(
        {
            "customer_id": ids[who],
            "owner_id": owner[who],
            "created_at": created.astype("datetime64[ns]"),
            "stage": np.array(_STAGES)[stage],
            "amount": np.round(rng.gamma(2.0, 600.0, n), 2),
            "closed_at": np.where(closed, closed_at, np.datetime64("NaT")).astype("datetime64[ns]"),
            "won": pd.array(np.where(closed, won, False), dtype="boolean"),
        }
    )
    out.loc[~closed, "won"] = pd.NA
    out = out.sort_values("created_at", kind="stable").reset_index(drop=True)
    out.insert(0, "opportunity_id", _ids("P", len(out), 6))
    return out


def _inject_contact_faults(
    rng: np.random.Generator, tables: dict[str, pd.DataFrame], rate: float
) -> dict[str, int]:
    """Faults in the activities and opportunities that validation must quarantine."""
    count: dict[str, int] = {}
    if "activities" not in tables or "opportunities" not in tables:
        return count  # a company too small to have both
    acts = tables["activities"].copy()
    opps = tables["opportunities"].astype({"won": "object"})
    k = max(1, int(rate * len(acts) / 4))
    rows = rng.choice(len(acts), size=min(2 * k, len(acts)), replace=False)
    acts.loc[rows[:k], "type"] = "fax"
    count["unknown type (expected call, visit, email, meeting, care)"] = len(rows[:k])
    acts.loc[rows[k:], "staff_id"] = "S_UNKNOWN"
    count["staff_id not found in staff"] = len(rows[k:])
    closed = np.flatnonzero(opps["closed_at"].notna().to_numpy())
    ko = max(1, int(rate * len(opps) / 2))
    rows = rng.choice(closed, size=min(2 * ko, len(closed)), replace=False)
    first, second = rows[:ko], rows[ko:]
    opps.loc[first, "closed_at"] = opps.loc[first, "created_at"] - pd.Timedelta(3, "D")
    count["closed_at before created_at"] = len(first)
    opps.loc[second, "closed_at"] = pd.NaT
    opps.loc[second, "stage"] = "negotiation"
    count["won or lost without closed_at"] = len(second)
    tables.update({"activities": acts, "opportunities": opps})
    return count


PARTITIONED_TABLES = ("customers", "orders", "tickets", "surveys")
COMPANY_TABLES = ("staff", "targets", "assessments")
SUCCESS_FILE = "_SUCCESS"
_LAYOUT_VERSION = 1
_MANAGED_KWARGS = ("id_offsets", "id_widths", "staff_for_customers")


def write_partitioned(
    out_dir: str | os.PathLike,
    n_customers: int,
    *,
    seed: int = 0,
    chunk_customers: int = 1_000_000,
    tables: tuple[str, ...] | list[str] = ("customers", "orders"),
    **generate_kwargs: Any,
) -> Path:
    """Write a large synthetic company as Parquet parts, one chunk of customers at a time.

    The company is generated in chunks of at most ``chunk_customers`` customers (as equal as
    possible), each by :func:`generate` with its own seed derived from ``seed`` and the chunk
    number, and written before the next is made, so peak memory is that of one chunk. Customer,
    order and ticket ids run on across chunks, so they are unique in the whole company; customer
    ids all have the width of ``n_customers`` (at least 6 digits), order and ticket ids a width
    fixed from ``n_customers`` too (wider only if a company averages over 100 orders or 10
    tickets per customer). Every chunk has the same staff ids and roles; a chunk's orders,
    tickets and surveys belong to its own customers.

    Layout, readable by :func:`cpm_analysis.data.load` and by ``dask.dataframe.read_parquet``::

        out_dir/customers/part-00000.parquet, part-00001.parquet, ...   (one per chunk)
        out_dir/orders/part-00000.parquet, ...                          (likewise tickets, surveys)
        out_dir/staff.parquet, assessments.parquet                      (from chunk 0)
        out_dir/targets.parquet                                         (from all chunks' sums)
        out_dir/_SUCCESS                                                (JSON, written last)

    ``_SUCCESS`` records the arguments and the rows per table; it is written only when every
    file is in place, so a folder without it is an interrupted write. When it is there with the
    same arguments (and the files it lists exist) the call returns at once. Otherwise the
    table files of a previous write in ``out_dir`` (``<table>/part-*.parquet``,
    ``<table>.parquet``, ``<table>.csv`` for the seven tables) are deleted first; other files
    are left alone.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created if missing).
    n_customers : int
        Customers in the whole company (at least 10).
    seed : int
        Non-negative seed; chunk ``k`` uses ``np.random.SeedSequence(seed, spawn_key=(0, k))``,
        so the same arguments give the same files.
    chunk_customers : int
        Most customers generated (and held in memory) at once; at least 10. Peak memory is
        about 3 GB per million customers in a chunk (measured: 3.1 GB for 1,000,000, 1.7 GB for
        500,000), whatever ``n_customers``; time is about 30 s per million customers.
    tables : sequence of str
        Tables to write: any of ``customers``, ``orders``, ``tickets``, ``surveys`` (one part
        per chunk) and ``staff``, ``targets``, ``assessments`` (company-level, one file each;
        ``targets`` are set from the whole company's monthly sums).
    **generate_kwargs
        Passed on to :func:`generate` (``start``, ``end``, ``bgnbd``, ``tickets_per_order``,
        ...). ``faults`` must stay 0: rows with faults have mixed types Parquet cannot hold.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ValueError
        A bad argument; the message names it.

    Examples
    --------
    >>> import json, tempfile
    >>> out = write_partitioned(tempfile.mkdtemp(), 3000, seed=1, chunk_customers=1000)
    >>> sorted(p.name for p in (out / "orders").iterdir())
    ['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet']
    >>> json.loads((out / "_SUCCESS").read_text())["rows"]["customers"]
    3000
    """
    n_customers = _check_int("n_customers", n_customers, minimum=10)
    seed = _check_int("seed", seed, minimum=0)
    chunk_customers = _check_int("chunk_customers", chunk_customers, minimum=10)
    wanted = _check_tables(tables)
    _check_generate_kwargs(generate_kwargs)
    sizes = _chunk_sizes(n_customers, chunk_customers)
    out = Path(out_dir)
    arguments = {
        "layout_version": _LAYOUT_VERSION,
        "n_customers": n_customers,
        "seed": seed,
        "chunk_customers": chunk_customers,
        "tables": list(wanted),
        "generate_kwargs": json.loads(json.dumps(generate_kwargs, sort_keys=True, default=str)),
    }
    if _is_complete(out, arguments):
        return out

    out.mkdir(parents=True, exist_ok=True)
    (out / SUCCESS_FILE).unlink(missing_ok=True)
    _remove_table_files(out)
    widths = _partitioned_id_widths(n_customers)
    made = dict.fromkeys(ID_TABLES, 0)
    rows = dict.fromkeys(wanted, 0)
    actuals: _TargetActuals | None = None
    any_tickets = False
    for k, size in enumerate(sizes):
        chunk_seed = np.random.SeedSequence(seed, spawn_key=(0, k)).generate_state(1, np.uint64)
        chunk = generate(
            size,
            seed=int(chunk_seed[0]),
            id_offsets=dict(made),
            id_widths=widths,
            staff_for_customers=n_customers,
            **generate_kwargs,
        ).tables
        for table in ID_TABLES:
            made[table] += len(chunk[table])
        for table in wanted:
            if table in PARTITIONED_TABLES:
                _write_parquet(chunk[table], out / table / f"part-{k:05d}.parquet")
                rows[table] += len(chunk[table])
            elif table != "targets" and k == 0:
                _write_parquet(chunk[table], out / f"{table}.parquet")
                rows[table] = len(chunk[table])
        if "targets" in wanted:
            part = _target_actuals(chunk["customers"], chunk["orders"])
            actuals = part if actuals is None else actuals + part
            any_tickets = any_tickets or len(chunk["tickets"]) > 0
        del chunk

    if actuals is not None:
        defaults = inspect.signature(generate).parameters
        start = pd.Timestamp(generate_kwargs.get("start", defaults["start"].default))
        end = pd.Timestamp(generate_kwargs.get("end", defaults["end"].default))
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        targets = _targets_from_actuals(rng, actuals, any_tickets, start, end)
        _write_parquet(targets, out / "targets.parquet")
        rows["targets"] = len(targets)

    marker = {**arguments, "chunks": len(sizes), "rows": rows}
    tmp = out / f".{SUCCESS_FILE}.tmp"
    tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / SUCCESS_FILE)
    return out


def _partitioned_id_widths(n_customers: int) -> dict[str, int]:
    """Id digits for a whole company: room for every customer, 100 orders and 10 tickets each."""
    digits = len(str(n_customers))
    return {
        "customers": max(6, digits),
        "orders": max(8, digits + 2),
        "tickets": max(7, digits + 1),
    }


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be at least {minimum}, got {value}")
    return int(value)


def _check_tables(tables: Any) -> tuple[str, ...]:
    allowed = PARTITIONED_TABLES + COMPANY_TABLES
    if isinstance(tables, str) or not isinstance(tables, tuple | list) or not tables:
        raise ValueError(f"tables: expected a non-empty list of table names from {allowed}")
    unknown = [t for t in tables if t not in allowed]
    if unknown:
        raise ValueError(f"tables: unknown table {unknown[0]!r} (tables are {allowed})")
    return tuple(t for t in allowed if t in tables)


def _check_generate_kwargs(kwargs: dict[str, Any]) -> None:
    known = set(inspect.signature(generate).parameters) - {"n_customers", "seed"}
    for name in kwargs:
        if name in _MANAGED_KWARGS:
            raise ValueError(f"{name}: set by write_partitioned for each chunk; do not pass it")
        if name not in known:
            raise ValueError(f"{name}: not an argument of generate ({', '.join(sorted(known))})")
    if kwargs.get("faults", 0) != 0:
        raise ValueError(
            "faults: write_partitioned writes clean data only (faulty rows have mixed types "
            "Parquet cannot hold); use generate(..., faults=...).write(...) instead"
        )


def _chunk_sizes(n_customers: int, chunk_customers: int) -> list[int]:
    """Split ``n_customers`` into as few chunks of at most ``chunk_customers`` as possible.

    The chunks are as equal as possible (so none is much smaller than the others).
    """
    n_chunks = -(-n_customers // chunk_customers)
    base, extra = divmod(n_customers, n_chunks)
    if base < 10:
        raise ValueError(
            f"chunk_customers: {n_customers} customers in chunks of at most {chunk_customers} "
            f"would leave a chunk of {base} customers (under 10); use a larger chunk_customers"
        )
    return [base + 1] * extra + [base] * (n_chunks - extra)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` via a hidden temporary file (readers skip ``.`` files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _is_complete(out: Path, arguments: dict[str, Any]) -> bool:
    """Whether ``out`` holds a finished write made with ``arguments``."""
    try:
        marker = json.loads((out / SUCCESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or any(marker.get(k) != v for k, v in arguments.items()):
        return False
    chunks = marker.get("chunks")
    if not isinstance(chunks, int):
        return False
    files = [
        out / table / f"part-{k:05d}.parquet"
        if table in PARTITIONED_TABLES
        else out / f"{table}.parquet"
        for table in arguments["tables"]
        for k in (range(chunks) if table in PARTITIONED_TABLES else [0])
    ]
    return all(f.is_file() for f in files)


def _remove_table_files(out: Path) -> None:
    """Delete the table files a previous write (or :meth:`SyntheticData.write`) left in ``out``."""
    for table in PARTITIONED_TABLES + COMPANY_TABLES:
        for stale in (out / f"{table}.parquet", out / f"{table}.csv"):
            stale.unlink(missing_ok=True)
        folder = out / table
        if folder.is_dir():
            for pattern in ("part-*.parquet", ".part-*.parquet.tmp"):
                for stale in folder.glob(pattern):
                    stale.unlink()


def _targets(
    rng: np.random.Generator,
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    tickets: pd.DataFrame,
    t_start: pd.Timestamp,
    t_end: pd.Timestamp,
) -> pd.DataFrame:
    """Monthly and quarterly SMART targets set a little above what the company achieved."""
    actuals = _target_actuals(customers, orders)
    return _targets_from_actuals(rng, actuals, len(tickets) > 0, t_start, t_end)


@dataclass
class _TargetActuals:
    """What the company achieved, in sums that add up over disjoint sets of customers.

    ``monthly``: paid revenue, paid orders, active and new customers by month; ``quarterly``:
    paid revenue by quarter; ``by_owner``: paid revenue by (owner, month).
    """

    monthly: pd.DataFrame
    quarterly: pd.Series
    by_owner: pd.Series

    def __add__(self, other: _TargetActuals) -> _TargetActuals:
        return _TargetActuals(
            monthly=self.monthly.add(other.monthly, fill_value=0.0),
            quarterly=self.quarterly.add(other.quarterly, fill_value=0.0),
            by_owner=self.by_owner.add(other.by_owner, fill_value=0.0),
        )


def _target_actuals(customers: pd.DataFrame, orders: pd.DataFrame) -> _TargetActuals:
    paid = paid_orders(orders)
    month = paid["order_date"].dt.to_period("M")
    first_month = paid.groupby("customer_id")["order_date"].min().dt.to_period("M")
    monthly = pd.DataFrame(
        {
            "revenue": paid.groupby(month)["amount"].sum(),
            "orders": paid.groupby(month).size(),
            "active_customers": paid.groupby(month)["customer_id"].nunique(),
            "new_customers": first_month.value_counts(),
        }
    ).fillna(0.0)
    quarter = paid["order_date"].dt.to_period("Q")
    quarterly = paid.groupby(quarter)["amount"].sum()
    owner_of = customers.set_index("customer_id")["owner_id"]
    by_owner = paid.groupby([paid["customer_id"].map(owner_of), month])["amount"].sum()
    return _TargetActuals(monthly=monthly, quarterly=quarterly, by_owner=by_owner)


def _targets_from_actuals(
    rng: np.random.Generator,
    actuals: _TargetActuals,
    has_tickets: bool,
    t_start: pd.Timestamp,
    t_end: pd.Timestamp,
) -> pd.DataFrame:
    monthly = actuals.monthly
    months = pd.period_range(t_start, t_end, freq="M")
    monthly = monthly.reindex(months).fillna(0.0).iloc[1:]  # the first month has no history
    stretch = rng.uniform(0.95, 1.12, size=monthly.shape)
    company = (monthly * stretch).round(0)
    company["nps"] = 30.0
    company["csat"] = 4.0
    company["first_response_hours"] = 6.0
    company["sla_compliance"] = 0.85
    company["retention_rate"] = 0.35
    company["complaint_rate"] = 1.5 if has_tickets else np.nan
    long = company.stack().rename("target").reset_index()
    long.columns = ["period", "kpi", "target"]
    long["period"] = long["period"].astype("str")
    long["owner_id"] = None
    long["weight"] = long["kpi"].map({"revenue": 0.4, "new_customers": 0.2}).fillna(0.1)

    q_rev = actuals.quarterly
    q_rev = q_rev.loc[q_rev.index > pd.Period(t_start, "Q")]
    q_long = pd.DataFrame(
        {
            "period": q_rev.index.astype("str").str.replace("Q", "-Q"),
            "kpi": "revenue",
            "target": (q_rev.to_numpy() * rng.uniform(0.97, 1.1, len(q_rev))).round(0),
            "owner_id": None,
            "weight": 0.4,
        }
    )
    by_owner = actuals.by_owner
    by_owner = by_owner.loc[by_owner.index.get_level_values(1) > pd.Period(t_start, "M")]
    o_long = pd.DataFrame(
        {
            "period": by_owner.index.get_level_values(1).astype("str"),
            "kpi": "revenue",
            "target": (by_owner.to_numpy() * rng.uniform(0.9, 1.15, len(by_owner))).round(0),
            "owner_id": by_owner.index.get_level_values(0).astype("str"),
            "weight": 0.5,
        }
    )
    return pd.concat([long, q_long, o_long], ignore_index=True)[
        ["kpi", "period", "target", "owner_id", "weight"]
    ]


def _assessments(
    rng: np.random.Generator, staff_ids: np.ndarray, t_start: pd.Timestamp, t_end: pd.Timestamp
) -> pd.DataFrame:
    quarters = pd.period_range(t_start, t_end, freq="Q").astype("str").str.replace("Q", "-Q")
    grid = pd.MultiIndex.from_product([staff_ids, quarters], names=["staff_id", "period"])
    frame = grid.to_frame(index=False)
    skill = dict(zip(staff_ids, rng.normal(0, 8, len(staff_ids)), strict=True))
    base = frame["staff_id"].map(skill).to_numpy()
    frame["self_score"] = np.clip(np.round(78 + 0.5 * base + rng.normal(0, 6, len(frame))), 0, 100)
    frame["manager_score"] = np.clip(np.round(70 + base + rng.normal(0, 8, len(frame))), 0, 100)
    return frame


def _inject_faults(
    rng: np.random.Generator, tables: dict[str, pd.DataFrame], rate: float
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Give some rows the faults validation must quarantine (one kind per chosen row)."""
    tables = {name: frame.copy() for name, frame in tables.items()}
    orders = tables["orders"].astype({"order_date": "object", "amount": "object"})
    customers = tables["customers"]
    tickets = tables["tickets"].astype({"satisfaction": "object"})
    count: dict[str, int] = {}

    def pick(frame: pd.DataFrame, k: int, taken: set[int]) -> np.ndarray:
        free = np.setdiff1d(np.arange(len(frame)), np.fromiter(taken, dtype=np.int64))
        chosen = rng.choice(free, size=min(k, len(free)), replace=False)
        taken.update(chosen.tolist())
        return chosen

    k = max(1, int(rate * len(orders) / 5))
    used: set[int] = set()
    rows = pick(orders, k, used)
    orders.loc[rows, "order_date"] = "2024-02-30"
    count["unparseable date"] = len(rows)
    rows = pick(orders, k, used)
    orders.loc[rows, "amount"] = "n/a"
    count["non-numeric amount"] = len(rows)
    paid_free = orders.index[paid_mask(orders)].difference(list(used))
    rows = rng.choice(paid_free, size=min(k, len(paid_free)), replace=False)
    used.update(rows.tolist())
    orders.loc[rows, "amount"] = -orders.loc[rows, "amount"].astype(float)
    count["negative amount on an order that is not refunded"] = len(rows)
    rows = pick(orders, k, used)
    orders.loc[rows, "customer_id"] = "C_UNKNOWN"
    count["customer_id not found in customers"] = len(rows)
    rows = pick(orders, k, used)
    dup = orders.loc[rows].copy()
    dup["order_id"] = orders["order_id"].iloc[rng.integers(0, len(orders), len(rows))].to_numpy()
    orders = pd.concat([orders, dup], ignore_index=True)
    count["duplicate order_id"] = len(rows)

    kt = max(1, int(rate * len(tickets) / 2)) if len(tickets) else 0
    if kt:
        used_t: set[int] = set()
        rows = pick(tickets, kt, used_t)
        tickets.loc[rows, "satisfaction"] = 7
        count["satisfaction outside 1-5"] = len(rows)
        answered = tickets.index[tickets["first_response_at"].notna()].difference(list(used_t))
        rows = rng.choice(answered, size=min(kt, len(answered)), replace=False)
        tickets.loc[rows, "first_response_at"] = tickets.loc[rows, "opened_at"] - pd.Timedelta(
            2, "h"
        )
        count["first response before opening"] = len(rows)
    kc = max(1, int(rate * len(customers) / 10))
    dup_c = customers.sample(kc, random_state=int(rng.integers(0, 2**31))).copy()
    dup_c["name"] = dup_c["name"] + " (duplicate)"
    customers = pd.concat([customers, dup_c], ignore_index=True)
    count["duplicate customer_id"] = kc
    tables.update({"orders": orders, "customers": customers, "tickets": tickets})
    return tables, count


# --- contractual and discrete-time companies ----------------------------------------------------

#: True sBG parameters of the contractual mode (per-month cancellation ~ Beta(alpha, beta)).
DEFAULT_SBG = {"alpha": 0.7, "beta": 2.5}
#: True BG/BB parameters of the discrete-time mode.
DEFAULT_BGBB = {"alpha": 1.2, "beta": 0.75, "gamma": 0.65, "delta": 2.8}
#: Seconds in the contract month of :func:`cpm_analysis.clv.contract_periods` (30.4375 days).
MONTH_SECONDS = 2_629_800
#: Seconds in each contract period of :func:`cpm_analysis.clv.contract_periods`, by period code
#: (``cpm_analysis.clv.sbg.PERIOD_DAYS``, which this layer cannot import; a test ties the two).
CONTRACT_SECONDS = {"W": 604_800, "M": MONTH_SECONDS, "Q": 7_889_400, "Y": 31_557_600}
#: Monthly fee of a contract by company size.
PLAN_FEES = {"small": 19.0, "medium": 49.0, "large": 99.0}
#: The bundled contractual sample: ``generate_contractual(**SAMPLE_CONTRACT)``.
SAMPLE_CONTRACT: dict[str, Any] = {
    "n_customers": 2000,
    "seed": 2024,
    "start": "2024-01-01",
    "end": "2025-12-31",
}


def _check_truth(name: str, value: Mapping[str, float] | None, default: dict[str, float]):
    truth = {**default, **(value or {})}
    unknown = set(truth) - set(default)
    if unknown:
        raise ValueError(
            f"{name}: unknown parameter(s) {sorted(unknown)}; expected {sorted(default)}"
        )
    bad = [k for k, v in truth.items() if not (np.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"{name}: parameter(s) {bad} must be positive and finite")
    return {k: float(v) for k, v in truth.items()}


def generate_contractual(
    n_customers: int = 2000,
    *,
    seed: int = 0,
    start: str = "2024-01-01",
    end: str = "2025-12-31",
    sbg: Mapping[str, float] | None = None,
    contract_period: str = "M",
) -> SyntheticData:
    """Return a subscription company: contracts whose ends follow the sBG model.

    The company (customers, staff, tickets, surveys, assessments) is :func:`generate`'s with
    the same seed; what changes is the business. Each customer signs a monthly contract on their
    signup date and cancels at each renewal with their own probability ``theta ~ Beta(alpha,
    beta)`` (Fader & Hardie's shifted-beta-geometric model), so they pay
    ``L ~ Geometric(theta)`` months (``L >= 1``). The contract ends exactly ``L`` months of
    30.4375 days after signup (``customers.churned_at``, missing while it runs at ``end``), the
    months :func:`cpm_analysis.clv.contract_periods` counts. ``orders`` are the monthly fees
    (one paid order at the start of every paid month, ``PLAN_FEES`` by company size); tickets and
    surveys after a contract's end are left out, and targets follow the new orders. There are no
    activities or opportunities.

    Parameters
    ----------
    n_customers : int
        Customers (contracts) to create.
    seed : int
        Seed of the random generator.
    start, end : str
        First and last day of the data.
    sbg : dict, optional
        True ``alpha`` and ``beta`` (default ``DEFAULT_SBG``: 0.7 and 2.5).
    contract_period : {"W", "M", "Q", "Y"}
        The contract period (week, month, quarter or year; ``clv.contract_period``): contracts
        renew, and fees are paid, every period of :data:`CONTRACT_SECONDS` instead of every
        month; ``theta`` is then the cancellation probability per period.

    Returns
    -------
    SyntheticData
        ``truth["sbg"]`` holds the true parameters and ``truth["customers"]`` by customer id
        ``theta`` (the cancellation probability), ``months`` (``L``, the paid periods of the
        full contract, also beyond ``end``; months for the monthly default) and ``churned``
        (the contract ended by ``end``).

    Examples
    --------
    >>> sd = generate_contractual(300, seed=1)
    >>> sd.truth["sbg"]
    {'alpha': 0.7, 'beta': 2.5}
    >>> bool(sd.tables["customers"]["churned_at"].notna().any())
    True
    """
    truth_sbg = _check_truth("sbg", sbg, DEFAULT_SBG)
    if contract_period not in CONTRACT_SECONDS:
        raise ValueError(
            f"contract_period: expected one of {', '.join(map(repr, CONTRACT_SECONDS))}, "
            f"got {contract_period!r}"
        )
    period_seconds = CONTRACT_SECONDS[contract_period]
    base = generate(n_customers, seed=seed, start=start, end=end, never_ordered_share=0.0)
    rng = np.random.default_rng([int(seed), 7])
    customers = base.tables["customers"].copy()
    n = len(customers)
    theta = rng.beta(truth_sbg["alpha"], truth_sbg["beta"], n)
    months = rng.geometric(np.clip(theta, 1e-12, 1.0)).astype(np.int64)
    signup = customers["signup_date"].to_numpy(dtype="datetime64[s]")
    end_instant = (pd.Timestamp(end) + pd.Timedelta(1, "D") - pd.Timedelta(1, "s")).to_datetime64()
    elapsed = ((end_instant - signup) // np.timedelta64(1, "s")).astype(np.int64)
    # months beyond the data are capped before the date arithmetic (a tiny theta gives huge L)
    shown = np.minimum(months, np.maximum(elapsed, 0) // period_seconds + 2)
    ends = signup + (shown * period_seconds).astype("timedelta64[s]")
    churned = ends <= end_instant
    customers["churned_at"] = np.where(churned, ends, np.datetime64("NaT")).astype("datetime64[ns]")
    # the fees: one paid order at the start of every paid period up to the end of the data
    paid = np.minimum(months, elapsed // period_seconds + 1)
    who = np.repeat(np.arange(n), paid)
    k = np.arange(len(who)) - np.repeat(np.cumsum(paid) - paid, paid)
    when = signup[who] + (k * period_seconds).astype("timedelta64[s]")
    fee = customers["company_size"].map(PLAN_FEES).to_numpy(dtype=np.float64)
    ids = customers["customer_id"].to_numpy()
    orders = pd.DataFrame(
        {
            "order_id": _ids("O", len(who), 8),
            "customer_id": ids[who],
            "order_date": when.astype("datetime64[ns]"),
            "amount": fee[who],
            "status": PAID,
            "quantity": 1,
            "category": "subscription",
        }
    )
    ended = pd.Series(customers["churned_at"].to_numpy(), index=ids)
    # the contacts and the funnel follow the non-contractual company's purchases: left out
    tables = {k: v for k, v in base.tables.items() if k not in ("activities", "opportunities")}
    for name, column in (("tickets", "opened_at"), ("surveys", "responded_at")):
        frame = tables[name]
        stop = ended.reindex(frame["customer_id"]).to_numpy()
        keep = pd.isna(stop) | (frame[column].to_numpy() <= stop)
        tables[name] = frame.loc[keep].reset_index(drop=True)
    tables["customers"] = customers
    tables["orders"] = orders
    tables["targets"] = _targets(
        rng, customers, orders, tables["tickets"], pd.Timestamp(start), pd.Timestamp(end)
    )
    truth_customers = pd.DataFrame(
        {"theta": theta, "months": months, "churned": churned},
        index=pd.Index(ids, name="customer_id"),
    )
    return SyntheticData(
        tables=tables,
        truth={"sbg": truth_sbg, "customers": truth_customers},
        observation_end=pd.Timestamp(end),
        seed=seed,
    )


def generate_discrete(
    n_customers: int = 5000,
    *,
    seed: int = 0,
    first_year: int = 2018,
    opportunities: int = 6,
    bgbb: Mapping[str, float] | None = None,
) -> SyntheticData:
    """Return a discrete-time business (yearly donations): one transaction opportunity a year, BG/BB.

    Every customer makes a first donation in ``first_year`` (a single cohort, as the 1995
    donations cohort of Fader, Hardie & Shang 2010) and then has ``opportunities`` yearly
    opportunities. While alive they give with probability ``p ~ Beta(alpha, beta)`` at each
    one; before each opportunity an alive customer dies with probability
    ``theta ~ Beta(gamma, delta)``, so they are alive at opportunity ``t`` with probability
    ``(1 - theta)^t``. Each donation is a paid order on a random day of its year.

    Parameters
    ----------
    n_customers : int
        Customers of the cohort.
    seed : int
        Seed of the random generator.
    first_year : int
        The year of every first donation; the data ends on 31 December of
        ``first_year + opportunities``.
    opportunities : int
        Yearly opportunities after the first donation (``T`` of every customer).
    bgbb : dict, optional
        True ``alpha, beta, gamma, delta`` (default ``DEFAULT_BGBB``).

    Returns
    -------
    SyntheticData
        Tables ``customers`` and ``orders``; ``truth["bgbb"]`` the true parameters,
        ``truth["summary"]`` the BG/BB summary by customer id (``frequency``: repeat
        donations, ``recency``: the opportunity of the last one, 0 without any, ``T``) and
        ``truth["customers"]`` each one's ``p``, ``theta`` and ``alive`` after the last
        opportunity.

    Examples
    --------
    >>> sd = generate_discrete(500, seed=1)
    >>> int(sd.truth["summary"]["T"].max())
    6
    """
    if n_customers < 10:
        raise ValueError(f"n_customers: need at least 10 customers, got {n_customers}")
    if int(opportunities) != opportunities or opportunities < 1:
        raise ValueError(f"opportunities: expected a whole number >= 1, got {opportunities!r}")
    truth_bb = _check_truth("bgbb", bgbb, DEFAULT_BGBB)
    rng = np.random.default_rng([int(seed), 11])
    n, m = int(n_customers), int(opportunities)
    p = rng.beta(truth_bb["alpha"], truth_bb["beta"], n)
    theta = rng.beta(truth_bb["gamma"], truth_bb["delta"], n)
    # death before opportunity t (1-based) with probability theta each time: alive through
    # opportunity t iff the first "death" trial comes after t
    death = rng.geometric(np.clip(theta, 1e-12, 1.0))  # first opportunity not alive
    t_grid = np.arange(1, m + 1)
    alive = t_grid[None, :] < death[:, None]
    buys = alive & (rng.random((n, m)) < p[:, None])
    frequency = buys.sum(axis=1)
    recency = np.where(frequency > 0, m - np.argmax(buys[:, ::-1], axis=1), 0)
    ids = _ids("C", n, max(6, len(str(n))))
    year0 = pd.Timestamp(f"{int(first_year)}-01-01").to_datetime64()
    first_day = rng.integers(0, 365, n)
    signup = year0 + first_day.astype("timedelta64[D]")
    who_rep, opp = np.nonzero(buys)
    who = np.concatenate([np.arange(n), who_rep])
    year = np.concatenate([np.zeros(n, dtype=np.int64), opp + 1])
    day = np.concatenate([first_day, rng.integers(0, 365, len(who_rep))])
    when = np.array([np.datetime64(f"{int(first_year) + y}-01-01") for y in range(m + 1)])[
        year
    ] + day.astype("timedelta64[D]")
    order = np.lexsort((when, who))
    orders = pd.DataFrame(
        {
            "order_id": _ids("O", len(who), 8),
            "customer_id": ids[who[order]],
            "order_date": when[order].astype("datetime64[ns]"),
            "amount": np.round(rng.gamma(4.0, 12.5, len(who)), 2),
            "status": PAID,
        }
    )
    customers = pd.DataFrame({"customer_id": ids, "signup_date": signup.astype("datetime64[ns]")})
    index = pd.Index(ids, name="customer_id")
    summary = pd.DataFrame(
        {"frequency": frequency, "recency": recency, "T": np.full(n, m)}, index=index
    )
    truth_customers = pd.DataFrame({"p": p, "theta": theta, "alive": death > m}, index=index)
    return SyntheticData(
        tables={"customers": customers, "orders": orders},
        truth={"bgbb": truth_bb, "summary": summary, "customers": truth_customers},
        observation_end=pd.Timestamp(f"{int(first_year) + m}-12-31"),
        seed=seed,
    )


def write_sample_contract(out_dir: str | os.PathLike) -> Path:
    """Write the bundled contractual sample, ``data/sample_contract/`` (seeded, reproducible).

    It is ``generate_contractual(**SAMPLE_CONTRACT)`` (2,000 monthly contracts, 2024-2025,
    seed 2024) written as CSV, with the true sBG parameters in ``truth.json``. Rebuild it with
    ``python -c "from cpm_analysis.synthetic import write_sample_contract as w;
    w('data/sample_contract')"``.

    Examples
    --------
    >>> write_sample_contract(tmp / "sample_contract").name
    'sample_contract'
    """
    data = generate_contractual(**SAMPLE_CONTRACT)
    out = data.write(out_dir)
    (out / "truth.json").write_text(
        json.dumps({"sbg": data.truth["sbg"], **SAMPLE_CONTRACT}, indent=2) + "\n"
    )
    return out
