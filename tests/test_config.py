"""The business-rules configuration: defaults, validation, loading, documentation, wiring."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from cpm_analysis import actions as period_actions
from cpm_analysis import teams, teams_review
from cpm_analysis.churn import evaluation
from cpm_analysis.cli import main
from cpm_analysis.config import (
    DEFAULT_CONFIG,
    ConfigError,
    CPMConfig,
    load_config,
    parse_config,
    read_config,
)
from cpm_analysis.kpis import compute_kpis, evaluate_targets, kpi_history
from cpm_analysis.kpis import scorecard as kpi_scorecard
from cpm_analysis.periods import parse_period
from cpm_analysis.segments import value_tiers
from cpm_analysis.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "cpm.example.yaml"
DOC = ROOT / "docs" / "configuration.md"


# --- the defaults are today's behaviour ---------------------------------------------------------


def test_defaults_equal_the_values_the_code_used():
    """The numbers the code had fixed before the configuration existed, one by one."""
    d = DEFAULT_CONFIG
    assert d.sla.first_response_hours == 24.0
    assert d.targets.at_risk_band == 0.05
    # the activity and opportunity KPIs take 20%; the earlier KPIs keep their relative weights
    # (0.35 / 0.20 / 0.20 / 0.10 / 0.15 and 0.15 / 0.20 / 0.15 / 0.20 / 0.20 / 0.10, x 0.8)
    assert dict(d.scorecard.owner_weights) == {
        "revenue": 0.28,
        "new_customers": 0.16,
        "retention_rate": 0.16,
        "complaint_rate": 0.08,
        "csat": 0.12,
        "opportunity_win_rate": 0.08,
        "at_risk_follow_up_rate": 0.07,
        "visit_success_rate": 0.05,
    }
    assert dict(d.scorecard.agent_weights) == {
        "tickets": 0.12,
        "first_response_hours": 0.16,
        "resolution_hours": 0.12,
        "sla_compliance": 0.16,
        "csat": 0.16,
        "complaint_share": 0.08,
        "inquiry_conversion": 0.10,
        "complaint_resolution_hours": 0.10,
    }
    for weights in (d.scorecard.owner_weights, d.scorecard.agent_weights):
        assert sum(weights.values()) == pytest.approx(1.0)
    windows = d.windows
    assert (windows.at_risk_days, windows.follow_up_days, windows.inquiry_order_days) == (
        60,
        14,
        30,
    )
    assert windows.campaign_response_days == 30
    assert (windows.campaign_lookback_months, windows.action_due_days) == (12, 30)
    assert d.scorecard.attainment_cap == 1.2 and d.scorecard.history == 3
    assert d.assessment.weights == {"self": 0.3, "manager": 0.7}
    assert d.assessment.share == 0.5
    ranking = d.ranking
    assert ranking.reward.enabled and not ranking.penalty.enabled
    assert ranking.improvement_plan.bottom == 2 and ranking.review.after_periods == 3
    assert d.clv.horizon_months == 12 and d.clv.monthly_discount_rate == 0.01
    assert d.churn.pairs == (
        ("90D", "365D"),
        ("90D", "180D"),
        ("60D", "180D"),
        ("60D", "120D"),
        ("30D", "90D"),
    )
    assert d.segments.tier_shares == (0.8, 0.15, 0.05) and d.segments.segment_map is None
    assert d.actions.risk_list_size == 25
    assert d.actions.kpis["revenue"].startswith("Focus the owners on their tier-A accounts")
    assert ranking.actions["improvement_plan"] == (
        "Agree a written improvement plan with their manager this month."
    )
    assert ranking.actions["review"] == (
        "Performance review: last place for several consecutive periods."
    )
    assert ranking.actions["reward"] == "Recognise the result (top performer of the period)."
    assert d.currency is None and d.locale == "en"


def _default(function, name):
    return inspect.signature(function).parameters[name].default


def test_the_analyses_defaults_are_the_configuration_defaults():
    d = DEFAULT_CONFIG
    for function in (compute_kpis, kpi_history, teams.owner_scorecard, teams.agent_scorecard):
        assert _default(function, "sla_hours") == d.sla.first_response_hours
    for function in (teams.owner_scorecard, teams.agent_scorecard):
        assert _default(function, "history") == d.scorecard.history
        assert _default(function, "attainment_cap") == d.scorecard.attainment_cap
        assert _default(function, "assessment_share") == d.assessment.share
        assert _default(function, "bottom") == d.ranking.improvement_plan.bottom
        assert _default(function, "review_after") == d.ranking.review.after_periods
        assert _default(function, "reward") is d.ranking.reward.enabled
        assert _default(function, "penalty") is d.ranking.penalty.enabled
    assert teams.OWNER_WEIGHTS == dict(d.scorecard.owner_weights)
    assert teams.AGENT_WEIGHTS == dict(d.scorecard.agent_weights)
    assert teams.ASSESSMENT_WEIGHTS == d.assessment.weights
    assert _default(teams.apply_rules, "bottom") == 2
    assert _default(teams.apply_rules, "review_after") == 3
    assert _default(value_tiers, "shares") == d.segments.tier_shares
    assert _default(evaluate_targets, "amber") == d.targets.at_risk_band
    assert _default(kpi_scorecard.scorecard, "amber") == d.targets.at_risk_band
    assert evaluation.CHURN_WINDOWS == d.churn.pairs
    assert _default(evaluation.training_window, "windows") == d.churn.pairs
    from cpm_analysis import scoring

    for name, value in scoring.scoring_options(d).items():
        assert _default(scoring.score_customers, name) == value, name
    assert period_actions.KPI_ACTIONS == dict(d.actions.kpis)
    assert period_actions.FLAG_ACTIONS == d.ranking.actions
    assert (
        _default(period_actions.improvement_actions, "risk_list_size") == d.actions.risk_list_size
    )
    assert teams.scorecard_options(d, "owner")["kpis"] == teams.OWNER_WEIGHTS


@pytest.fixture(scope="module")
def small():
    return generate(400, seed=3).to_dataset()


@pytest.fixture(scope="module")
def plain(small):
    """The period's scored table and metrics without a configuration."""
    return _scored_and_metrics(small)


