"""Benchmark of the sBG, BG/BB and MBG/NBD models (issue 16's speed targets).

Targets: scoring 1,000,000 customers with each model (P(alive), expected purchases, and CLV or
DERL/DERT) under 3 s per model; an sBG fit on 1,000 cohorts and a BG/BB fit on 1,000,000
customers (on their distinct ``(x, t_x, n)`` rows with weights) under 1 s each.

The customers are simulated from each model's own story with a fixed seed (no synthetic
company is needed): 1,000 monthly sBG cohorts observed for 1-60 months, BG/BB donors with 4-12
yearly opportunities, and MBG/NBD summaries in weeks over up to 78 weeks. Each stage runs
``--repeat`` times and the fastest run is reported (on a shared machine the least disturbed).

Run from the repository root::

    python -m benchmarks.bench_models --customers 1000000
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import machine, peak_memory_gb

TARGETS = {
    "sBG fit, 1,000 cohorts (distinct rows)": 1.0,
    "sBG scoring": 3.0,
    "BG/BB fit (distinct rows with weights)": 1.0,
    "BG/BB scoring": 3.0,
    "MBG/NBD scoring": 3.0,
}


def _timed(rows: list[dict], name: str, func: Any, note: str = "", repeat: int = 1) -> Any:
    best = float("inf")
    out = None
    for _ in range(max(int(repeat), 1)):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    rows.append({"stage": name, "seconds": best, "target_s": TARGETS.get(name), "note": note})
    return out


def simulate_contracts(n_customers: int, n_cohorts: int, rng: np.random.Generator) -> pd.DataFrame:
    """One ``(T, churned)`` row per customer of ``n_cohorts`` equal cohorts, cohort ``k``
    observed for ``1 + k % 60`` periods, churn probabilities ~ Beta(0.7, 2.5)."""
    theta = rng.beta(0.7, 2.5, n_customers)
    lifetime = rng.geometric(theta)
    cohort = np.arange(n_customers) % n_cohorts
    age = 1 + cohort % 60
    churned = lifetime <= age
    return pd.DataFrame(
        {"cohort": cohort, "T": np.where(churned, lifetime, age), "churned": churned}
    )


def simulate_bgbb(n_customers: int, rng: np.random.Generator) -> pd.DataFrame:
    """BG/BB histories with 4-12 opportunities (alpha, beta, gamma, delta = 1.2, 0.75, 0.66,
    2.8, the donations estimates)."""
    p = rng.beta(1.2, 0.75, n_customers)
    theta = rng.beta(0.66, 2.8, n_customers)
    n = rng.integers(4, 13, n_customers)
    alive = np.ones(n_customers, dtype=bool)
    x = np.zeros(n_customers)
    tx = np.zeros(n_customers)
    for j in range(1, 13):
        alive &= rng.random(n_customers) >= theta
        buy = alive & (rng.random(n_customers) < p) & (j <= n)
        x += buy
        tx = np.where(buy, j, tx)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": n.astype(np.float64)})


def simulate_mbgnbd(n_customers: int, rng: np.random.Generator) -> pd.DataFrame:
    """Summaries in weeks like rfm_summary's (times on a daily grid), with CDNOW-like
    MBG/NBD parameters; repeat purchases are capped by the purchases before dropout."""
    lam = rng.gamma(0.52, 1 / 6.2, n_customers)
    p = rng.beta(0.89, 1.61, n_customers)
    T = rng.integers(1, 547, n_customers) / 7.0
    before_dropout = rng.geometric(p) - 1
    x = np.minimum(rng.poisson(lam * T), before_dropout).astype(np.float64)
    last = T * rng.beta(np.maximum(x, 1.0), 1.0)
    tx = np.where(x > 0, np.round(last * 7.0) / 7.0, 0.0)
    return pd.DataFrame({"frequency": x, "recency": np.minimum(tx, T), "T": T})


def run(n_customers: int, *, seed: int = 0, repeat: int = 3) -> list[dict]:
    """Time the fits and the scoring; rows ``{"stage", "seconds", "target_s", "note"}``.

    Examples
    --------
    >>> rows = run(20_000, repeat=1)  # doctest: +SKIP
    """
    from cpm_analysis.clv import (
        BetaGeoBetaBinomModel,
        ModifiedBetaGeoModel,
        ShiftedBetaGeoModel,
        customer_lifetime_value,
    )

    rng = np.random.default_rng(seed)
    rows: list[dict] = []

    # -- sBG --------------------------------------------------------------------------------
    contracts = simulate_contracts(n_customers, 1_000, rng)
    grouped = contracts.groupby(["T", "churned"]).size().rename("customers").reset_index()
    sbg = _timed(
        rows,
        "sBG fit, 1,000 cohorts (distinct rows)",
        lambda: ShiftedBetaGeoModel().fit(grouped, grouped["customers"]),
        f"{len(grouped)} distinct (T, churned) rows of {n_customers:,} customers",
        repeat,
    )
    _timed(
        rows,
        "sBG fit, one row per customer",
        lambda: ShiftedBetaGeoModel().fit(contracts[["T", "churned"]]),
        f"{n_customers:,} rows",
        repeat,
    )

    def score_sbg() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "p_alive_12": sbg.probability_alive(contracts, future_t=12),
                "derl": sbg.derl(0.01, data=contracts),
                "clv": sbg.customer_lifetime_value(contracts, 30.0, discount_rate=0.01),
            }
        )

    _timed(
        rows,
        "sBG scoring",
        score_sbg,
        "P(alive in 12 periods), DERL and CLV (DERL x 30 a period) per customer",
        repeat,
    )

    # -- BG/BB ------------------------------------------------------------------------------
    donors = simulate_bgbb(n_customers, rng)
    cols = ["frequency", "recency", "T"]
    distinct = donors.groupby(cols).size().rename("customers").reset_index()
    bgbb = _timed(
        rows,
        "BG/BB fit (distinct rows with weights)",
        lambda: BetaGeoBetaBinomModel().fit(distinct, distinct["customers"]),
        f"{len(distinct)} distinct (x, t_x, n) rows of {n_customers:,} customers",
        repeat,
    )
    _timed(
        rows,
        "BG/BB fit, one row per customer",
        lambda: BetaGeoBetaBinomModel().fit(donors),
        f"{n_customers:,} rows, compressed inside fit",
        repeat,
    )

    def score_bgbb() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "p_alive": bgbb.probability_alive(donors),
                "expected_5": bgbb.expected_purchases(5, donors),
                "dert": bgbb.discounted_expected_residual_transactions(0.1, donors),
            }
        )

    _timed(
        rows,
        "BG/BB scoring",
        score_bgbb,
        "P(alive), expected transactions in 5 opportunities, DERT at 10%",
        repeat,
    )

    # -- MBG/NBD ----------------------------------------------------------------------------
    summary = simulate_mbgnbd(n_customers, rng)
    summary.attrs["time_unit"] = "W"
    mbg = _timed(
        rows,
        "MBG/NBD fit, one row per customer",
        lambda: ModifiedBetaGeoModel().fit(summary),
        f"{n_customers:,} rows (no target)",
        1,
    )

    def score_mbg() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "p_alive": mbg.probability_alive(summary),
                "expected_52": mbg.expected_purchases(52, summary),
                "clv": customer_lifetime_value(mbg, 40.0, summary, horizon_months=12),
            }
        )

    _timed(
        rows,
        "MBG/NBD scoring",
        score_mbg,
        "P(alive), expected purchases in 52 weeks, 12-month CLV (spend 40)",
        repeat,
    )
    rows.append(
        {
            "stage": "peak memory (GB)",
            "seconds": None,
            "target_s": None,
            "note": f"{peak_memory_gb():.2f} GB",
        }
    )
    return rows


def _print(rows: list[dict]) -> None:
    table = pd.DataFrame(rows)
    table["ok"] = [
        "" if pd.isna(t) or pd.isna(s) else ("yes" if s <= t else "NO")
        for s, t in zip(table["seconds"], table["target_s"], strict=True)
    ]
    with pd.option_context("display.width", 220, "display.max_colwidth", 110):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


def main(argv: list[str] | None = None) -> None:
    """Simulate the customers and print the benchmark table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per stage; the fastest is reported"
    )
    args = parser.parse_args(argv)
    print(f"# models benchmark, {args.customers:,} customers, on {machine()}")
    _print(run(args.customers, seed=args.seed, repeat=args.repeat))


if __name__ == "__main__":
    main()
