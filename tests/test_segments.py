"""cpm_analysis.segments: RFM scores, segment maps, value tiers, clusters, migration, plots."""

from __future__ import annotations

import itertools
import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import silhouette_score

from cpm_analysis.data import load_cdnow, validate_frames
from cpm_analysis.plots.segments import (
    plot_cluster_profile,
    plot_migration,
    plot_rf_heatmap,
    plot_segment_sizes,
    plot_value_tiers,
)
from cpm_analysis.segments import (
    RFM_COLUMNS,
    CustomerClusters,
    SegmentMap,
    cluster_customers,
    default_segment_map,
    load_segment_map,
    rfm_scores,
    rfm_segments,
    segment_actions,
    segment_labels,
    segment_migration,
    segment_summary,
    tier_summary,
    value_tiers,
)
from cpm_analysis.segments.clusters import silhouette_scores

matplotlib.use("Agg")

DEFAULT_NAMES = [
    "Champions",
    "Loyal",
    "Potential Loyalists",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "Can't Lose Them",
    "At Risk",
    "Hibernating",
    "Lost",
]


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow()


@pytest.fixture(scope="module")
def cdnow_segments(cdnow):
    return rfm_segments(rfm_scores(cdnow, "1998-06"))


@pytest.fixture()
def shop():
    """Four customers with exact, hand-checkable orders (and one who never bought)."""
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "signup_date": ["2024-01-01", "2024-01-01", "2024-02-01", "2024-03-01", "2024-06-01"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(1, 10)],
            "customer_id": ["a", "a", "a", "b", "b", "c", "c", "d", "d"],
            "order_date": [
                "2024-01-10",
                "2024-03-05 18:00",
                "2024-06-30 23:00",
                "2024-02-01",
                "2024-05-15",
                "2024-02-01",
                "2024-06-20",
                "2024-03-01",
                "2024-07-02",
            ],
            "amount": ["100", "50", "25", "40", "60", "10", "-10", "30", "999"],
            "status": ["paid", "paid", "paid", "paid", "paid", "paid", "refunded", "paid", "paid"],
        }
    )
    return validate_frames({"customers": customers, "orders": orders})


def _orders(rows):
    """A raw orders DataFrame from (customer, date, amount) tuples."""
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["amount"] = frame["amount"].astype(float)
    frame["customer_id"] = frame["customer_id"].astype("str")
    return frame


def _scores(r, f, m, bins=5):
    index = pd.Index([f"c{i}" for i in range(len(r))], name="customer_id")
    out = pd.DataFrame({"r_score": r, "f_score": f, "m_score": m}, index=index)
    out.attrs["bins"] = bins
    return out


# ---------------------------------------------------------------------------------------------
# rfm_scores


def test_rfm_measures_by_hand(shop):
    scores = rfm_scores(shop, "2024-06")
    assert list(scores.columns) == list(RFM_COLUMNS)
    # e never bought; d's only paid order up to June is 2024-03-01; c's refund does not count
    assert scores.index.tolist() == ["a", "b", "c", "d"]
    assert scores.index.name == "customer_id"
    assert scores["recency_days"].tolist() == [0, 46, 150, 121]
    assert scores["frequency"].tolist() == [3, 2, 1, 1]
    assert scores["monetary"].tolist() == [175.0, 100.0, 10.0, 30.0]
    assert scores["monetary_mean"].tolist() == pytest.approx([175 / 3, 50.0, 10.0, 30.0])
    assert scores["recency_days"].dtype == np.int64 and scores["r_score"].dtype == np.int64
    assert scores.attrs["bins"] == 5
    assert scores.attrs["as_of"] == pd.Timestamp("2024-06-30 23:59:59.999999999")


def test_rfm_scores_best_is_highest(shop):
    scores = rfm_scores(shop, "2024-06", bins=4)
    # a: most recent, most orders, most spend -> 4 everywhere; c the least recent
    assert scores.loc["a", ["r_score", "f_score", "m_score"]].tolist() == [4, 4, 4]
    assert scores["r_score"].idxmin() == "c"
    assert scores["m_score"].idxmin() == "c"
    assert sorted(scores["r_score"]) == [1, 2, 3, 4]


def test_recency_counts_calendar_days_to_the_as_of_day(shop):
    # a bought 2024-06-30 23:00; as of the exact instant 2024-06-30 12:00 that order does not
    # exist yet, and the last one is 2024-03-05 18:00: 117 days from 03-05 to 06-30
    scores = rfm_scores(shop, pd.Timestamp("2024-06-30 12:00"))
    assert scores.loc["a", "recency_days"] == 117
    assert scores.loc["a", "frequency"] == 2
    # a date means the whole day
    assert rfm_scores(shop, "2024-06-30").loc["a", "recency_days"] == 0