def _scored_and_metrics(data, config=None):
    from cpm_analysis.pipeline import build_period

    result = build_period(data, parse_period("2025-06"), config, seed=0)
    return result.scored, result.metrics


@pytest.mark.slow
def test_scoring_with_the_default_config_is_unchanged(small, plain):
    plain_scored, plain_metrics = plain
    example = read_config(EXAMPLE)
    scored, metrics_ = _scored_and_metrics(small, example)
    pd.testing.assert_frame_equal(scored, plain_scored)
    assert json.dumps(metrics_, sort_keys=True, default=str) == json.dumps(
        plain_metrics, sort_keys=True, default=str
    )


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"sla": {"hours": 8}}, "cpm.yaml, key sla.hours: unknown key"),
        (
            {"slas": {}},
            r"cpm.yaml, key slas: unknown key \(expected one of: sla, targets, scorecard",
        ),
        ({"sla": {"first_response_hours": 0}}, "key sla.first_response_hours: .*greater than 0"),
        (
            {"scorecard": {"owner_weights": {"revenue": -0.1}}},
            "key scorecard.owner_weights.revenue: .*greater than or equal to 0",
        ),
        (
            {"scorecard": {"owner_weights": {"revenue": 0, "csat": 0}}},
            "key scorecard.owner_weights: at least one weight must be positive",
        ),
        (
            {"scorecard": {"agent_weights": {"profit": 1}}},
            "key scorecard.agent_weights: unknown KPI id 'profit'; the registry has",
        ),
        ({"scorecard": {"owner_weights": {"revenue": "high"}}}, "owner_weights.revenue"),
        ({"scorecard": {"owner_weights": {"revenue": float("nan")}}}, "owner_weights.revenue"),
        (
            {"assessment": {"self_weight": 0, "manager_weight": 0}},
            "key assessment: self_weight and manager_weight must not both be 0",
        ),
        ({"assessment": {"kpi_share": 1.5}}, "key assessment.kpi_share: .*less than or equal"),
        ({"ranking": {"improvement_plan": {"bottom": -1}}}, "ranking.improvement_plan.bottom"),
        ({"ranking": {"reward": {"enable": True}}}, "key ranking.reward.enable: unknown key"),
        (
            {"ranking": {"review": {"after_periods": 4}}},
            r"cpm.yaml: ranking.review.after_periods \(4\) needs scorecard.history >= 4",
        ),
        ({"clv": {"monthly_discount_rate": 1.5}}, "clv.monthly_discount_rate"),
        ({"targets": {"at_risk_band": 1}}, "key targets.at_risk_band: .*less than 1"),
        ({"churn": {"windows": []}}, "key churn.windows: "),
        (
            {"churn": {"windows": [{"horizon": "soon", "active_window": "365D"}]}},
            "key churn.windows.0.horizon: 'soon' is not a duration",
        ),
        (
            {"churn": {"windows": [{"horizon": "12h", "active_window": "365D"}]}},
            "whole number of days",
        ),
        ({"segments": {"tier_shares": [0.5, 0.4]}}, "key segments.tier_shares: .*must sum to 1"),
        ({"segments": {"tier_shares": [1.0]}}, "at least two tiers"),
        ({"segments": {"map": "absent.yaml"}}, "key segments.map: .*not found"),
        ({"actions": {"kpis": {"profit": "x"}}}, "key actions.kpis: unknown KPI id 'profit'"),
        ({"currency": "euro"}, "key currency: expected a three-letter ISO 4217 code"),
        ({"locale": "English!"}, "key locale: expected a language tag"),
        ({"windows": {"follow_up_days": 0}}, "key windows.follow_up_days: .*greater than or equal"),
        ({"windows": {"at_risk": 30}}, "key windows.at_risk: unknown key"),
    ],
)
def test_bad_values_name_the_file_and_the_key(content, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(content, source="cpm.yaml")
    assert "\n" not in str(info.value)


def test_a_configuration_is_frozen():
    config = parse_config({"sla": {"first_response_hours": 8}})
    with pytest.raises(ValueError, match="frozen"):
        config.sla.first_response_hours = 12  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.scorecard.owner_weights["revenue"] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        DEFAULT_CONFIG.actions.kpis["nps"] = "x"  # type: ignore[index]
    assert teams.OWNER_WEIGHTS["revenue"] == 0.28


def test_the_pure_cpm_scheme_is_expressible():
    config = parse_config({"assessment": {"kpi_share": 0}})
    assert config.assessment.share == 1.0
    assert config.assessment.weights == {"self": 0.3, "manager": 0.7}
    assert teams.scorecard_options(config)["assessment_share"] == 1.0


def test_kpi_actions_are_merged_over_the_defaults():
    config = parse_config({"actions": {"kpis": {"nps": "Call every detractor."}}})
    assert config.actions.kpis["nps"] == "Call every detractor."
    assert config.actions.kpis["revenue"] == DEFAULT_CONFIG.actions.kpis["revenue"]
    scorecard = dict(parse_config({"scorecard": {"owner_weights": {"orders": 1}}}).scorecard)
    assert dict(scorecard["owner_weights"]) == {"orders": 1.0}  # weights replace, never merge


def test_to_dict_is_json_and_round_trips():
    config = parse_config({"currency": "EUR", "ranking": {"penalty": {"enabled": True}}})
    first = json.dumps(config.to_dict(), sort_keys=True)
    assert first == json.dumps(config.to_dict(), sort_keys=True)
    assert parse_config(json.loads(first)) == config
    assert parse_config(DEFAULT_CONFIG.to_dict()) == DEFAULT_CONFIG


# --- loading ----------------------------------------------------------------------------------


def test_load_config_order_file_then_data_folder_then_defaults(tmp_path):
    assert load_config() is DEFAULT_CONFIG
    assert load_config(data_folder=tmp_path) is DEFAULT_CONFIG
    (tmp_path / "cpm.yaml").write_text("sla:\n  first_response_hours: 8\n")
    found = load_config(data_folder=tmp_path)
    assert found.sla.first_response_hours == 8 and found.source == "cpm.yaml"
    other = tmp_path / "other.toml"
    other.write_text("[sla]\nfirst_response_hours = 4\n\n[assessment]\nkpi_share = 0\n")
    given = load_config(other, data_folder=tmp_path)
    assert given.sla.first_response_hours == 4 and given.assessment.kpi_share == 0
    assert given.source == "other.toml"
    (tmp_path / "cpm.toml").write_text("")
    with pytest.raises(ConfigError, match="holds cpm.yaml and cpm.toml; keep one"):
        load_config(data_folder=tmp_path)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cpm.yaml", "sla: [unclosed", r"cpm.yaml: not valid YAML"),
        ("cpm.toml", "sla = = 1", r"cpm.toml: not valid TOML"),
        ("cpm.yaml", "- a\n- b\n", r"cpm.yaml: expected a mapping of sections"),
        ("cpm.json", "{}", r"cpm.json: expected a .yaml, .yml or .toml"),
        ("cpm.yaml", "sla:\n  first_response_hours: -2\n", r"cpm.yaml, key sla.first_resp"),
    ],
)
def test_unreadable_files_are_one_line_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="nope.yaml: configuration file not found"):
        load_config(tmp_path / "nope.yaml")


