"""Shared fixtures: the bundled sample, a small synthetic company, tiny hand-made tables."""

from __future__ import annotations

import os

import matplotlib
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Run every test single-threaded: OpenMP/BLAS threads spinning on a busy 2-core machine
    made scikit-learn fits up to 10x slower, and one thread keeps timings predictable."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def sample_dataset():
    """The bundled sample (data/sample), loaded once per test session."""
    from cpm_analysis.data import load, sample_dir

    return load(sample_dir())


@pytest.fixture(scope="session")
def small_synthetic():
    """A small synthetic company (400 customers), generated once per test session."""
    from cpm_analysis.synthetic import generate

    return generate(400, seed=11)


@pytest.fixture()
def tiny_frames() -> dict[str, pd.DataFrame]:
    """Raw tables of two customers, as an export would hold them (everything text)."""
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "signup_date": ["2024-01-01", "2024-03-01"],
            "name": ["Ann Lee", "Bo Chen"],
            "email": ["ann@example.com", "bo@example.com"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "customer_id": ["a", "a", "b", "b"],
            "order_date": ["2024-01-01", "2024-02-10", "2024-03-01", "2024-04-02"],
            "amount": ["10.5", "20", "7.25", "-7.25"],
            "status": ["paid", "paid", "paid", "refunded"],
        }
    )
    return {"customers": customers, "orders": orders}
