"""Benchmark of the segmentation (RFM scores, segments, tiers, clusters, migration).

Targets (issue 5): RFM scores, segments and tiers for 1,000,000 customers / ~5 million orders in
under 5 s; clustering 1,000,000 customers in under 30 s (fit on a sample, predict on all); peak
memory under 4 GB.

The synthetic company is generated once (in a child process, so its memory does not count
here) and cached as Parquet; the stages read only its orders table.

Run from the repository root::

    python -m benchmarks.bench_segments --customers 1000000
"""

from __future__ import annotations

import argparse
import os

import pandas as pd

try:
    from benchmarks.common import dataset_dir_in_child, machine, peak_memory_gb, stage
except ImportError:  # run as a script: python benchmarks/bench_segments.py
    from common import dataset_dir_in_child, machine, peak_memory_gb, stage  # type: ignore[no-redef]


def run(
    n_customers: int = 1_000_000,
    *,
    seed: int = 0,
    as_of: str = "2025-12",
    previous: str = "2025-11",
    orders: pd.DataFrame | None = None,
) -> list[dict]:
    """Time each stage; rows ``{"stage", "seconds", "target_s", "note"}``.

    Parameters
    ----------
    n_customers : int
        Size of the synthetic company (generated once and cached as Parquet).
    seed : int
        Seed of the generator.
    as_of, previous : str
        The cutoff of the scores and the previous one for the migration stage.
    orders : DataFrame, optional
        Use these orders instead of the synthetic company's.

    Examples
    --------
    >>> rows = run(20_000)  # doctest: +SKIP
    """
    from cpm_analysis.segments import (
        cluster_customers,
        rfm_scores,
        rfm_segments,
        segment_migration,
        value_tiers,
    )

    rows: list[dict] = []
    if orders is None:
        path = dataset_dir_in_child(n_customers, seed) / "orders.parquet"
        with stage(rows, "read orders.parquet (not timed by the issue)"):
            orders = pd.read_parquet(path)
    rows.append(
        {"stage": "input", "seconds": None, "target_s": None, "note": f"{len(orders):,} orders"}
    )

    with stage(rows, f"rfm_scores as of {as_of}"):
        scores = rfm_scores(orders, as_of)
    with stage(rows, "rfm_segments"):
        segments = rfm_segments(scores)
    with stage(rows, "value_tiers"):
        tiers = value_tiers(segments)
    shares = tiers.groupby("tier", observed=False)["monetary"].sum() / tiers["monetary"].sum()
    rows.append(
        {
            "stage": "scores + segments + tiers",
            "seconds": sum(row["seconds"] for row in rows[-3:]),
            "target_s": 5.0,
            "note": (
                f"{len(scores):,} customers; {segments['segment'].nunique()} segments; tier A: "
                f"{(tiers['tier'] == 'A').mean():.1%} of customers, {shares['A']:.1%} of revenue"
            ),
        }
    )

    with stage(rows, "cluster_customers (k = 2..8 by silhouette)", 30.0):
        result = cluster_customers(scores, random_state=0)
    rows[-1]["note"] = (
        f"k = {result.k}, silhouette {result.silhouette:.3f} "
        f"(fit on {min(100_000, len(scores)):,}, silhouette on {min(5_000, len(scores)):,}, "
        f"predict on {len(scores):,})"
    )
    with stage(rows, "cluster_customers (k = 5)"):
        cluster_customers(scores, k=5, random_state=0)

    with stage(rows, f"segment_migration {previous} -> {as_of} (incl. scoring {previous})"):
        before = rfm_segments(rfm_scores(orders, previous))
        migration = segment_migration(before, segments)
    rows[-1]["note"] = f"{len(migration.fallen):,} customers fell from the top"
    rows.append(
        {
            "stage": "peak memory (GB)",
            "seconds": None,
            "target_s": None,
            "note": (
                f"{peak_memory_gb():.2f} GB (target < 4 GB); {machine()}; load average "
                f"{os.getloadavg()[0]:.1f} (other processes share the cores)"
            ),
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
    with pd.option_context("display.width", 200, "display.max_colwidth", 100):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