def test_dataset_and_orders_frame_agree(shop):
    from_dataset = rfm_scores(shop, "2024-06")
    from_frame = rfm_scores(shop.orders, "2024-06")
    pd.testing.assert_frame_equal(from_dataset, from_frame)


def test_orders_without_status_all_count():
    orders = _orders([("x", "2024-01-01", 5.0), ("x", "2024-01-02", 7.0)])
    assert rfm_scores(orders, "2024-01")["frequency"].tolist() == [2]


def test_integer_ids_and_aware_dates():
    orders = pd.DataFrame(
        {
            "customer_id": [30, 4, 30],
            # 2024-01-31 23:30 in New York is 2024-02-01 04:30 UTC: after a January cutoff
            "order_date": pd.to_datetime(
                ["2024-01-10 09:00", "2024-01-20 09:00", "2024-01-31 23:30"]
            ).tz_localize("America/New_York"),
            "amount": [1.0, 2.0, 4.0],
        }
    )
    scores = rfm_scores(orders, "2024-01")
    assert scores.index.tolist() == [4, 30]
    assert scores["frequency"].tolist() == [1, 1]
    assert scores["recency_days"].tolist() == [11, 21]


def test_default_map_cannot_be_edited_in_place():
    with pytest.raises(TypeError):
        default_segment_map().actions["Lost"] = "changed"
    assert default_segment_map().with_actions({"Lost": "x"}).actions["Lost"] == "x"
    assert default_segment_map().actions["Lost"] != "x"


def test_as_of_is_honoured(shop):
    before = rfm_scores(shop, "2024-06")
    orders = pd.concat(
        [
            shop.orders,
            pd.DataFrame(
                {
                    "order_id": ["x1", "x2"],
                    "customer_id": ["a", "e"],
                    "order_date": pd.to_datetime(["2024-07-01 00:00", "2024-09-01 00:00"]),
                    "amount": [1e6, 5.0],
                    "status": ["paid", "paid"],
                }
            ),
        ],
        ignore_index=True,
    )
    after = rfm_scores(orders, "2024-06")
    pd.testing.assert_frame_equal(before, after)
    assert "e" not in after.index


def test_window_limits_frequency_and_monetary_not_recency(shop):
    scores = rfm_scores(shop, "2024-06", window="60D")
    # the window is (2024-05-01 23:59:59.999.., 2024-06-30 23:59:59.999..]: a's June order, b's
    # May order; c and d bought before it: frequency 0, but their recency is unchanged
    assert scores["frequency"].tolist() == [1, 1, 0, 0]
    assert scores["monetary"].tolist() == [25.0, 60.0, 0.0, 0.0]
    assert np.isnan(scores.loc["c", "monetary_mean"])
    assert scores["recency_days"].tolist() == [0, 46, 150, 121]
    assert scores.attrs["window"] == pd.Timedelta(60, "D")
    pd.testing.assert_frame_equal(scores, rfm_scores(shop, "2024-06", window=60))


def test_heavy_tie_does_not_collapse_the_bins():
    # 80 one-time buyers and 20 repeat buyers: a plain quantile cut would give F scores 1 and 5
    rows = [(f"c{i:03d}", "2024-01-01", 10.0 + i) for i in range(100)]
    rows += [(f"c{i:03d}", "2024-02-01", 5.0) for i in range(80, 100)]
    scores = rfm_scores(_orders(rows), "2024-03")
    assert scores["f_score"].value_counts().sort_index().tolist() == [20, 20, 20, 20, 20]
    # the ties on frequency 1 are ranked by spend: the bigger one-time spenders score higher
    one_time = scores[scores["frequency"] == 1].sort_values("monetary")
    assert one_time["f_score"].is_monotonic_increasing
    assert (scores.loc[scores["frequency"] == 2, "f_score"] == 5).all()


def test_ties_are_deterministic_whatever_the_row_order():
    rng = np.random.default_rng(3)
    rows = [
        (f"c{i:03d}", f"2024-0{1 + i % 5}-01", float(rng.integers(1, 4) * 10)) for i in range(60)
    ]
    orders = _orders(rows)
    first = rfm_scores(orders, "2024-06")
    shuffled = rfm_scores(orders.sample(frac=1.0, random_state=1), "2024-06")
    pd.testing.assert_frame_equal(first, shuffled)
    for col in ("r_score", "f_score", "m_score"):
        assert first[col].value_counts().tolist() == [12] * 5


