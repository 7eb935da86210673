"""The period pipeline: build_period once, an owner's book as a filter, the saved result."""

from __future__ import annotations

import os
import pickle
import stat

import nbformat
import numpy as np
import pandas as pd
import pytest
from light_period import light_build_period
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cpm_analysis.availability import Unavailable
from cpm_analysis.kpis import scorecard as kpi_scorecard
from cpm_analysis.periods import parse_period
from cpm_analysis.pipeline import PeriodResult, build_period, load_period_result
from cpm_analysis.pipeline.period import RESULT_FILE
from cpm_analysis.report import metrics, params, runner
from cpm_analysis.synthetic import generate

PERIOD = "2025-09"
OWNER_COLUMNS = [
    "customer_id",
    "owner_id",
    "segment",
    "tier",
    "cluster",
    "clv",
    "p_alive",
    "churn_probability",
    "expected_loss",
    "reason_codes",
    "recommended_action",
]


@pytest.fixture(scope="module")
def company():
    return generate(500, seed=7).to_dataset()


@pytest.fixture(scope="module")
def result(company):
    return build_period(company, PERIOD, seed=0)


@pytest.fixture(scope="module")
def owner(result):
    return str(result.scored["owner_id"].value_counts().index[0])


def test_build_period_holds_every_section(result, company):
    assert result.period == parse_period(PERIOD) and result.owner is None
    assert result.view.cutoff == parse_period(PERIOD).end
    assert result.scored["customer_id"].tolist() == sorted(result.view.customers["customer_id"])
    assert {"bgnbd", "gamma_gamma", "churn", "clusters"} <= set(result.models)
    # the CLV page's models are the scoring's fits, its holdout check the choice's (no refit)
    chosen = result.model_choice.chosen
    assert sorted(result.value_models) == sorted([chosen, "Gamma-Gamma"])
    assert result.value_models[chosen] is result.models["purchase"]
    assert result.value_models["Gamma-Gamma"] is result.models["gamma_gamma"]
    assert result.calibration.model is result.model_choice.model
    assert "total" in result.calibration.report.index
    np.testing.assert_allclose(
        result.calibration.report["predicted"], result.model_choice.by_group[chosen]
    )
    assert result.backtest.metrics["roc_auc"].notna().all()
    # the clusters behind the scored table's column are the ones the page shows
    labels = result.scored.set_index("customer_id")["cluster"].dropna().astype(int)
    assert labels.equals(result.clusters.labels.loc[labels.index].astype(int))
    assert result.owners.available and result.agents.available
    assert result.forecast.available and result.forecast.model is result.forecast_model
    assert result.previous_source.startswith("rescored at the end of 2025-08")
    assert not result.actions.empty and not result.scorecard.empty
    assert len(result.trends) and result.cohorts is not None
    checks = result.availability
    assert checks["Service KPIs"].available
    assert result.capabilities["analysis"].tolist() == list(checks)


def test_metrics_hold_the_kpis_with_the_model_kpis(result):
    kpis = result.metrics["kpis"]
    assert kpis["revenue"]["value"] > 0
    assert "predicted_clv" in kpis and "revenue_at_risk" in kpis
    assert kpis["revenue"]["value"] == pytest.approx(result.kpis.loc["revenue", "value"])
    assert {"segments", "models", "notes", "kpis"} <= set(result.metrics)
    metrics.dumps(result.metrics)  # JSON-able


def test_build_period_is_deterministic_in_one_or_two_processes(result, company):
    # jobs=2: the backtest and last period's scores are computed in a second process
    again = build_period(company, PERIOD, seed=0, jobs=2)
    pd.testing.assert_frame_equal(again.scored, result.scored)
    pd.testing.assert_frame_equal(again.previous, result.previous)
    assert again.previous_source == result.previous_source
    assert metrics.dumps(again.metrics) == metrics.dumps(result.metrics)
    pd.testing.assert_frame_equal(again.backtest.metrics, result.backtest.metrics)
    pd.testing.assert_frame_equal(again.forecast.purchases, result.forecast.purchases)
    pd.testing.assert_frame_equal(again.actions, result.actions)


