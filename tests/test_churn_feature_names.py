"""The churn drivers and the risk list read as words, not column names."""

from __future__ import annotations

import pandas as pd

from cpm_analysis.churn import churn_features
from cpm_analysis.churn.feature_names import feature_label, labelled_drivers
from cpm_analysis.churn.risk import LISTED_FOR_VALUE, NO_WARNING_SIGN, risk_table
from cpm_analysis.i18n import Message, translator
from cpm_analysis.plots.churn import plot_drivers


def test_every_behavioural_churn_feature_has_a_label_in_both_languages(sample_dataset):
    features = churn_features(sample_dataset, pd.Timestamp("2025-12-31"))
    zh = translator("zh")
    attributes = {"region", "channel", "company_size"}
    for name in features.columns:
        label = feature_label(name)
        if name in attributes:
            assert label == name.replace("_", " ")
            continue
        assert isinstance(label, Message), name
        assert "_" not in label, (name, label)
        translated = zh.gettext(label)
        assert translated != str(label), (name, translated)
        assert not any(
            "a" <= ch <= "z"
            for ch in translated.replace("CSAT", "").replace("NPS", "").replace("CLV", "")
        ), translated


def test_an_unknown_column_keeps_its_name():
    assert feature_label("my_score") == "my score"


def test_drivers_table_and_chart_show_labels():
    d = pd.DataFrame(
        {"importance_mean": [0.09, 0.02], "importance_std": [0.01, 0.0]},
        index=pd.Index(["expected_purchases_90d", "orders_trend_90d"], name="feature"),
    )
    assert labelled_drivers(d).index.tolist() == [
        "expected purchases, next 90 days (CLV model)",
        "order trend: last 90 days vs the 90 before",
    ]
    ax = plot_drivers(d)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert "order trend: last 90 days vs the 90 before" in ticks
    assert "orders_trend_90d" not in ticks


def test_risk_list_never_shows_a_blank_reason():
    scored = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "churn_probability": [0.2, 0.7, 0.3],
            "expected_loss": [9.0, 5.0, 1.0],
            "reason_codes": ["", NO_WARNING_SIGN, "no order for 94 days, usual gap 21"],
        }
    )
    table = risk_table(scored)
    assert table["reason_codes"].tolist() == [
        LISTED_FOR_VALUE,
        NO_WARNING_SIGN,
        "no order for 94 days, usual gap 21",
    ]
    assert translator("zh").sentence(LISTED_FOR_VALUE) != LISTED_FOR_VALUE
