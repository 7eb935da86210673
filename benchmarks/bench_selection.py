"""Benchmark of the purchase-model choice of a period (issue 16, item 5).

What the choice adds to :func:`cpm_analysis.pipeline.build_period`: one call of
:func:`cpm_analysis.clv.selection.choose_value_model` (the calibration/holdout summary, the
fits of the candidates on its distinct rows, their holdout reports and the weekly tracking
series), and the difference between fitting and scoring the chosen model and BG/NBD in the
scoring's lifetime-value block. Timed on the bundled sample and on a synthetic company of
``--customers`` customers (generated once and cached, see ``benchmarks/common.py``). Wall and
CPU seconds are both printed: on a shared machine the CPU seconds say more.

Run from the repository root::

    python -m benchmarks.bench_selection --customers 100000
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd


def _timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def measure(name: str, dataset, period: str) -> list[dict]:
    """Time the choice and the scoring's CLV block with BG/NBD and with the chosen model."""
    from cpm_analysis.clv.selection import choose_value_model
    from cpm_analysis.periods import parse_period
    from cpm_analysis.scoring import _clv_block

    cutoff = parse_period(period).end
    view = dataset.as_of(cutoff)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        choice, wall, cpu = _timed(choose_value_model, view, cutoff)
        rows.append({"data": name, "stage": "choose_value_model", "wall_s": wall, "cpu_s": cpu})
        _, wall, cpu = _timed(_clv_block, view, cutoff)
        rows.append({"data": name, "stage": "CLV block, BG/NBD", "wall_s": wall, "cpu_s": cpu})
        _, wall, cpu = _timed(_clv_block, view, cutoff, choice=choice, view=view)
        rows.append(
            {"data": name, "stage": f"CLV block, {choice.chosen}", "wall_s": wall, "cpu_s": cpu}
        )
    print(f"{name}: chose {choice.chosen} ({choice.route}): {choice.reason}")
    return rows


def main(argv: list[str] | None = None) -> int:
    """Time the model choice on the sample and on a synthetic company."""
    from benchmarks.common import dataset_dir, machine
    from cpm_analysis.data import load, sample_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"# model choice on {machine()}")
    rows = measure("sample", load(sample_dir()), "2025-06")
    big = load(dataset_dir(args.customers, args.seed))
    rows += measure(f"synthetic {args.customers:,}", big, "2025-06")
    print(pd.DataFrame(rows).round(2).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