def test_an_owners_book_is_a_filter_of_the_company_result(result, owner):
    book = result.for_owner(owner)
    mine = result.scored.loc[result.scored["owner_id"] == owner].reset_index(drop=True)
    pd.testing.assert_frame_equal(book.scored, mine)  # the company's rows, not a refit
    assert set(book.view.customers["customer_id"]) == set(mine["customer_id"])
    company_segments = result.segments.loc[book.segments.index]
    pd.testing.assert_frame_equal(book.segments, company_segments)
    assert set(book.segments.index) == set(mine["customer_id"]) & set(result.segments.index)
    for name in (
        "models",
        "value_models",
        "calibration",
        "backtest",
        "clusters",
        "metrics",
        "value_draws",
    ):
        assert getattr(book, name) is getattr(result, name), name
    # the owner scorecard is the company's verdict of this owner; agents stay on the company page
    assert book.owners.table.index.tolist() == [owner]
    pd.testing.assert_frame_equal(book.owners.table, result.owners.table.loc[[owner]])
    assert not book.agents.available and "company report" in book.agents.note
    # the forecast check of the book uses the company's purchase model
    assert book.forecast.model is result.forecast.model
    assert book.forecast.purchases.loc["total", "customers"] <= len(mine)
    # aggregations are over the book's customers
    expected = kpi_scorecard.period_kpis(book.view, book.period, book.scored)
    pd.testing.assert_frame_equal(book.kpis, expected)
    assert book.kpis.loc["revenue", "value"] < result.kpis.loc["revenue", "value"]
    assert book.migration.counts.to_numpy().sum() <= result.migration.counts.to_numpy().sum()
    with pytest.raises(ValueError, match="already the book of"):
        book.for_owner(owner)
    with pytest.raises(ValueError, match="'S999' owns no customers"):
        result.for_owner("S999")


def test_save_and_load_the_private_result(result, tmp_path, owner):
    path = result.save(tmp_path / RESULT_FILE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_period_result(path)
    pd.testing.assert_frame_equal(again.scored, result.scored)
    assert again.company_dataset is again.dataset  # one copy of the data in the file
    pd.testing.assert_frame_equal(again.for_owner(owner).scored, result.for_owner(owner).scored)
    pd.testing.assert_frame_equal(again.actions, result.actions)  # computed before saving
    other = tmp_path / "other.pickle"
    other.write_bytes(pickle.dumps({"not": "a result"}))
    with pytest.raises(ValueError, match="is not a period result of this version"):
        load_period_result(other)
    old = tmp_path / "old.pickle"  # a result saved before the CLV models followed the choice
    result.format = 1
    try:
        old.write_bytes(pickle.dumps(result))
    finally:
        result.format = 2
    with pytest.raises(ValueError, match="saved in period-result format 1 .* reads format 2"):
        load_period_result(old)
    (tmp_path / "broken.pickle").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="is not a period result"):
        load_period_result(tmp_path / "broken.pickle")


def test_a_kernel_with_a_result_never_reads_the_data(result, tmp_path, owner, monkeypatch):
    path = result.save(tmp_path / RESULT_FILE)

    def no_load(*args, **kwargs):
        raise AssertionError("the data was loaded again")

    monkeypatch.setattr(params, "load", no_load)
    ctx = params.validate_parameters(
        data="/nonexistent/folder", period=PERIOD, out_dir=str(tmp_path), result=str(path)
    )
    assert ctx.result.scored.equals(result.scored) and ctx.view.cutoff == result.view.cutoff
    book = params.validate_parameters(
        data="/nonexistent/folder", period=PERIOD, out_dir=str(tmp_path), result=str(path),
        owner=owner,
    )  # fmt: skip
    assert book.result.owner == owner and set(book.scored_table()["owner_id"]) == {owner}
    assert set(book.view.customers["owner_id"]) == {owner}
    assert book.company_view.customers.shape == result.view.customers.shape
    for wrong, message in (({"period": "2025-08"}, "not of 2025-08"), ({"seed": 3}, "seed 3")):
        with pytest.raises(params.ParameterError, match=message):
            params.validate_parameters(
                data="/nonexistent", out_dir=str(tmp_path), result=str(path),
                **{"period": PERIOD, **wrong},
            )  # fmt: skip


def test_an_owners_kpis_and_trends_from_the_company_pass_are_the_books_own(result):
    # --per-owner saves every owner's KPIs and trends computed in one pass by owner_id, with
    # the company's noise table; each book takes its rows, exactly what it computes on its own
    result.team_noise  # noqa: B018 - the company's, as saved
    owners = result.scored["owner_id"].dropna().unique().astype(str).tolist()
    plain = [result.for_owner(o) for o in owners]
    for book in plain:  # the book computes these itself
        assert not {"kpis", "trends"} & set(book.__dict__)
        book.__dict__.pop("team_noise")
    result.by_owner  # noqa: B018
    try:
        for owner, own in zip(owners, plain, strict=True):
            book = result.for_owner(owner)
            assert {"kpis", "trends", "team_noise"} <= set(book.__dict__)
            for name in ("kpis", "trends", "scorecard"):
                pd.testing.assert_frame_equal(getattr(book, name), getattr(own, name))
                assert getattr(book, name).attrs == getattr(own, name).attrs
            for role in ("owner", "agent"):
                pd.testing.assert_frame_equal(book.team_noise[role], own.team_noise[role])
    finally:
        del result.__dict__["by_owner"]


