"""Hand-made datasets with known churn labels and features, for the churn tests.

``CUTOFF`` is the instant 2024-07-01 00:00, so window ages are whole days.

Shop (non-contractual) customers:

- ``a``: signed up 2023-01-01; paid orders 2023-03-01 (20), 2024-02-01 (30), 2024-05-10 (50),
  2024-06-20 (100), a refund of 25 on 2024-06-25 and a cancelled order on 2024-06-26; buys again
  on 2024-08-01 (so not churned at 90 days); tickets, complaints, CSAT and NPS answers;
- ``b``: signed up 2023-06-01; one paid order 2024-04-15 (80), nothing after: churned;
- ``c``: signed up after the cutoff (2024-07-15);
- ``d``: last order 2022-05-01, lapsed for two years (outside the active base), orders again on
  2024-07-10 and 2024-10-15;
- ``e``: signed up 2024-06-01, never ordered.
"""

from __future__ import annotations

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

CUTOFF = pd.Timestamp("2024-07-01")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run OpenMP (boosted trees) and BLAS (logistic regression) on one thread.

    Import this fixture into a test module. OpenMP and OpenBLAS threads spin while they wait
    for work; on a busy 2-core CI machine that makes the many small fits of the tests several
    times slower, so they run single-threaded. Module scope, so that it also covers the
    module-scoped fixtures that fit models.
    """
    with threadpool_limits(limits=1):
        yield


def shop_frames() -> dict[str, pd.DataFrame]:
    """Raw tables of the hand-made shop (see the module docstring)."""
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "signup_date": ["2023-01-01", "2023-06-01", "2024-07-15", "2022-01-01", "2024-06-01"],
            "name": ["Ann", "Bo", "Cy", "Di", "Ed"],
            "email": ["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"],
            "owner_id": ["S1", "S2", "S1", "S2", "S1"],
            "region": ["North", "South", "North", "East", "South"],
            "seats": [10, 3, 5, 1, 2],
            "renewal_date": pd.to_datetime(
                ["2024-03-01", "2024-09-01", None, "2023-01-01", "2024-06-30"]
            ),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(1, 13)],
            "customer_id": ["a", "a", "a", "a", "a", "a", "a", "b", "c", "d", "d", "d"],
            "order_date": [
                "2023-03-01",
                "2024-02-01",
                "2024-05-10",
                "2024-06-20",
                "2024-06-25",
                "2024-06-26",
                "2024-08-01",
                "2024-04-15",
                "2024-07-20",
                "2022-05-01",
                "2024-07-10",
                "2024-10-15",
            ],
            "amount": [20.0, 30.0, 50.0, 100.0, -25.0, 40.0, 60.0, 80.0, 10.0, 15.0, 10.0, 5.0],
            "status": [
                "paid",
                "paid",
                "paid",
                "paid",
                "refunded",
                "cancelled",
                "paid",
                "paid",
                "paid",
                "paid",
                "paid",
                "paid",
            ],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "customer_id": ["a", "a", "a", "a"],
            "opened_at": ["2024-06-01 00:00", "2024-06-28 00:00", "2023-01-10 00:00", "2024-07-10"],
            "first_response_at": ["2024-06-01 04:00", "2024-06-28 10:00", "2023-01-10 01:00", None],
            "resolved_at": ["2024-06-02 00:00", "2024-07-05 00:00", "2023-01-11 00:00", None],
            "is_complaint": [True, False, True, True],
            "satisfaction": [2.0, 5.0, 4.0, None],
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "responded_at": ["2024-03-01", "2024-06-15", "2024-07-15", "2023-07-01"],
            "score": [9.0, 3.0, 10.0, 6.0],
        }
    )
    return {"customers": customers, "orders": orders, "tickets": tickets, "surveys": surveys}


def contract_frames() -> dict[str, pd.DataFrame]:
    """A subscription business: ``churned_at`` decides who is a customer and who churned.

    At ``CUTOFF`` with a 90-day horizon: ``x`` active (no end), ``y`` ends 2024-08-01 (churns),
    ``z`` ended 2024-05-01 (not a customer any more), ``w`` ends 2024-12-01 (after the horizon),
    ``v`` signs up after the cutoff.
    """
    customers = pd.DataFrame(
        {
            "customer_id": ["x", "y", "z", "w", "v"],
            "signup_date": ["2023-01-01", "2023-02-01", "2023-03-01", "2024-01-01", "2024-08-01"],
            "churned_at": [None, "2024-08-01", "2024-05-01", "2024-12-01", None],
            "plan": ["basic", "pro", "basic", "pro", "basic"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5"],
            "customer_id": ["x", "y", "z", "w", "v"],
            "order_date": ["2024-06-01", "2024-06-01", "2024-04-01", "2024-06-01", "2024-12-20"],
            "amount": [10.0, 20.0, 10.0, 20.0, 10.0],
        }
    )
    return {"customers": customers, "orders": orders}