@pytest.mark.parametrize("bins", [2, 3, 7])
def test_bins_levels(bins):
    rows = [(f"c{i}", "2024-01-01", float(i % 3)) for i in range(50)]
    scores = rfm_scores(_orders(rows), "2024-01", bins=bins)
    assert set(scores["m_score"]) == set(range(1, bins + 1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bins": 1}, "bins"),
        ({"bins": 2.5}, "bins"),
        ({"bins": True}, "bins"),
        ({"window": "12 months"}, "window"),
        ({"window": -5}, "window"),
        ({"window": "0D"}, "window"),
    ],
)
def test_rfm_bad_parameters(shop, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rfm_scores(shop, "2024-06", **kwargs)


def test_rfm_bad_as_of(shop):
    with pytest.raises(ValueError, match="as_of"):
        rfm_scores(shop, None)
    with pytest.raises(ValueError, match="as_of"):
        rfm_scores(shop, "June")


def test_rfm_bad_orders():
    good = _orders([("x", "2024-01-01", 5.0)])
    with pytest.raises(ValueError, match="amount"):
        rfm_scores(good.drop(columns="amount"), "2024-01")
    with pytest.raises(ValueError, match="order_date"):
        rfm_scores(good.assign(order_date="2024-01-01"), "2024-01")
    with pytest.raises(ValueError, match="amount"):
        rfm_scores(good.assign(amount=np.nan), "2024-01")
    with pytest.raises(ValueError, match="amount"):
        rfm_scores(good.assign(amount="5"), "2024-01")
    with pytest.raises(ValueError, match="customer_id"):
        rfm_scores(good.assign(customer_id=pd.Series([None], dtype="str")), "2024-01")
    with pytest.raises(TypeError, match="data"):
        rfm_scores([1, 2], "2024-01")


def test_no_orders_before_as_of_gives_an_empty_table(shop):
    scores = rfm_scores(shop, "2023-12")
    assert scores.empty and list(scores.columns) == list(RFM_COLUMNS)


# ---------------------------------------------------------------------------------------------
# segment maps and rfm_segments


def test_default_map_is_total_and_unique():
    seg_map = default_segment_map()
    assert seg_map.segments == tuple(DEFAULT_NAMES)
    assert seg_map.is_total and seg_map.gaps().empty
    combos = list(itertools.product(range(1, 6), repeat=3))
    assert len(combos) == 125
    for r, f, m in combos:
        matching = [rule for rule in seg_map.rules if rule.contains(r, f, m)]
        assert matching, (r, f, m)
        # the assigned segment is the first matching rule's
        assert seg_map.segment_of(r, f, m) == matching[0].segment
    r, f, m = np.array(combos).T
    segs = rfm_segments(_scores(r, f, m))
    assert segs["segment"].notna().all() and "Other" not in set(segs["segment"])
    assert set(segs["segment"]) == set(DEFAULT_NAMES)


@pytest.mark.parametrize(
    ("scores", "segment"),
    [
        ((5, 5, 5), "Champions"),
        ((4, 4, 4), "Champions"),
        ((5, 5, 3), "Loyal"),
        ((3, 4, 5), "Loyal"),
        ((5, 2, 1), "Potential Loyalists"),
        ((4, 3, 5), "Potential Loyalists"),
        ((5, 1, 5), "New"),
        ((4, 1, 1), "Promising"),
        ((3, 3, 3), "Need Attention"),
        ((3, 1, 4), "About to Sleep"),
        ((1, 5, 5), "Can't Lose Them"),
        ((2, 4, 4), "Can't Lose Them"),
        ((2, 4, 3), "At Risk"),
        ((1, 3, 5), "At Risk"),
        ((2, 2, 5), "Hibernating"),
        ((1, 1, 1), "Lost"),
    ],
)
def test_default_map_examples(scores, segment):
    assert default_segment_map().segment_of(*scores) == segment


def test_default_map_docstring_table_matches_the_yaml():
    doc = default_segment_map.__doc__
    rows = re.findall(r"^\s+(\d+)\s{2,}(.+?)\s{2,}(\S+)\s+(\S+)\s+(\S+)\s+(\w+)\s*$", doc, re.M)
    frame = default_segment_map().to_frame()
    assert len(rows) == len(frame) == 11
    for (order, name, r, f, m, group), row in zip(rows, frame.itertuples(), strict=True):
        assert (int(order), name) == (row.order, row.segment)
        expected = [r, f, m]
        assert [row.r, row.f, row.m] == ["any" if v == "*" else v for v in expected]
        assert group == row.group


def test_every_default_segment_has_action_group_and_chinese_label():
    seg_map = default_segment_map()
    actions = segment_actions()
    labels = segment_labels("zh")
    assert set(actions) == set(labels) == set(DEFAULT_NAMES)
    assert all(actions[name] for name in DEFAULT_NAMES)
    assert actions["At Risk"].startswith("Win-back offer from the account owner")
    assert "referrals" in actions["Champions"]
    assert labels["Champions"] == "重要价值客户" and labels["Lost"] == "已流失客户"
    assert len(set(labels.values())) == len(labels)
    assert {seg_map.groups[name] for name in DEFAULT_NAMES} == {
        "top",
        "growth",
        "at_risk",
        "lapsed",
    }
    assert segment_labels("en")["Loyal"] == "Loyal"


def test_rfm_segments_adds_segment_action_and_label():
    scores = _scores([5, 1, 3], [5, 5, 3], [5, 5, 1])
    out = rfm_segments(scores, lang="zh")
    assert out["segment"].tolist() == ["Champions", "Can't Lose Them", "Need Attention"]
    assert out["action"].tolist() == [segment_actions()[s] for s in out["segment"]]
    assert out["label"].tolist() == ["重要价值客户", "重要保持客户", "需要关注客户"]
    assert list(out["segment"].cat.categories) == DEFAULT_NAMES
    # the input is left alone
    assert "segment" not in scores.columns


def test_actions_are_overridable():
    scores = _scores([1], [1], [1])
    out = rfm_segments(scores, actions={"Lost": "Leave alone."})
    assert out["action"].tolist() == ["Leave alone."]
    with pytest.raises(ValueError, match="unknown segment label.*'Lsot'"):
        rfm_segments(scores, actions={"Lsot": "typo"})


def test_rule_order_is_respected():
    scores = _scores([5, 5, 2], [5, 2, 5], [1, 1, 1])
    wide_first = {"Active": {"r": "3-5"}, "Best": {"r": "5", "f": "5"}, "Rest": {}}
    best_first = {"Best": {"r": "5", "f": "5"}, "Active": {"r": "3-5"}, "Rest": {}}
    assert rfm_segments(scores, wide_first)["segment"].tolist() == ["Active", "Active", "Rest"]
    assert rfm_segments(scores, best_first)["segment"].tolist() == ["Best", "Active", "Rest"]


def test_user_map_with_a_gap_warns_and_labels_the_gap():
    scores = _scores([5, 1], [5, 1], [5, 1])
    gappy = {"Top": {"r": "4-5"}, "Middle": {"r": "2-3"}}
    with pytest.warns(UserWarning, match=r"25 of 125 score combinations.*\(1, 1, 1\)"):
        out = rfm_segments(scores, gappy)
    assert out["segment"].tolist() == ["Top", "Other"]
    assert out["action"].iloc[1].startswith("No rule of the segment map")
    assert load_segment_map(gappy).gaps()["r"].eq(1).all()
    with pytest.raises(ValueError, match="other"):
        rfm_segments(scores, {"Other": {"r": "2-5"}})


def test_total_user_map_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rfm_segments(_scores([1], [1], [1]), {"Active": {"r": "3-5"}, "Dormant": {"r": "1-2"}})


def test_chinese_user_map_from_yaml(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text(
        "bins: 5\n"
        "segments:\n"
        "  - segment: 重要价值客户\n    r: 4-5\n    f: 4-5\n    action: 专属客户经理回访\n"
        "  - segment: 重要发展客户\n    r: 4-5\n"
        "  - segment: 一般客户\n    r: '*'\n",
        encoding="utf-8",
    )
    out = rfm_segments(_scores([5, 5, 1], [5, 1, 5], [3, 3, 3]), path)
    assert out["segment"].tolist() == ["重要价值客户", "重要发展客户", "一般客户"]
    assert out["action"].iloc[0] == "专属客户经理回访"
    assert load_segment_map(str(path)).segments[0] == "重要价值客户"


def test_user_map_from_csv_both_range_styles(tmp_path):
    ranges = tmp_path / "ranges.csv"
    ranges.write_text(
        "segment,r,f,m,action,label_zh\nBest,4-5,4-5,,Thank them,最佳\nRest,*,,,Nurture,其他\n",
        encoding="utf-8",
    )
    bounds = tmp_path / "bounds.csv"
    bounds.write_text(
        "segment,r_min,r_max,f_min,f_max,m_min,m_max\nBest,4,,4,5,,\nRest,,,,,,\n",
        encoding="utf-8",
    )
    scores = _scores([5, 3], [4, 5], [1, 1])
    for path in (ranges, bounds):
        assert rfm_segments(scores, path)["segment"].tolist() == ["Best", "Rest"]
    assert segment_labels("zh", ranges) == {"Best": "最佳", "Rest": "其他"}
    assert rfm_segments(scores, ranges, lang="zh")["label"].tolist() == ["最佳", "其他"]


def test_a_segment_may_span_several_rules():
    seg_map = load_segment_map(
        {"Good": [{"r": "5"}, {"f": "5"}], "Rest": {}},
    )
    assert seg_map.segments == ("Good", "Rest")
    assert seg_map.segment_of(1, 5, 1) == "Good" and seg_map.segment_of(1, 4, 1) == "Rest"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"A": {"r": "4-6"}}, "outside the scores 1-5"),
        ({"A": {"r": "4-3"}}, "backwards"),
        ({"A": {"r": "high"}}, "cannot read r range"),
        ({"A": {"x": "1-5"}}, "unknown key 'x'"),
        ({"A": {"group": "vip"}}, "unknown group 'vip'"),
        ([{"r": "1-5"}], "no segment name"),
        ([{"segment": "A", "action": "x"}, {"segment": "A", "action": "y"}], "conflicts"),
        ({}, "no rules"),
        ({"bins": 4, "segments": [{"segment": "A"}]}, "declares bins=4"),
        (42, "expected a dict"),
    ],
)
def test_bad_user_maps_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        rfm_segments(_scores([1], [1], [1]), bad)