def test_owner_books_in_one_kernel_read_the_saved_result_once(result, tmp_path, monkeypatch):
    # --per-owner renders one owner book after the other in a warm kernel: the company result
    # is read once, and each book is a new filter of it (the company's tables untouched)
    path = result.save(tmp_path / RESULT_FILE)
    reads = []
    real = load_period_result

    def counting(target):
        reads.append(target)
        return real(target)

    monkeypatch.setattr("cpm_analysis.pipeline.load_period_result", counting)
    owners = result.scored["owner_id"].value_counts().index[:2].astype(str).tolist()
    books = [
        params.validate_parameters(
            data="/nonexistent", period=PERIOD, out_dir=str(tmp_path), result=str(path), owner=o
        ).result
        for o in owners
    ]
    assert len(reads) == 1
    assert [set(b.scored["owner_id"]) for b in books] == [{o} for o in owners]
    assert books[0].company_view is books[1].company_view
    pd.testing.assert_frame_equal(books[1].scored, result.for_owner(owners[1]).scored)
    # the company's pages read their own copy; a new file is read again
    params.validate_parameters(
        data="/nonexistent", period=PERIOD, out_dir=str(tmp_path), result=str(path)
    )
    assert len(reads) == 2
    result.save(path)
    os.utime(path, ns=(1, 1))  # another file at the same path (its identity changed)
    params.validate_parameters(
        data="/nonexistent", period=PERIOD, out_dir=str(tmp_path), result=str(path), owner=owners[0]
    )
    assert len(reads) == 3


def test_without_a_result_the_context_builds_the_period(company, tmp_path, monkeypatch):
    calls = []

    def counting(dataset, period, config=None, *, seed=0, **kwargs):
        calls.append(period)
        return light_build_period(dataset, period, seed=seed)

    monkeypatch.setattr("cpm_analysis.pipeline.build_period", counting)
    folder = tmp_path / "data"
    generate(200, seed=3).write(folder)
    ctx = params.validate_parameters(data=str(folder), period=PERIOD, out_dir=str(tmp_path))
    assert not calls  # built when first used
    assert isinstance(ctx.result, PeriodResult) and ctx.result is ctx.result
    assert calls == [parse_period(PERIOD)]


PARAMETERS = (
    'data: str = "data/sample"\nperiod: str = "latest"\nfreq: str = "monthly"\n'
    'out_dir: str = ""\npii: str = "mask"\nowner: str = ""\nseed: int = 0\nresult: str = ""'
)
NO_RELOAD = (  # any load of the data in the kernel fails the notebook
    "import cpm_analysis.data, cpm_analysis.report.params as p\n"
    "p.load = cpm_analysis.data.load = lambda *a, **k: 1 / 0\n"
    "ctx = p.validate_parameters(data=data, period=period, freq=freq, out_dir=out_dir, pii=pii,\n"
    "                            owner=owner, seed=seed, result=result)\n"
    "print(f'{len(ctx.result.scored)} customers scored, owner={owner!r}')"
)


def test_a_report_run_loads_the_data_exactly_once(tmp_path, monkeypatch):
    data = tmp_path / "data"
    generate(300, seed=5).write(data)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("01_first", "02_second", runner.OWNER_BOOK):
        nb = new_notebook(
            cells=[
                new_markdown_cell(f"# {name}"),
                new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                new_code_cell(NO_RELOAD),
            ]
        )
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, notebooks / f"{name}.ipynb")
    loads = []
    real_load = runner.load

    def counting_load(*args, **kwargs):
        loads.append(args)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(runner, "load", counting_load)
    monkeypatch.setattr(runner, "build_period", light_build_period)
    saved = []
    real_save = PeriodResult.save

    def recording_save(self, path):
        saved.append((path, stat.S_IMODE(os.stat(path.parent.parent).st_mode)))
        return real_save(self, path)

    monkeypatch.setattr(PeriodResult, "save", recording_save)
    out = tmp_path / "reports"
    outcome = runner.run_report(
        data=str(data), period=PERIOD, out=str(out), notebooks=str(notebooks),
        per_owner=True, progress=False, jobs=2,
    )  # fmt: skip
    assert outcome.exit_code == 0, [p.error for p in outcome.periods]
    assert len(loads) == 1  # the runner's one load; no kernel loaded the data (1 / 0 otherwise)
    assert len(outcome.periods[0].owners) > 1
    for owner in outcome.periods[0].owners:  # each owner's book, from the saved result
        page = (out / PERIOD / "owners" / owner / f"{runner.OWNER_BOOK}.html").read_text()
        assert f"owner='{owner}'" in page
    # the result was private to the run: outside the report, gone afterwards
    ((path, mode),) = saved
    assert out not in path.parents and mode == 0o700 and not path.parent.parent.exists()
    assert not any(p.suffix == ".pickle" for p in out.rglob("*"))


