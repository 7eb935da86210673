"""The Dask engine gives the pandas numbers (2-worker local cluster on the bundled sample).

Dask is installed for the tests (``make setup`` installs the ``scale`` extra), so these run in CI;
``test_scale_optional`` checks the project without it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis import load
from cpm_analysis.churn import churn_features
from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, rfm_summary
from cpm_analysis.data.paths import sample_dir
from cpm_analysis.kpis import compute_kpis
from cpm_analysis.segments import rfm_scores

CUTOFF = "2025-06"


@pytest.fixture(scope="module")
def client():
    from cpm_analysis.scale.cluster import close_client, start_client

    client = start_client(n_workers=2, memory_limit="1.5GB")
    yield client
    close_client(client)


@pytest.fixture(scope="module")
def pandas_ds():
    return load(sample_dir())


@pytest.fixture(scope="module")
def dask_ds(client, tmp_path_factory):
    return load(
        sample_dir(), engine="dask", work_dir=tmp_path_factory.mktemp("store"), npartitions=3
    )


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    left = left.sort_index(kind="stable")
    right = right.sort_index(kind="stable")
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, atol=1e-9)


def test_load_keeps_and_rejects_the_same_rows(pandas_ds, dask_ds):
    assert dask_ds.npartitions == 3
    keys = {"customers": "customer_id", "orders": "order_id", "tickets": "ticket_id"}
    collected = dask_ds.collect()
    for table in ("customers", "orders", "tickets", "surveys", "staff", "targets"):
        mine, theirs = getattr(collected, table), getattr(pandas_ds, table)
        by = keys.get(table, list(theirs.columns))
        pd.testing.assert_frame_equal(
            mine.sort_values(by).reset_index(drop=True),
            theirs.sort_values(by).reset_index(drop=True),
        )
    rejected = dask_ds.rejected.compute().sort_values(["table", "row"]).reset_index(drop=True)
    expected = pandas_ds.rejected.sort_values(["table", "row"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(rejected, expected)
    for table, counts in dask_ds.counts.items():
        assert counts["read"] == counts["kept"] + counts["rejected"], table
    assert dask_ds.counts["orders"]["rejected"] == int((expected["table"] == "orders").sum())


def _partition_of_each_row(part: pd.DataFrame, partition_info=None) -> pd.DataFrame:
    number = partition_info["number"] if partition_info else -1
    return pd.DataFrame({"customer_id": part["customer_id"].to_numpy(), "p": number})


def test_every_customer_lives_in_one_partition_of_every_table(dask_ds):
    meta = pd.DataFrame({"customer_id": pd.Series(dtype="str"), "p": pd.Series(dtype="int64")})
    where = {
        table: getattr(dask_ds, table).map_partitions(_partition_of_each_row, meta=meta).compute()
        for table in ("customers", "orders", "tickets", "surveys")
    }
    home = where["customers"].set_index("customer_id")["p"]
    assert home.index.is_unique
    assert home.nunique() == 3
    for table in ("orders", "tickets", "surveys"):
        rows = where[table]
        assert (rows["p"].to_numpy() == home.loc[rows["customer_id"]].to_numpy()).all(), table


def test_rfm_summary_matches(pandas_ds, dask_ds):
    expected = rfm_summary(pandas_ds, observation_end="2025-06-30", calibration_end="2024-12-31")
    lazy = rfm_summary(dask_ds, observation_end="2025-06-30", calibration_end="2024-12-31")
    assert hasattr(lazy, "dask")
    _same(lazy.compute(), expected)


def test_rfm_summary_of_a_plain_dask_orders_frame_matches(pandas_ds, client):
    import dask.dataframe as dd

    from cpm_analysis.scale import orders_dataset

    orders = orders_dataset(dd.from_pandas(pandas_ds.orders, npartitions=4))
    expected = rfm_summary(pandas_ds.orders, observation_end="2025-12-31", time_unit="D")
    _same(rfm_summary(orders, observation_end="2025-12-31", time_unit="D").compute(), expected)


@pytest.mark.parametrize("window", [None, "365D"])
def test_rfm_scores_match(pandas_ds, dask_ds, window):
    expected = rfm_scores(pandas_ds, CUTOFF, window=window)
    got = rfm_scores(dask_ds, CUTOFF, window=window)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)
    assert got.attrs == expected.attrs


def test_rfm_scores_of_a_point_in_time_view_match(pandas_ds, dask_ds):
    expected = rfm_scores(pandas_ds.as_of("2024-12"), "2024-12")
    got = rfm_scores(dask_ds.as_of("2024-12"), "2024-12")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


def test_churn_features_match_with_the_bgnbd_columns(pandas_ds, dask_ds):
    expected = churn_features(pandas_ds, CUTOFF)
    got = churn_features(dask_ds, CUTOFF)
    assert hasattr(got, "dask")
    got = got.compute()
    assert list(got.columns) == list(expected.columns)
    assert got["p_alive"].notna().sum() > 1000
    _same(got, expected)


def test_kpis_match(pandas_ds, dask_ds):
    for by in (None, "owner_id", "agent_id"):
        expected = compute_kpis(pandas_ds, CUTOFF, by=by)
        got = compute_kpis(dask_ds, CUTOFF, by=by)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)
    quarter = compute_kpis(dask_ds, "2025-Q2")
    pd.testing.assert_frame_equal(
        quarter, compute_kpis(pandas_ds, "2025-Q2"), check_exact=False, rtol=1e-9
    )


def test_fits_on_distinct_rows_and_scores_to_parquet(pandas_ds, dask_ds, tmp_path):
    from cpm_analysis.clv import customer_lifetime_value
    from cpm_analysis.scale.clv import fit_on_distinct, score_clv

    expected = rfm_summary(pandas_ds, observation_end="2025-12-31")
    bg_ref = BetaGeoModel().fit(expected)
    gg_ref = GammaGammaModel().fit(expected)
    summary = rfm_summary(dask_ds, observation_end="2025-12-31")
    bg = fit_on_distinct(BetaGeoModel(), summary)
    gg = fit_on_distinct(GammaGammaModel(), summary)
    assert bg.n_distinct_rows_ < len(expected)
    for name, value in bg_ref.params_.items():
        assert bg.params_[name] == pytest.approx(value, rel=1e-9)
    for name, value in gg_ref.params_.items():
        assert gg.params_[name] == pytest.approx(value, rel=1e-9)
    out = score_clv(summary, bg, gg, path=tmp_path / "scored")
    files = sorted((tmp_path / "scored").glob("part-*.parquet"))
    assert len(files) == summary.npartitions
    scored = pd.read_parquet(out).set_index("customer_id")
    clv = customer_lifetime_value(bg_ref, gg_ref, expected, time_unit="W")
    assert len(scored) == len(expected)
    np.testing.assert_allclose(
        scored.loc[expected.index, "clv"].to_numpy(), clv.to_numpy(), rtol=1e-9
    )
    np.testing.assert_allclose(
        scored.loc[expected.index, "p_alive"].to_numpy(),
        bg_ref.probability_alive(expected),
        rtol=1e-9,
    )


def test_a_second_load_reuses_the_store(dask_ds):
    manifest = dask_ds.work_dir / "manifest.json"
    written = manifest.stat().st_mtime_ns
    again = load(sample_dir(), engine="dask", work_dir=dask_ds.work_dir, npartitions=3)
    assert again.counts == dask_ds.counts
    assert manifest.stat().st_mtime_ns == written  # not validated again


def test_dask_load_errors_name_the_table(client, tmp_path):
    from cpm_analysis.exceptions import DataValidationError

    orders = pd.DataFrame({"order_id": ["1"], "customer_id": ["a"], "amount": [1.0]})
    customers = pd.DataFrame({"customer_id": ["a"], "signup_date": ["2024-01-01"]})
    with pytest.raises(DataValidationError, match="orders: required column 'order_date'"):
        load({"customers": customers, "orders": orders}, engine="dask", work_dir=tmp_path)
    with pytest.raises(DataValidationError, match="orders: required table is missing"):
        load({"customers": customers}, engine="dask", work_dir=tmp_path)
    with pytest.raises(ValueError, match="engine: expected"):
        load(sample_dir(), engine="spark")
    with pytest.raises(TypeError, match="work_dir: only used with engine='dask'"):
        load(sample_dir(), work_dir=tmp_path)


def test_the_store_reads_back_as_the_pandas_dataset(pandas_ds, dask_ds):
    again = load(dask_ds.work_dir)  # the pandas engine reads a store without validating again
    assert again.fingerprint() == pandas_ds.fingerprint()
    pd.testing.assert_frame_equal(again.rejected, pandas_ds.rejected)


def test_summary_last_date_and_views_match_pandas(pandas_ds, dask_ds):
    mine, theirs = dask_ds.summary(), pandas_ds.summary()
    pd.testing.assert_frame_equal(mine, theirs)
    assert dask_ds.last_date() == pandas_ds.last_date()
    view = dask_ds.as_of("2024-12")
    assert view.last_date() == pandas_ds.as_of("2024-12").last_date()
    assert view.collect().fingerprint() == pandas_ds.as_of("2024-12").fingerprint()
    assert "npartitions=3" in repr(dask_ds)


def test_map_customers_runs_pandas_code_per_bucket(pandas_ds, dask_ds):
    meta = pd.DataFrame({"orders": pd.Series(dtype="int64")})

    def count(bucket):
        return bucket.orders.groupby("customer_id").size().rename("orders").to_frame()

    got = dask_ds.map_customers(count, meta=meta, tables=("orders",)).compute()["orders"]
    expected = pandas_ds.orders.groupby("customer_id").size()
    pd.testing.assert_series_equal(
        got.sort_index(), expected.sort_index(), check_names=False, check_index_type=False
    )


def test_rfm_scores_of_a_plain_dask_orders_frame_match(pandas_ds, client):
    import dask.dataframe as dd

    from cpm_analysis.scale import orders_dataset

    orders = orders_dataset(dd.from_pandas(pandas_ds.orders, npartitions=5))
    expected = rfm_scores(pandas_ds.orders, CUTOFF, bins=4)
    pd.testing.assert_frame_equal(rfm_scores(orders, CUTOFF, bins=4), expected)


def test_partitioned_parquet_loads_like_pandas(client, tmp_path, monkeypatch):
    from cpm_analysis.scale import store
    from cpm_analysis.synthetic import write_partitioned

    folder = write_partitioned(tmp_path / "company", 2000, seed=4, chunk_customers=700)
    monkeypatch.setattr(store, "PIECE_ROWS", 1500)  # several partitions per Parquet part
    ds = load(folder, engine="dask", work_dir=tmp_path / "store")
    expected = load(folder)
    assert ds.orders.npartitions == 2  # default: at least 2 customer buckets
    assert ds.collect().fingerprint() == expected.fingerprint()
    assert ds.counts["orders"] == {"read": len(expected.orders), "kept": len(expected.orders),
                                   "rejected": 0}  # fmt: skip


def test_kpi_history_matches(pandas_ds, dask_ds):
    from cpm_analysis.kpis import kpi_history

    periods = ["2025-04", "2025-05", "2025-06", "2025-Q1"]
    for by in (None, "owner_id"):
        expected = kpi_history(pandas_ds, periods, by=by)
        got = kpi_history(dask_ds, periods, by=by)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


def test_a_given_clv_model_is_used_on_dask_too(pandas_ds, dask_ds):
    model = BetaGeoModel().fit(rfm_summary(pandas_ds.as_of("2024-12"), observation_end="2024-12"))
    expected = churn_features(pandas_ds, CUTOFF, clv_model=model)
    got = churn_features(dask_ds, CUTOFF, clv_model=model).compute()
    _same(got, expected)
    # not the model the data at the cutoff would give: the given one was really used
    assert not np.allclose(
        got.loc[expected.index, "p_alive"].fillna(0),
        churn_features(pandas_ds, CUTOFF)["p_alive"].fillna(0),
    )


def test_the_summary_rows_and_the_scored_table_match(pandas_ds, dask_ds):
    from cpm_analysis.clv import summary_rows
    from cpm_analysis.scoring import score_customers

    cutoff = pd.Timestamp("2025-06-30 23:59:59.999999999")
    pd.testing.assert_frame_equal(summary_rows(dask_ds, cutoff), summary_rows(pandas_ds, cutoff))
    expected = score_customers(pandas_ds, CUTOFF, seed=0)
    got = score_customers(dask_ds, CUTOFF, seed=0)
    pd.testing.assert_frame_equal(got.scored, expected.scored, check_exact=False, rtol=1e-9)
    for model in ("bgnbd", "gamma_gamma"):
        mine, theirs = got.metrics["models"][model], expected.metrics["models"][model]
        assert mine["params"] == pytest.approx(theirs["params"], rel=1e-9)


def test_cohort_triangles_match(pandas_ds, dask_ds):
    from cpm_analysis.cohorts import cohort_retention

    for freq in ("M", "Q"):
        expected = cohort_retention(pandas_ds, freq=freq, as_of=CUTOFF)
        got = cohort_retention(dask_ds, freq=freq, as_of=CUTOFF)
        for name in ("customers", "revenue", "active", "revenue_amount"):
            pd.testing.assert_frame_equal(got[name], expected[name], rtol=1e-9)
        pd.testing.assert_series_equal(got.sizes, expected.sizes)


def test_team_scorecards_match(pandas_ds, dask_ds):
    from cpm_analysis.teams import agent_scorecard, owner_scorecard

    for scorecard in (owner_scorecard, agent_scorecard):
        expected = scorecard(pandas_ds, CUTOFF)
        got = scorecard(dask_ds, CUTOFF)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


def test_churn_labels_match(pandas_ds, dask_ds):
    from cpm_analysis.churn import churn_labels

    expected = churn_labels(pandas_ds, "2025-03", "90D")
    got = churn_labels(dask_ds, "2025-03", "90D")
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index())
    assert got.attrs == expected.attrs


def test_contract_retention_and_churn_match(client, tmp_path):
    # retention and churn from contract ends (customers.churned_at) on both engines
    source = sample_dir().parent / "sample_contract"
    pandas_contract = load(source)
    dask_contract = load(source, engine="dask", work_dir=tmp_path / "store", npartitions=3)
    kpis = ["retention_rate", "churn_rate"]
    for by in (None, "owner_id"):
        expected = compute_kpis(pandas_contract, CUTOFF, by=by, kpis=kpis)
        got = compute_kpis(dask_contract, CUTOFF, by=by, kpis=kpis)
        _same(got, expected)
    assert "churned_at" in dask_contract.customers.columns


def test_the_period_pipeline_takes_either_engine_and_gives_the_same_period(pandas_ds, dask_ds):
    from cpm_analysis.pipeline import build_period

    expected = build_period(pandas_ds, CUTOFF, seed=0)
    got = build_period(dask_ds, CUTOFF, seed=0)
    pd.testing.assert_frame_equal(got.scored, expected.scored, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(got.kpis, expected.kpis, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(got.previous, expected.previous, check_exact=False, rtol=1e-9)
    for table in ("segments", "scorecard"):
        pd.testing.assert_frame_equal(
            getattr(got, table), getattr(expected, table), check_exact=False, rtol=1e-9
        )
    for team in ("owners", "agents"):
        mine, theirs = getattr(got, team), getattr(expected, team)
        assert (mine.table is None) == (theirs.table is None) and mine.note == theirs.note
        if theirs.table is not None:
            pd.testing.assert_frame_equal(mine.table, theirs.table, check_exact=False, rtol=1e-9)
    assert got.metrics["models"]["model_choice"] == expected.metrics["models"]["model_choice"]
    assert got.metrics["kpis"].keys() == expected.metrics["kpis"].keys()
    for kpi, entry in expected.metrics["kpis"].items():
        assert got.metrics["kpis"][kpi]["value"] == pytest.approx(entry["value"], rel=1e-9), kpi
    assert got.previous_source == expected.previous_source
    pd.testing.assert_frame_equal(got.previous_segments, expected.previous_segments, rtol=1e-9)
    # the churn backtest, its labels and features bucket by bucket: the same models' numbers
    from cpm_analysis.churn.period_backtest import backtest_metrics

    pd.testing.assert_frame_equal(
        backtest_metrics(got.backtest), backtest_metrics(expected.backtest), rtol=1e-9
    )
    # the pandas side reads the store the cluster validated: the same data as the pandas loader
    assert got.dataset.fingerprint() == pandas_ds.fingerprint()


def test_every_view_of_a_dask_dataset_collects_from_one_read_of_the_store(
    client, tmp_path, monkeypatch
):
    from cpm_analysis.scale import store

    ds = load(sample_dir(), engine="dask", work_dir=tmp_path / "store", npartitions=2)
    reads = []
    real = store.read_store
    monkeypatch.setattr(store, "read_store", lambda work: reads.append(work) or real(work))
    whole = ds.collect()
    june, may = ds.as_of("2025-06").collect(), ds.as_of("2025-05").collect()
    assert len(reads) == 1
    assert june.fingerprint() == whole.as_of("2025-06").fingerprint()
    assert may.orders["order_date"].max() < pd.Timestamp("2025-06-01")


def test_the_period_analyses_called_directly_take_a_dask_dataset_too(pandas_ds, dask_ds):
    from cpm_analysis import teams_review
    from cpm_analysis.clv.checks import choice_calibration
    from cpm_analysis.clv.forecast import forecast_check
    from cpm_analysis.clv.selection import choose_value_model
    from cpm_analysis.kpis.trends import kpi_trends
    from cpm_analysis.periods import parse_period
    from cpm_analysis.pipeline.availability import capabilities
    from cpm_analysis.pipeline.previous import previous_scored
    from cpm_analysis.pipeline.sales_service import sales_service_tables

    period = parse_period(CUTOFF)
    pandas_view, dask_view = pandas_ds.as_of(period.end), dask_ds.as_of(period.end)
    for by in (None, "owner_id"):
        pd.testing.assert_frame_equal(
            kpi_trends(dask_ds, period, 3, by=by), kpi_trends(pandas_ds, period, 3, by=by),
            check_exact=False, rtol=1e-9,
        )  # fmt: skip
    mine = choose_value_model(dask_view, period.end)
    theirs = choose_value_model(pandas_view, period.end)
    assert (mine.chosen, mine.route, mine.reason) == (theirs.chosen, theirs.route, theirs.reason)
    pd.testing.assert_frame_equal(mine.table, theirs.table, check_exact=False, rtol=1e-9)
    calibration = choice_calibration(mine, dask_view, period.end)
    assert type(calibration) is type(choice_calibration(theirs, pandas_view, period.end))
    owners = teams_review.team_scorecard(dask_view, period, "owner")
    expected = teams_review.team_scorecard(pandas_view, period, "owner")
    pd.testing.assert_frame_equal(owners.table, expected.table, check_exact=False, rtol=1e-9)
    tables = sales_service_tables(dask_view, period)
    expected_tables = sales_service_tables(pandas_view, period)
    assert tables.keys() == expected_tables.keys()
    for name, table in expected_tables.items():
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(tables[name], table, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(
        capabilities(dask_view, period), capabilities(pandas_view, period)
    )
    previous, _ = previous_scored(pandas_ds, period, seed=0)
    mine_check = forecast_check(dask_ds, period, previous)
    theirs_check = forecast_check(pandas_ds, period, previous)
    pd.testing.assert_frame_equal(mine_check.purchases, theirs_check.purchases, rtol=1e-9)
    assert mine_check.churn == pytest.approx(theirs_check.churn, rel=1e-9)


def test_the_trends_pass_the_model_scores_on(pandas_ds):
    from cpm_analysis.kpis import kpi_history
    from cpm_analysis.kpis.trends import kpi_trends, recent_periods
    from cpm_analysis.scoring import score_customers

    scores = score_customers(pandas_ds, CUTOFF, seed=0).scored.set_index("customer_id")
    scores = scores[["clv", "churn_probability"]]
    got = kpi_trends(pandas_ds, CUTOFF, 2, scores=scores)
    expected = kpi_history(pandas_ds, recent_periods(CUTOFF, 2), scores=scores)
    pd.testing.assert_frame_equal(got, expected)
    assert not got.equals(kpi_trends(pandas_ds, CUTOFF, 2))  # the scores made a difference
