"""Benchmark the data stages: generate a synthetic company, write it, load and validate it.

Run: ``python -m benchmarks.bench_data --customers 1000000``. Targets (issue 2): a million
customers with ~5 million orders generate in under a minute and fit in a few GB of memory.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.common import machine, peak_memory_gb, stage


def run(n_customers: int, seed: int = 0) -> list[dict]:
    """Time generate, write (Parquet) and load (validate) for ``n_customers``."""
    from cpm_analysis.data import load
    from cpm_analysis.synthetic import generate

    rows: list[dict] = []
    with stage(rows, "generate", 60.0, f"{n_customers:,} customers"):
        data = generate(n_customers, seed=seed)
    orders = len(data.tables["orders"])
    rows[-1]["note"] += f", {orders:,} orders, {len(data.tables['tickets']):,} tickets"
    with tempfile.TemporaryDirectory() as tmp:
        with stage(rows, "write parquet", None):
            data.write(Path(tmp), format="parquet")
        del data
        with stage(rows, "load + validate (parquet)", None):
            ds = load(tmp)
        rows[-1]["note"] = f"{len(ds.orders):,} orders kept, {len(ds.rejected)} rejected"
        with stage(rows, "as_of (point-in-time view)", None):
            ds.as_of("2024-06")
    rows.append(
        {
            "stage": "peak memory (GB)",
            "seconds": peak_memory_gb(),
            "target_s": None,
            "note": "resident set size",
        }
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"data stages, {args.customers:,} customers on {machine()}")
    for row in run(args.customers, args.seed):
        target = "" if row["target_s"] is None else f"(target {row['target_s']:g} s)"
        print(f"  {row['stage']:<32} {row['seconds']:8.2f}  {target:<18} {row['note']}")


if __name__ == "__main__":
    main()