def test_unavailable_sections_say_why():
    ds = generate(30, seed=2).to_dataset()
    small = build_period(ds, "2025-06")
    assert isinstance(small.clusters, Unavailable)
    assert "buyers" in str(small.clusters)
    assert not small.availability["Behavioural clusters"].available
    assert np.isfinite(small.metrics["kpis"]["revenue"]["value"])


def test_a_configuration_reaches_every_page_of_the_result(company, tmp_path):
    from cpm_analysis.config import parse_config

    config = parse_config(
        {
            "assessment": {"kpi_share": 0},
            "targets": {"at_risk_band": 0.5},
            "clv": {"horizon_months": 3},
            "actions": {"risk_list_size": 2},
        },
        source="cpm.yaml",
    )
    ruled = build_period(company, PERIOD, config, seed=0)
    plain = build_period(company, PERIOD, seed=0)
    # the scoring: a 3-month CLV is smaller than the 12-month one
    assert ruled.scored["clv"].sum() < plain.scored["clv"].sum()
    # the team scorecards: the pure 30 % self / 70 % manager scheme
    if ruled.owners.available:
        assert ruled.owners.table["blend"].astype(str).str.startswith("assessment only").all()
    # the actions: the risk list is cut at the configured size
    risk = ruled.actions.loc[ruled.actions["area"] == "Churn risk", "finding"]
    assert risk.str.startswith("The 2 customers").all() and len(risk) == 1
    # the book and the saved file keep the rules
    book = ruled.for_owner(str(ruled.scored["owner_id"].iloc[0]))
    assert book.rules == config
    back = load_period_result(ruled.save(tmp_path / RESULT_FILE))
    assert back.rules == config and back.rules.source == config.source


def test_the_segments_page_uses_the_configured_segment_map_and_tiers(company, tmp_path):
    from cpm_analysis.config import load_config

    (tmp_path / "two.yaml").write_text(
        "segments:\n  - {segment: Active, r: 3-5, group: top}\n"
        "  - {segment: Dormant, r: 1-2, group: lapsed}\n"
    )
    (tmp_path / "cpm.yaml").write_text("segments: {tier_shares: [0.5, 0.5], map: two.yaml}\n")
    ruled = build_period(company, PERIOD, load_config(data_folder=tmp_path), seed=0)
    # page 02's table is the scored table's segmentation, customer for customer
    scored = ruled.scored.set_index("customer_id").loc[ruled.segments.index]
    assert ruled.segments["segment"].astype(str).tolist() == scored["segment"].tolist()
    assert ruled.segments["tier"].astype(str).tolist() == scored["tier"].tolist()
    assert set(ruled.segments["segment"].astype(str)) == {"Active", "Dormant"}
    assert set(ruled.segments["tier"].astype(str)) == {"A", "B"}
    # last period's segments (the migration) follow the same rules
    if ruled.previous_segments is not None:
        assert set(ruled.previous_segments["segment"].astype(str)) <= {"Active", "Dormant"}
        assert set(ruled.previous_segments["tier"].astype(str)) <= {"A", "B"}


def test_a_pinned_model_is_the_one_the_clv_page_shows(company):
    """Pinned MBG/NBD: the parameters, matrices and holdout are MBG/NBD's, fitted once each."""
    from cpm_analysis.clv import ModifiedBetaGeoModel
    from cpm_analysis.clv.checks import matrix_model, model_parameters
    from cpm_analysis.config import CPMConfig

    rules = CPMConfig.model_validate({"clv": {"model": "MBG/NBD"}})
    result = build_period(company, PERIOD, rules, seed=0)
    assert list(result.value_models) == ["MBG/NBD", "Gamma-Gamma"]
    assert isinstance(result.value_models["MBG/NBD"], ModifiedBetaGeoModel)
    assert result.value_models["MBG/NBD"] is result.models["purchase"]
    assert matrix_model(result.value_models) is result.models["purchase"]
    assert set(model_parameters(result.value_models)["model"]) == {"MBG/NBD", "Gamma-Gamma"}
    assert result.calibration.model is result.model_choice.models["MBG/NBD"]
    assert result.calibration.verdict().startswith("Over the 26-week holdout MBG/NBD predicted")


