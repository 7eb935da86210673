"""Without Dask the project works and says how to install the engine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cpm_analysis import load
from cpm_analysis.data.paths import sample_dir
from cpm_analysis.scale import INSTALL_HINT


def test_engine_dask_without_dask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "cpm-analysis\[scale\]"'):
        load(sample_dir(), engine="dask")
    assert "environment.yml" in INSTALL_HINT


def test_a_pandas_load_imports_neither_dask_nor_the_engine_store():
    code = (
        "import sys; from cpm_analysis import load; from cpm_analysis.data.paths import "
        "sample_dir; from cpm_analysis.kpis import compute_kpis; ds = load(sample_dir()); "
        "compute_kpis(ds, '2025-06'); "
        "bad = [m for m in sys.modules if m.startswith(('dask', 'distributed', "
        "'cpm_analysis.scale.'))]; print(bad); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_report_engine_dask_without_dask_is_a_usage_error(monkeypatch, tmp_path):
    from cpm_analysis.report.runner import ReportArgumentError, run_report

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ReportArgumentError, match=r"--engine dask: .*cpm-analysis\[scale\]"):
        run_report(out=str(tmp_path), engine="dask", progress=False)
    with pytest.raises(ReportArgumentError, match="--engine: expected pandas or dask"):
        run_report(out=str(tmp_path), engine="spark", progress=False)
