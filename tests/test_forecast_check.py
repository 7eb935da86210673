"""The forecast check: last period's predictions against this period (clv.forecast)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from review_fixtures import company_fixture  # noqa: F401 (fixtures)
from sklearn.metrics import roc_auc_score

from cpm_analysis.clv import forecast
from cpm_analysis.data import validate_frames
from cpm_analysis.periods import parse_period
from cpm_analysis.plots.clv import plot_forecast_check

matplotlib.use("Agg")

PERIOD = parse_period("2025-06")


def _tiny_dataset():
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "signup_date": ["2025-01-01"] * 4}
    )
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(7)],
            "customer_id": ["a", "b", "c", "d", "a", "c", "c"],
            "order_date": [
                "2025-02-01",
                "2025-02-01",
                "2025-03-01",
                "2025-04-01",
                "2025-06-10",  # a buys in June
                "2025-06-11",  # c buys in June (twice on one day: one purchase)
                "2025-06-11",
            ],
            "amount": ["10", "10", "10", "10", "10", "10", "10"],
        }
    )
    return validate_frames({"customers": customers, "orders": orders})


def test_forecast_check_churn_is_the_auc_of_not_buying_in_the_period():
    ds = _tiny_dataset()
    previous = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "segment": ["Champions", "Lost", "Loyal", "New"],
            "churn_probability": [0.2, 0.9, 0.6, 0.4],
        }
    )
    check = forecast.forecast_check(ds, PERIOD, previous, source="test")
    y = [0, 1, 0, 1]  # a and c bought in June
    assert check.churn["roc_auc"] == pytest.approx(roc_auc_score(y, [0.2, 0.9, 0.6, 0.4]))
    assert check.churn["no_purchase_rate"] == 0.5
    assert check.churn["top_decile_no_purchase_rate"] == 1.0  # b, the riskiest, did not buy
    # fewer than 20 repeat buyers: no purchase model, said so
    assert check.purchases.empty and any("no purchase check" in n for n in check.notes)
    assert check.previous.label == "2025-05" and check.available
    assert "ROC AUC" in check.describe() and plot_forecast_check(check) is None


def test_forecast_check_without_churn_scores_says_so():
    previous = pd.DataFrame({"customer_id": ["a"], "segment": ["Champions"]})
    check = forecast.forecast_check(_tiny_dataset(), PERIOD, previous)
    assert not check.churn and not check.available
    assert check.describe().startswith("**Forecast check:** not available.")
    with pytest.raises(ValueError, match="customer_id"):
        forecast.forecast_check(_tiny_dataset(), PERIOD, pd.DataFrame({"x": [1]}))


def test_forecast_check_purchases_add_up(company):
    previous = pd.DataFrame(
        {
            "customer_id": company.customers["customer_id"],
            "segment": np.where(np.arange(len(company.customers)) % 2, "Odd", "Even"),
        }
    )
    check = forecast.forecast_check(company, PERIOD, previous)
    table = check.purchases
    total = table.loc["total"]
    parts = table.drop(index="total")
    assert set(parts.index) == {"Odd", "Even"}
    assert parts["actual"].sum() == total["actual"]
    assert parts["predicted"].sum() == pytest.approx(total["predicted"])
    assert total["error"] == pytest.approx(total["predicted"] / total["actual"] - 1)
    # actual = purchase days in June of customers who had bought by the end of May
    view = company.as_of(PERIOD.end)
    paid = view.orders.loc[view.orders["status"] == "paid"]
    before = set(paid.loc[paid["order_date"] <= PERIOD.previous().end, "customer_id"])
    june = paid.loc[(paid["order_date"] > PERIOD.previous().end)]
    june = june.loc[june["customer_id"].isin(before)]
    days = june.assign(day=june["order_date"].dt.normalize()).drop_duplicates(
        ["customer_id", "day"]
    )
    assert total["actual"] == len(days)
    assert plot_forecast_check(check) is not None