def test_map_file_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_segment_map(tmp_path / "missing.yaml")
    odd = tmp_path / "map.txt"
    odd.write_text("x")
    with pytest.raises(ValueError, match=r"\.yaml, \.yml or \.csv"):
        load_segment_map(odd)


def test_default_map_needs_five_bins_and_scores_in_range():
    with pytest.raises(ValueError, match="default map is defined on 1-5 scores"):
        rfm_segments(_scores([1, 2, 3], [1, 2, 3], [1, 2, 3], bins=3))
    with pytest.raises(ValueError, match="outside the scores 1-5"):
        rfm_segments(_scores([6], [1], [1]))
    with pytest.raises(ValueError, match="f_score"):
        rfm_segments(_scores([1], [1], [1]).drop(columns="f_score"))
    # a user map on another scale works
    out = rfm_segments(
        _scores([1, 3], [1, 3], [1, 3], bins=3), {"Hi": {"r": "2-3"}, "Lo": {"r": "1"}}
    )
    assert out["segment"].tolist() == ["Lo", "Hi"]


def test_scale_of_scores_and_maps_must_agree():
    three = load_segment_map({"Hi": {"r": "2-3"}, "Lo": {"r": "1"}}, bins=3)
    plain = pd.DataFrame({"r_score": [1, 3], "f_score": [1, 1], "m_score": [2, 2]})
    assert rfm_segments(plain, three, bins=3)["segment"].tolist() == ["Lo", "Hi"]
    with pytest.raises(ValueError, match="for scores 1-3, not 1-5"):
        rfm_segments(plain, three)  # no attrs: 5 assumed
    with pytest.raises(ValueError, match="for scores 1-5, not 1-3"):
        load_segment_map(default_segment_map(), bins=3)


