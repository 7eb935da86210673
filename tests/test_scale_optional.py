"""Without Dask the project works and says how to install the engine."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from cpm_analysis import load
from cpm_analysis.data.paths import sample_dir
from cpm_analysis.scale import INSTALL_HINT, is_dask


def test_engine_dask_without_dask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "cpm-analysis\[scale\]"'):
        load(sample_dir(), engine="dask")
    assert "environment.yml" in INSTALL_HINT


def test_pandas_objects_are_not_dask():
    assert not is_dask(pd.DataFrame({"a": [1]}))
    assert not is_dask(load(sample_dir()))