def test_an_empty_file_is_the_defaults(tmp_path):
    (tmp_path / "cpm.yaml").write_text("# nothing changed\n")
    config = load_config(data_folder=tmp_path)
    assert config == DEFAULT_CONFIG and config.source == "cpm.yaml"


def test_the_segment_map_is_read_next_to_the_configuration(tmp_path):
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "mine.yaml").write_text(
        "segments:\n  - {segment: Active, r: 3-5, group: top}\n  - {segment: Dormant, r: 1-2}\n"
    )
    (tmp_path / "cpm.yaml").write_text("segments:\n  map: maps/mine.yaml\n")
    config = load_config(data_folder=tmp_path)
    assert config.segments.segment_map == tmp_path / "maps" / "mine.yaml"
    assert config.to_dict()["segments"]["map"] == "maps/mine.yaml"  # no absolute path
    (tmp_path / "cpm.yaml").write_text("segments:\n  map: maps/absent.yaml\n")
    with pytest.raises(ConfigError, match="cpm.yaml, key segments.map: .*not found"):
        load_config(data_folder=tmp_path)


def test_the_example_file_loads_and_is_the_defaults():
    example = read_config(EXAMPLE)
    assert example == DEFAULT_CONFIG
    assert example.source == "cpm.example.yaml"


