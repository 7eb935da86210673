"""Tests of cpm_analysis.report and `cpm report`: parameters, artifacts, metrics, export, index,
the runner's publishing rules, and the command end to end on a small synthetic company."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from light_period import light_build_period
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cpm_analysis import privacy
from cpm_analysis.cli import main
from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.data import load, validate_frames
from cpm_analysis.exceptions import DataValidationError, PeriodError
from cpm_analysis.periods import parse_period
from cpm_analysis.pipeline.scored import finalize_scored
from cpm_analysis.report import artifacts, export, index, metrics, params, runner, tables
from cpm_analysis.report.lock import ReportLock, ReportLockedError
from cpm_analysis.synthetic import generate

PERIOD = "2025-12"
OWNERS = ("S001", "S002")
# The end-to-end run renders the first and the last periodic notebook (every notebook is executed
# on its own by tests/test_notebooks.py), and with --per-owner the owner book of each owner.
PUBLISHED = ("01_data_quality", "05_performance_review")
PERIODIC = [Path(f"{name}.ipynb") for name in PUBLISHED]
BOOK = f"{runner.OWNER_BOOK}.html"
ROOT = Path(__file__).resolve().parents[1]
matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.delenv(runner.NOTEBOOKS_ENV, raising=False)


# --- data and notebooks for the tests ---------------------------------------------------------


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    """A 400-customer company with faults, its customers split between two owners."""
    data = generate(400, seed=21, faults=0.01)
    customers = data.tables["customers"]
    customers["owner_id"] = np.where(np.arange(len(customers)) % 3 == 0, OWNERS[1], OWNERS[0])
    folder = tmp_path_factory.mktemp("company")
    data.write(folder)
    return data, folder


@pytest.fixture(scope="module")
def dataset(company):
    return load(company[1])


def _parameters_cell(extra: str = "") -> str:
    return (
        'data: str = "data/sample"\nperiod: str = "latest"\nfreq: str = "monthly"\n'
        'out_dir: str = ""\npii: str = "mask"\nowner: str = ""\nseed: int = 0\n'
        'result: str = ""' + extra
    )


def write_notebook(path: Path, *code: str, parameters: str | None = None) -> Path:
    """A tiny notebook: a title, a parameters cell, then ``code`` cells."""
    cells = [new_markdown_cell(f"# {path.stem}")]
    cells.append(new_code_cell(parameters or _parameters_cell(), metadata={"tags": ["parameters"]}))
    cells.extend(new_code_cell(c) for c in code)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`cpm report ...` in a subprocess, as cron would run it."""
    command = [sys.executable, "-m", "cpm_analysis.cli", "report", *args]
    full_env = {k: v for k, v in os.environ.items() if k != privacy.KEY_ENV}
    full_env.update(env or {})
    return subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=600)


# --- parameters --------------------------------------------------------------------------------


def test_validate_parameters_builds_the_context(company, tmp_path):
    ctx = params.validate_parameters(data=str(company[1]), period="2025-06", out_dir=str(tmp_path))
    assert ctx.period.label == "2025-06"
    assert ctx.view.cutoff == parse_period("2025-06").end
    assert ctx.view.orders["order_date"].max() <= ctx.view.cutoff
    assert ctx.freq == "monthly" and ctx.pii == "mask" and ctx.owner is None
    assert ctx.key == privacy.load_key(tmp_path)
    assert ctx.result_path is None


def test_validate_parameters_latest_and_quarterly(company, tmp_path):
    ctx = params.validate_parameters(
        data=str(company[1]), freq="quarterly", out_dir=str(tmp_path), pii="show"
    )
    assert ctx.period.label == "2025-Q4"
    assert ctx.key is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "2024-13"}, "period: month 13"),
        ({"period": "June"}, "period: cannot read 'June'"),
        ({"period": "2031-01"}, "not complete in the data"),
        ({"period": "2019-01"}, "ends before the data starts"),
        ({"period": "2024-Q2"}, "is quarterly but freq is monthly"),
        ({"freq": "weekly"}, "unknown frequency"),
        ({"pii": "hide"}, "pii: expected 'mask' or 'show'"),
        ({"seed": "1"}, "seed: expected int"),
        ({"seed": True}, "seed: expected int"),
        ({"owner": "S999"}, "'S999' owns no customers"),
        ({"result": "/nonexistent/x.pickle"}, "result: /nonexistent/x.pickle does not exist"),
        ({"customer_id": "C_NOPE"}, "customer_id: 'C_NOPE' is not a customer"),
        ({"top_n": 5}, "unknown parameter"),
    ],
)
def test_bad_parameters_stop_with_one_readable_line(company, tmp_path, kwargs, message):
    arguments = {"data": str(company[1]), "out_dir": str(tmp_path), **kwargs}
    with pytest.raises(params.ParameterError, match=re.escape(message)) as info:
        params.validate_parameters(**arguments)
    rendered = info.value._render_traceback_()
    assert rendered[0].startswith("ParameterError: ")
    assert len(rendered) == 2 and "Traceback" not in "".join(rendered)


def test_missing_data_folder_is_a_parameter_error(tmp_path):
    with pytest.raises(params.ParameterError, match="data: folder 'no/such/folder' not found"):
        params.validate_parameters(data="no/such/folder", out_dir=str(tmp_path))


