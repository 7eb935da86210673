"""Benchmark the data stages: generate a synthetic company, write it, load and validate it;
and order lines aggregated into orders with derived customers.

Run: ``python -m benchmarks.bench_data --customers 1000000`` (both cases, the lines case in its
own process so that its peak memory is its own), or ``--case lines --lines 5000000``. Targets:
a million customers with ~5 million orders generate in under a minute and fit in a few GB of
memory (issue 2); 5 million order lines become orders and derived customers in under 10 s and
4 GB (issue 14). ``--format csv`` writes the lines as CSV (every cell text) instead of Parquet.

Measured for issue 14 (5,000,000 lines, 1,227,003 orders, 248,211 customers; x86_64, 2 cores
shared with four other engineers, so wall times are inflated and CPU time is the fairer figure;
"before" is commit 69488e9, "after" this module's branch ``lines``; one cold load per process;
the row marked "final code" is the last commit, the other "after" figures an earlier step of
the branch, before the Excel and chunk-wise run changes):

======================  ===========  ==========================  ==========================
case                    load avg     before: wall / CPU          after: wall / CPU
======================  ===========  ==========================  ==========================
Parquet (this bench)    1.7 - 2.1    9.9 s / 9.6 s               11.9 s / 5.9 s
Parquet (this bench)    3.0 - 4.1    20.0 s / 9.0 s              12.2 s / 5.4 s
Parquet (this bench)    5.3          (not re-run)                10.0 s / 3.9 s (final code)
Parquet, paired runs    8            17.4 - 21.7 s / 7.6 - 8.5 s  10.1 - 17.5 s / 4.4 - 7.1 s
Parquet, best of 3      3.3 - 4.3    10.8 s / 5.2 s              7.2 s / 3.6 s
CSV (``--format csv``)  3.1 - 4.0    25.5 s / 22.0 s             17.0 s / 10.1 s
======================  ===========  ==========================  ==========================

User CPU alone, the figure least moved by the load: 4.2 - 4.8 s before, 2.5 - 2.9 s after; the
rest is system time, mostly page faults on fresh arrays (170,000 before, 75,000 after), which
grows with the load. Peak memory of the load 1.80 GB before, 1.46 GB after (1.75 GB for this
benchmark's whole process, generation included). Where the time went before: string passes
over every row (strip, blank checks, id normalisation, then a second hashing of the ids),
object arrays, a groupby per minimum, and dates and amounts of CSV parsed per row. After:
each text column is hashed once, by its runs (:mod:`cpm_analysis.data.distinct`), ids,
dates, amounts and categories are checked per distinct value, and the codes found on the way
group the lines into orders and the orders into customers. What remains is the Parquet read
(~0.9 s CPU), hashing the order and customer ids (~0.5 s) and the group reductions.
"""

from __future__ import annotations

import argparse
import os
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


def run_lines(n_lines: int, seed: int = 0, fmt: str = "parquet") -> list[dict]:
    """Time order lines (Parquet, or CSV: every cell text) loaded into orders and derived
    customers (issue 14)."""
    from cpm_analysis.data import load

    rows: list[dict] = []
    with stage(rows, "generate order lines", None, f"{n_lines:,} lines"):
        lines = make_lines(n_lines, seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with stage(rows, f"write {fmt}", None):
            if fmt == "csv":
                lines.to_csv(folder / "order_lines.csv", index=False)
            else:
                lines.to_parquet(folder / "order_lines.parquet", index=False)
        del lines
        (folder / "mapping.yaml").write_text("order_lines:\n  segment: segment\n")
        load_average = os.getloadavg()[0]
        cpu = time.process_time()
        with stage(rows, "lines -> orders + customers", 10.0):
            ds = load(folder)
        rows[-1]["note"] = (
            f"{time.process_time() - cpu:.1f} s CPU (load average {load_average:.1f}); "
            f"{len(ds.order_lines):,} lines kept, {len(ds.orders):,} orders, "
            f"{len(ds.customers):,} customers derived, {len(ds.rejected)} rejected"
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
    parser.add_argument(
        "--format", choices=["parquet", "csv"], default="parquet", help="lines case: file type"
    )
    args = parser.parse_args(argv)
    if args.case in ("all", "company"):
        print(f"data stages, {args.customers:,} customers on {machine()}")
        _print(run(args.customers, args.seed))
    if args.case == "all":  # its own process: its own peak memory
        command = [sys.executable, "-m", "benchmarks.bench_data", "--case", "lines"]
        command += ["--lines", str(args.lines), "--seed", str(args.seed), "--format", args.format]
        subprocess.run(command, check=True)
    if args.case == "lines":
        print(f"order lines ({args.format}), {args.lines:,} lines on {machine()}")
        _print(run_lines(args.lines, args.seed, args.format))


def _print(rows: list[dict]) -> None:
    for row in rows:
        target = "" if row["target_s"] is None else f"(target {row['target_s']:g} s)"
        print(f"  {row['stage']:<32} {row['seconds']:8.2f}  {target:<18} {row['note']}")


if __name__ == "__main__":
    main()
