"""The contractual (sBG) and discrete-time (BG/BB) modes of the synthetic generator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.clv import BetaGeoBetaBinomModel, ShiftedBetaGeoModel, contract_periods
from cpm_analysis.data import data_dir, load
from cpm_analysis.synthetic import (
    DEFAULT_BGBB,
    DEFAULT_SBG,
    SAMPLE_CONTRACT,
    generate,
    generate_contractual,
    generate_discrete,
    write_sample_contract,
)


def _within(model, truth, n_se=4.0):
    for name, value in truth.items():
        se = model.standard_errors_[name]
        assert np.isfinite(se) and se > 0
        assert abs(model.params_[name] - value) < n_se * se, (name, model.params_, truth)


def test_contractual_mode_sbg_recovers_truth():
    sd = generate_contractual(20_000, seed=3)
    cutoff = sd.observation_end + pd.Timedelta(1, "D") - pd.Timedelta(1, "s")
    rows = contract_periods(sd.tables["customers"], cutoff)
    model = ShiftedBetaGeoModel().fit(rows)
    _within(model, DEFAULT_SBG)
    for name, value in DEFAULT_SBG.items():
        assert model.params_[name] == pytest.approx(value, rel=0.1)


def test_contractual_mode_rows_match_truth():
    sd = generate_contractual(1000, seed=5, sbg={"alpha": 2.0, "beta": 6.0})
    assert sd.truth["sbg"] == {"alpha": 2.0, "beta": 6.0}
    cutoff = sd.observation_end + pd.Timedelta(1, "D") - pd.Timedelta(1, "s")
    rows = contract_periods(sd.tables["customers"], cutoff)
    truth = sd.truth["customers"].reindex(rows.index)
    ended = rows["churned"].to_numpy(dtype=bool)
    assert (ended == truth["churned"].to_numpy()).all()
    # a contract that ended lasted exactly its true number of months
    assert (rows["T"].to_numpy()[ended] == truth["months"].to_numpy()[ended]).all()
    assert (rows["T"].to_numpy()[~ended] < truth["months"].to_numpy()[~ended]).all()
    # one monthly fee per paid month up to the end of the data
    fees = sd.tables["orders"].groupby("customer_id").size().reindex(rows.index)
    assert (fees.to_numpy()[ended] == truth["months"].to_numpy()[ended]).all()
    ds = sd.to_dataset()
    assert len(ds.rejected) == 0


def test_contractual_mode_keeps_default_company_unchanged():
    before = generate(300, seed=9)
    generate_contractual(300, seed=9)
    after = generate(300, seed=9)
    for name in before.tables:
        pd.testing.assert_frame_equal(before.tables[name], after.tables[name])
    assert "churned_at" not in after.tables["customers"].columns


def test_discrete_mode_bgbb_recovers_truth():
    sd = generate_discrete(50_000, seed=3)
    summary = sd.truth["summary"]
    assert (summary["T"] == 6).all()
    assert (summary["recency"] <= summary["T"]).all()
    assert ((summary["frequency"] == 0) == (summary["recency"] == 0)).all()
    model = BetaGeoBetaBinomModel().fit(summary)
    _within(model, DEFAULT_BGBB)
    for name, value in DEFAULT_BGBB.items():
        assert model.params_[name] == pytest.approx(value, rel=0.1)


def test_discrete_mode_orders_are_one_per_opportunity():
    sd = generate_discrete(400, seed=2, first_year=2010, opportunities=4)
    orders = sd.tables["orders"]
    year = pd.to_datetime(orders["order_date"]).dt.year
    assert year.min() == 2010 and year.max() <= 2014
    per_year = orders.assign(year=year).groupby(["customer_id", "year"]).size()
    assert (per_year == 1).all()
    repeat = orders.assign(year=year).query("year > 2010").groupby("customer_id").size()
    freq = sd.truth["summary"]["frequency"]
    pd.testing.assert_series_equal(
        repeat.reindex(freq.index, fill_value=0), freq, check_names=False, check_dtype=False
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: generate_contractual(100, sbg={"alpha": -1.0}), "sbg"),
        (lambda: generate_contractual(100, sbg={"gamma": 1.0}), "unknown"),
        (lambda: generate_discrete(100, opportunities=0), "opportunities"),
        (lambda: generate_discrete(5), "n_customers"),
        (lambda: generate_discrete(100, bgbb={"delta": float("nan")}), "bgbb"),
    ],
)
def test_bad_mode_parameters_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bundled_contract_sample_is_the_documented_generator_output(tmp_path):
    folder = data_dir() / "sample_contract"
    truth = json.loads((folder / "truth.json").read_text())
    assert truth["sbg"] == DEFAULT_SBG and truth["seed"] == SAMPLE_CONTRACT["seed"]
    fresh = write_sample_contract(tmp_path / "again")
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(p.name for p in fresh.iterdir())
    for name in names:  # bit for bit
        assert (folder / name).read_bytes() == (fresh / name).read_bytes(), name
    ds = load(folder)
    assert len(ds.rejected) == 0
    assert len(ds.customers) == SAMPLE_CONTRACT["n_customers"]
    end = pd.Timestamp(SAMPLE_CONTRACT["end"]) + pd.Timedelta("86399s")
    model = ShiftedBetaGeoModel().fit(contract_periods(ds.customers, end))
    _within(model, DEFAULT_SBG)


def test_docstring_examples_of_the_modes_run():
    import doctest

    import cpm_analysis.synthetic as module

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for name in ("generate_contractual", "generate_discrete"):
        for test in finder.find(getattr(module, name), name, globs=vars(module).copy()):
            runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
