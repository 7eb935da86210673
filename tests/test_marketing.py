"""cpm_analysis.marketing: campaign response, recomputed by hand, and the marketers' scores."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cpm_analysis import marketing
from cpm_analysis.availability import Unavailable
from cpm_analysis.data import validate_frames


def _activities() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "a", "d"],
            "staff_id": ["m1", "m1", "m2", "m2", "m2"],
            "campaign": ["spring", "spring", "spring", None, "summer"],
            "at": pd.to_datetime(
                ["2024-03-01", "2024-03-01", "2024-03-02", "2024-03-05", "2024-12-20"]
            ),
        }
    )


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "d"],
            "order_date": pd.to_datetime(
                ["2024-03-01", "2024-03-10", "2024-04-20", "2024-03-12", "2024-12-21"]
            ),
            "amount": [99.0, 30.0, 40.0, 20.0, 5.0],
            "status": ["paid", "paid", "paid", "cancelled", "paid"],
        }
    )


def test_campaign_contacts_recomputed_by_hand():
    contacts = marketing.campaign_contacts(_activities(), _orders(), "2024", window_days=30)
    # the activity without a campaign is no contact
    assert contacts["customer_id"].tolist() == ["a", "b", "c", "d"]
    # a: paid 9 days after (the same-instant order does not count); b: 50 days after (late);
    # c: only a cancelled order; d: paid the next day (window still open, but an order came)
    assert contacts["responded"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert contacts["revenue"].tolist() == [30.0, 0.0, 0.0, 5.0]
    wider = marketing.campaign_contacts(_activities(), _orders(), "2024", window_days=60)
    assert wider["responded"].tolist() == [1.0, 1.0, 0.0, 1.0]  # the window changes b


def test_a_contact_whose_window_is_open_is_pending():
    acts = _activities().iloc[[1]]  # b, contacted 03-01, buys 04-20
    contacts = marketing.campaign_contacts(acts, _orders(), "2024-03", window_days=60)
    assert np.isnan(contacts["responded"].iloc[0])  # the cutoff 03-31 is inside the window
    table = marketing.campaign_response(contacts)
    assert table.loc["spring", ["contacts", "pending", "responses"]].tolist() == [1, 1, 0]
    assert np.isnan(table.loc["spring", "response_rate"])


def test_only_the_twelve_months_to_the_cutoff_count():
    acts = _activities()
    # the 12 months to March 2025 start on 2024-04-01: the March 2024 contacts are out
    contacts = marketing.campaign_contacts(acts, _orders(), "2025-03", window_days=30)
    assert contacts["customer_id"].tolist() == ["d"]
    february = marketing.campaign_contacts(acts, _orders(), "2025-02", window_days=30)
    assert february["customer_id"].tolist() == ["a", "b", "c", "d"]  # from 2024-03-01
    assert marketing.campaign_contacts(acts, _orders(), "2025-03", months=24)["at"].size == 4


def test_campaign_response_and_marketer_scores():
    contacts = marketing.campaign_contacts(_activities(), _orders(), "2024", window_days=30)
    table = marketing.campaign_response(contacts)
    assert table.loc["spring"].tolist() == pytest.approx([3, 3, 1, 0, 1 / 3, 30.0])
    staff = pd.DataFrame(
        {"staff_id": ["m1", "m2", "s1"], "role": ["marketing", "Marketing", "sales"]}
    )
    scores = marketing.marketer_scores(contacts, staff)
    assert scores.attrs["by"] == "staff_id"
    # m1: a yes, b no -> 1/2; m2: c no, d yes -> 1/2: a tie, both 75 (average percentile rank)
    assert scores["response_rate"].tolist() == pytest.approx([0.5, 0.5])
    assert scores["score"].tolist() == pytest.approx([75.0, 75.0])
    assert scores["rank"].tolist() == [1.0, 1.0]
    by_campaign = marketing.marketer_scores(contacts, None)
    assert by_campaign.attrs["by"] == "campaign"
    assert by_campaign.index.tolist() == ["summer", "spring"]  # 1/1 beats 1/3


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="window_days: expected an integer >= 1"):
        marketing.campaign_contacts(_activities(), _orders(), "2024", window_days=0)
    with pytest.raises(ValueError, match="activities: no campaign column"):
        marketing.campaign_contacts(_activities().drop(columns="campaign"), _orders(), "2024")


def test_marketing_tables_say_what_is_missing():
    frames = {
        "customers": pd.DataFrame({"customer_id": ["a", "b"], "signup_date": ["2023-01-01"] * 2}),
        "orders": pd.DataFrame(
            {
                "order_id": ["o1"],
                "customer_id": ["a"],
                "order_date": ["2024-03-05"],
                "amount": ["10"],
            }
        ),
        "activities": pd.DataFrame(
            {
                "activity_id": ["x1"],
                "customer_id": ["a"],
                "staff_id": ["m"],
                "type": ["email"],
                "at": ["2024-03-01"],
                "campaign": ["spring"],
            }
        ),
    }
    ds = validate_frames(frames, now=pd.Timestamp("2025-01-01"))
    out = marketing.marketing_tables(ds.as_of("2024-12"), "2024-12")
    assert out["campaigns"].loc["spring", "responses"] == 1
    assert out["marketers"].attrs["by"] == "campaign"  # no staff table
    gone = marketing.marketing_tables(replace(ds, activities=None), "2024-12")
    assert isinstance(gone["campaigns"], Unavailable)
    assert gone["campaigns"].text == (
        "Campaign response is not available: the data has no activities table."
    )
    none = marketing.marketing_tables(ds, "2026-06")
    assert "no campaign contact in the 12 months to 2026-06" in none["campaigns"].text
