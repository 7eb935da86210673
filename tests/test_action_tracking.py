"""Action tracking: the published customer action list, its follow-up and the contact effect."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.action_tracking import (
    CARE_STEM,
    action_review,
    contact_effect,
    customer_action_list,
    follow_up,
    parse_share,
    previous_action_list,
    rate_difference,
)
from cpm_analysis.privacy import pseudonymize
from cpm_analysis.report.care_export import write_action_list
from cpm_analysis.synthetic import generate

KEY = b"k" * 32


def _scored(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = [f"C{i:06d}" for i in range(1, n + 1)]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "pseudonym": pseudonymize(pd.Series(ids), KEY),
            "owner_id": rng.choice(["S001", "S002"], n),
            "churn_probability": rng.random(n),
            "expected_loss": rng.gamma(2.0, 50.0, n),
            "reason_codes": "no order for 95 days",
            "recommended_action": "=HYPERLINK(call)",
        }
    )


def test_the_list_holds_the_largest_losses_with_owner_reason_and_due_date():
    scored = _scored()
    actions = customer_action_list(scored, "2025-06", size=20, due_days=14)
    assert len(actions) == 20
    top = scored.nlargest(20, "expected_loss")["customer_id"].tolist()
    assert actions["customer_id"].tolist() == top
    assert (actions["due_date"] == "2025-07-14").all()
    assert actions["reason"].str.contains("no order for 95 days").all()
    assert (actions["group"] == "contact").all()
    assert set(actions["owner_id"]) <= {"S001", "S002"}


def test_nobody_on_the_call_list_gets_a_loyalty_reward_or_an_upsell():
    from cpm_analysis.actions import CHECK_IN_ACTION, LEAVING_ACTION
    from cpm_analysis.churn.risk import risk_table

    scored = _scored()
    scored["segment_group"] = np.resize(["top", "growth", "at_risk", "lapsed"], len(scored))
    scored["recommended_action"] = scored["segment_group"].map(
        {"top": "Reward loyalty", "growth": "Upsell", "at_risk": "Win back", "lapsed": "Reactivate"}
    )
    scored.loc[scored["churn_probability"] >= 0.5, "recommended_action"] = LEAVING_ACTION
    listed = customer_action_list(scored, "2025-06", size=60)
    table = risk_table(scored, n=60)
    for actions in (listed["action"], table["recommended_action"]):
        assert not actions.isin(["Reward loyalty", "Upsell"]).any()
        assert actions.eq(CHECK_IN_ACTION).any() and actions.eq("Win back").any()
    assert listed["action"].tolist() == table["recommended_action"].tolist()


def test_the_risk_list_and_the_action_list_rank_ties_and_missing_losses_alike():
    from cpm_analysis.churn.risk import risk_table

    scored = _scored().head(12).copy()
    scored["expected_loss"] = [7.0, None, 7.0, 3.0, 7.0, None, 1.0, 3.0, 9.0, 7.0, 0.5, 2.0]
    listed = customer_action_list(scored, "2025-06", size=8)
    table = risk_table(scored, n=8)
    assert listed["customer_id"].tolist() == table["customer_id"].tolist()
    # largest first, ties in the table's order, the customers without a loss never listed
    assert (
        listed["customer_id"].tolist()
        == scored["customer_id"].iloc[[8, 0, 2, 4, 9, 3, 7, 11]].tolist()
    )


def test_the_holdout_is_a_seeded_random_share_that_is_not_to_be_contacted():
    scored = _scored()
    one = customer_action_list(scored, "2025-06", size=100, holdout=parse_share("10%"), seed=3)
    two = customer_action_list(scored, "2025-06", size=100, holdout=0.1, seed=3)
    other = customer_action_list(scored, "2025-06", size=100, holdout=0.1, seed=4)
    assert (one["group"] == "holdout").sum() == 10
    pd.testing.assert_frame_equal(one, two)
    assert not one["group"].equals(other["group"])
    held = one.loc[one["group"] == "holdout"]
    assert held["action"].str.startswith("Hold out").all()
    # not the top or the bottom of the list: spread over the ranks
    assert held["rank"].min() < 50 < held["rank"].max()


@pytest.mark.parametrize("bad", ["95%", "-1%", "ten", float("nan")])
def test_a_bad_holdout_share_names_the_parameter(bad):
    with pytest.raises(ValueError, match="holdout"):
        parse_share(bad)


def test_a_scored_table_without_expected_loss_is_refused():
    with pytest.raises(ValueError, match="expected_loss"):
        customer_action_list(pd.DataFrame({"customer_id": ["C1"]}), "2025-06")
    with pytest.raises(ValueError, match="size"):
        customer_action_list(_scored(), "2025-06", size=0)


def test_the_export_is_pseudonymised_formula_safe_and_read_back_next_period(tmp_path):
    actions = customer_action_list(_scored(), "2025-05", size=5, holdout=0.4)
    folder = tmp_path / "2025-05"
    folder.mkdir()
    csv, lines = write_action_list(actions, folder)
    assert (csv.name, lines.name) == (f"{CARE_STEM}.csv", f"{CARE_STEM}.jsonl")
    text = csv.read_text()
    assert "C0000" not in text and "C0000" not in lines.read_text()  # no real id
    assert "'=HYPERLINK" in text  # neutralised for spreadsheets
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    assert len(records) == 5 and records[0]["pseudonym"].startswith("P-")
    assert isinstance(records[0]["expected_loss"], float)
    back = previous_action_list(tmp_path, "2025-06")
    assert back["pseudonym"].tolist() == actions["pseudonym"].tolist()
    assert back["group"].tolist() == actions["group"].tolist()
    assert back.loc[back["group"] == "contact", "action"].str.startswith("=HYPERLINK").all()
    identified = tmp_path / "identified"
    identified.mkdir()
    csv, _ = write_action_list(actions, identified, identified=True)
    assert actions["customer_id"].iloc[0] in csv.read_text()


def test_the_follow_up_finds_contacts_and_repurchases_in_the_next_period():
    sd = generate(2000, seed=5, end="2025-06-30")
    ds = sd.to_dataset()
    customers = ds.customers["customer_id"].astype("str")
    acts, orders = ds.activities, ds.orders
    june = (acts["at"] >= "2025-06-01") & (acts["at"] < "2025-07-01")
    met = acts.loc[june, "customer_id"].astype("str").unique()[:5].tolist()
    bought = orders.loc[
        (orders["order_date"] >= "2025-06-01") & (orders["status"] == "paid"), "customer_id"
    ]
    buyers = bought.astype("str").unique()[:5].tolist()
    quiet = [c for c in customers if c not in set(met) | set(bought.astype("str"))][:5]
    ids = met + buyers + quiet
    actions = pd.DataFrame(
        {"pseudonym": pseudonymize(pd.Series(ids), KEY), "group": "contact", "rank": 1}
    )
    follow = follow_up(actions, ds, "2025-06", key=KEY)
    assert follow["found"].all()
    assert follow["customer_id"].tolist() == ids
    assert follow["contacted"].tolist()[:5] == [True] * 5
    assert follow["bought_again"].tolist()[5:10] == [True] * 5
    assert not follow["bought_again"].iloc[10:].any()
    assert not follow["contacted"].iloc[10:].any()
    with pytest.raises(ValueError, match="key"):
        follow_up(actions, ds, "2025-06")


def test_rate_difference_interval_covers_the_difference_and_needs_two_groups():
    est, low, high = rate_difference([1] * 3 + [0] * 7, [1] * 6 + [0] * 4)
    assert est == pytest.approx(-0.3) and -1 <= low < est < high <= 1
    with pytest.raises(ValueError, match="both groups"):
        rate_difference([], [1])


def test_without_a_holdout_the_estimate_is_labelled_observational():
    follow = pd.DataFrame(
        {
            "contacted": [True, False] * 50,
            "bought_again": [True, False] * 50,
            "churn_probability": np.linspace(0, 1, 100),
        }
    )
    effect = contact_effect(follow)
    assert effect.method.startswith("observational")
    assert any("not a causal effect" in c for c in effect.caveats)
    assert effect.estimate == pytest.approx(1.0)
    nobody = follow.assign(contacted=False)
    assert contact_effect(nobody).method == "none"


def test_the_review_without_a_previous_list_says_so(tmp_path):
    follow, effect = action_review(tmp_path, "2025-06", None)
    assert follow is None and "no action list was published with 2025-05" in effect.summary()


def _randomised_check(n_customers: int, seed: int) -> tuple[float, object]:
    truth = generate(n_customers, seed=seed, contact_effect=0.5, contact_random_share=0.5).truth
    coin = truth["contacts"].loc[lambda c: c["randomised"]]
    true_effect = (coin["dropped_if_contacted"].astype(float) - coin["dropped_if_not"]).mean()
    follow = pd.DataFrame(
        {
            "group": np.where(coin["contacted"], "contact", "holdout"),
            "dropped": np.where(
                coin["contacted"], coin["dropped_if_contacted"], coin["dropped_if_not"]
            ),
        }
    )
    return true_effect, contact_effect(follow, "dropped")


def test_the_holdout_estimate_covers_the_generators_true_effect():
    true_effect, effect = _randomised_check(8000, seed=3)
    assert effect.method == "randomised holdout"
    assert effect.low <= true_effect <= effect.high
    assert effect.high < 0  # halving the hazard is detected


@pytest.mark.slow
def test_the_holdout_estimate_covers_the_true_effect_on_100000_customers():
    true_effect, effect = _randomised_check(100_000, seed=7)
    assert effect.low <= true_effect <= effect.high
    assert effect.high - effect.low < 0.05


@pytest.mark.slow
def test_the_report_publishes_the_list_and_the_next_period_follows_it_up(tmp_path, monkeypatch):
    import nbformat
    from light_period import light_build_period

    from cpm_analysis.report import runner

    def build(dataset, period, config=None, **kwargs):
        result = light_build_period(dataset, period, config, **kwargs)
        n = len(result.scored)
        rng = np.random.default_rng(1)
        result.scored = result.scored.assign(
            churn_probability=rng.random(n), expected_loss=rng.gamma(2.0, 40.0, n)
        )
        return result

    monkeypatch.setattr(runner, "build_period", build)
    monkeypatch.delenv("CPM_PSEUDONYM_KEY", raising=False)
    data = tmp_path / "data"
    generate(600, seed=9, end="2025-06-30").write(data)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    params = nbformat.v4.new_code_cell(
        'data = ""\nperiod = ""\nfreq = "monthly"\nout_dir = ""\npii = "mask"\nowner = ""\nseed = 0'
    )
    params.metadata["tags"] = ["parameters"]
    probe = nbformat.v4.new_code_cell(
        "from cpm_analysis.action_tracking import action_review\n"
        "from cpm_analysis.data import load\n"
        "follow, effect = action_review(out_dir, period, load(data))\n"
        "open('effect.txt', 'w').write(effect.method)"
    )
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Probe"), params, probe])
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(book, notebooks / "01_probe.ipynb")
    out = tmp_path / "reports"
    outcome = runner.run_report(
        data=data, start="2025-05", end="2025-06", out=out, notebooks=notebooks,
        holdout="20%", progress=False, jobs=1,
    )  # fmt: skip
    assert outcome.exit_code == 0, [p.error for p in outcome.periods]
    first = pd.read_csv(out / "2025-05" / "care_campaign.csv")
    assert len(first) == 25 and (first["group"] == "holdout").sum() == 5
    assert "customer_id" not in first.columns and first["pseudonym"].str.startswith("P-").all()
    assert (out / "2025-05" / "care_campaign.jsonl").is_file()
    assert (out / "2025-05" / "effect.txt").read_text() == "none"  # nothing before May
    assert (out / "2025-06" / "effect.txt").read_text() == "randomised holdout"
    with pytest.raises(runner.ReportArgumentError, match="--holdout"):
        runner.run_report(data=data, out=out, holdout="200%", progress=False)


def test_the_summary_counts_each_group_and_the_page_text_states_method_and_caveats():
    from cpm_analysis.action_tracking import effect_markdown, follow_up_summary

    follow = pd.DataFrame(
        {
            "group": ["contact"] * 6 + ["holdout"] * 4,
            "found": [True] * 9 + [False],
            "contacted": [True] * 4 + [False] * 6,
            "bought_again": [True, True, True, False, False, False, True, False, False, True],
        }
    )
    table = follow_up_summary(follow)
    assert table.loc["contact"].tolist()[:4] == [6, 6, 4, 3]
    assert table.loc["holdout"].tolist()[:4] == [4, 3, 0, 1]  # the unknown customer not counted
    assert table.loc["holdout", "repurchase_rate"] == pytest.approx(1 / 3)
    assert follow_up_summary(None).empty
    follow.attrs["window"] = "2025-06-01 to 2025-06-30"
    text = effect_markdown(contact_effect(follow.loc[follow["found"]]), follow)
    assert text.startswith("Follow-up window: 2025-06-01 to 2025-06-30.")
    assert "randomised holdout" in text and "Caveat: intention to treat" in text


def _churn_dataset(churned_at=None):
    from cpm_analysis.data import validate_frames

    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "signup_date": ["2024-01-01"] * 4}
    )
    if churned_at is not None:
        customers["churned_at"] = churned_at
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4"],
            "customer_id": ["a", "b", "c", "d"],
            "order_date": ["2024-05-01", "2024-06-10", "2024-06-15", "2024-06-20"],
            "amount": ["10", "10", "10", "10"],
            "status": ["paid", "paid", "cancelled", "paid"],
        }
    )
    return validate_frames(
        {"customers": customers, "orders": orders}, now=pd.Timestamp("2025-01-01")
    )


def test_follow_up_reports_churn_after_contact_by_no_order_or_by_contract_end():
    actions = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "group": "contact"})
    follow = follow_up(actions, _churn_dataset(), "2024-06")
    # no paid order in June: a (May only) and c (a cancelled order only)
    assert follow["churned"].tolist() == [True, False, True, False]
    assert follow.attrs["churn_rule"] == "no order"
    # with contract ends recorded they decide: b's contract ended in June, a's only in July
    ended = _churn_dataset([None, "2024-06-25", None, "2024-07-15"])
    follow = follow_up(actions, ended, "2024-06")
    assert follow["churned"].tolist() == [False, True, False, False]
    assert follow.attrs["churn_rule"] == "contract end"


def test_the_summary_has_the_churn_rate_and_its_wilson_interval():
    from cpm_analysis.action_tracking import follow_up_summary

    follow = pd.DataFrame(
        {
            "group": ["contact"] * 10,
            "found": [True] * 10,
            "contacted": [True] * 10,
            "bought_again": [True] * 6 + [False] * 4,
            "churned": [False] * 6 + [True] * 4,
        }
    )
    row = follow_up_summary(follow).loc["contact"]
    assert row["churned"] == 4 and row["churn_rate"] == pytest.approx(0.4)
    # Wilson 95% for 4 of 10, by hand: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    z, n, p = 1.96, 10, 0.4
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert row["churn_rate_low"] == pytest.approx(centre - half)
    assert row["churn_rate_high"] == pytest.approx(centre + half)
    assert row["churn_rate_low"] < 0.4 < row["churn_rate_high"]
    # an older follow-up table without churned: no purchase stands for churn
    old = follow_up_summary(follow.drop(columns="churned")).loc["contact"]
    assert old["churned"] == 4


def test_the_churn_effect_uses_the_holdout_and_the_page_states_it():
    from cpm_analysis.action_tracking import churn_effect, effect_markdown

    follow = pd.DataFrame(
        {
            "group": ["contact"] * 20 + ["holdout"] * 20,
            "found": [True] * 39 + [False],
            "contacted": [True] * 20 + [False] * 20,
            "bought_again": [True] * 40,
            "churned": [False] * 15 + [True] * 5 + [False] * 9 + [True] * 11,
        }
    )
    effect = churn_effect(follow)
    assert effect.method == "randomised holdout" and effect.outcome == "churned"
    assert effect.n_control == 19  # the customer not found is left out
    assert effect.estimate == pytest.approx(5 / 20 - 10 / 19)
    assert effect.low < effect.estimate < effect.high
    text = effect_markdown(contact_effect(follow.loc[follow["found"]]), follow, churn=effect)
    assert "Churn after contact (no order): randomised holdout: churned rate" in text
    assert churn_effect(None).method == "none"


def test_the_configured_due_date_reaches_the_published_list(tmp_path):
    from cpm_analysis.config import parse_config
    from cpm_analysis.report.care_export import care_campaign

    scored = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "expected_loss": [1.0, 2.0], "churn_probability": [0.1, 0.2]}
    )
    default = care_campaign(scored, "2025-06")
    assert set(default["due_date"]) == {"2025-07-30"}  # 30 days after 2025-06-30
    config = parse_config({"windows": {"action_due_days": 7}}, source="cpm.yaml")
    week = care_campaign(scored, "2025-06", due_days=config.windows.action_due_days)
    assert set(week["due_date"]) == {"2025-07-07"}
    with pytest.raises(Exception, match="action_due_days"):
        parse_config({"windows": {"action_due_days": 0}}, source="cpm.yaml")
