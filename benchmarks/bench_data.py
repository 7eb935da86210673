"""Benchmark the data stages: generate a synthetic company, write it, load and validate it;
and order lines aggregated into orders with derived customers.

Run: ``python -m benchmarks.bench_data --customers 1000000`` (both cases, the lines case in its
own process so that its peak memory is its own), or ``--case lines --lines 5000000``. Targets:
a million customers with ~5 million orders generate in under a minute and fit in a few GB of
memory (issue 2); 5 million order lines become orders and derived customers in under 10 s and
4 GB (issue 14).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

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


def make_lines(n_lines: int, seed: int = 0) -> pd.DataFrame:
    """``n_lines`` order lines: ~4 lines an order, ~5 orders a customer, 2022-2024.

    Text ids as an export holds them, dates as ``datetime64``, quantity and unit price (the
    amount is their product), a category per line, the customer's region and segment on every
    line (a few lines carry another region, so the most frequent value matters).
    """
    rng = np.random.default_rng(seed)
    n_orders = max(1, n_lines // 4)
    n_customers = max(1, n_orders // 5)
    order = np.sort(rng.integers(0, n_orders, n_lines))
    customer_of_order = rng.integers(0, n_customers, n_orders)
    customer = customer_of_order[order]
    start = np.datetime64("2022-01-01")
    day_of_order = rng.integers(0, 3 * 365, n_orders).astype("timedelta64[D]")
    regions = np.array(["Central", "East", "South", "West"])
    region = regions[customer % 4]
    noise = rng.random(n_lines) < 0.05
    region[noise] = regions[rng.integers(0, 4, int(noise.sum()))]
    return pd.DataFrame(
        {
            "order_id": pd.Series(order.astype("U12"), dtype="str").radd("O"),
            "customer_id": pd.Series(customer.astype("U12"), dtype="str"),
            "order_date": (start + day_of_order)[order].astype("datetime64[ns]"),
            "quantity": rng.integers(1, 6, n_lines).astype("float64"),
            "unit_price": np.round(rng.gamma(2.0, 10.0, n_lines), 2),
            "category": pd.Series(
                np.array(["Furniture", "Office Supplies", "Technology"])[
                    rng.integers(0, 3, n_lines)
                ],
                dtype="str",
            ),
            "region": pd.Series(region, dtype="str"),
            "segment": pd.Series(
                np.array(["Consumer", "Corporate", "Home Office"])[customer % 3], dtype="str"
            ),
        }
    )


def run_lines(n_lines: int, seed: int = 0) -> list[dict]:
    """Time order lines (Parquet) loaded into orders and derived customers (issue 14)."""
    from cpm_analysis.data import load

    rows: list[dict] = []
    with stage(rows, "generate order lines", None, f"{n_lines:,} lines"):
        lines = make_lines(n_lines, seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with stage(rows, "write parquet", None):
            lines.to_parquet(folder / "order_lines.parquet", index=False)
        del lines
        (folder / "mapping.yaml").write_text("order_lines:\n  segment: segment\n")
        cpu = time.process_time()
        with stage(rows, "lines -> orders + customers", 10.0):
            ds = load(folder)
        rows[-1]["note"] = (
            f"{time.process_time() - cpu:.1f} s CPU; {len(ds.order_lines):,} lines kept, "
            f"{len(ds.orders):,} orders, {len(ds.customers):,} customers derived, "
            f"{len(ds.rejected)} rejected"
        )
    rows.append(
        {
            "stage": "peak memory (GB)",
            "seconds": peak_memory_gb(),
            "target_s": None,
            "note": "resident set size of the whole process (target 4 GB)",
        }
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lines", type=int, default=5_000_000, help="order lines (lines case)")
    parser.add_argument("--case", choices=["all", "company", "lines"], default="all")
    args = parser.parse_args(argv)
    if args.case in ("all", "company"):
        print(f"data stages, {args.customers:,} customers on {machine()}")
        _print(run(args.customers, args.seed))
    if args.case == "all":  # its own process: its own peak memory
        command = [sys.executable, "-m", "benchmarks.bench_data", "--case", "lines"]
        command += ["--lines", str(args.lines), "--seed", str(args.seed)]
        subprocess.run(command, check=True)
    if args.case == "lines":
        print(f"order lines, {args.lines:,} lines on {machine()}")
        _print(run_lines(args.lines, args.seed))


def _print(rows: list[dict]) -> None:
    for row in rows:
        target = "" if row["target_s"] is None else f"(target {row['target_s']:g} s)"
        print(f"  {row['stage']:<32} {row['seconds']:8.2f}  {target:<18} {row['note']}")


if __name__ == "__main__":
    main()