# --- documentation ----------------------------------------------------------------------------


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        out.append(path)
        annotation = info.annotation
        inner = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(_keys(annotation, path + "."))
        for arg in inner:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out.extend(_keys(arg, path + "[]."))
    return out


def test_every_key_is_documented():
    text = DOC.read_text()
    keys = _keys(CPMConfig)
    assert "churn.windows[].horizon" in keys and "ranking.penalty.enabled" in keys
    missing = [k for k in keys if f"`{k}`" not in text]
    assert not missing, f"docs/configuration.md does not document {missing}"
    for section, info in CPMConfig.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            assert f"### `{section}`" in text, section
    assert "cpm.example.yaml" in text


def test_the_docs_examples_validate():
    import tomllib

    import yaml

    text = DOC.read_text()
    yaml_blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    toml_blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert yaml_blocks and toml_blocks
    for block in yaml_blocks:
        config = parse_config(yaml.safe_load(block), source="docs yaml")
        assert config.assessment.kpi_share == 0 and config.ranking.penalty.enabled
    for block in toml_blocks:
        assert parse_config(tomllib.loads(block)).ranking.improvement_plan.bottom == 3


# --- the command line and the report --------------------------------------------------------


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    folder = tmp_path_factory.mktemp("company")
    generate(300, seed=5).write(folder)
    return folder


