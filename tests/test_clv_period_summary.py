"""The period's weekly RFM summary (``cpm_analysis.clv.period_summary``) is built in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

import cpm_analysis
from cpm_analysis.clv import period_summary, rfm_summary
from cpm_analysis.synthetic import generate

# the summary's home, and the Dask engine's per-partition step that runs it on each bucket
ALLOWED = {"clv/summary.py", "scale/clv.py"}


def test_it_is_the_weekly_summary_of_the_paid_orders_up_to_the_cutoff():
    ds = generate(300, seed=4).to_dataset()
    cutoff = pd.Timestamp("2025-06-30 23:59:59.999999999")
    got = period_summary(ds.as_of(cutoff), cutoff)
    expected = rfm_summary(ds.as_of(cutoff).orders, observation_end=cutoff, time_unit="W")
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs["time_unit"] == "W"
    split = period_summary(ds, cutoff, calibration_end="2025-03-31")
    assert {"frequency_holdout", "duration_holdout"} <= set(split.columns)


def test_no_module_builds_its_own_rfm_summary():
    root = Path(cpm_analysis.__file__).parent
    callers = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in {"rfm_summary", "rfm_summary_dask"}:
                    callers.append(f"{rel}:{node.lineno}")
    assert callers == [], "call cpm_analysis.clv.period_summary"
