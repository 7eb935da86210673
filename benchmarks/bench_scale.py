"""Benchmark the Dask engine: load, RFM summary, BG/NBD + Gamma-Gamma fits and scoring.

Run: ``python -m benchmarks.bench_scale --customers 10000000``. Target (issue 8): 10 million
customers / about 50 million orders as partitioned Parquet through ``load(engine="dask")``,
``rfm_summary``, the BG/NBD and Gamma-Gamma fits and scoring (written as partitioned Parquet),
on a 2-worker ``LocalCluster`` with 6 GB per worker, in under 10 minutes on a 2-core machine.
After that total, ``rfm_scores`` and ``compute_kpis`` for one month are timed on the same data.

``--kill-worker SECONDS`` kills one worker process (SIGKILL) that many seconds into the pipeline;
its nanny starts a new one, Dask recomputes the lost partitions, and the run must give the same
result (``result.json`` holds checksums of the scored table; compare two runs with ``--check``).
``--pandas`` also runs the same stages with the pandas engine in a child process, for
comparison where the data fits in memory.

The company is written once by :func:`cpm_analysis.synthetic.write_partitioned` (one Parquet
part of customers and one of orders per million customers) and cached under
``benchmarks/.cache``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.common import CACHE, machine, peak_memory_gb, stage

OBSERVATION_END = "2025-12-31"


def company_dir(n_customers: int, seed: int = 0) -> Path:
    """The cached partitioned company of ``n_customers`` (written on first use)."""
    from cpm_analysis.synthetic import write_partitioned

    path = CACHE / f"partitioned-{n_customers}-{seed}"
    chunk = min(1_000_000, n_customers)
    write_partitioned(path, n_customers, seed=seed, chunk_customers=chunk)
    return path


def _worker_peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _killer(client, delay: float, log: list[str]) -> threading.Thread:
    """Kill one worker process ``delay`` seconds from now (its nanny restarts it)."""

    def kill() -> None:
        time.sleep(delay)
        pids = client.run(os.getpid)
        address, pid = sorted(pids.items())[0]
        os.kill(pid, signal.SIGKILL)
        log.append(f"killed worker {address} (pid {pid}) at {delay:g} s")
        print(f"  ! {log[-1]}", flush=True)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def checksums(scored_dir: Path) -> dict[str, float]:
    """Order-independent checksums of a scored table (rows, sums of each model column)."""
    import pandas as pd

    frame = pd.read_parquet(scored_dir)
    ids = pd.util.hash_pandas_object(frame["customer_id"], index=False).to_numpy()
    out: dict[str, float] = {"rows": int(len(frame)), "id_hash": int(np.bitwise_xor.reduce(ids))}
    for col in ("frequency", "recency", "T", "monetary_value", "p_alive", "clv"):
        out[f"sum_{col}"] = float(np.sort(frame[col].to_numpy())[::-1].sum())
    return out


def run_dask(
    folder: Path,
    work: Path,
    *,
    workers: int,
    memory_limit: str,
    kill_after: float | None,
) -> tuple[list[dict], dict]:
    """The pipeline on a local cluster; returns the stage rows and the result checksums."""
    from cpm_analysis import load
    from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, rfm_summary
    from cpm_analysis.kpis import compute_kpis
    from cpm_analysis.scale.cluster import close_client, start_client
    from cpm_analysis.scale.clv import fit_on_distinct, score_clv
    from cpm_analysis.segments import rfm_scores

    rows: list[dict] = []
    events: list[str] = []
    with stage(rows, "start local cluster", None, f"{workers} workers x {memory_limit}"):
        client = start_client(
            n_workers=workers, memory_limit=memory_limit, local_directory=work / "spill"
        )
    started = time.perf_counter()
    if kill_after is not None:
        _killer(client, kill_after, events)
    try:
        with stage(rows, "load + validate (store)", None):
            ds = load(folder, engine="dask", work_dir=work / "store", reuse=False)
        counts = ds.counts
        rows[-1]["note"] = (
            f"{counts['orders']['kept']:,} orders, {counts['customers']['kept']:,} customers, "
            f"{ds.npartitions} partitions"
        )
        with stage(rows, "rfm_summary (persisted)", None):
            summary = rfm_summary(ds, observation_end=OBSERVATION_END, time_unit="W").persist()
            n_summary = int(summary.map_partitions(len).sum().compute())
        rows[-1]["note"] = f"{n_summary:,} customers with a purchase"
        with stage(rows, "BG/NBD fit (distinct rows)", None):
            bg = fit_on_distinct(BetaGeoModel(), summary)
        rows[-1]["note"] = f"{bg.n_distinct_rows_:,} distinct rows"
        with stage(rows, "Gamma-Gamma fit (distinct rows)", None):
            gg = fit_on_distinct(GammaGammaModel(), summary)
        with stage(rows, "score + write Parquet", None):
            score_clv(summary, bg, gg, path=work / "scored")
        total = time.perf_counter() - started
        rows.append(
            {
                "stage": "total (load to scored table)",
                "seconds": total,
                "target_s": 600.0,
                "note": "; ".join(events),
            }
        )
        with stage(rows, "rfm_scores (segments' RFM)", None, "measures on the cluster"):
            scores = rfm_scores(ds, OBSERVATION_END)
        rows[-1]["note"] = f"{len(scores):,} customers ranked in memory"
        del scores
        with stage(rows, "compute_kpis, one month", None, "orders reduced on the cluster"):
            kpis = compute_kpis(ds, "2025-12")
        rows[-1]["note"] = f"{int(kpis['available'].sum())} KPIs available"
        peaks = client.run(_worker_peak_gb)
        rows.append(
            {
                "stage": "peak memory per worker (GB)",
                "seconds": max(peaks.values()),
                "target_s": None,
                "note": ", ".join(f"{v:.2f}" for v in peaks.values()),
            }
        )
        rows.append(
            {
                "stage": "peak memory client (GB)",
                "seconds": peak_memory_gb(),
                "target_s": None,
                "note": "",
            }
        )
        result = {
            "bgnbd": bg.params_,
            "gamma_gamma": gg.params_,
            "checksums": checksums(work / "scored"),
            "events": events,
        }
    finally:
        close_client(client)
    return rows, result


def run_pandas(folder: Path, out: Path) -> list[dict]:
    """The same stages with the pandas engine (run in a child process by ``--pandas``)."""
    from cpm_analysis import load
    from cpm_analysis.clv import (
        BetaGeoModel,
        GammaGammaModel,
        customer_lifetime_value,
        rfm_summary,
    )

    rows: list[dict] = []
    with stage(rows, "pandas load + validate", None):
        ds = load(folder)
    with stage(rows, "pandas rfm_summary", None):
        summary = rfm_summary(ds, observation_end=OBSERVATION_END, time_unit="W")
    del ds
    with stage(rows, "pandas BG/NBD fit", None):
        bg = BetaGeoModel().fit(summary)
    with stage(rows, "pandas Gamma-Gamma fit", None):
        gg = GammaGammaModel().fit(summary)
    with stage(rows, "pandas score + write Parquet", None):
        scored = summary.copy()
        scored["p_alive"] = bg.probability_alive(summary)
        scored["clv"] = customer_lifetime_value(bg, gg, summary, time_unit="W")
        scored.reset_index().to_parquet(out / "scored-pandas.parquet", index=False)
    rows.append(
        {
            "stage": "pandas total",
            "seconds": sum(r["seconds"] for r in rows),
            "target_s": None,
            "note": "",
        }
    )
    rows.append({"stage": "pandas peak memory (GB)", "seconds": peak_memory_gb(), "target_s": None})
    rows.append({"stage": "pandas BG/NBD params", "seconds": 0.0, "note": str(bg.params_)})
    return rows


def _print(rows: list[dict]) -> None:
    for row in rows:
        target = "" if row.get("target_s") is None else f"(target {row['target_s']:g} s)"
        print(f"  {row['stage']:<34} {row['seconds']:9.2f}  {target:<18} {row.get('note', '')}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB", help="per worker")
    parser.add_argument("--kill-worker", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--pandas", action="store_true", help="also run the pandas engine")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--check", type=Path, default=None, help="result.json to compare with")
    parser.add_argument("--pandas-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pandas_child is not None:
        print(json.dumps(run_pandas(company_dir(args.customers, args.seed), args.pandas_child)))
        return 0

    print(f"Dask engine, {args.customers:,} customers on {machine()}", flush=True)
    start = time.perf_counter()
    folder = company_dir(args.customers, args.seed)
    print(f"  company {folder} ready in {time.perf_counter() - start:.1f} s", flush=True)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="cpm-bench-scale-", dir=CACHE))
    work.mkdir(parents=True, exist_ok=True)
    rows, result = run_dask(
        folder,
        work,
        workers=args.workers,
        memory_limit=args.memory_limit,
        kill_after=args.kill_worker,
    )
    _print(rows)
    (work / "result.json").write_text(json.dumps(result, indent=1))
    print(f"  result: {work / 'result.json'}")
    status = 0
    if args.check is not None:
        expected = json.loads(args.check.read_text())
        same = expected["checksums"] == result["checksums"]
        close = all(
            abs(result["bgnbd"][k] - v) <= 1e-9 * abs(v) for k, v in expected["bgnbd"].items()
        )
        print(f"  same result as {args.check}: checksums {same}, BG/NBD parameters {close}")
        status = 0 if same and close else 1
    if args.pandas:
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_scale",
                "--customers",
                str(args.customers),
                "--seed",
                str(args.seed),
                "--pandas-child",
                str(work),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode == 0:
            _print(json.loads(child.stdout.strip().splitlines()[-1]))
        else:
            print(f"  pandas engine failed (exit {child.returncode}): {child.stderr[-500:]}")
    return status


if __name__ == "__main__":
    sys.exit(main())