def test_cpm_validate_checks_the_configuration(company, tmp_path):
    good = tmp_path / "rules.yaml"
    good.write_text("assessment:\n  kpi_share: 0\n")
    result = CliRunner().invoke(main, ["validate", str(company), "--config", str(good)])
    assert result.exit_code == 0, result.output
    assert "config: rules.yaml is valid" in result.output
    plain = CliRunner().invoke(main, ["validate", str(company)])
    assert plain.exit_code == 0 and "config: the defaults" in plain.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("scorecard:\n  owner_weights:\n    revenue: -1\n")
    result = CliRunner().invoke(main, ["validate", str(company), "--config", str(bad)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        "error: --config: bad.yaml, key scorecard.owner_weights.revenue: Input should be greater "
        "than or equal to 0"
    ]


def test_cpm_report_refuses_a_bad_configuration_before_writing(company, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[ranking.review]\nafter_periods = 9\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["report", "--data", str(company), "--out", str(out), "--config", str(bad), "-q"]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --config: bad.toml: ranking.review.after_periods (9) needs scorecard.history >= 9"
    ]
    assert not out.exists()


@pytest.mark.slow
def test_run_report_writes_the_effective_config_into_metrics(company, tmp_path, monkeypatch):
    import nbformat
    from light_period import light_build_period
    from nbformat.v4 import new_code_cell, new_notebook

    from cpm_analysis.report import runner

    seen = {}

    def pipeline(dataset, period, config=None, **kwargs):
        seen["config"] = config
        return light_build_period(dataset, period, config, **kwargs)

    monkeypatch.setattr(runner, "build_period", pipeline)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    parameters = (
        'data: str = ""\nperiod: str = ""\nfreq: str = ""\nout_dir: str = ""\npii: str = ""\n'
        'owner: str = ""\nseed: int = 0\nresult: str = ""'
    )
    nb = new_notebook(cells=[new_code_cell(parameters, metadata={"tags": ["parameters"]})])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebooks / "01_page.ipynb")
    rules = tmp_path / "rules.yaml"
    rules.write_text("ranking:\n  penalty:\n    enabled: true\ncurrency: EUR\n")
    out = tmp_path / "out"
    outcome = runner.run_report(
        data=str(company),
        period="2025-06",
        out=out,
        notebooks=notebooks,
        config=rules,
        progress=False,
    )
    assert outcome.exit_code == 0, [p.error for p in outcome.periods]
    data = json.loads((out / "2025-06" / "metrics.json").read_text())
    assert data["parameters"]["config"] == "rules.yaml"
    assert data["config"]["ranking"]["penalty"]["enabled"] is True
    assert data["config"]["currency"] == "EUR"
    assert data["config"]["sla"] == {"first_response_hours": 24.0}
    assert seen["config"].ranking.penalty.enabled  # the period pipeline received it


# --- the analyses follow a configuration ------------------------------------------------------


@pytest.mark.slow
def test_scoring_follows_the_configuration(small, plain, tmp_path):
    (tmp_path / "two.yaml").write_text(
        "segments:\n  - {segment: Active, r: 3-5, group: top}\n"
        "  - {segment: Dormant, r: 1-2, group: lapsed}\n"
    )
    (tmp_path / "cpm.yaml").write_text(
        "clv: {horizon_months: 6, monthly_discount_rate: 0.02}\n"
        "churn:\n  windows: [{horizon: 60D, active_window: 180D}]\n"
        "segments: {tier_shares: [0.5, 0.5], map: two.yaml}\n"
        "sla: {first_response_hours: 1}\n"
    )
    config = load_config(data_folder=tmp_path)
    scored, metrics_ = _scored_and_metrics(small, config)
    _, default = plain
    clv = metrics_["models"]["clv"]
    assert clv["horizon_months"] == 6 and clv["monthly_discount_rate"] == 0.02
    assert clv["total"] < default["models"]["clv"]["total"]
    assert metrics_["models"]["churn"]["horizon_days"] == 60
    assert metrics_["models"]["churn"]["active_window_days"] == 180
    assert not any("shorter than the standard" in n for n in metrics_["notes"])
    assert set(metrics_["segments"]["customers"]) == {"Active", "Dormant"}
    assert set(scored["segment_group"].dropna()) == {"top", "lapsed"}
    assert set(metrics_["segments"]["tiers"]) == {"A", "B"}
    sla = metrics_["kpis"]["sla_compliance"]["value"]
    assert sla < default["kpis"]["sla_compliance"]["value"]


