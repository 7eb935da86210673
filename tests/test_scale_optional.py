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


def test_the_core_dispatches_by_protocol_not_by_type_name():
    import ast
    from pathlib import Path

    import cpm_analysis

    root = Path(cpm_analysis.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        core = ("data/", "kpis/", "segments/", "clv/", "churn/", "teams.py", "cohorts.py")
        if not rel.startswith(core + ("scoring.py",)):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "id", None) or getattr(node, "attr", None)
            if name in {"is_dask", "DaskDataset"} and not isinstance(node, ast.alias):
                found.append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.Compare) and any(
                isinstance(side, ast.Attribute)
                and side.attr in {"__name__", "__module__"}
                and isinstance(side.value, ast.Call)
                and getattr(side.value.func, "id", None) == "type"
                for side in [node.left, *node.comparators]
            ):
                found.append(f"{rel}:{node.lineno} compares a type name")
    assert found == [], "analyses take any dataset of cpm_analysis.data.protocol"
