"""The Dask engine without a distributed cluster: Dask's local scheduler, same data."""

from __future__ import annotations

import dask

from cpm_analysis import load
from cpm_analysis.clv import rfm_summary
from cpm_analysis.data.paths import sample_dir


def test_load_and_summary_run_on_the_local_scheduler(tmp_path):
    with dask.config.set(scheduler="synchronous"):
        ds = load(sample_dir(), engine="dask", work_dir=tmp_path, npartitions=2)
        summary = rfm_summary(ds, observation_end="2025-12-31").compute()
    expected = load(sample_dir())
    assert ds.collect().fingerprint() == expected.fingerprint()
    reference = rfm_summary(expected, observation_end="2025-12-31")
    assert sorted(summary.index) == sorted(reference.index)
