"""What the docstring examples of ``cpm_analysis`` run on (``pytest --doctest-modules``).

Every doctest runs with the project root as its working directory, whatever directory pytest
was started from, so ``load("data/sample")`` in an example means the bundled sample. These
names are defined in every example without an import (an example may define its own instead):

- ``ds``: the bundled sample, ``load("data/sample")`` (3,000 customers, 2022-01 to 2025-12);
- ``cdnow``: the 1/10 CDNOW sample, ``load_cdnow(sample=True)`` (2,357 customers);
- ``summary``: its RFM summary in weeks with the 39-week calibration of Fader, Hardie & Lee
  (calibration to 1997-09-30, holdout to 1998-06-30);
- ``bgf``, ``ggf``: a BG/NBD and a Gamma-Gamma model fitted on that summary;
- in the churn modules (``cpm_analysis.churn``, ``cpm_analysis.plots.churn``) also ``y`` and
  ``X``, the churn labels (90 days) and features of the sample at 2025-06, ``model``, a
  ``ChurnModel(model="logistic", random_state=0)`` fitted on them, ``clv``, a 12-month CLV per customer, and
  ``result``, a small backtest (two cutoffs, a logistic model);
- in the Dask engine's modules (``cpm_analysis.scale``, ``cpm_analysis.data.storefile``) also
  ``dask_ds``, the bundled sample
  loaded into a store by the Dask engine (``load("data/sample", engine="dask", ...)``); their
  examples run on Dask's synchronous scheduler, without a cluster;
- ``tmp``: a fresh temporary folder (a :class:`pathlib.Path`) for examples that write files.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("MPLBACKEND", "Agg")


def doctest_globals() -> dict[str, Any]:
    """Build the names every doctest can use (see the module docstring)."""
    import warnings

    from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, rfm_summary
    from cpm_analysis.data import load, load_cdnow

    cdnow = load_cdnow(sample=True)
    summary = rfm_summary(
        cdnow.orders, calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="W"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bgf = BetaGeoModel().fit(summary)
        ggf = GammaGammaModel().fit(summary)
    return {
        "ds": load(ROOT / "data" / "sample"),
        "cdnow": cdnow,
        "summary": summary,
        "bgf": bgf,
        "ggf": ggf,
    }


def churn_globals(ds: Any) -> dict[str, Any]:
    """Build the churn names of the churn modules' doctests (see the module docstring)."""
    from cpm_analysis.churn import ChurnModel, backtest, churn_features, churn_labels
    from cpm_analysis.clv import (
        BetaGeoModel,
        GammaGammaModel,
        customer_lifetime_value,
        rfm_summary,
    )

    y = churn_labels(ds, "2025-06", horizon="90D")
    X = churn_features(ds, "2025-06").loc[y.index]
    summary = rfm_summary(ds.orders, observation_end="2025-12-31")
    clv = customer_lifetime_value(
        BetaGeoModel().fit(summary), GammaGammaModel().fit(summary), summary, horizon_months=12
    )
    result = backtest(
        ds,
        ["2025-03", "2025-06"],
        "90D",
        model=ChurnModel(model="logistic", random_state=0),
        n_repeats=1,
    )
    model = ChurnModel(model="logistic", random_state=0).fit(X, y)
    return {"y": y, "X": X, "model": model, "clv": clv, "result": result}


@pytest.fixture(scope="session")
def _churn_globals(_doctest_globals: dict[str, Any]) -> dict[str, Any]:
    return churn_globals(_doctest_globals["ds"])


@pytest.fixture(scope="session")
def _dask_globals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import dask

    from cpm_analysis import load

    with dask.config.set(scheduler="synchronous"):
        store = tmp_path_factory.mktemp("dask-store")
        return {"dask_ds": load(ROOT / "data" / "sample", engine="dask", work_dir=store)}


@pytest.fixture(scope="session")
def _doctest_globals() -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    return doctest_globals()


@pytest.fixture(autouse=True)
def _doctest_setup(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: Any):
    """Give a doctest the sample data, the project root as cwd and a temporary folder."""
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    import pandas as pd
    from threadpoolctl import threadpool_limits

    namespace = request.getfixturevalue("doctest_namespace")
    namespace.update(request.getfixturevalue("_doctest_globals"))
    if ".churn" in request.node.name:
        namespace.update(request.getfixturevalue("_churn_globals"))
    dask_config: Any = contextlib.nullcontext()
    if ".scale" in request.node.name or ".storefile" in request.node.name:
        import dask

        namespace.update(request.getfixturevalue("_dask_globals"))
        dask_config = dask.config.set(scheduler="synchronous")
    namespace["tmp"] = tmp_path
    monkeypatch.chdir(ROOT)
    import matplotlib as mpl

    # every example starts from matplotlib's defaults, whatever a test or an example that
    # applied the report style (``style.apply()``) left behind, and leaves them as it found them
    with (
        dask_config,
        threadpool_limits(limits=1),
        pd.option_context("display.width", 100, "display.max_columns", 8),
        mpl.rc_context(),
    ):
        mpl.rcdefaults()
        yield
    import matplotlib.pyplot as plt

    plt.close("all")
