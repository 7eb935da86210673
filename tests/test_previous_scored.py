"""Last period's scored table for the forecast check: reused or rescored (pipeline.previous)."""

from __future__ import annotations

import json

import pandas as pd
from review_fixtures import company_fixture  # noqa: F401 (fixtures)

from cpm_analysis.periods import parse_period
from cpm_analysis.pipeline import previous

PERIOD = parse_period("2025-06")


def test_previous_scored_reuses_a_matching_published_table(company, tmp_path, monkeypatch):
    folder = tmp_path / "2025-05"
    folder.mkdir()
    table = pd.DataFrame({"customer_id": ["x", "y"], "owner_id": ["S1", "S2"]})
    table.to_parquet(folder / "customers_scored.parquet")
    meta = {"data": {"fingerprint": company.fingerprint()}, "parameters": {"seed": 3}}
    (folder / "metrics.json").write_text(json.dumps(meta))
    here = tmp_path / "2025-06" / "customers_scored.parquet"
    out, source = previous.previous_scored(company, PERIOD, seed=3, scored_path=here, owner="S2")
    assert source == "published report of 2025-05" and out["customer_id"].tolist() == ["y"]
    # an owner's report (<out>/<period>/owners/<id>/) finds the company table of last period
    nested = tmp_path / "2025-06" / "owners" / "S2" / "customers_scored.parquet"
    out, source = previous.previous_scored(company, PERIOD, seed=3, scored_path=nested, owner="S2")
    assert source == "published report of 2025-05" and out["customer_id"].tolist() == ["y"]

    calls = {}

    def fake_score(dataset, period, seed=0, **options):
        calls.update(period=period.label, seed=seed)
        calls["horizon"] = options.get("horizon_months")

        class Result:
            scored = table

        return Result()

    monkeypatch.setattr("cpm_analysis.scoring.score_customers", fake_score)
    out, source = previous.previous_scored(company, PERIOD, seed=4, scored_path=here)
    assert source == "rescored at the end of 2025-05"
    assert calls == {"period": "2025-05", "seed": 4, "horizon": 12}
    # other business rules than the published table's: rescored, with those rules
    from cpm_analysis.config import parse_config

    rules = parse_config({"clv": {"horizon_months": 6}})
    out, source = previous.previous_scored(company, PERIOD, seed=3, scored_path=here, config=rules)
    assert source == "rescored at the end of 2025-05" and calls["horizon"] == 6


def test_last_period_is_rescored_with_last_periods_model_choice(company, monkeypatch):
    """The same rule at last period's cutoff on last period's data (or the pinned model)."""
    seen = {}

    def fake_choice(view, cutoff, *, model="auto", **_):
        seen.update(cutoff=cutoff, data_end=view.cutoff, model=model)
        return "last period's choice"

    def fake_score(dataset, period, seed=0, **options):
        seen["choice"] = options.get("model_choice")

        class Result:
            scored = pd.DataFrame({"customer_id": ["x"], "owner_id": ["S1"]})

        return Result()

    monkeypatch.setattr("cpm_analysis.clv.selection.choose_value_model", fake_choice)
    monkeypatch.setattr("cpm_analysis.scoring.score_customers", fake_score)
    from cpm_analysis.config import parse_config

    rules = parse_config({"clv": {"model": "Pareto/NBD"}})
    previous.previous_scored(company, PERIOD, seed=0, config=rules)
    end = PERIOD.previous().end
    assert seen == {
        "cutoff": end,
        "data_end": end,
        "model": "Pareto/NBD",
        "choice": "last period's choice",
    }