def test_team_scorecards_and_actions_follow_the_configuration(small):
    rules = parse_config(
        {
            "ranking": {
                # applied even within noise, the reason says so (the default spares it)
                "penalty": {
                    "enabled": True,
                    "action": "No bonus this quarter.",
                    "within_noise": "mark",
                },
                "reward": {"enabled": False},
                "improvement_plan": {"bottom": 1},
            },
            "scorecard": {"owner_weights": {"revenue": 1.0}},
        }
    )
    owners = teams_review.team_scorecard(small, "2025-06", "owner", config=rules)
    spared = parse_config({"ranking": {"penalty": {"enabled": True}}})
    fair = teams_review.team_scorecard(small, "2025-06", "owner", config=spared).table
    within = fair["noise"] != "clearly last"
    assert within.all() and not fair["flags"].str.contains("penalty").any()  # four small books
    assert fair["flag_reasons"].str.contains(r"within noise of \d others?: no penalty").any()
    assert owners.available
    flags = " ".join(owners.table["flags"])
    assert "penalty" in flags and "reward" not in flags
    assert owners.table.attrs["weights"] == {"revenue": 1.0}
    last = owners.table["composite"].idxmin()
    assert "penalty" in owners.table.loc[last, "flags"]
    plain = teams_review.team_scorecard(small, "2025-06", "owner")
    assert "penalty" not in " ".join(plain.table["flags"])
    card = pd.DataFrame(columns=["kpi", "label_en", "actual", "target", "attainment", "status"])
    actions = period_actions.improvement_actions(
        card, owners, **period_actions.action_options(rules)
    )
    shown = owners.names(last)  # staff by name: "Yuki Mensah (S001)"
    assert shown.endswith(f"({last})")
    penalty = actions.loc[actions["finding"].str.startswith(f"{shown}:")]
    assert "No bonus this quarter." in set(penalty["action"])
    assert "last of 4 in 2025-06" in penalty.iloc[0]["finding"]


def test_a_configuration_survives_the_pickle_of_the_saved_period_result(tmp_path):
    import pickle

    path = tmp_path / "cpm.yaml"
    path.write_text("scorecard:\n  owner_weights: {revenue: 1.0}\nassessment: {kpi_share: 0}\n")
    config = load_config(path)
    back = pickle.loads(pickle.dumps(config))
    assert back == config and back.source == config.source
    assert dict(back.scorecard.owner_weights) == {"revenue": 1.0}
    with pytest.raises(TypeError):
        back.scorecard.owner_weights["revenue"] = 2.0  # still frozen


def test_the_backtest_and_its_checks_use_the_configured_churn_windows():
    from cpm_analysis.churn.period_backtest import churn_backtest
    from cpm_analysis.pipeline.availability import checks

    rules = CPMConfig.model_validate(
        {"churn": {"windows": [{"horizon": "30D", "active_window": "120D"}]}}
    )
    period = parse_period("2025-06")
    view = generate(300, seed=1).to_dataset().as_of(period.end)
    assert churn_backtest(view, period).horizon.days == 90  # the built-in windows
    result = churn_backtest(view, period, windows=rules.churn.pairs)
    assert result.horizon.days == 30 and result.active_window.days == 120
    by_name = {c.analysis: c for c in checks(view, period, windows=rules.churn.pairs)}
    assert "a 30-day horizon" in by_name["The churn backtest"].detail
    assert "a 30-day horizon" in by_name["Churn model"].detail
