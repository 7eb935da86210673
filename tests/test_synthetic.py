"""The synthetic company generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.data import PII_COLUMNS, load
from cpm_analysis.synthetic import generate


def test_same_seed_same_tables():
    a, b = generate(300, seed=5), generate(300, seed=5)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    c = generate(300, seed=6)
    assert not a.tables["orders"]["amount"].equals(c.tables["orders"]["amount"])


def test_tables_pass_validation_cleanly(small_synthetic):
    ds = small_synthetic.to_dataset()
    assert len(ds.rejected) == 0
    assert len(ds.customers) == 400
    assert set(ds.tables) == {
        "customers",
        "orders",
        "tickets",
        "surveys",
        "staff",
        "targets",
        "assessments",
        "activities",
        "opportunities",
    }
    assert set(ds.staff["role"]) == {"sales", "service", "marketing"}
    assert set(ds.customers["owner_id"]) <= set(
        ds.staff.loc[ds.staff["role"] == "sales", "staff_id"]
    )
    assert set(ds.tickets["agent_id"]) <= set(
        ds.staff.loc[ds.staff["role"] == "service", "staff_id"]
    )


def test_sizes_scale_with_customers():
    sd = generate(2000, seed=1)
    orders_per_customer = len(sd.tables["orders"]) / 2000
    assert 3 < orders_per_customer < 8
    assert sd.tables["customers"]["customer_id"].is_unique
    assert sd.tables["orders"]["order_id"].is_unique


def test_paid_orders_follow_the_drawn_process(small_synthetic):
    orders = small_synthetic.tables["orders"]
    truth = small_synthetic.truth["customers"]
    paid = orders.loc[orders["status"] == "paid"]
    per_customer = paid.groupby("customer_id").size()
    # every buyer has a first order; repeat purchases never exceed the drawn dropout count
    assert set(per_customer.index) == set(truth.index[truth["buyer"]])
    assert (per_customer - 1 <= truth.loc[per_customer.index, "n_repeat"]).all()
    # customers who dropped out bought nothing afterwards
    dead = truth.loc[truth["dropout_at"].notna(), "dropout_at"]
    last = paid.groupby("customer_id")["order_date"].max()
    assert (last.loc[dead.index] <= dead + pd.Timedelta(1, "s")).all()
    # only refunds are negative, the first order is on the signup day
    assert (orders.loc[orders["amount"] < 0, "status"] == "refunded").all()
    signup = small_synthetic.tables["customers"].set_index("customer_id")["signup_date"]
    first = paid.groupby("customer_id")["order_date"].min()
    assert (first.dt.normalize() == signup.loc[first.index].dt.normalize()).all()


def test_truth_parameters_are_returned():
    sd = generate(200, seed=2, bgnbd={"r": 0.5}, gamma_gamma={"q": 5.0})
    assert sd.truth["bgnbd"] == {"r": 0.5, "alpha": 7.5, "a": 0.8, "b": 4.0}
    assert sd.truth["gamma_gamma"]["q"] == 5.0
    lam = sd.truth["customers"]["lambda_"]
    assert lam.mean() == pytest.approx(0.5 / 7.5, rel=0.3)


def test_personal_data_is_present_and_fake():
    sd = generate(300, seed=3)
    customers = sd.tables["customers"]
    for column in PII_COLUMNS["customers"]:
        assert customers[column].notna().all()
    assert customers["email"].str.match(r"^[a-z]+\.[a-z]+\d+@[a-z.]*example\.(com|org|net)$").all()
    assert customers["phone"].str.match(r"^\+1-555-\d{3}-\d{4}$").all()


def test_faults_are_injected_and_quarantined(tmp_path):
    sd = generate(500, seed=4, faults=0.01)
    sd.write(tmp_path)
    ds = load(tmp_path)
    reasons = set(ds.rejected["reason"])
    for reason in (
        "unparseable date",
        "non-numeric amount",
        "negative amount on an order that is not refunded",
        "customer_id not found in customers",
        "duplicate order_id",
        "duplicate customer_id",
        "satisfaction outside 1-5",
        "first response before opening",
        "unknown type (expected call, visit, email, meeting, care)",
        "staff_id not found in staff",
        "closed_at before created_at",
        "won or lost without closed_at",
    ):
        assert reason in reasons
    assert ds.rejected["reason"].value_counts().to_dict() == sd.faults


def test_write_parquet_round_trip(tmp_path):
    sd = generate(200, seed=8)
    sd.write(tmp_path, format="parquet")
    ds = load(tmp_path)
    assert len(ds.orders) == len(sd.tables["orders"])
    with pytest.raises(ValueError, match="format"):
        sd.write(tmp_path, format="xlsx")


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_customers"):
        generate(3)
    with pytest.raises(ValueError, match="faults"):
        generate(100, faults=1.5)


def test_targets_cover_each_month_after_the_first(small_synthetic):
    targets = small_synthetic.tables["targets"]
    company = targets.loc[targets["owner_id"].isna() & (targets["kpi"] == "revenue")]
    months = company.loc[~company["period"].str.contains("Q"), "period"]
    assert months.min() == "2022-02" and months.max() == "2025-12"
    assert np.isfinite(targets["target"]).all()


def test_contacts_and_their_effect_in_the_truth():
    base = generate(3000, seed=11)
    same = generate(3000, seed=11, contact_effect=0.0, contact_random_share=0.5)
    for name in ("customers", "orders", "tickets", "surveys", "staff", "targets"):
        pd.testing.assert_frame_equal(base.tables[name], same.tables[name])
    contacts = base.truth["contacts"]
    assert base.truth["contact_effect"] == 0.0
    assert (contacts["dropped_if_contacted"] == contacts["dropped_if_not"]).all()
    assert 0.1 < contacts["randomised"].mean() < 0.3
    # every contact of an at-risk customer is an activity by their owner on the contact day
    acts = base.tables["activities"]
    owner = base.tables["customers"].set_index("customer_id")["owner_id"]
    met = contacts.loc[contacts["contacted"]]
    first = acts.loc[acts["customer_id"].isin(met.index)].merge(
        met[["contact_at"]], left_on="customer_id", right_index=True
    )
    on_day = first.loc[first["at"] == first["contact_at"]]
    assert on_day["customer_id"].nunique() == len(met)
    assert (on_day["staff_id"] == on_day["customer_id"].map(owner)).all()

    treated = generate(3000, seed=11, contact_effect=0.6).truth
    c = treated["contacts"]
    # contact never makes dropout more likely, and does make it less likely for some
    assert (c["dropped_if_contacted"] <= c["dropped_if_not"]).all()
    assert (c["dropped_if_contacted"] < c["dropped_if_not"]).sum() > 20
    # the realised dropout of a contacted customer is their contacted potential outcome
    died = treated["customers"]["dropout_at"].notna()
    contacted = c.loc[c["contacted"]]
    assert (died.reindex(contacted.index) == contacted["dropped_if_contacted"]).all()
    not_contacted = c.loc[~c["contacted"]]
    assert (died.reindex(not_contacted.index) == not_contacted["dropped_if_not"]).all()
    with pytest.raises(ValueError, match="contact_effect"):
        generate(100, contact_effect=1.5)


def test_randomised_contacts_recover_the_true_effect():
    truth = generate(20_000, seed=3, contact_effect=0.5, contact_random_share=0.5).truth
    c = truth["contacts"]
    coin = c.loc[c["randomised"]]
    # the true average effect on dropping out by the end, over the randomised customers
    true_effect = (coin["dropped_if_contacted"].astype(float) - coin["dropped_if_not"]).mean()
    assert true_effect < -0.03  # halving the hazard keeps a visible share of them
    # what happened (the contacted outcome for the contacted, the other for the rest)
    observed = np.where(coin["contacted"], coin["dropped_if_contacted"], coin["dropped_if_not"])
    treated, control = observed[coin["contacted"]], observed[~coin["contacted"]]
    estimate = treated.mean() - control.mean()
    se = np.sqrt(treated.var(ddof=1) / len(treated) + control.var(ddof=1) / len(control))
    assert abs(estimate - true_effect) < 1.96 * se
    # outside the randomised share, contact is targeted: the naive comparison is biased
    rest = c.loc[~c["randomised"]]
    assert (
        rest.loc[rest["contacted"], "orders_before"].mean()
        > rest.loc[~rest["contacted"], "orders_before"].mean()
    )


def test_a_tiny_company_leaves_out_a_table_it_has_no_rows_for():
    sd = generate(12, seed=1, faults=0.2, end="2022-06-30")
    assert "opportunities" not in sd.tables  # no opportunity in half a year of 12 customers
    ds = sd.to_dataset()
    assert ds.opportunities is None and ds.activities is not None
    short = generate(10, seed=2, start="2025-12-01", end="2025-12-31", contact_effect=0.3)
    assert len(short.truth["contacts"]) == 0  # nobody can lapse for 60 days in a month
