"""One period, computed once: :func:`build_period` and the :class:`PeriodResult` it returns.

The result holds what every page of the period shows, computed from ``dataset.as_of(cutoff)``
by the existing analyses (nothing is re-implemented here):

- the scored customer table and its fitted models (:func:`cpm_analysis.scoring.score_customers`);
- the period's purchase-model choice on a holdout
  (:func:`~cpm_analysis.clv.selection.choose_value_model`), the lifetime-value models behind the
  scored table (the scoring's fits, :func:`~cpm_analysis.clv.checks.period_value_models`) and
  the chosen model's holdout check (the choice's calibration fit,
  :func:`~cpm_analysis.clv.checks.choice_calibration`): one fit per model, no refit for a
  page; and the churn backtest
  (:func:`~cpm_analysis.churn.period_backtest.churn_backtest`);
- segments, behavioural clusters and the segment migration;
- KPIs, the scorecard against targets, the KPI trends and the cohorts;
- the owner and agent team scorecards, last period's scores and the forecast check, the
  biggest risks and the improvement actions;
- page 06's sales and service tables (:attr:`PeriodResult.sales_service`);
- for every section whether it is available and, if not, why
  (:func:`cpm_analysis.pipeline.availability.checks`; a section that is not available holds the
  :class:`~cpm_analysis.availability.Unavailable` sentence instead of its value).

An owner's result (:meth:`PeriodResult.for_owner`) is a filter of the company result: the
scored table, segments, CLV, churn scores and every model number are the company's rows of the
owner's customers, and the team scorecards are the company's verdicts. Only aggregations over
the book (KPIs, scorecard, trends, cohorts, the forecast check's totals) are computed for the
book, lazily, when a page asks for them; nothing is refitted.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(300, seed=1).to_dataset()
>>> result = build_period(ds, "2025-06")
>>> book = result.for_owner(result.scored["owner_id"].iloc[0])
>>> set(book.scored["customer_id"]) <= set(result.scored["customer_id"])
True
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.config import DEFAULT_CONFIG, CPMConfig
from cpm_analysis.data import Dataset
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.frames import isin
from cpm_analysis.periods import Period, parse_period

RESULT_FILE = "period-result.pickle"
"""The file name :meth:`PeriodResult.save` is given by the report runner."""
COHORTS = 12
"""Cohorts shown in the cohort retention heatmap."""
_FORMAT = 2  # bumped when the pickled layout changes: an old file is refused, never misread


@dataclass(eq=False)
class PeriodResult:
    """Everything the pages of one period show (see the module docstring).

    Attributes
    ----------
    period : Period
        The reporting period.
    seed : int
        Seed of every random step.
    dataset : Dataset
        The data as loaded, with its rejected rows (the book's on an owner's result).
    view : Dataset
        ``dataset.as_of(period.end)``: what every analysis of the period read.
    scored : DataFrame
        One row per customer (:func:`cpm_analysis.pipeline.scored.finalize_scored`, without
        pseudonyms): segment, tier, cluster, CLV, P(alive), churn probability, reasons, action.
    metrics : dict
        The scoring's metrics (``segments``, ``models``, ``notes``) and the period's ``kpis``:
        what ``metrics.json`` adds to the base metrics.
    models : dict
        The fitted models behind ``scored``: ``purchase`` (the model :attr:`model_choice`
        took; also ``bgnbd`` when it is BG/NBD), ``gamma_gamma``, ``churn``,
        ``clusters`` (``None`` or absent when not fitted, with the reason in ``notes``).
    notes : list of str
        What could not be estimated and why.
    value_models, value_summary : dict and DataFrame, or Unavailable
        :func:`~cpm_analysis.clv.checks.period_value_models`: the scoring's fitted purchase
        model (by the name of :attr:`model_choice`) and Gamma-Gamma.
    calibration : CalibrationCheck or Unavailable
        :func:`~cpm_analysis.clv.checks.choice_calibration`: the chosen model's calibration
        fit and its holdout by frequency group, from :attr:`model_choice`.
    backtest : BacktestResult or Unavailable
        :func:`~cpm_analysis.churn.period_backtest.churn_backtest`.
    segments : DataFrame
        :func:`~cpm_analysis.segments.period.segment_table` at the cutoff, by customer.
    previous_segments : DataFrame or None
        The same at the end of the previous period (``None`` when there is no migration).
    clusters : ClusterResult or Unavailable
        The behavioural clusters behind the scored table's ``cluster`` column.
    migration : SegmentMigration or Unavailable
        :func:`~cpm_analysis.segments.period.period_migration`.
    owners, agents : TeamScorecard
        :func:`~cpm_analysis.teams_review.team_scorecard` of the company.
    previous : DataFrame
        Last period's scored table (:func:`~cpm_analysis.pipeline.previous.previous_scored`).
    previous_source : str
        Where ``previous`` came from.
    config : Any
        The business-rules configuration the result was built with (``None``: the defaults):
        the scoring's horizons, tiers and segment map, the KPIs' SLA, the targets' at-risk
        band, the team scorecards' weights and ranking rules, and the actions' texts.
    owner : str or None
        The account owner of an owner's result (:meth:`for_owner`), ``None`` for the company.
    company_dataset, company_view : Dataset
        The company's ``dataset`` and ``view`` (the same objects on the company result): what
        the models were fitted on, also on an owner's result.
    """

    period: Period
    seed: int
    dataset: Dataset
    view: Dataset
    scored: pd.DataFrame
    metrics: dict[str, Any]
    models: dict[str, Any]
    notes: list[str]
    value_models: Any
    value_summary: Any
    calibration: Any
    backtest: Any
    segments: pd.DataFrame
    previous_segments: pd.DataFrame | None
    clusters: Any
    migration: Any
    owners: Any
    agents: Any
    previous: pd.DataFrame
    previous_source: str
    config: Any = None
    owner: str | None = None
    company_dataset: Dataset | None = field(default=None, repr=False)
    company_view: Dataset | None = field(default=None, repr=False)
    forecast_model: Any = field(default=None, repr=False)
    """The company's purchase model of the forecast check (an owner's check reuses it)."""
    model_choice: Any = field(default=None, repr=False)
    """The period's purchase-model choice on a holdout
    (:class:`~cpm_analysis.clv.selection.ModelChoice`): the comparison the CLV page shows and
    the model behind the scored table's ``clv``, ``p_alive`` and ``expected_purchases_90d``."""
    value_draws: Any = field(default=None, repr=False)
    """The parameter draws of the period's value models
    (:func:`~cpm_analysis.clv.tables.value_draws`): the intervals of the pages (company's)."""
    format: int = field(default=_FORMAT, repr=False)

    @property
    def rules(self) -> CPMConfig:
        """The business rules the result applies (the defaults when none was given)."""
        return DEFAULT_CONFIG if self.config is None else self.config

    def __post_init__(self) -> None:
        """Make the company's data the result's own unless this is an owner's book."""
        if self.company_dataset is None:
            self.company_dataset = self.dataset
        if self.company_view is None:
            self.company_view = self.view

    # --- aggregations over the result's customers (computed once, when first asked for) ------

    @cached_property
    def kpis(self) -> pd.DataFrame:
        """Every KPI of the period (:func:`~cpm_analysis.kpis.scorecard.period_kpis`)."""
        from cpm_analysis.kpis.scorecard import period_kpis

        return period_kpis(
            self.view,
            self.period,
            self.scored,
            sla_hours=self.rules.sla.first_response_hours,
            windows=self.rules.windows,
        )

    @cached_property
    def scorecard(self) -> pd.DataFrame:
        """The KPIs against the period's targets (the owner's own targets on a book)."""
        from cpm_analysis.kpis.scorecard import scorecard

        return scorecard(
            self.kpis,
            self.view.targets,
            self.period,
            owner=self.owner,
            amber=self.rules.targets.at_risk_band,
        )

    @cached_property
    def trends(self) -> pd.DataFrame:
        """The KPIs of the last 12 periods (:func:`~cpm_analysis.kpis.trends.kpi_trends`)."""
        from cpm_analysis.kpis.trends import kpi_trends

        return kpi_trends(
            self.view,
            self.period,
            sla_hours=self.rules.sla.first_response_hours,
            windows=self.rules.windows,
        )

    @cached_property
    def by_owner(self) -> dict[str, pd.DataFrame]:
        """The period's KPIs and KPI trends by ``owner_id``, each in one pass over the company.

        ``"kpis"`` (:func:`~cpm_analysis.kpis.scorecard.period_kpis`) and ``"trends"``
        (:func:`~cpm_analysis.kpis.trends.kpi_trends`) broken down by owner: computed before
        the result is saved for ``cpm report --per-owner``, so that each owner's book
        (:meth:`for_owner`) takes its owner's rows instead of computing them again. They are
        the book's own figures: a KPI of a book is the KPI of its owner's group.
        """
        from cpm_analysis.kpis.scorecard import period_kpis
        from cpm_analysis.kpis.trends import kpi_trends

        hours, windows = self.rules.sla.first_response_hours, self.rules.windows
        return {
            "kpis": period_kpis(
                self.view, self.period, self.scored, sla_hours=hours, windows=windows, by="owner_id"
            ),
            "trends": kpi_trends(
                self.view, self.period, sla_hours=hours, windows=windows, by="owner_id"
            ),
        }

    @cached_property
    def cohorts(self) -> Any:
        """:func:`~cpm_analysis.cohorts.cohort_retention` of the last 12 cohorts."""
        from cpm_analysis.cohorts import cohort_retention

        return cohort_retention(
            self.view, freq=self.period.freq, as_of=self.period.end, n_cohorts=COHORTS
        )

    @cached_property
    def forecast(self) -> Any:
        """Last period's predictions against this period (the company's purchase model)."""
        from cpm_analysis.clv.forecast import forecast_check

        company = self.dataset if self.company_dataset is None else self.company_dataset
        return forecast_check(
            company,
            self.period,
            self.previous,
            source=self.previous_source,
            owner=self.owner,
            model=self.forecast_model,
        )

    @cached_property
    def risks(self) -> pd.DataFrame:
        """The three biggest risks (:func:`~cpm_analysis.actions.biggest_risks`)."""
        from cpm_analysis.actions import biggest_risks

        return biggest_risks(self.scorecard, self.scored)

    @cached_property
    def actions(self) -> pd.DataFrame:
        """The improvement actions (:func:`~cpm_analysis.actions.improvement_actions`)."""
        from cpm_analysis.actions import action_options, improvement_actions

        return improvement_actions(
            self.scorecard,
            self.owners,
            self.agents,
            self.scored,
            **action_options(self.rules),
        )

    @cached_property
    def value_intervals(self) -> dict[str, Any]:
        """CLV and revenue at risk by tier, segment and owner, with intervals.

        :func:`~cpm_analysis.clv.tables.value_intervals` of the company's parameter draws over
        this result's customers: ``"clv_by_tier"``, ``"clv_by_segment"``, ``"clv_by_owner"``,
        ``"risk_by_segment"``, ``"risk_by_owner"`` (each a table or the sentence why not).
        """
        from cpm_analysis.clv.tables import value_intervals

        return value_intervals(
            self.value_draws,
            self.value_summary,
            self.scored,
            horizon_months=self.rules.clv.horizon_months,
            discount_rate=self.rules.clv.monthly_discount_rate,
            seed=self.seed,
        )

    @cached_property
    def team_noise(self) -> dict[str, pd.DataFrame]:
        """The owners' and agents' rate KPIs with intervals, ranked within noise.

        :func:`~cpm_analysis.kpis.intervals.team_kpi_intervals` of the company (``"owner"``,
        ``"agent"``); an owner's result holds the company's rows of that owner (the verdict is
        the company's) and no agents.
        """
        from cpm_analysis.kpis.intervals import team_kpi_intervals

        view = self.company_view if self.company_view is not None else self.view
        hours = self.rules.sla.first_response_hours
        out = {
            role: team_kpi_intervals(view, self.period, role, sla_hours=hours)
            for role in ("owner", "agent")
        }
        if self.owner is not None:
            owners = out["owner"]
            out = {
                "owner": owners.loc[owners["owner_id"] == self.owner].reset_index(drop=True),
                "agent": out["agent"].iloc[:0],
            }
        return out

    @cached_property
    def checks(self) -> list[Any]:
        """Every section's :class:`~cpm_analysis.availability.Check`, in page order."""
        from cpm_analysis.pipeline.availability import checks

        return checks(
            self.view,
            self.period,
            company=self.company_view,
            owner=self.owner,
            windows=self.rules.churn.pairs,
        )

    @property
    def availability(self) -> dict[str, Any]:
        """The :attr:`checks` by analysis name: whether each section is available, and why.

        Examples
        --------
        >>> from cpm_analysis.synthetic import generate
        >>> result = build_period(generate(300, seed=1).to_dataset(), "2025-06")
        >>> result.availability["Service KPIs"].available
        True
        """
        return {check.analysis: check for check in self.checks}

    @property
    def capabilities(self) -> pd.DataFrame:
        """The :attr:`checks` as page 01's "What the data allows" table."""
        from cpm_analysis.pipeline.availability import capabilities

        return capabilities(self.view, self.period, checks=self.checks)

    def compute_all(self) -> PeriodResult:
        """Compute every lazy section now (before :meth:`save`, so no kernel computes it)."""
        for name in (
            "kpis",
            "scorecard",
            "trends",
            "cohorts",
            "forecast",
            "risks",
            "actions",
            "value_intervals",
            "team_noise",
            "sales_service",
        ):
            getattr(self, name)
        self.checks  # noqa: B018 - computed for the side effect of caching it
        if self.forecast_model is None and self.owner is None:
            self.forecast_model = getattr(self.forecast, "model", None)
        return self

    @cached_property
    def sales_service(self) -> dict[str, Any]:
        """The tables of page 06 (sales and service), each a table or the sentence why not.

        :func:`cpm_analysis.sales.sales_tables` (``funnel``, ``cycle``, ``owners``,
        ``closed``, ``sales_rollup``, ``service_rollup``),
        :func:`cpm_analysis.service.service_tables` (``by_category``, ``by_product``,
        ``follow_up``, ``teams``) and :func:`cpm_analysis.marketing.marketing_tables`
        (``campaigns``, ``marketers``) of the view; on an owner's result the roll-ups to the
        managers are left to the company's page.
        """
        from cpm_analysis.pipeline.sales_service import sales_service_tables

        return sales_service_tables(self.view, self.period, self.rules, owner=self.owner)

    # --- an owner's book -------------------------------------------------------------------

    def for_owner(self, owner: str) -> PeriodResult:
        """Filter this (company) result to the book of account owner ``owner``.

        The scored table, segments, clusters, models and their checks are the company's (rows
        of the owner's customers where the value is per customer); the owner scorecard is the
        company's row of the owner and agents are left to the company page. KPIs, scorecard,
        trends, cohorts and the forecast check's totals are aggregations over the book,
        computed when a page first asks for them.

        Raises
        ------
        ValueError
            When this is already an owner's result, the customers have no ``owner_id`` or
            ``owner`` owns no customers.

        Examples
        --------
        >>> from cpm_analysis.synthetic import generate
        >>> result = build_period(generate(300, seed=1).to_dataset(), "2025-06")
        >>> book = result.for_owner("S001")
        >>> book.owner, set(book.scored["owner_id"])
        ('S001', {'S001'})
        """
        from cpm_analysis import teams_review
        from cpm_analysis.privacy import restrict_to_owner
        from cpm_analysis.segments.period import period_migration

        if self.owner is not None:
            raise ValueError(
                f"owner: this is already the book of {self.owner!r}; call for_owner on the "
                "company result"
            )
        book = restrict_to_owner(self.dataset, owner)
        book_view = restrict_to_owner(self.view, owner)
        ids = book_view.customers["customer_id"]
        segments = _rows_of(self.segments, ids)
        previous_segments = (
            None if self.previous_segments is None else _rows_of(self.previous_segments, ids)
        )
        if previous_segments is None:
            migration = self.migration  # not available for the company: not for the book
        else:
            migration = period_migration(
                book_view,
                self.period,
                previous=previous_segments,
                current=segments,
                segment_map=self.rules.segments.segment_map,
            )
        owners = self.owners
        if owners.available and owner in owners.table.index:
            owners = teams_review.TeamScorecard(
                owners.role,
                owners.table.loc[owners.table.index == owner],
                owners.note,
                owners.names,
            )
        agents = teams_review.team_scorecard(
            book_view, self.period, "agent", owner=owner, config=self.rules
        )
        forecast_model = self.forecast_model
        if forecast_model is None and "forecast" in self.__dict__:
            forecast_model = getattr(self.__dict__["forecast"], "model", None)
        book_result = PeriodResult(
            period=self.period,
            seed=self.seed,
            dataset=book,
            view=book_view,
            scored=_rows_of_owner(self.scored, owner),
            metrics=self.metrics,
            models=self.models,
            notes=self.notes,
            value_models=self.value_models,
            value_summary=self.value_summary,
            calibration=self.calibration,
            backtest=self.backtest,
            segments=segments,
            previous_segments=previous_segments,
            clusters=self.clusters,
            migration=migration,
            owners=owners,
            agents=agents,
            previous=_rows_of_owner(self.previous, owner),
            previous_source=self.previous_source,
            config=self.config,
            owner=owner,
            company_dataset=self.company_dataset,
            company_view=self.company_view,
            forecast_model=forecast_model,
            model_choice=self.model_choice,
            value_draws=self.value_draws,
        )
        book_result.__dict__.update(_owner_rows(self.__dict__, owner, book_view, self.period))
        return book_result

    # --- the runner's private file ----------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result to ``path``, readable by the owner of the file only.

        Every lazy section is computed first.

        A pickle: the runner's own private file, written outside the published report folder
        and removed after the run. Load it with :func:`load_period_result` only when this
        program wrote it (a pickle from elsewhere can run code).

        Examples
        --------
        >>> import tempfile
        >>> from cpm_analysis.synthetic import generate
        >>> result = build_period(generate(300, seed=1).to_dataset(), "2025-06")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     again = load_period_result(result.save(Path(tmp) / RESULT_FILE))
        >>> again.scored.equals(result.scored)
        True
        """
        self.compute_all()
        target = Path(path)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return target


def load_period_result(path: str | os.PathLike) -> PeriodResult:
    """Read a result written by :meth:`PeriodResult.save`.

    Raises
    ------
    ValueError
        When ``path`` does not exist or does not hold a period result of this version.

    Examples
    --------
    >>> load_period_result("/nonexistent/period-result.pickle")
    Traceback (most recent call last):
    ...
    ValueError: result: /nonexistent/period-result.pickle does not exist
    """
    target = Path(path)
    if not target.is_file():
        raise ValueError(f"result: {target} does not exist")
    with target.open("rb") as handle:
        try:
            result = pickle.load(handle)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
            raise ValueError(f"result: {target} is not a period result ({err})") from None
    if not isinstance(result, PeriodResult):
        raise ValueError(f"result: {target} is not a period result of this version of cpm-analysis")
    found = getattr(result, "format", None)
    if found != _FORMAT:
        raise ValueError(
            f"result: {target} was saved in period-result format {found} and this version of "
            f"cpm-analysis reads format {_FORMAT} (the CLV models and holdout check now come "
            "from the period's model choice); build the period again (cpm report) instead of "
            "reusing the saved result"
        )
    return result


def _owner_rows(
    computed: dict[str, Any], owner: str, view: Dataset, period: Period
) -> dict[str, Any]:
    """Return the sections of an owner's book that the company already computed.

    The owner's rows of :attr:`PeriodResult.by_owner` (``kpis`` and ``trends``, the trends
    over the periods the book's own orders cover) and of the company's ``team_noise``; none
    of them when the company has not computed it or the owner has no rows of it.
    """
    from cpm_analysis.kpis.trends import recent_periods

    out: dict[str, Any] = {}
    noise = computed.get("team_noise")
    noise = noise if isinstance(noise, dict) else {}
    owners, agents = noise.get("owner"), noise.get("agent")
    if isinstance(owners, pd.DataFrame) and "owner_id" in owners.columns and agents is not None:
        mine = owners.loc[(owners["owner_id"] == owner).to_numpy(dtype=bool)]
        out["team_noise"] = {"owner": mine.reset_index(drop=True), "agent": agents.iloc[:0]}
    frames = computed.get("by_owner")
    first = view.orders["order_date"].min()
    if not isinstance(frames, dict) or pd.isna(first):
        return out
    kpis, trends = frames["kpis"], frames["trends"]
    if owner not in set(kpis.index.get_level_values("owner_id")):
        return out
    labels = [p.label for p in recent_periods(period) if p.end >= first]
    trends = trends.xs(owner, level="owner_id")
    if set(labels) - set(trends.index.get_level_values("period")):
        return out  # a period without the owner's group: the book computes its own trends
    mine = trends.loc[trends.index.get_level_values("period").isin(labels)].copy()
    mine.attrs = {**trends.attrs, "periods": labels, "by": None}
    out["trends"] = mine
    own = kpis.xs(owner, level="owner_id").copy()
    own.attrs = {**kpis.attrs, "by": None}
    out["kpis"] = own
    return out


def _rows_of(frame: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """Return the rows of a frame indexed by customer id that belong to ``ids``."""
    return frame.loc[np.asarray(isin(pd.Series(frame.index), ids), dtype=bool)]


def _rows_of_owner(frame: pd.DataFrame, owner: str) -> pd.DataFrame:
    """Return the rows of a scored table whose ``owner_id`` is ``owner``, with a fresh index."""
    if "owner_id" not in frame.columns:
        return frame.iloc[:0].reset_index(drop=True)
    return frame.loc[(frame["owner_id"] == owner).to_numpy(dtype=bool)].reset_index(drop=True)


def build_period(
    data: CustomerData,
    period: str | Period,
    config: CPMConfig | None = None,
    *,
    seed: int = 0,
    reports_dir: str | os.PathLike | None = None,
    jobs: int = 1,
) -> PeriodResult:
    """Compute everything the pages of ``period`` show, once (see the module docstring).

    Parameters
    ----------
    data : Dataset or DaskDataset
        The validated data of every customer (:func:`cpm_analysis.data.load`, of either
        engine: the dataset protocol, :mod:`cpm_analysis.data.protocol`); only
        ``data.as_of(period.end)`` is analysed (the forecast check reads the previous
        period's cutoff of it too). On a Dask dataset the per-customer steps run bucket by
        bucket on the cluster (RFM and segments, the lifetime-value summary and scoring, the
        churn labels and features of the scoring and the backtest, the KPIs), and the rest
        reads the collected pandas view (:meth:`~cpm_analysis.scale.DaskDataset.collect`);
        the result is the same as on the pandas dataset.
    period : str or Period
        The reporting period (``"2025-06"``, ``"2025-Q2"``, ``"2025"``).
    config : CPMConfig, optional
        The business rules (:class:`~cpm_analysis.config.CPMConfig`, from ``cpm.yaml`` or
        ``--config``); ``None`` applies :data:`~cpm_analysis.config.DEFAULT_CONFIG`.
    seed : int
        Seed of every random step (clusters, churn models, the backtest).
    reports_dir : path, optional
        The report folder (``cpm report --out``): last period's published scored table is
        reused from it when it was built from the same data with the same seed.
    jobs : int
        Processes to compute with: with 2 or more (and data held in this process, the pandas
        engine, on a system that can fork) a second process runs the churn backtest and then
        scores the previous period (for the forecast check) while this one scores the
        period's customers and computes the rest. The result is the same.

    Returns
    -------
    PeriodResult

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> result = build_period(generate(300, seed=1).to_dataset(), "2025-06", seed=0)
    >>> sorted(result.metrics)[:3], result.clusters.k > 1
    (['kpis', 'models', 'notes'], True)
    """
    from threadpoolctl import threadpool_limits

    data = customer_data(data, "data")
    period = parse_period(period)
    for name, value in (("seed", seed), ("jobs", jobs)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name}: expected an integer, got {value!r}")
    if jobs < 1:
        raise ValueError(f"jobs: expected a positive integer, got {jobs!r}")
    with contextlib.ExitStack() as stack:
        stack.enter_context(threadpool_limits(limits=1, user_api="openmp"))
        pool = None
        # fork only when the data lives in this process (its pandas view is itself): a forked
        # copy of a process holding a Dask client must not touch the cluster
        if jobs > 1 and data.collect() is data and "fork" in mp.get_all_start_methods():
            # fork: the worker starts with this process's imports and data, in milliseconds
            pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
            )
        return _build(data, period, config, int(seed), reports_dir, pool)


def _build(
    data: CustomerData,
    period: Period,
    config: CPMConfig | None,
    seed: int,
    reports_dir: str | os.PathLike | None,
    pool: ProcessPoolExecutor | None = None,
) -> PeriodResult:
    from cpm_analysis import availability, teams_review
    from cpm_analysis.churn.period_backtest import churn_backtest
    from cpm_analysis.clv.checks import choice_calibration, period_value_models
    from cpm_analysis.clv.selection import choose_value_model
    from cpm_analysis.clv.tables import value_draws
    from cpm_analysis.kpis.scorecard import period_kpis
    from cpm_analysis.pipeline.previous import previous_scored
    from cpm_analysis.pipeline.scored import finalize_scored
    from cpm_analysis.scoring import score_customers, scoring_options
    from cpm_analysis.segments.period import behaviour_clusters, period_migration, segment_table

    dataset = data.collect()  # the pandas view of the data (the data itself on pandas)
    at_end = data.as_of(period.end)  # the protocol's view: per-customer steps run on it
    view = at_end.collect()
    rules = DEFAULT_CONFIG if config is None else config
    windows = rules.churn.pairs  # the configured churn windows, for the backtest
    published = None
    if reports_dir is not None:
        published = Path(reports_dir) / period.label / "customers_scored.parquet"
    backtest = previous_job = None
    if pool is not None:  # the backtest and last period's scores, beside this period's scoring
        backtest = pool.submit(churn_backtest, view, period, seed=seed, windows=windows)
        previous_job = pool.submit(
            previous_scored, data, period, seed=seed, scored_path=published, config=rules
        )
    # the purchase model of the period, chosen on a holdout (or pinned): the scoring fits it
    model_choice = choose_value_model(
        view, period.end, model=rules.clv.model, contract_period=rules.clv.contract_period
    )
    result = score_customers(
        data,
        period,
        seed=seed,
        model_choice=model_choice,
        **scoring_options(rules),
    )
    scored = finalize_scored(result.scored, view)
    segments = result.segments  # the scored table's segmentation, by customer
    segment_rules = {
        "segment_map": rules.segments.segment_map,
        "tier_shares": rules.segments.tier_shares,
    }
    migration_check = availability.migration(view, period)
    previous_segments = None
    if migration_check.available:
        previous_segments = segment_table(at_end, period.previous().end, **segment_rules)
        migration = period_migration(
            view, period, previous=previous_segments, current=segments, **segment_rules
        )
    else:
        migration = migration_check.missing()
    cluster_check = availability.clusters(view, period.end)
    if not cluster_check.available:
        clusters = cluster_check.missing()
    elif result.models.get("clusters") is not None:
        clusters = result.models["clusters"]  # the clustering behind the scored table
    else:
        clusters = behaviour_clusters(segments, view, period.end, seed=seed)
    value_models, value_summary = period_value_models(result.models, model_choice, view, period.end)
    if previous_job is not None:
        previous, previous_source = previous_job.result()
    else:
        previous, previous_source = previous_scored(
            data, period, seed=seed, scored_path=published, config=rules
        )
    out = PeriodResult(
        period=period,
        seed=seed,
        dataset=dataset,
        view=view,
        scored=scored,
        metrics=dict(result.metrics),
        models=result.models,
        notes=list(result.notes),
        value_models=value_models,
        value_summary=value_summary,
        calibration=choice_calibration(model_choice, view, period.end),
        backtest=(
            backtest.result()
            if backtest is not None
            else churn_backtest(at_end, period, seed=seed, windows=windows)
        ),
        segments=segments,
        previous_segments=previous_segments,
        clusters=clusters,
        migration=migration,
        owners=teams_review.team_scorecard(view, period, "owner", config=rules),
        agents=teams_review.team_scorecard(view, period, "agent", config=rules),
        previous=previous,
        previous_source=previous_source,
        config=rules,
        model_choice=model_choice,
        value_draws=value_draws(
            value_models,
            value_summary,
            seed=seed,
            view=view,
            cutoff=period.end,
            opportunity=getattr(model_choice, "opportunity", None),
            contract_period=getattr(model_choice, "contract_period", None),
        ),
    )
    # the KPIs of the period through the protocol, as the scoring (bucket by bucket on Dask)
    out.__dict__["kpis"] = period_kpis(
        at_end,
        period,
        scored,
        sla_hours=rules.sla.first_response_hours,
        windows=rules.windows,
    )
    out.metrics["kpis"] = _kpi_metrics(out.kpis)
    return out.compute_all()


def _kpi_metrics(kpis: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``metrics.json``'s ``kpis``: value and label of every available, finite KPI."""
    available = kpis.loc[kpis["available"].astype(bool)]
    return {
        str(kpi): {"value": float(row["value"]), "label": str(row["label_en"])}
        for kpi, row in available.iterrows()
        if pd.notna(row["value"]) and np.isfinite(row["value"])
    }