def test_relative_data_resolves_from_cwd_then_project_root(tmp_path, monkeypatch, company):
    monkeypatch.chdir(tmp_path)
    assert params.resolve_data_source("data/sample") == str((ROOT / "data" / "sample").resolve())
    local = tmp_path / "mine"
    shutil.copytree(company[1], local)
    assert params.resolve_data_source("mine") == str(local)
    assert params.resolve_data_source("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(DataValidationError):
        params.resolve_data_source(str(tmp_path / "absent"))


def test_owner_and_customer_parameters(company, tmp_path):
    key_dir = str(tmp_path)
    ctx = params.validate_parameters(data=str(company[1]), owner=OWNERS[1], out_dir=key_dir)
    assert set(ctx.view.customers["owner_id"]) == {OWNERS[1]}
    assert set(ctx.view.orders["customer_id"]) <= set(ctx.view.customers["customer_id"])
    some = ctx.view.customers["customer_id"].iloc[0]
    by_id = params.validate_parameters(data=str(company[1]), customer_id=some, out_dir=key_dir)
    by_pseudonym = params.validate_parameters(
        data=str(company[1]), customer_id=ctx.pseudonym(some), out_dir=key_dir
    )
    assert by_id.customer_id == by_pseudonym.customer_id == some
    assert ctx.pseudonym(some).startswith("P-")


def test_context_scored_table_without_and_with_a_result(company, tmp_path, dataset):
    ctx = params.validate_parameters(data=str(company[1]), out_dir=str(tmp_path))
    scored = ctx.scored_table()
    assert scored["customer_id"].is_unique
    assert len(scored) == len(ctx.view.customers)
    saved = light_build_period(dataset, PERIOD).save(tmp_path / "result.pickle")
    mine = params.validate_parameters(
        data=str(company[1]), out_dir=str(tmp_path), result=str(saved), owner=OWNERS[0]
    ).scored_table()
    assert len(mine) and set(mine["owner_id"]) == {OWNERS[0]}


def test_context_summary_and_show_mask(company, tmp_path):
    data, folder = company
    ctx = params.validate_parameters(data=str(folder), out_dir=str(tmp_path))
    text = ctx.summary().data
    assert "2025-12" in text and "masked" in text and "fingerprint" in text
    html = ctx.show(ctx.view.customers.head(3)).data
    assert "P-" in html
    for value in ctx.view.customers.head(3)[["customer_id", "name", "email"]].to_numpy().ravel():
        assert value not in html


# --- artifacts and metrics ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"x": [1]}), "'customer_id' is missing"),
        (pd.DataFrame({"customer_id": ["C1", "C1"]}), "duplicate customer_id"),
        (pd.DataFrame({"customer_id": ["C_NOPE"]}), "are not customers"),
        (pd.DataFrame({"customer_id": ["C1"], "email": ["a@b.c"]}), "personal columns"),
    ],
)
def test_scored_table_contract_is_enforced(frame, message):
    ds = validate_frames(
        {
            "customers": pd.DataFrame({"customer_id": ["C1"], "signup_date": ["2024-01-01"]}),
            "orders": pd.DataFrame(
                {
                    "order_id": ["O1"],
                    "customer_id": ["C1"],
                    "order_date": ["2024-01-02"],
                    "amount": [1.0],
                }
            ),
        }
    )
    with pytest.raises(ValueError, match=message):
        finalize_scored(frame, ds)


def test_scored_csv_joins_lists():
    out = artifacts.scored_for_csv(
        pd.DataFrame({"reason_codes": [["late", "low"], []], "x": [1, 2]})
    )
    assert out["reason_codes"].tolist() == ["late; low", ""]


def test_metrics_are_canonical_json():
    text = metrics.dumps(
        {"b": np.float64(1 / 3), "a": [np.nan, np.int64(2)], "t": pd.Timestamp("2024-06-30 10:00")}
    )
    assert json.loads(text) == {"a": [None, 2], "b": 0.333333333333, "t": "2024-06-30T10:00:00"}
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')
    assert metrics.to_jsonable(Path("/tmp/abc/file.csv")) == "file.csv"
    with pytest.raises(TypeError, match="DataFrame"):
        metrics.dumps({"x": pd.DataFrame()})
    with pytest.raises(ValueError, match="reserved key"):
        metrics.merge_plugin_metrics({}, {"data": 1})


def test_base_metrics_count_exactly(dataset):
    period = parse_period(PERIOD)
    view = dataset.as_of(period.end)
    out = metrics.base_metrics(
        dataset, view, period, parameters={"seed": 0}, models_available=False
    )
    assert out["data"]["fingerprint"] == dataset.fingerprint()
    assert out["data"]["rows"]["customers"] == len(view.customers)
    in_dec = (view.orders["order_date"] >= "2025-12-01").sum()
    assert out["data"]["rows_in_period"]["orders"] == in_dec
    assert out["data"]["rejected_rows"] == len(dataset.rejected) > 0
    assert sum(out["data"]["rejected_by_reason"].values()) == len(dataset.rejected)
    assert out["period"] == {
        "label": PERIOD,
        "freq": "monthly",
        "start": pd.Timestamp("2025-12-01"),
        "end": pd.Timestamp("2025-12-31"),
        "days": 31,
    }


# --- tables and style --------------------------------------------------------------------------


def test_table_html_formats_and_escapes():
    frame = pd.DataFrame(
        {
            "name_of_thing": ["<b>x</b>", "y"],
            "rows": [15735, 2],
            "amount": [1234.567, 2.0],
            "small": [0.123, 1.5],
            "churn_probability": [0.25, np.nan],
            "when": pd.to_datetime(["2024-06-01", "2024-06-02"]),
            "flag": [True, False],
        }
    )
    html = tables.to_html(frame, caption="A & B", max_rows=1)
    assert "<caption>A &amp; B</caption>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert ">15,735<" in html and ">1,235<" in html and ">0.12<" in html
    assert ">25.0%<" in html and ">2024-06-01<" in html and ">yes<" in html
    assert "Name of thing" in html and "Showing 1 of 2 rows" in html
    assert "No rows." in tables.to_html(frame.iloc[:0])