def test_the_pages_intervals_bracket_the_scored_totals(result, owner):
    scored = result.scored
    tiers = result.value_intervals["clv_by_tier"]
    totals = scored.groupby("tier")["clv"].sum()
    np.testing.assert_allclose(tiers["total"], totals.reindex(tiers.index), rtol=1e-6)
    assert ((tiers["lower"] < tiers["total"]) & (tiers["total"] < tiers["upper"])).all()
    risk = result.value_intervals["risk_by_owner"]
    at_risk = (scored["churn_probability"] * scored["clv"]).groupby(scored["owner_id"]).sum()
    np.testing.assert_allclose(risk["total"], at_risk.reindex(risk.index), rtol=1e-6)
    assert ((risk["lower"] <= risk["total"]) & (risk["total"] <= risk["upper"])).all()
    assert result.value_draws.n_draws == 200
    # an owner's book: the company's draws over the book's customers
    book = result.for_owner(owner).value_intervals["clv_by_segment"]
    mine = scored.loc[scored["owner_id"] == owner].groupby("segment")["clv"].sum()
    np.testing.assert_allclose(book["total"], mine.reindex(book.index), rtol=1e-6)
    # owners are ranked within noise: nobody is called last within the intervals
    noise = result.team_noise["owner"]
    assert set(noise["kpi"]) == {"retention_rate", "complaint_rate"}
    assert set(noise["owner_id"]) <= set(result.owners.table.index)
    last = noise.loc[noise["clearly_last"]]
    for _, row in last.iterrows():
        others = noise.loc[(noise["kpi"] == row["kpi"]) & (noise["owner_id"] != row["owner_id"])]
        assert (others["rank_worst"] < row["rank_best"]).all()
    assert noise.loc[noise["verdict"] == "within noise", "within_noise"].all()
    assert result.for_owner(owner).team_noise["owner"]["owner_id"].eq(owner).all()


def test_the_sales_and_service_tables_are_computed_once_with_the_period(result, owner):
    from cpm_analysis import sales
    from cpm_analysis.pipeline.sales_service import OWNER_ROLLUP

    assert "sales_service" in result.__dict__  # computed with the period, not by the page
    tables = result.sales_service
    assert {"funnel", "cycle", "owners", "sales_rollup", "by_category", "follow_up"} <= set(tables)
    assert {"service_rollup", "by_product", "teams", "campaigns", "marketers"} <= set(tables)
    pd.testing.assert_frame_equal(tables["funnel"], sales.funnel(result.view, result.period))
    book = result.for_owner(owner).sales_service
    assert book["sales_rollup"].text == OWNER_ROLLUP and book["service_rollup"].text == OWNER_ROLLUP
    closed = book["closed"]
    if isinstance(closed, pd.DataFrame):  # the book's opportunities only
        assert closed["stage_index"].size <= tables["closed"]["stage_index"].size


def test_the_configured_windows_reach_the_kpis_and_the_campaign_response(result):
    from dataclasses import replace

    from cpm_analysis.config import parse_config

    config = parse_config(
        {"windows": {"follow_up_days": 1, "campaign_response_days": 365}}, source="cpm.yaml"
    )
    ruled = replace(result, config=config)
    kpi = "at_risk_follow_up_rate"
    assert ruled.kpis.loc[kpi, "value"] < result.kpis.loc[kpi, "value"]
    wide, plain = ruled.sales_service["campaigns"], result.sales_service["campaigns"]
    assert wide["responses"].sum() > plain["responses"].sum()


def test_the_configured_campaign_lookback_reaches_page_06(result):
    from dataclasses import replace

    from cpm_analysis.config import parse_config

    short = parse_config({"windows": {"campaign_lookback_months": 1}}, source="cpm.yaml")
    ruled = replace(result, config=short)
    plain = result.sales_service["campaigns"]
    narrow = ruled.sales_service["campaigns"]
    from cpm_analysis.availability import Unavailable

    if isinstance(narrow, Unavailable):  # no campaign in the last month: the page says so
        assert "no campaign contact in the 1 months" in str(narrow)
    else:
        assert narrow["contacts"].sum() < plain["contacts"].sum()
