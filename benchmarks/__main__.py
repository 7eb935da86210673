"""Run every benchmark, each in its own process (so peak memory is per stage group).

Usage::

    python -m benchmarks --customers 1000000            # everything
    python -m benchmarks --customers 200000 --only clv kpis
    python -m benchmarks --customers 10000000 --only scale   # the Dask engine (issue 8)

The synthetic company of each size is generated once and cached under ``benchmarks/.cache``
(``CPM_BENCH_CACHE`` to move it); the Dask benchmark writes it as partitioned Parquet, one
million customers at a time. The report benchmark uses its own sizes (the sample and
100,000 customers). Output is plain text, ready to paste into docs/performance.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchmarks.common import machine

AREAS = ("data", "clv", "models", "selection", "segments", "kpis", "churn", "report", "scale")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmark modules one after another; exit non-zero if one fails."""
    parser = argparse.ArgumentParser(description="cpm-analysis benchmarks")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=AREAS, default=list(AREAS))
    args = parser.parse_args(argv)
    print(f"# cpm-analysis benchmarks on {machine()}\n")
    failed = []
    for area in args.only:
        command = [sys.executable, "-m", f"benchmarks.bench_{area}", "--seed", str(args.seed)]
        if area != "report":
            command += ["--customers", str(args.customers)]
        print(f"## {area}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(command, check=False)
        print(f"({area}: {time.perf_counter() - start:.1f} s wall)\n", flush=True)
        if proc.returncode != 0:
            failed.append(area)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
