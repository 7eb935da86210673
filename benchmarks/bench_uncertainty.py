"""Benchmark of the parameter bootstrap of CLV (issue 16, item 6).

Target: a bootstrap of 200 replicates for 1,000,000 customers' CLV in under 2 minutes, in
parallel where cores allow. Timed: the parametric draws (BG/NBD and Gamma-Gamma), the 90%
interval of every customer's 12-month CLV and of the CLV sums per owner (60 owners) over the
same draws, in one pass; and, smaller, the customer (nonparametric) bootstrap, whose cost is
one refit per replicate. With ``--routes``, also the BG/BB (yearly opportunities) and sBG
(monthly contracts) intervals of the same number of customers, drawn from their true
parameters, as the pages compute them for a discrete or contractual period.

The summary is drawn from the synthetic company's true BG/NBD and Gamma-Gamma parameters
(4 years, signups spread over the period, times in whole days, as ``rfm_summary`` gives them).

On a machine shared with other jobs the wall time says little; ``--jobs 1`` gives the CPU
seconds of the whole computation (about twice the wall time on two idle cores).

Run from the repository root::

    python -m benchmarks.bench_uncertainty --customers 1000000 --draws 200 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

TARGET_S = 120.0


def simulate_summary(n: int, seed: int = 0) -> pd.DataFrame:
    """A weekly rfm summary of ``n`` customers from the synthetic company's true parameters."""
    from cpm_analysis.synthetic import DEFAULT_BGNBD, DEFAULT_GAMMA_GAMMA

    bg, gg = DEFAULT_BGNBD, DEFAULT_GAMMA_GAMMA
    rng = np.random.default_rng(seed)
    lam = rng.gamma(bg["r"], 1.0 / bg["alpha"], n)
    p = rng.beta(bg["a"], bg["b"], n)
    T_days = np.floor(1461 * rng.random(n) ** 1.25)
    T = T_days / 7.0
    t = np.zeros(n)
    x = np.zeros(n)
    last = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1.0 / lam[idx])
        bought = t[idx] <= T[idx]
        active[idx[~bought]] = False
        got = idx[bought]
        x[got] += 1
        last[got] = np.floor(t[got] * 7.0) / 7.0
        active[got[rng.random(len(got)) < p[got]]] = False
    nu = rng.gamma(gg["q"], 1.0 / gg["v"], n)
    k = np.maximum(x, 1)
    spend = np.where(x > 0, np.round(rng.gamma(gg["p"] * k, 1.0 / nu) / k, 2), 0.0)
    summary = pd.DataFrame(
        {
            "frequency": x,
            "recency": np.where(x > 0, np.minimum(last, T), 0.0),
            "T": T,
            "monetary_value": spend,
            "owner_id": [f"S{i:03d}" for i in rng.integers(0, 60, n)],
        }
    )
    summary.attrs["time_unit"] = "W"
    return summary


def simulate_routes(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` donors (BG/BB, 6 yearly opportunities) and ``n`` monthly contracts (sBG, 1-36 months
    observed), drawn from the synthetic generator's true parameters, as the routes' tables."""
    from cpm_analysis.synthetic import DEFAULT_BGBB, DEFAULT_SBG

    rng = np.random.default_rng(seed)
    bb = DEFAULT_BGBB
    p = rng.beta(bb["alpha"], bb["beta"], n)
    theta = rng.beta(bb["gamma"], bb["delta"], n)
    alive = np.ones(n, dtype=bool)
    x = np.zeros(n)
    tx = np.zeros(n)
    for t in range(1, 7):
        alive &= rng.random(n) >= theta
        buy = alive & (rng.random(n) < p)
        x += buy
        tx[buy] = t
    owner = np.array([f"S{i:03d}" for i in range(60)])[rng.integers(0, 60, n)]
    donors = pd.DataFrame({"frequency": x, "recency": tx, "T": 6.0, "owner_id": owner})
    sbg = DEFAULT_SBG
    months = rng.geometric(rng.beta(sbg["alpha"], sbg["beta"], n))
    seen = rng.integers(1, 37, n)
    ended = months <= seen
    contracts = pd.DataFrame(
        {
            "T": np.where(ended, months, seen).astype(np.float64),
            "churned": ended,
            "value": np.round(rng.uniform(20.0, 80.0, n), 2),
            "owner_id": owner,
        }
    )
    return donors, contracts


def main(argv: list[str] | None = None) -> None:
    """Time the bootstrap stages and print one line per stage."""
    from benchmarks.common import machine
    from cpm_analysis.clv import BetaGeoModel, GammaGammaModel
    from cpm_analysis.clv.uncertainty import bootstrap_parameters, customer_and_group_intervals

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--customer-bootstrap", type=int, default=20, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--routes", action="store_true", help="also time BG/BB and sBG")
    args = parser.parse_args(argv)
    print(f"# {machine()}, load average {os.getloadavg()[0]:.1f}")
    summary = simulate_summary(args.customers, args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bgf = BetaGeoModel().fit(summary)
        ggf = GammaGammaModel().fit(summary)
    rows = []

    def timed(name, func):
        start, cpu = time.perf_counter(), time.process_time()
        out = func()
        rows.append((name, time.perf_counter() - start))
        # CPU seconds of this process (the whole cost with --jobs 1; workers not counted)
        used = time.process_time() - cpu
        print(f"{name:<48} {rows[-1][1]:8.2f} s wall {used:8.2f} s cpu", flush=True)
        return out

    print(f"customers {args.customers:,}, distinct rows {bgf.n_distinct_rows_:,}, jobs {args.jobs}")
    draws = timed(
        f"parametric draws ({args.draws})",
        lambda: bootstrap_parameters(bgf, summary, ggf, n_draws=args.draws, random_state=1),
    )
    timed(
        "90% CLV intervals per customer and per owner",
        lambda: customer_and_group_intervals(draws, summary, "owner_id", "clv", n_jobs=args.jobs),
    )
    total = sum(s for _, s in rows)
    verdict = "met" if total < TARGET_S else "MISSED"
    print(f"{'total (target < 120 s)':<48} {total:8.2f} s  {verdict}")
    if args.routes:
        from cpm_analysis.clv import BetaGeoBetaBinomModel, ShiftedBetaGeoModel

        donors, contracts = simulate_routes(args.customers, args.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bb = BetaGeoBetaBinomModel().fit(donors)
            sbg = ShiftedBetaGeoModel().fit(contracts)
        for name, model, table, quantity, unit in (
            ("BG/BB", bb, donors, "expected_purchases", "Y"),
            ("sBG", sbg, contracts, "clv", None),
        ):
            route_draws = timed(
                f"{name} parametric draws ({args.draws})",
                lambda m=model, d=table, u=unit: bootstrap_parameters(
                    m, d, n_draws=args.draws, random_state=1, opportunity=u
                ),
            )
            timed(
                f"{name} 90% {quantity} per customer and owner",
                lambda r=route_draws, d=table, q=quantity: customer_and_group_intervals(
                    r, d, "owner_id", q, n_jobs=args.jobs
                ),
            )
    if args.customer_bootstrap:
        b = args.customer_bootstrap
        timed(
            f"customer bootstrap refits ({b} replicates)",
            lambda: bootstrap_parameters(
                bgf,
                summary,
                ggf,
                n_draws=b,
                method="customer",
                random_state=1,
                n_jobs=args.jobs,
            ),
        )


if __name__ == "__main__":
    main()