def test_unknown_language_raises():
    with pytest.raises(ValueError, match="no 'fr' labels"):
        segment_labels("fr")
    with pytest.raises(ValueError, match="label_zh"):
        segment_labels("zh", {"A": {"r": "1-5", "label_zh": "甲"}, "B": {"r": "1"}})


def test_segment_summary(shop):
    segs = rfm_segments(rfm_scores(shop, "2024-06"))
    summary = segment_summary(segs)
    assert summary.index.tolist() == DEFAULT_NAMES
    assert summary["customers"].sum() == 4
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert summary["revenue"].sum() == pytest.approx(315.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    assert (summary.loc[summary["customers"] > 0, "action"] != "").all()


def test_segment_map_round_trips_through_to_frame():
    frame = default_segment_map().to_frame()
    rebuilt = load_segment_map(
        [
            {k: v for k, v in row.items() if k != "order" and v != "any"}
            for row in frame.to_dict(orient="records")
        ]
    )
    assert isinstance(rebuilt, SegmentMap)
    assert np.array_equal(rebuilt.grid, default_segment_map().grid)
    assert rebuilt.labels["zh"] == default_segment_map().labels["zh"]


# ---------------------------------------------------------------------------------------------
# value tiers


def test_value_tiers_by_hand():
    scores = pd.DataFrame(
        {"monetary": [30.0, 500.0, 120.0, 50.0, 300.0]},
        index=pd.Index(list("edcba"), name="customer_id"),
    )
    tiers = value_tiers(scores)
    assert tiers["tier"].to_dict() == {"e": "C", "d": "A", "c": "B", "b": "B", "a": "A"}
    assert tiers.loc["d", "cumulative_share"] == pytest.approx(0.5)
    summary = tier_summary(tiers)
    assert summary["customers"].tolist() == [2, 2, 1]
    assert summary["value_share"].tolist() == pytest.approx([0.8, 0.17, 0.03])
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert tiers["tier"].cat.ordered


def test_value_tiers_on_predicted_clv_and_custom_shares():
    scores = pd.DataFrame(
        {"monetary": [10.0, 20.0, 30.0, 40.0]}, index=pd.Index(list("abcd"), name="customer_id")
    )
    clv = pd.Series([400.0, 10.0, 10.0, 80.0], index=list("abcd"), name="clv")
    tiers = value_tiers(scores, shares=(0.5, 0.5), value=clv, labels=["gold", "silver"])
    assert tiers["tier"].tolist() == ["gold", "silver", "silver", "silver"]
    assert tiers.attrs["tier_value"] == "clv"
    summary = tier_summary(tiers)
    assert {"revenue", "revenue_share"} <= set(summary.columns)
    assert summary.loc["gold", "revenue_share"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="no \\(or a missing\\) value for 1"):
        value_tiers(scores, value=clv.drop("b"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shares": (0.8, 0.15)}, "sum to 1"),
        ({"shares": (0.8, 0.3, -0.1)}, "positive"),
        ({"shares": (1.0,)}, "two tiers"),
        ({"shares": (0.5, 0.5), "labels": ["A"]}, "labels"),
        ({"value": "clv"}, "column 'clv'"),
    ],
)
def test_value_tiers_bad_input(kwargs, match):
    scores = pd.DataFrame({"monetary": [1.0, 2.0]}, index=["a", "b"])
    with pytest.raises(ValueError, match=match):
        value_tiers(scores, **kwargs)


def test_value_tiers_bad_values():
    with pytest.raises(ValueError, match="negative"):
        value_tiers(pd.DataFrame({"monetary": [1.0, -2.0]}))
    with pytest.raises(ValueError, match="positive total"):
        value_tiers(pd.DataFrame({"monetary": [0.0, 0.0]}))
    with pytest.raises(ValueError, match="missing"):
        value_tiers(pd.DataFrame({"monetary": [1.0, np.nan]}))


# ---------------------------------------------------------------------------------------------
# the CDNOW quality bars


def test_cdnow_every_customer_one_segment_one_tier(cdnow, cdnow_segments):
    assert len(cdnow_segments) == cdnow.customers["customer_id"].nunique() == 23_570
    assert cdnow_segments.index.is_unique
    assert cdnow_segments["segment"].notna().all()
    assert set(cdnow_segments["segment"]) <= set(DEFAULT_NAMES)
    for col in ("r_score", "f_score", "m_score"):
        assert sorted(cdnow_segments[col].unique()) == [1, 2, 3, 4, 5]
    tiers = value_tiers(cdnow_segments)
    assert tiers["tier"].notna().all() and len(tiers) == 23_570
    revenue = tiers["monetary"]
    in_a = tiers["tier"] == "A"
    share_a = revenue[in_a].sum() / revenue.sum()
    smallest_a = revenue[in_a].min()
    assert 0.8 <= share_a < 0.8 + smallest_a / revenue.sum()
    # every A customer outspends every B customer, every B every C
    assert revenue[in_a].min() >= revenue[tiers["tier"] == "B"].max()
    assert revenue[tiers["tier"] == "B"].min() >= revenue[tiers["tier"] == "C"].max()


# ---------------------------------------------------------------------------------------------
# clusters


def _blobs(n_per=400, seed=0):
    """Three well separated groups in log-RFM space, customers indexed by id."""
    rng = np.random.default_rng(seed)
    groups = [(10, 20, 2000.0), (120, 5, 300.0), (400, 1, 20.0)]
    frames = []
    for recency, frequency, monetary in groups:
        frames.append(
            pd.DataFrame(
                {
                    "recency_days": np.round(recency * rng.lognormal(0, 0.1, n_per)),
                    "frequency": np.maximum(1, np.round(frequency * rng.lognormal(0, 0.1, n_per))),
                    "monetary": monetary * rng.lognormal(0, 0.1, n_per),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out.index = pd.Index([f"c{i:05d}" for i in range(len(out))], name="customer_id")
    return out.sample(frac=1.0, random_state=seed)


def test_clusters_find_k_and_order_by_value():
    features = _blobs()
    result = cluster_customers(features, random_state=0)
    assert result.k == 3
    assert result.silhouette == pytest.approx(result.silhouette_scores.max())
    assert result.silhouette_scores.index.tolist() == list(range(2, 9))
    assert result.labels.index.equals(features.index)
    # label 0 is the high-value group, label 2 the lapsed low-value one
    assert result.profile["mean_monetary"].is_monotonic_decreasing
    top = features.loc[result.labels == 0, "monetary"]
    assert top.min() > 1000
    assert result.names[0] == "Very recent, very frequent, top spend"
    assert result.names[2].startswith("Lapsed, one-time")
    assert result.profile["customers"].sum() == len(features)
    assert result.profile["revenue_share"].sum() == pytest.approx(1.0)
    assert len(set(result.names.values())) == result.k
    assert result.named_labels().iloc[0] == result.names[result.labels.iloc[0]]


def test_clusters_are_stable_for_a_seed():
    features = _blobs(seed=1)
    a = cluster_customers(features, k=4, random_state=7, sample_size=500)
    b = cluster_customers(features, k=4, random_state=7, sample_size=500)
    pd.testing.assert_series_equal(a.labels, b.labels)
    # row order does not change what a label means
    c = cluster_customers(features.sort_index(), k=3, random_state=7)
    d = cluster_customers(features, k=3, random_state=7)
    pd.testing.assert_series_equal(c.labels.sort_index(), d.labels.sort_index())


def test_clusters_fit_on_a_sample_and_label_everyone():
    features = _blobs(n_per=600)
    model = CustomerClusters(n_clusters=3, sample_size=100, silhouette_sample=50).fit(features)
    assert len(model.labels_) == len(features)
    assert np.array_equal(model.predict(features), model.labels_)
    assert model.cluster_centers_.shape == (3, 3)
    assert clone(model).get_params()["n_clusters"] == 3


def test_clusters_thread_setting_does_not_change_the_result():
    features = _blobs(n_per=100)
    one = CustomerClusters(n_clusters=3, n_threads=1).fit(features)
    default = CustomerClusters(n_clusters=3, n_threads=None).fit(features)
    assert np.array_equal(one.labels_, default.labels_)
    with pytest.raises(ValueError, match="n_threads"):
        CustomerClusters(n_clusters=3, n_threads=0).fit(features)


def test_clusters_with_extra_features():
    features = _blobs().assign(tickets=lambda f: np.arange(len(f)) % 3)
    result = cluster_customers(
        features, k=3, columns=["recency_days", "frequency", "monetary", "tickets"]
    )
    assert "mean_tickets" in result.profile.columns
    assert result.model.log_columns_ == ["recency_days", "frequency", "monetary"]


def test_clusters_bad_input():
    features = _blobs(n_per=20)
    with pytest.raises(ValueError, match="missing or infinite"):
        cluster_customers(features.assign(monetary=np.nan))
    with pytest.raises(ValueError, match="missing column"):
        cluster_customers(features.drop(columns="frequency"))
    with pytest.raises(ValueError, match="negative values"):
        cluster_customers(features.assign(monetary=-1.0))
    with pytest.raises(ValueError, match="distinct"):
        cluster_customers(features.iloc[[0] * 5], k=2)
    with pytest.raises(ValueError, match="random_state"):
        cluster_customers(features, random_state=None)
    with pytest.raises(ValueError, match="k:"):
        cluster_customers(features, k=1)


def test_silhouette_scores_match_sklearn():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 3))
    points[:100] += 4
    labelings = [rng.integers(0, 3, 300), np.r_[np.zeros(100, int), np.ones(200, int)]]
    ours = silhouette_scores(points, labelings, chunk=64)
    theirs = [silhouette_score(points, labels) for labels in labelings]
    assert ours == pytest.approx(theirs)
    assert np.isnan(silhouette_scores(points, [np.zeros(300, int)])[0])


def test_clusters_on_cdnow(cdnow_segments):
    result = cluster_customers(cdnow_segments, random_state=0)
    assert 2 <= result.k <= 8
    assert result.labels.notna().all() and len(result.labels) == 23_570
    assert result.profile["mean_monetary"].is_monotonic_decreasing


# ---------------------------------------------------------------------------------------------
# migration


def test_migration_counts_add_up():
    previous = pd.Series(
        {"a": "Champions", "b": "Champions", "c": "Loyal", "d": "New", "e": "Lost"}
    )
    current = pd.Series(
        {"a": "At Risk", "b": "Champions", "c": "Hibernating", "d": "Loyal", "f": "New"}
    )
    m = segment_migration(previous, current)
    assert m.counts.index.tolist() == ["Champions", "Loyal", "New", "Lost", "new"]
    assert m.counts.columns.tolist() == [
        "Champions",
        "Loyal",
        "New",
        "At Risk",
        "Hibernating",
        "lost",
    ]
    assert m.counts.loc["Champions", "At Risk"] == 1
    assert m.counts.loc["Lost", "lost"] == 1
    assert m.counts.loc["new", "New"] == 1
    expected = previous.value_counts().reindex(m.counts.index[:-1]).tolist() + [1]
    assert m.counts.sum(axis=1).tolist() == expected
    assert m.counts.drop(columns="lost").sum().tolist() == (
        current.value_counts().reindex(m.counts.columns[:-1]).tolist()
    )
    assert np.allclose(m.shares.sum(axis=1), 1.0)
    assert m.fallen.to_dict(orient="index") == {
        "a": {"previous": "Champions", "current": "At Risk"},
        "c": {"previous": "Loyal", "current": "Hibernating"},
    }
    assert m.stayed()["Champions"] == 1


def test_migration_between_two_cutoffs(cdnow):
    previous = rfm_segments(rfm_scores(cdnow, "1997-12"))
    current = rfm_segments(rfm_scores(cdnow, "1998-06"))
    m = segment_migration(previous, current)
    sizes = previous["segment"].value_counts().reindex(m.counts.index[:-1]).to_numpy()
    assert np.array_equal(m.counts.sum(axis=1).to_numpy()[:-1], sizes)
    assert m.counts.to_numpy().sum() == len(previous.index.union(current.index))
    assert m.counts.index.tolist()[:-1] == DEFAULT_NAMES
    # the fallen are top -> at risk, with their current measures, biggest spenders first
    assert set(m.fallen["previous"]) <= {"Champions", "Loyal"}
    assert set(m.fallen["current"]).isdisjoint({"Champions", "Loyal", "Potential Loyalists"})
    assert len(m.fallen) > 0 and m.fallen["monetary"].is_monotonic_decreasing
    assert {"recency_days", "r_score"} <= set(m.fallen.columns)


def test_migration_between_cutoffs_of_one_source_has_no_lost(shop):
    previous = rfm_segments(rfm_scores(shop, "2024-02"))
    current = rfm_segments(rfm_scores(shop, "2024-06"))
    m = segment_migration(previous, current)
    assert m.counts.loc["new"].sum() == 1  # d bought first in March
    assert m.counts["lost"].sum() == 0  # scored customers stay scored
    assert m.counts.to_numpy().sum() == 4


def test_migration_custom_segments_and_errors():
    previous = pd.Series({"a": "金", "b": "银"})
    current = pd.Series({"a": "铜", "b": "银"})
    with pytest.raises(ValueError, match="not in the segment map"):
        segment_migration(previous, current)
    m = segment_migration(previous, current, top=["金"], at_risk=["铜"])
    assert m.fallen.index.tolist() == ["a"]
    with pytest.raises(ValueError, match="unknown segment label"):
        segment_migration(previous, current, top=["Gold"], at_risk=["铜"])
    with pytest.raises(ValueError, match="duplicate"):
        segment_migration(pd.Series(["Lost", "Lost"], index=["a", "a"]), current)
    with pytest.raises(ValueError, match="also a segment name"):
        segment_migration(pd.Series({"a": "new"}), pd.Series({"a": "Lost"}), top=[], at_risk=[])
    with pytest.raises(ValueError, match="no segment"):
        segment_migration(pd.Series({"a": None}, dtype="str"), current)


# ---------------------------------------------------------------------------------------------
# plots


def test_plots_return_axes(cdnow_segments):
    import matplotlib.pyplot as plt

    previous = cdnow_segments.assign(segment=cdnow_segments["segment"].shift(1).fillna("Lost"))
    result = cluster_customers(cdnow_segments, k=3, sample_size=2_000, silhouette_sample=500)
    for draw in (
        lambda ax: plot_segment_sizes(cdnow_segments, ax=ax),
        lambda ax: plot_segment_sizes(segment_summary(cdnow_segments), ax=ax),
        lambda ax: plot_value_tiers(value_tiers(cdnow_segments), ax=ax),
        lambda ax: plot_rf_heatmap(cdnow_segments, ax=ax, labels=segment_labels("en")),
        lambda ax: plot_migration(segment_migration(previous, cdnow_segments), ax=ax),
        lambda ax: plot_migration(
            segment_migration(previous, cdnow_segments), normalize=False, ax=ax
        ),
        lambda ax: plot_cluster_profile(result, ax=ax),
    ):
        fig, ax = plt.subplots()
        assert draw(ax) is ax
        plt.close(fig)
    ax = plot_rf_heatmap(cdnow_segments)
    texts = {t.get_text() for t in ax.texts}
    assert {"Champions", "Lost", "Hibernating"} <= texts
    plt.close(ax.figure)


def test_cluster_profile_plot_takes_a_fitted_estimator():
    import matplotlib.pyplot as plt

    model = CustomerClusters(n_clusters=3).fit(_blobs(n_per=50))
    ax = plot_cluster_profile(model)
    assert ax.images[0].get_array().shape == (3, 3)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="not fitted"):
        plot_cluster_profile(CustomerClusters())


def test_rf_heatmap_counts_and_boundaries():
    import matplotlib.pyplot as plt

    scores = _scores([5, 5, 1, 1, 1], [5, 5, 1, 1, 5], [5, 5, 1, 1, 5])
    segs = rfm_segments(scores)
    ax = plot_rf_heatmap(segs)
    image = ax.images[0].get_array()
    # row 0 of the image is R = 5; column 4 is F = 5
    assert image[0, 4] == 2 and image[4, 0] == 2 and image[4, 4] == 1
    assert len(ax.lines) > 0
    plt.close(ax.figure)


def test_the_migration_summary_ranks_moves_by_the_maps_own_groups():
    from cpm_analysis.segments import segment_migration
    from cpm_analysis.segments.period import migration_summary

    two = {
        "segments": [
            {"segment": "Active", "r": "3-5", "group": "top"},
            {"segment": "Dormant", "r": "1-2", "group": "lapsed"},
        ]
    }
    previous = pd.Series({"a": "Active", "b": "Dormant", "c": "Active"})
    current = pd.Series({"a": "Dormant", "b": "Active", "c": "Active"})
    migration = segment_migration(previous, current, segment_map=two)
    summary = migration_summary(migration)
    assert summary.loc["Active", ["customers", "stayed", "down"]].tolist() == [2, 1, 1]
    assert summary.loc["Dormant", "up"] == 1
    assert migration.fallen.index.tolist() == ["a"]
