"""Benchmark of the KPI, cohort and team scorecard analyses on a large synthetic company.

Targets (issue 6): all KPIs for one month on 1,000,000 customers / ~5 million orders / ~500,000
tickets in under 10 s; a 24-month ``kpi_history`` in under 60 s.

Run from the repository root::

    python -m benchmarks.bench_kpis --customers 1000000
"""

from __future__ import annotations

import argparse

import pandas as pd

try:
    from benchmarks.common import dataset_dir, machine, peak_memory_gb, stage
except ImportError:  # run as a script: python benchmarks/bench_kpis.py
    from common import dataset_dir, machine, peak_memory_gb, stage  # type: ignore[no-redef]


def run(
    n_customers: int = 1_000_000,
    *,
    seed: int = 0,
    month: str = "2025-06",
    history: tuple[str, str] = ("2024-01", "2025-12"),
) -> list[dict]:
    """Time each stage; rows ``{"stage", "seconds", "target_s", "note"}``.

    Parameters
    ----------
    n_customers : int
        Size of the synthetic company (generated once and cached as Parquet).
    seed : int
        Seed of the generator.
    month : str
        The month of the single-period stages.
    history : (str, str)
        First and last month of the ``kpi_history`` stage.

    Examples
    --------
    >>> rows = run(20_000)  # doctest: +SKIP
    """
    from cpm_analysis import load
    from cpm_analysis.cohorts import cohort_retention
    from cpm_analysis.kpis import compute_kpis, kpi_history
    from cpm_analysis.periods import period_range
    from cpm_analysis.teams import agent_scorecard, owner_scorecard

    rows: list[dict] = []
    path = dataset_dir(n_customers, seed)
    with stage(rows, "load + validate (not timed by the issue)"):
        ds = load(path)
    sizes = (
        f"{len(ds.customers):,} customers, {len(ds.orders):,} orders, "
        f"{len(ds.tickets):,} tickets, {len(ds.surveys):,} survey answers"
    )
    rows[-1]["note"] = sizes

    with stage(rows, f"compute_kpis {month} (all KPIs)", 10.0):
        kpis = compute_kpis(ds, month)
    rows[-1]["note"] = f"{int(kpis['available'].sum())} of {len(kpis)} KPIs available"
    with stage(rows, f"compute_kpis {month} by owner_id"):
        by_owner = compute_kpis(ds, month, by="owner_id")
    rows[-1]["note"] = f"{by_owner.index.get_level_values('owner_id').nunique()} owners"
    periods = period_range(*history)
    with stage(rows, f"kpi_history {len(periods)} months", 60.0):
        hist = kpi_history(ds, periods)
    rows[-1]["note"] = f"{len(hist):,} rows"
    with stage(rows, f"owner_scorecard {month} (3 months for the rules)"):
        owners = owner_scorecard(ds, month)
    rows[-1]["note"] = f"{len(owners)} owners"
    with stage(rows, f"agent_scorecard {month} (3 months for the rules)"):
        agents = agent_scorecard(ds, month)
    rows[-1]["note"] = f"{len(agents)} agents"
    with stage(rows, "cohort_retention monthly"):
        tri = cohort_retention(ds, freq="M", as_of=history[1])
    rows[-1]["note"] = f"{tri.customers.shape[0]} cohorts"
    rows.append(
        {
            "stage": "peak memory (GB)",
            "seconds": None,
            "target_s": None,
            "note": f"{peak_memory_gb():.2f} GB; {machine()}",
        }
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = pd.DataFrame(run(args.customers, seed=args.seed))
    table["ok"] = [
        "" if pd.isna(t) else ("yes" if s <= t else "NO")
        for s, t in zip(table["seconds"], table["target_s"], strict=True)
    ]
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
