"""`cpm report --engine dask`: the same scored table and metrics as the pandas engine."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cpm_analysis.cli import main
from cpm_analysis.report.runner import STORE_DIR, run_report
from cpm_analysis.synthetic import generate

PARAMETERS = (
    'data: str = "data/sample"\nperiod: str = "latest"\nfreq: str = "monthly"\n'
    'out_dir: str = ""\npii: str = "mask"\nowner: str = ""\nseed: int = 0\nresult: str = ""'
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    company = tmp_path_factory.mktemp("company")
    generate(600, seed=5, faults=0.01).write(company, format="csv")
    notebooks = tmp_path_factory.mktemp("notebooks")
    cells = [
        new_markdown_cell("# Orders"),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "from cpm_analysis.report import validate_parameters\n"
            "ctx = validate_parameters(data=data, period=period, freq=freq, out_dir=out_dir, "
            "pii=pii, owner=owner, seed=seed, result=result)\n"
            "print(len(ctx.view.orders), ctx.dataset.fingerprint())"
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebooks / "01_orders.ipynb")
    return company, notebooks


def _run(setup, out, **kwargs):
    company, notebooks = setup
    return run_report(
        data=str(company), period="2025-06", out=str(out), notebooks=str(notebooks),
        progress=False, **kwargs,
    )  # fmt: skip


def test_dask_engine_report_equals_the_pandas_report(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("CPM_PSEUDONYM_KEY", "a-fixed-test-key-of-enough-length-0123456789")
    on_dask = _run(setup, tmp_path / "dask", engine="dask")
    on_pandas = _run(setup, tmp_path / "pandas")
    assert on_dask.exit_code == 0 and on_pandas.exit_code == 0
    assert (tmp_path / "dask" / STORE_DIR / "manifest.json").is_file()
    mine = pd.read_parquet(tmp_path / "dask" / "2025-06" / "customers_scored.parquet")
    theirs = pd.read_parquet(tmp_path / "pandas" / "2025-06" / "customers_scored.parquet")
    assert mine["clv"].notna().sum() > 100
    pd.testing.assert_frame_equal(mine, theirs, check_exact=False, rtol=1e-9)
    metrics = [
        json.loads((tmp_path / name / "2025-06" / "metrics.json").read_text())
        for name in ("dask", "pandas")
    ]
    assert metrics[0]["kpis"].keys() == metrics[1]["kpis"].keys()
    for kpi, entry in metrics[1]["kpis"].items():
        assert metrics[0]["kpis"][kpi]["value"] == pytest.approx(entry["value"], rel=1e-9), kpi
    assert metrics[0]["data"] == metrics[1]["data"]  # the notebooks read the same data
    html = (tmp_path / "dask" / "2025-06" / "01_orders.html").read_text()
    assert metrics[1]["data"]["fingerprint"] in html


def test_scheduler_needs_the_dask_engine(tmp_path):
    result = CliRunner().invoke(
        main, ["report", "--out", str(tmp_path), "--scheduler", "tcp://localhost:8786"]
    )
    assert result.exit_code == 2
    assert "--scheduler: only used with --engine dask" in result.output
