"""The paid-order rule (``cpm_analysis/data/orders.py``) and every analysis that counts purchases.

Each consumer must count exactly the orders the rule counts, on a dataset holding every kind of
status: ``paid``, missing, ``refunded``, ``cancelled`` and (through the loader) a differently cased
``" PAID "``. A scan of the source checks that no other module compares a status to ``"paid"``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cpm_analysis
from cpm_analysis import load
from cpm_analysis.churn import churn_features
from cpm_analysis.clv import rfm_summary
from cpm_analysis.cohorts import cohort_retention
from cpm_analysis.data import Dataset, paid_mask, paid_orders
from cpm_analysis.kpis import compute_kpis
from cpm_analysis.segments import rfm_scores

CUTOFF = pd.Timestamp("2025-06-30 23:59:59.999999999")

# customer -> [(day of June 2025, amount, status)]; amounts are powers of two so a sum names
# exactly the orders it counts.
ROWS = {
    "a": [(2, 1.0, "paid"), (4, 2.0, None), (6, -4.0, "refunded"), (8, 8.0, "cancelled")],
    "b": [(3, -16.0, "refunded")],
    "c": [(5, 32.0, None)],
    "d": [(7, 64.0, "cancelled"), (9, 128.0, "paid"), (11, 256.0, " PAID ")],
}
# what the rule counts once the loader has normalised " PAID " to "paid"
EXPECTED_COUNT = {"a": 2, "c": 1, "d": 2}
EXPECTED_AMOUNT = {"a": 3.0, "c": 32.0, "d": 384.0}


def _frames() -> dict[str, pd.DataFrame]:
    orders = pd.DataFrame(
        [
            {
                "order_id": f"{cid}{i}",
                "customer_id": cid,
                "order_date": f"2025-06-{day:02d}",
                "amount": amount,
                "status": status,
            }
            for cid, rows in ROWS.items()
            for i, (day, amount, status) in enumerate(rows)
        ]
    )
    customers = pd.DataFrame({"customer_id": list(ROWS), "signup_date": "2025-01-01"})
    return {"customers": customers, "orders": orders}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load(_frames())


def test_the_loader_normalises_the_status_so_the_rule_need_not(dataset):
    status = dataset.orders.set_index("order_id")["status"]
    assert status["d2"] == "paid"
    assert pd.isna(status["a1"]) and pd.isna(status["c0"])
    assert set(status.dropna()) == {"paid", "refunded", "cancelled"}


def test_paid_mask_counts_paid_and_missing_status():
    status = pd.Series(["paid", None, "refunded", "cancelled"], dtype="str")
    assert paid_mask(status).tolist() == [True, True, False, False]
    frame = pd.DataFrame({"status": status, "amount": [1.0, 2.0, 3.0, 4.0]})
    assert paid_orders(frame)["amount"].tolist() == [1.0, 2.0]
    assert paid_mask(frame[["amount"]]).all()


@pytest.mark.parametrize("value", [" Paid ", "PAID", "void"])
def test_an_unvalidated_status_is_an_error_not_a_guess(value):
    frame = pd.DataFrame({"status": ["paid", value]})
    with pytest.raises(ValueError, match=r"orders\.status: 1 order\(s\) .*not a validated"):
        paid_mask(frame)


def test_an_unvalidated_status_fails_in_every_analysis_alike():
    frames = _frames()
    ds = Dataset(
        customers=frames["customers"].assign(signup_date=pd.Timestamp("2025-01-01")),
        orders=frames["orders"].assign(order_date=pd.to_datetime(frames["orders"]["order_date"])),
    )
    calls = [
        lambda: rfm_summary(ds, observation_end=CUTOFF),
        lambda: rfm_scores(ds, CUTOFF),
        lambda: churn_features(ds, CUTOFF, clv=False),
        lambda: compute_kpis(ds, "2025-06"),
        lambda: cohort_retention(ds, as_of="2025-06"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"orders\.status: .*' PAID '"):
            call()


def _consumer_counts(ds) -> dict[str, dict[str, float]]:
    summary = rfm_summary(ds, observation_end=CUTOFF, time_unit="D")
    if hasattr(summary, "compute"):
        summary = summary.compute()
    scores = rfm_scores(ds, CUTOFF)
    features = churn_features(ds, CUTOFF, clv=False)
    if hasattr(features, "compute"):
        features = features.compute()
    features = features.set_index("customer_id") if "customer_id" in features else features
    bought = features.loc[features["orders_total"] > 0]
    return {
        "rfm_summary": (summary["frequency"] + 1).astype(float).to_dict(),
        "rfm_scores": scores["frequency"].astype(float).to_dict(),
        "rfm_scores_monetary": scores["monetary"].astype(float).to_dict(),
        "churn_orders": bought["orders_total"].astype(float).to_dict(),
        "churn_spend": bought["spend_total"].astype(float).to_dict(),
    }


def _kpi(ds, kpi: str) -> float:
    return float(compute_kpis(ds, "2025-06").loc[kpi, "value"])


def test_every_consumer_counts_the_same_orders(dataset):
    counts = _consumer_counts(dataset)
    for name in ("rfm_summary", "rfm_scores", "churn_orders"):
        assert counts[name] == pytest.approx(EXPECTED_COUNT), name
    for name in ("rfm_scores_monetary", "churn_spend"):
        assert counts[name] == pytest.approx(EXPECTED_AMOUNT), name
    assert _kpi(dataset, "orders") == sum(EXPECTED_COUNT.values())
    assert _kpi(dataset, "revenue") == sum(EXPECTED_AMOUNT.values())
    assert _kpi(dataset, "active_customers") == len(EXPECTED_COUNT)
    cohorts = cohort_retention(dataset, as_of="2025-06")
    assert int(cohorts.sizes.sum()) == len(EXPECTED_COUNT)
    assert float(np.nansum(cohorts.revenue_amount.to_numpy())) == sum(EXPECTED_AMOUNT.values())
    assert len(paid_orders(dataset.orders)) == sum(EXPECTED_COUNT.values())


def test_the_report_counts_the_same_orders(dataset):
    from cpm_analysis import availability
    from cpm_analysis.report.customer360 import customer_view

    assert len(availability.paid_orders(dataset)) == sum(EXPECTED_COUNT.values())
    for cid, count in EXPECTED_COUNT.items():
        profile = customer_view(dataset, cid, "2025-06")
        assert int(profile.profile["orders"].iloc[0]) == count, cid


def test_the_dask_engine_counts_the_same_orders(dataset, tmp_path):
    pytest.importorskip("dask")
    dask_ds = load(_frames(), engine="dask", work_dir=tmp_path, npartitions=2)
    assert _consumer_counts(dask_ds) == _consumer_counts(dataset)
    for kpi in ("orders", "revenue", "active_customers", "new_customers"):
        assert _kpi(dask_ds, kpi) == _kpi(dataset, kpi), kpi


RULE_HOME = {"data/orders.py", "data/schema.py"}


def _compares_to_paid(node: ast.AST) -> bool:
    def is_paid(value: ast.AST) -> bool:
        return (
            isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and value.value.strip().lower() == "paid"
        )

    if isinstance(node, ast.Compare):
        return any(is_paid(v) for v in [node.left, *node.comparators]) or any(
            isinstance(v, (ast.List, ast.Tuple, ast.Set)) and any(map(is_paid, v.elts))
            for v in node.comparators
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in {"eq", "ne", "isin", "contains", "match", "startswith", "endswith"}:
            args = [*node.args, *(k.value for k in node.keywords)]
            return any(is_paid(a) for a in args) or any(
                isinstance(a, (ast.List, ast.Tuple, ast.Set)) and any(map(is_paid, a.elts))
                for a in args
            )
    return False


def test_no_module_but_the_rule_compares_a_status_to_paid():
    root = Path(cpm_analysis.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in RULE_HOME:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{rel}:{n.lineno}" for n in ast.walk(tree) if _compares_to_paid(n)]
    assert offenders == [], "use cpm_analysis.data.paid_mask / paid_orders instead"


def test_the_scan_catches_a_copy_of_the_rule():
    copies = [
        'orders.loc[orders["status"] == "paid"]',
        'orders["status"].eq("paid")',
        'status.str.strip().str.lower().isin(["paid"])',
        '"paid" != status',
    ]
    for source in copies:
        assert any(_compares_to_paid(n) for n in ast.walk(ast.parse(source))), source