def test_style_apply_sets_laptop_sized_charts():
    import matplotlib.pyplot as plt

    from cpm_analysis.report import style

    style.apply()
    assert tuple(plt.rcParams["figure.figsize"]) == style.FIGSIZE
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"][0] == style.PALETTE[0]


# --- export and index --------------------------------------------------------------------------


def _executed_notebook(path: Path) -> Path:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    cells = [
        new_markdown_cell("# Sales review\n\nIntro."),
        new_code_cell("period = 'x'", metadata={"tags": ["parameters"]}),
        new_code_cell("period = '2024-06'", metadata={"tags": ["injected-parameters"]}),
        new_markdown_cell("## Revenue"),
        new_code_cell(
            "secret_code_here()",
            outputs=[
                new_output("stream", name="stderr", text="UserWarning: noisy\n"),
                new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
                new_output(
                    "display_data",
                    data={"application/javascript": "alert(1)", "text/html": "<p>kept</p>"},
                ),
            ],
        ),
        new_code_cell("x = 1"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_export_html_is_offline_without_code_or_noise(tmp_path):
    target = export.export_html(
        _executed_notebook(tmp_path / "review.ipynb"), title="Sales (2024-06)"
    )
    html = target.read_text()
    assert target.name == "review.html"
    assert "<title>Sales (2024-06)</title>" in html
    assert export.external_references(html) == []
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=[\"']?https?:", html)
    assert "require.js" not in html and "mathjax" not in html.lower() and "mermaid" not in html
    assert "secret_code_here" not in html and "2024-06'" not in html and "period = " not in html
    assert "UserWarning" not in html and "alert(1)" not in html
    assert "<p>kept</p>" in html and "Intro." in html
    assert 'src="data:image/png;base64,' in html and 'alt="Chart: Revenue"' in html
    assert not re.search(r'class="[^"]*(jp-CodeMirrorEditor|jp-InputPrompt)', html)
    assert re.findall(r'class="jp-Cell jp-CodeCell[^"]*"', html) == [
        'class="jp-Cell jp-CodeCell jp-Notebook-cell jp-mod-noInput"'
    ]


def test_the_stock_lab_template_would_not_open_offline(tmp_path):
    from nbconvert import HTMLExporter

    nb = nbformat.read(_executed_notebook(tmp_path / "review.ipynb"), as_version=4)
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert any(ref.startswith("<script") for ref in export.external_references(html))


def test_external_references_are_detected():
    snippets = [
        '<script src="https://cdn.x/y.js"></script>',
        "<link rel=stylesheet href='//fonts.x/css'>",
        '<img src="http://x/y.png">',
        "<style>@import url(https://x/y.css);</style>",
        '<div style="background: url(https://x/y.png)">',
    ]
    for snippet in snippets:
        assert export.external_references(snippet), snippet
    assert (
        export.external_references('<a href="https://example.com">docs</a><img src="data:x">') == []
    )


def test_sparkline_and_trend_values():
    svg = index.sparkline_svg([1.0, None, 2.0, 3.0], label="orders")
    assert svg.count("<polyline") == 1 and "<circle" in svg and "<title>orders</title>" in svg
    assert "<polyline" not in index.sparkline_svg([5.0]) and "<circle" in index.sparkline_svg([5.0])
    assert index.sparkline_svg([None]).endswith("</svg>")
    assert index.trend_values({"kpis": {"nps": {"value": None}, "flag": True}}) == {
        "nps": ("nps", None)
    }


def test_index_lists_periods_trends_and_failures(tmp_path):
    for label, orders in (("2024-05", 10), ("2024-06", 15), ("2024-Q2", 40)):
        folder = tmp_path / label
        folder.mkdir()
        (folder / "01_data_quality.html").write_text("<html><head><title>Data quality</title>")
        metrics.write_metrics(
            folder, {"data": {"rows_in_period": {"orders": orders}, "fingerprint": "ab" * 32}}
        )
        (folder / "customers_scored.csv").write_text("customer_id\n")
    (tmp_path / "2024-06" / "owners" / "S001").mkdir(parents=True)
    (tmp_path / "2024-06" / "owners" / "S002").mkdir(parents=True)
    (tmp_path / "2024-06" / "owners" / "S002" / index.OWNER_PAGE).write_text("<title>b</title>")
    for label in ("2024-06", "2024-07"):
        failed = tmp_path / "_failed" / label
        failed.mkdir(parents=True)
        (failed / "FAILED.txt").write_text(f"02_x: cell 3 raised ValueError ({label})\n")
    (tmp_path / ".tmp-2024-08-abcd").mkdir()
    html = index.write_index(tmp_path).read_text()
    assert html.index("<h2>Monthly</h2>") < html.index("<h2>Quarterly</h2>")
    assert (
        'href="2024-06/01_data_quality.html"' in html
        and 'href="2024-06/customers_scored.csv"' in html
    )
    # the monthly orders have two points, a sparkline; the one quarter has none
    assert html.count("<svg") == 1 and "+50.0%" in html
    assert "last run failed: 02_x: cell 3 raised ValueError (2024-06)" in html
    assert "2024-07" in html and "no earlier report" in html
    assert "2 owner reports in 2024-06/owners/" in html and "2024-08" not in html
    # a link to each owner book published (S001's folder holds none)
    assert 'Owner books:</span> <a href="2024-06/owners/S002/owner_book.html">S002</a>' in html
    assert "owners/S001/" not in html
    assert export.external_references(html) == [] and "<script" not in html


# --- runner pieces -----------------------------------------------------------------------------


def test_discovery_periodic_and_on_demand(tmp_path, monkeypatch):
    for name in ("02_b", "01_a", "customer_360", "_draft", "10_c"):
        write_notebook(tmp_path / f"{name}.ipynb")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / ".ipynb_checkpoints" / "01_a-checkpoint.ipynb")
    specs = runner.discover_notebooks(tmp_path)
    assert [(s.name, s.periodic) for s in specs] == [
        ("01_a", True),
        ("02_b", True),
        ("10_c", True),
        ("customer_360", False),
    ]
    monkeypatch.setenv(runner.NOTEBOOKS_ENV, str(tmp_path))
    assert runner.notebooks_dir() == tmp_path
    assert [s.name for s in runner.select_notebooks(specs)] == ["01_a", "02_b", "10_c"]
    assert [s.name for s in runner.select_notebooks(specs, ["b,10", "01_a.ipynb"])] == [
        "01_a",
        "02_b",
        "10_c",
    ]
    with pytest.raises(runner.ReportArgumentError, match="on-demand"):
        runner.select_notebooks(specs, ["customer_360"])
    with pytest.raises(runner.ReportArgumentError, match="no notebook 'zz'"):
        runner.select_notebooks(specs, ["zz"])
    with pytest.raises(runner.ReportArgumentError, match="does not exist"):
        runner.discover_notebooks(tmp_path / "absent")


def test_the_project_notebooks_are_found():
    names = [s.name for s in runner.discover_notebooks() if s.periodic]
    assert names[0] == "01_data_quality"


def test_notebooks_must_declare_pii_and_owner(tmp_path):
    spec = runner.NotebookSpec(
        write_notebook(
            tmp_path / "01_x.ipynb", parameters='data: str = "x"\nperiod: str = "latest"'
        )
    )
    with pytest.raises(runner.ReportArgumentError, match="must declare freq, pii, owner, seed"):
        runner.check_notebook_parameters(spec)


def test_resolve_periods(dataset):
    assert [p.label for p in runner.resolve_periods(dataset)] == [PERIOD]
    assert [p.label for p in runner.resolve_periods(dataset, start="2025-10")] == [
        "2025-10",
        "2025-11",
        "2025-12",
    ]
    assert [p.label for p in runner.resolve_periods(dataset, start="2025-Q3")] == [
        "2025-Q3",
        "2025-Q4",
    ]
    with pytest.raises(runner.ReportArgumentError, match="either --period or --from"):
        runner.resolve_periods(dataset, period="2025-01", start="2025-01")
    with pytest.raises(runner.ReportArgumentError, match="--to needs --from"):
        runner.resolve_periods(dataset, end="2025-01")
    with pytest.raises(PeriodError, match="ends .* before it starts"):
        runner.resolve_periods(dataset, start="2025-06", end="2025-01")


@pytest.mark.parametrize("atomic", [True, False])
def test_publish_replaces_the_folder_whole(tmp_path, monkeypatch, atomic):
    if not atomic:
        monkeypatch.setattr(runner, "_renameat2_exchange", lambda a, b: False)
    final = tmp_path / "2024-06"
    final.mkdir()
    (final / "old.html").write_text("old")
    staging = tmp_path / ".tmp-2024-06-x"
    staging.mkdir()
    (staging / "new.html").write_text("new")
    runner.publish(staging, final)
    assert [p.name for p in final.iterdir()] == ["new.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024-06"]
    again = tmp_path / ".tmp-2024-07-x"
    again.mkdir()
    runner.publish(again, tmp_path / "2024-07")
    assert (tmp_path / "2024-07").is_dir() and not again.exists()


def test_owner_folder_names_are_safe_and_unique():
    names = runner.owner_folder_names(["S1", "a/b", "a_b", "..", "x y"])
    assert names == {
        "S1": "S1",
        "a/b": "a_b-c14cddc0",
        "a_b": "a_b",
        "..": "owner-5ec1f7e7",
        "x y": "x_y-887fcea6",
    }


def test_lock_is_exclusive_and_released(tmp_path):
    with ReportLock(tmp_path) as held:
        assert f"pid {os.getpid()}" in held.path.read_text()
        with pytest.raises(ReportLockedError, match=f"another cpm report is running on {tmp_path}"):
            ReportLock(tmp_path).acquire()
    with ReportLock(tmp_path):
        pass


# --- `cpm report` end to end -------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(company, tmp_path_factory):
    """`cpm report --per-owner` on the company: latest month, the project's notebooks."""
    out = tmp_path_factory.mktemp("reports")
    result = run_cli(
        "--data", str(company[1]), "--out", str(out), "--per-owner", "--jobs", "2",
        "--only", ",".join(PUBLISHED),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out, result


def _files(folder: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in suffixes and "_failed" not in p.parts)


def test_no_published_page_shows_nan_inf_or_an_error(published):
    from published_pages import assert_clean

    out, _ = published
    pages = assert_clean(out / PERIOD)  # the company's pages and every owner's book
    assert len(pages) == len(PUBLISHED) + len(OWNERS)


def test_report_writes_every_file(published):
    out, result = published
    period = out / PERIOD
    pages = {f"{nb.stem}{suffix}" for nb in PERIODIC for suffix in (".html", ".ipynb")}
    expected = pages | {
        "customers_scored.csv",
        "customers_scored.parquet",
        "rejected_rows.csv",
        "metrics.json",
        "owners",
    }
    assert expected <= {p.name for p in period.iterdir()}
    assert (out / "index.html").exists() and (out / privacy.KEY_FILE).exists()
    assert not list(out.glob(".tmp-*"))
    assert "models not available" not in result.stderr  # cpm_analysis.scoring is installed
    assert f"published {PERIOD}" in result.stdout
    for owner in OWNERS:  # one page per owner, beside the owner's rows of the tables
        assert {p.name for p in (period / "owners" / owner).iterdir()} == {
            BOOK,
            f"{runner.OWNER_BOOK}.ipynb",
            "customers_scored.csv",
            "customers_scored.parquet",
            "rejected_rows.csv",
            "care_campaign.csv",
            "care_campaign.jsonl",
        }


def test_report_html_is_offline_has_content_and_no_code(published):
    out, _ = published
    pages = _files(out, ".html")
    assert len(pages) == len(PERIODIC) + len(OWNERS) + 1  # main, owner books, index
    for page in pages:
        html = page.read_text()
        assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?https?:", html), page
        assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?https?:", html), page
        assert export.external_references(html) == [], page
        assert not re.search(r'class="[^"]*(jp-CodeMirrorEditor|jp-InputPrompt)', html), page
        assert all(
            "jp-mod-noInput" in c for c in re.findall(r'class="jp-Cell jp-CodeCell[^"]*"', html)
        )
        assert "validate_parameters" not in html
        assert "Traceback" not in html and "Warning" not in html
    report = (out / PERIOD / "01_data_quality.html").read_text()
    for text in (
        "Data quality",
        "Table sizes",
        "Rejected rows by reason",
        "Analyses and the data they need",
        "no churned_at",
        "Coverage over time",
    ):
        assert text in report
    assert report.count('src="data:image/png;base64,') == 3
    assert "<title>Data quality (2025-12)</title>" in report


def test_review_html_shows_the_scorecard(published):
    out, _ = published
    page = (out / PERIOD / "05_performance_review.html").read_text()
    for text in (
        "Performance review",
        "Executive summary",
        "KPI scorecard against targets",
        "Owner scorecard",
        "Improvement actions",
        "Forecast check",
    ):
        assert text in page
    assert any(status in page for status in (">met<", ">missed<", ">at risk<"))
    owner_page = (out / PERIOD / "owners" / OWNERS[0] / BOOK).read_text()
    for text in (
        "Account owner book",
        "Owner scorecard",
        "Owner KPIs with 90% intervals and their ranking within noise",
        "KPI scorecard against targets",
        "CLV by segment",
        "CLV by value tier",
        "Customers at risk (top 25 by expected loss)",
        "Churn risk by segment",
        "Headline KPIs of the book by period",
    ):
        assert text in owner_page, text
    assert "Agent scorecard" not in owner_page  # agents are judged on the company page
    assert owner_page.count('src="data:image/png;base64,') == 1  # one chart: the KPI trend
    assert f"<title>Account owner book ({PERIOD}, {OWNERS[0]})</title>" in owner_page


def test_no_personal_data_in_any_html_or_csv(published, company):
    data, _ = company
    out, _ = published
    needles = []
    for table in ("customers", "staff"):
        frame = data.tables[table]
        for column in ("name", "email", "phone"):
            if column in frame and not (table == "staff" and column == "name"):
                needles += frame[column].dropna().astype(str).tolist()
    # staff are shown by name in a company report (report.staff_names = name, the default): a
    # staff member's name is internal information, so a customer who shares it cannot be told
    staff_names = set(data.tables["staff"]["name"].dropna().astype(str))
    needles = [
        n
        for n in set(needles)
        if len(n) >= 5
        and not any(n in staff for staff in staff_names)  # "Fatima Li" ~ "Fatima Liu"
    ]
    assert len(needles) > 1000
    files = _files(out, ".html", ".csv", ".ipynb", ".json")
    assert len(files) >= 12
    for path in files:
        text = path.read_text()
        lower = text.lower()
        leaked = [n for n in needles if n in text or ("@" in n and n.lower() in lower)]
        assert not leaked, f"{path}: {leaked[:3]}"


def test_csv_keeps_real_ids_and_pseudonyms_html_shows_only_pseudonyms(published, dataset):
    out, _ = published
    scored = pd.read_csv(out / PERIOD / "customers_scored.csv", dtype=str)
    assert scored.columns.tolist()[:3] == ["customer_id", "pseudonym", "owner_id"]
    for column in ("segment", "tier", "cluster", "clv", "p_alive", "churn_probability"):
        assert column in scored.columns
    assert {"reason_codes", "recommended_action"} <= set(scored.columns)
    view = dataset.as_of(parse_period(PERIOD).end)
    assert scored["customer_id"].tolist() == sorted(view.customers["customer_id"])
    key = privacy.load_key(out, create=False)
    assert scored["pseudonym"].tolist() == privacy.pseudonymize(scored["customer_id"], key).tolist()
    parquet = pd.read_parquet(out / PERIOD / "customers_scored.parquet")
    assert parquet["customer_id"].tolist() == scored["customer_id"].tolist()
    rejected = pd.read_csv(out / PERIOD / "rejected_rows.csv", dtype=str)
    assert len(rejected) == len(dataset.rejected)
    assert rejected["values"].str.contains(re.escape(privacy.MASKED)).any()
    html = (out / PERIOD / "01_data_quality.html").read_text()
    assert re.search(r"P-[A-Z2-7]{12}", html)
    assert not re.search(r"\bC\d{4,}\b", html.replace("C_UNKNOWN", ""))


def test_per_owner_reports_hold_only_their_owners_customers(published, dataset):
    out, _ = published
    view = dataset.as_of(parse_period(PERIOD).end)
    key = privacy.load_key(out, create=False)
    for owner in OWNERS:
        folder = out / PERIOD / "owners" / owner
        scored = pd.read_csv(folder / "customers_scored.csv", dtype=str)
        mine = view.customers.loc[view.customers["owner_id"] == owner, "customer_id"]
        assert sorted(scored["customer_id"]) == sorted(mine)
        assert set(scored["owner_id"]) == {owner}
        html = (folder / BOOK).read_text()
        name = dataset.staff.set_index("staff_id")["name"].get(owner)
        shown = f"{name} ({owner})" if isinstance(name, str) and name else owner
        assert f"the book of account owner <strong>{shown}</strong>" in html
        others = view.customers.loc[view.customers["owner_id"] != owner, "customer_id"]
        other_pseudonyms = set(privacy.pseudonymize(others, key))
        assert not other_pseudonyms & set(re.findall(r"P-[A-Z2-7]{12}", html))
        assert f"{len(mine):,} customers" in html
        rejected = pd.read_csv(folder / "rejected_rows.csv", dtype=str)
        for values in rejected["values"]:
            record = json.loads(values)
            assert record.get("customer_id") in set(mine) or owner in record.values()


def test_owner_tables_are_exact_subsets_of_the_company_tables(published):
    # an owner's book is a filter of the company result: the same CLV, churn, segment and
    # action for the same customer, byte for byte, never a refit on the book
    out, _ = published
    company = pd.read_csv(out / PERIOD / "customers_scored.csv", dtype=str, keep_default_na=False)
    assert {"clv", "churn_probability", "segment", "cluster", "reason_codes"} <= set(company)
    books = []
    for owner in OWNERS:
        book = pd.read_csv(
            out / PERIOD / "owners" / owner / "customers_scored.csv", dtype=str,
            keep_default_na=False,
        )  # fmt: skip
        mine = company.loc[company["owner_id"] == owner].reset_index(drop=True)
        pd.testing.assert_frame_equal(book, mine)
        books.append(book)
    assert sum(len(b) for b in books) == len(company)
    # the owner's action list is the owner's rows of the company's, written the same way
    campaign = pd.read_csv(out / PERIOD / "care_campaign.csv", dtype=str, keep_default_na=False)
    lines = (out / PERIOD / "care_campaign.jsonl").read_text().splitlines()
    assert "customer_id" not in campaign.columns and len(lines) == len(campaign)  # pseudonyms
    parts = []
    for owner in OWNERS:
        folder = out / PERIOD / "owners" / owner
        part = pd.read_csv(folder / "care_campaign.csv", dtype=str, keep_default_na=False)
        mine = campaign["owner_id"] == owner
        pd.testing.assert_frame_equal(part, campaign.loc[mine].reset_index(drop=True))
        owned = [line for line, keep in zip(lines, mine, strict=True) if keep]
        assert (folder / "care_campaign.jsonl").read_text().splitlines() == owned
        parts.append(part)
    assert sum(len(part) for part in parts) == len(campaign) > 0


def test_metrics_json_content(published, dataset):
    out, _ = published
    text = (out / PERIOD / "metrics.json").read_text()
    data = json.loads(text)
    assert data["data"]["fingerprint"] == dataset.fingerprint()
    assert data["parameters"] == {
        "config": "defaults",
        "data": Path(dataset.source).name,
        "freq": "monthly",
        "notebooks": [nb.stem for nb in PERIODIC],
        "period": PERIOD,
        "pii": "mask",
        "seed": 0,
        "lang": "en",
    }
    assert data["package"]["version"] and data["models"]["available"] is True
    assert set(data["models"]["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    assert data["kpis"]["revenue"]["value"] > 0
    assert str(out) not in text and "/tmp" not in text and text == metrics.dumps(data)
    assert data["config"] == json.loads(json.dumps(DEFAULT_CONFIG.to_dict()))


def report(*args: str):
    """`cpm report ...` in this process (same code path as the command, no interpreter start)."""
    return CliRunner().invoke(main, ["report", *args])


def test_rerun_replaces_the_period_byte_for_byte(published, company):
    out, _ = published
    period = out / PERIOD
    names = [
        "metrics.json",
        "customers_scored.csv",
        "customers_scored.parquet",
        "rejected_rows.csv",
    ]
    before = {name: (period / name).read_bytes() for name in names}
    owner_pages = {p: p.read_bytes() for p in _files(period / "owners", ".html", ".csv")}
    assert owner_pages
    inode = period.stat().st_ino
    # without --per-owner
    result = report(
        "--data", str(company[1]), "--out", str(out), "-q", "--only", ",".join(PUBLISHED)
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # --quiet: nothing but errors
    assert period.stat().st_ino != inode  # a new folder was swapped in whole
    # --only refreshes the pages it names and keeps the period's other published pages: the
    # owners' pages of the previous run are still there, unchanged
    assert {p.relative_to(period) for p in owner_pages} == {
        p.relative_to(period) for p in _files(period / "owners", ".html", ".csv")
    }
    assert all(p.read_bytes() == owner_pages[p] for p in owner_pages)
    assert {name: (period / name).read_bytes() for name in names} == before
    assert not list(out.glob(".tmp-*")) and not list(out.glob(".old-*"))


def test_only_adds_a_page_and_keeps_the_others(published, company, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "build_period", light_build_period)  # about pages, not models
    out = tmp_path / "reports"
    shutil.copytree(published[0], out)
    notebooks = tmp_path / "notebooks"
    for name in PUBLISHED:
        (notebooks).mkdir(exist_ok=True)
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", notebooks)
    write_notebook(notebooks / "03_extra.ipynb", LIGHT)
    write_notebook(notebooks / f"{runner.OWNER_BOOK}.ipynb", LIGHT)
    period = out / PERIOD
    pages = {p: p.read_bytes() for p in _files(period, ".html", ".ipynb")}
    assert (period / "01_data_quality.html") in pages and len(pages) > 4
    result = report(
        "--data", str(company[1]), "--out", str(out), "--notebooks", str(notebooks), "-q",
        "--only", "extra", "--per-owner",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for page, content in pages.items():  # every other page is kept as it was
        if page.parent.parent.name != "owners":  # --per-owner renders the owner books again
            assert page.read_bytes() == content, page
    assert "owner=''" in (period / "03_extra.html").read_text()
    for owner in OWNERS:
        folder = period / "owners" / owner
        assert f"owner='{owner}'" in (folder / BOOK).read_text()
        assert not (folder / "03_extra.html").exists()  # the company's pages stay the company's
    notebooks_listed = json.loads((period / "metrics.json").read_text())["parameters"]["notebooks"]
    assert notebooks_listed == ["01_data_quality", "03_extra", "05_performance_review"]
    assert "03_extra.html" in (out / "index.html").read_text()


def test_a_failing_notebook_exits_1_names_the_cell_and_keeps_the_report(
    published, company, tmp_path
):
    out = tmp_path / "reports"
    shutil.copytree(published[0], out)
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    write_notebook(notebooks / "00_fails.ipynb", "x = 1", "ratio = x / 0")
    before = {p: p.read_bytes() for p in _files(out / PERIOD, ".html", ".json", ".csv")}
    result = report(
        "--data", str(company[1]), "--out", str(out), "--notebooks", str(notebooks), "--jobs", "1"
    )
    assert result.exit_code == 1
    assert (
        "00_fails: cell 4 of 4, In [4]: `ratio = x / 0` raised ZeroDivisionError" in result.stderr
    )
    assert "Traceback" not in result.output
    assert {p: p.read_bytes() for p in _files(out / PERIOD, ".html", ".json", ".csv")} == before
    failed = out / "_failed" / PERIOD
    assert (failed / "00_fails.ipynb").exists()
    assert "ZeroDivisionError" in (failed / "FAILED.txt").read_text()
    assert not (failed / "01_data_quality.ipynb").exists()  # the run stopped at the failure
    assert "last run failed: 00_fails" in (out / "index.html").read_text()


LIGHT = "print(f'report {period} pii={pii} owner={owner!r}')"  # no imports: a fast kernel


def test_backfill_runs_every_period_and_passes_the_parameters(company, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "build_period", light_build_period)  # files, not models
    notebooks = tmp_path / "nb"
    write_notebook(notebooks / "01_light.ipynb", LIGHT)
    out = tmp_path / "out"
    result = report(
        "--data",
        str(company[1]),
        "--out",
        str(out),
        "--from",
        "2025-Q3",
        "--to",
        "2025-Q4",
        "--notebooks",
        str(notebooks),
        "--pii",
        "show",
    )
    assert result.exit_code == 0, result.output
    assert "--pii show: the reports hold personal data" in result.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "2025-Q3",
        "2025-Q4",
        "index.html",
    ]
    assert "report 2025-Q4 pii=show owner=''" in (out / "2025-Q4" / "01_light.html").read_text()
    scored = pd.read_csv(out / "2025-Q4" / "customers_scored.csv")
    assert "pseudonym" not in scored.columns  # no key in show mode
    assert not (out / privacy.KEY_FILE).exists()
    page = (out / "index.html").read_text()
    assert "<h2>Quarterly</h2>" in page and page.count("<polyline") >= 1


def test_show_mode_shows_real_ids_in_tables(company, tmp_path):
    ctx = params.validate_parameters(data=str(company[1]), pii="show", out_dir=str(tmp_path))
    html = ctx.show(ctx.view.customers.head(2)).data
    assert ctx.view.customers["customer_id"].iloc[0] in html
    assert ctx.view.customers["name"].iloc[0] in html


def test_privacy_guard_fails_a_notebook_that_shows_raw_personal_data(
    company, tmp_path, monkeypatch
):
    monkeypatch.setattr(runner, "build_period", light_build_period)  # files, not models
    notebooks = tmp_path / "nb"
    write_notebook(
        notebooks / "01_leaky.ipynb", "print(open(data + '/customers.csv').read()[:600])"
    )
    out = tmp_path / "out"
    result = report(
        "--data", str(company[1]), "--out", str(out), "--notebooks", str(notebooks), "--jobs", "1"
    )
    assert result.exit_code == 1
    assert "privacy check: personal data found in the output" in result.stderr
    assert not (out / PERIOD).exists() and (out / "_failed" / PERIOD / "01_leaky.html").exists()


def test_a_missing_scoring_module_exits_1_and_publishes_nothing(company, tmp_path, monkeypatch):
    # a renamed or broken cpm_analysis.scoring fails the period loudly: never a report
    # without models that exits 0
    monkeypatch.setitem(sys.modules, "cpm_analysis.scoring", None)
    notebooks = tmp_path / "nb"
    write_notebook(notebooks / "01_light.ipynb", LIGHT)
    out = tmp_path / "out"
    result = report(
        "--data", str(company[1]), "--out", str(out), "--notebooks", str(notebooks), "--jobs", "1"
    )
    assert result.exit_code == 1
    assert "period pipeline: ModuleNotFoundError" in result.stderr
    note = (out / "_failed" / PERIOD / "FAILED.txt").read_text()
    assert note.startswith("period pipeline: ModuleNotFoundError") and "Traceback" in note
    assert not (out / PERIOD).exists()


def test_per_owner_runs_the_owner_book_once_for_each_owner(company, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "build_period", light_build_period)  # files, not models
    notebooks = tmp_path / "nb"
    write_notebook(notebooks / "01_light.ipynb", LIGHT)
    write_notebook(notebooks / f"{runner.OWNER_BOOK}.ipynb", f"print('owner-book-page'); {LIGHT}")
    out = tmp_path / "out"
    result = report(
        "--data",
        str(company[1]),
        "--out",
        str(out),
        "--notebooks",
        str(notebooks),
        "--per-owner",
        "--jobs",
        "2",
        "-q",
    )
    assert result.exit_code == 0, result.output
    assert (
        "owner-book-page" not in (out / PERIOD / "01_light.html").read_text()
    )  # not a company page
    for owner in OWNERS:
        folder = out / PERIOD / "owners" / owner
        assert sorted(p.name for p in folder.glob("*.html")) == [BOOK]
        page = (folder / BOOK).read_text()
        assert f"owner='{owner}'" in page and "owner-book-page" in page
    index_page = (out / "index.html").read_text()
    for owner in OWNERS:  # the index links every owner's book
        assert f'href="{PERIOD}/owners/{owner}/{BOOK}"' in index_page


def test_per_owner_needs_an_owner_book(company, tmp_path, monkeypatch):
    notebooks = tmp_path / "nb"
    write_notebook(notebooks / "01_light.ipynb", LIGHT)
    result = report(
        "--data", str(company[1]), "--out", str(tmp_path / "out"), "--notebooks", str(notebooks),
        "--per-owner", "-q",
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"has no {runner.OWNER_BOOK}.ipynb" in result.output
    assert not (tmp_path / "out" / PERIOD).exists()


def test_the_owner_book_is_not_a_periodic_page():
    specs = runner.discover_notebooks(ROOT / "notebooks")
    assert runner.OWNER_BOOK not in [s.name for s in runner.select_notebooks(specs)]
    assert runner.owner_book(ROOT / "notebooks").path == ROOT / "notebooks" / "owner_book.ipynb"
    with pytest.raises(runner.ReportArgumentError, match="on-demand"):
        runner.select_notebooks(specs, [runner.OWNER_BOOK])


def test_a_failing_owner_book_does_not_stop_the_company_report(company, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "build_period", light_build_period)  # files, not models
    notebooks = tmp_path / "nb"
    fails_for_one = f"assert owner != {OWNERS[1]!r}, 'this book fails'\n{LIGHT}"
    write_notebook(notebooks / "01_light.ipynb", LIGHT)
    write_notebook(notebooks / f"{runner.OWNER_BOOK}.ipynb", fails_for_one)
    out = tmp_path / "out"
    result = report(
        "--data", str(company[1]), "--out", str(out), "--notebooks", str(notebooks),
        "--per-owner", "--jobs", "1", "-q",
    )  # fmt: skip
    assert result.exit_code == 1  # a scheduler notices the failed book
    assert f"1 owner book(s) failed (the company report was published): {PERIOD} [owner " in (
        result.output
    )
    assert "owner=''" in (out / PERIOD / "01_light.html").read_text()
    good = out / PERIOD / "owners" / OWNERS[0]
    assert f"owner='{OWNERS[0]}'" in (good / BOOK).read_text()
    bad = out / PERIOD / "owners" / OWNERS[1]
    assert [p.name for p in bad.iterdir()] == ["FAILED.txt"]
    assert "this book fails" in (bad / "FAILED.txt").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2024-13"], "error: period: month 13 in '2024-13' is not 1-12"),
        (["--period", "2024-Q2", "--freq", "monthly"], "is quarterly but freq is monthly"),
        (["--period", "2025-01", "--from", "2024-01"], "either --period or --from/--to"),
        (["--only", "nope"], "--only: no notebook 'nope'"),
        (["--data", "/nonexistent/folder"], "error: data: /nonexistent/folder does not exist"),
    ],
)
def test_bad_arguments_exit_2_in_one_line(company, tmp_path, args, message):
    arguments = ["report", "--out", str(tmp_path / "out"), "-q"]
    if "--data" not in args:
        arguments += ["--data", str(company[1])]
    result = CliRunner().invoke(main, [*arguments, *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_unusable_data_exits_2(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    result = CliRunner().invoke(
        main, ["report", "--data", str(folder), "--out", str(tmp_path / "o"), "-q"]
    )
    assert result.exit_code == 2 and "orders" in result.output


def test_a_second_run_on_the_same_folder_exits_2(company, tmp_path):
    out = tmp_path / "out"
    with ReportLock(out):
        result = CliRunner().invoke(
            main, ["report", "--data", str(company[1]), "--out", str(out), "-q"]
        )
    assert result.exit_code == 2
    assert f"error: another cpm report is running on {out}" in result.output
    assert not (out / PERIOD).exists()
