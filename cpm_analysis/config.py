"""The business rules of a report, in one validated configuration file (``cpm.yaml``/``cpm.toml``).

Everything a company may want to set differently from the defaults lives here: the SLA hours,
the scorecard KPIs and their weights, the assessment weights and their blend with the KPI
score, the ranking rules (reward, penalty, improvement plan, review), the lifetime-value and
churn horizons, the discount rate, the tier cut-offs, the segment map, the standard actions, the
currency and the locale. The defaults are the package's behaviour: the analyses take each
setting as an explicit keyword parameter whose default is read from :data:`DEFAULT_CONFIG`.

Where the file comes from (:func:`load_config`): ``--config FILE`` (YAML or TOML), else
``cpm.yaml``, ``cpm.yml`` or ``cpm.toml`` in the data folder, else the defaults. Every key is
optional; a key the model does not know, a weight below 0 or a KPI id the registry does not
know is an error naming the file and the key (:class:`ConfigError`). A configuration is frozen.
Every key is documented in ``docs/configuration.md``.

Examples
--------
>>> cfg = CPMConfig.model_validate({"assessment": {"kpi_share": 0}})
>>> cfg.assessment.kpi_share, cfg.assessment.self_weight, cfg.assessment.manager_weight
(0.0, 0.3, 0.7)
>>> cfg.sla.first_response_hours == DEFAULT_CONFIG.sla.first_response_hours == 24.0
True
>>> CPMConfig.model_validate({"sla": {"hours": 8}})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for CPMConfig
...
"""

from __future__ import annotations

import copyreg
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cpm_analysis.i18n import N_

CONFIG_NAMES: tuple[str, ...] = ("cpm.yaml", "cpm.yml", "cpm.toml")
"""File names :func:`load_config` looks for in the data folder, in this order."""


class ConfigError(ValueError):
    """A configuration file that cannot be read or does not validate; one line, key named.

    Examples
    --------
    >>> str(ConfigError("cpm.yaml, key sla.first_response_hours: must be > 0"))
    'cpm.yaml, key sla.first_response_hours: must be > 0'
    """


def _freeze(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _reduce_mapping_proxy(proxy: MappingProxyType) -> tuple[Any, tuple[dict[str, Any]]]:
    return _freeze, (dict(proxy),)


# A configuration travels inside the runner's saved period result (a pickle). Its frozen
# mappings are read-only views, which pickle cannot copy by default: they go as their dict and
# come back frozen.
copyreg.pickle(MappingProxyType, _reduce_mapping_proxy)


def _known_kpis(value: Mapping[str, Any]) -> Mapping[str, Any]:
    from cpm_analysis.kpis import KPIS  # lazily: the KPI modules read their defaults from here

    unknown = [k for k in value if k not in KPIS]
    if unknown:
        raise ValueError(
            f"unknown KPI id {unknown[0]!r}; the registry has {', '.join(sorted(KPIS))}"
        )
    return value


def _positive_total(value: Mapping[str, float]) -> Mapping[str, float]:
    if not value or sum(value.values()) <= 0:
        raise ValueError("at least one weight must be positive (the weights must sum to > 0)")
    return value


Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_AsDict = PlainSerializer(dict, return_type=dict)
Weights = Annotated[
    Mapping[str, Weight],
    AfterValidator(_known_kpis),
    AfterValidator(_positive_total),
    AfterValidator(_freeze),
    _AsDict,
]
Actions = Annotated[
    Mapping[str, str], AfterValidator(_known_kpis), AfterValidator(_freeze), _AsDict
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class SLAConfig(_Section):
    """``sla``: the service level the service KPIs are measured against."""

    first_response_hours: float = Field(24.0, gt=0, allow_inf_nan=False)
    """Hours within which a ticket must get its first response (``sla_compliance``)."""


# The activity and opportunity KPIs take 20% of each scorecard; the others keep their relative
# weights (0.8 x the earlier ones), so a dataset without activities or opportunities scores
# exactly as before: the weights are renormalised over the KPIs a person has a score for.
_OWNER_WEIGHTS = {
    "revenue": 0.28,
    "new_customers": 0.16,
    "retention_rate": 0.16,
    "complaint_rate": 0.08,
    "csat": 0.12,
    "opportunity_win_rate": 0.08,
    "at_risk_follow_up_rate": 0.07,
    "visit_success_rate": 0.05,
}
_AGENT_WEIGHTS = {
    "tickets": 0.12,
    "first_response_hours": 0.16,
    "resolution_hours": 0.12,
    "sla_compliance": 0.16,
    "csat": 0.16,
    "complaint_share": 0.08,
    "inquiry_conversion": 0.10,
    "complaint_resolution_hours": 0.10,
}


class TargetsConfig(_Section):
    """``targets``: how a KPI is set against its SMART target."""

    at_risk_band: float = Field(0.05, ge=0, lt=1, allow_inf_nan=False)
    """Width of the "at risk" band below a target, as a share of it: attainment in
    ``[1 - band, 1)`` is ``at risk``, below it ``missed``."""


class ScorecardConfig(_Section):
    """``scorecard``: the KPIs of the owner and agent scorecards, their weights, the scoring."""

    owner_weights: Weights = Field(default_factory=lambda: _freeze(_OWNER_WEIGHTS))
    """KPI id -> weight of the owner (sales) scorecard; the keys are its KPIs (replaces the
    default set)."""
    agent_weights: Weights = Field(default_factory=lambda: _freeze(_AGENT_WEIGHTS))
    """KPI id -> weight of the agent (service) scorecard; the keys are its KPIs."""
    attainment_cap: float = Field(1.2, gt=0, allow_inf_nan=False)
    """Attainment at or above which a KPI scores 100 (meeting the target scores 100 / cap)."""
    history: int = Field(3, ge=1)
    """Periods scored for the ranking rules, the reported one included."""


class AssessmentConfig(_Section):
    """``assessment``: self and manager assessment, and their blend with the KPI score."""

    self_weight: float = Field(0.3, ge=0, allow_inf_nan=False)
    """Weight of the self-assessment in the assessment score (renormalised with the manager's)."""
    manager_weight: float = Field(0.7, ge=0, allow_inf_nan=False)
    """Weight of the manager's assessment in the assessment score."""
    peer_weight: float = Field(0.0, ge=0, allow_inf_nan=False)
    """Weight of the peers' assessment (``assessments.peer_score``); 0: not used."""
    subordinate_weight: float = Field(0.0, ge=0, allow_inf_nan=False)
    """Weight of the subordinates' assessment (``assessments.subordinate_score``); 0: not used."""
    customer_weight: float = Field(0.0, ge=0, allow_inf_nan=False)
    """Weight of the customers' assessment (``assessments.customer_score``); 0: not used."""
    kpi_share: float = Field(0.5, ge=0, le=1, allow_inf_nan=False)
    """Share of the KPI score in the composite; the rest is the assessment. 0 is the pure
    assessment scheme of the CPM method (30% self + 70% manager)."""

    @model_validator(mode="after")
    def _some_weight(self) -> AssessmentConfig:
        if self.self_weight + self.manager_weight <= 0:
            raise ValueError("self_weight and manager_weight must not both be 0")
        return self

    @property
    def share(self) -> float:
        """The assessment's share in the composite (``1 - kpi_share``)."""
        return 1.0 - self.kpi_share

    @property
    def weights(self) -> dict[str, float]:
        """``{"self": ..., "manager": ...}``, as :func:`cpm_analysis.teams.owner_scorecard` takes them."""
        out = {"self": self.self_weight, "manager": self.manager_weight}
        for name in ("peer", "subordinate", "customer"):
            if getattr(self, f"{name}_weight") > 0:
                out[name] = getattr(self, f"{name}_weight")
        return out


WithinNoise = Literal["spare", "mark", "ignore"]
"""What a ranking rule does when the place that triggers it lies within noise (the score
intervals of :func:`cpm_analysis.teams.apply_rules` overlap): ``spare`` does not apply it (the
person is flagged ``within_noise`` with why), ``mark`` applies it and says in the reason that
the place is within noise, ``ignore`` applies it on the point scores alone."""


class RewardRule(_Section):
    """``ranking.reward``: the first place of a period."""

    enabled: bool = True
    """Flag the top performer of each period ``reward``."""
    within_noise: WithinNoise = "mark"
    """A first place within noise of others is still rewarded, and the reason says so."""
    action: str = N_("Recognise the result (top performer of the period).")
    """The action written into the report's improvement actions."""


class PenaltyRule(_Section):
    """``ranking.penalty``: the last place of a period."""

    enabled: bool = False
    """Flag the last place of each period ``penalty`` (off by default)."""
    within_noise: WithinNoise = "spare"
    """No penalty for a last place within noise of others (their score intervals overlap)."""
    action: str = N_("Apply the last-place consequence of the appraisal scheme with their manager.")
    """The action written into the report's improvement actions."""


class ImprovementPlanRule(_Section):
    """``ranking.improvement_plan``: the bottom of a period."""

    bottom: int = Field(2, ge=0)
    """How many of the bottom are flagged ``improvement_plan`` (0: the rule is off)."""
    deadline_days: int = Field(30, ge=1)
    """Days after the period's end by which the improvement plan is due (``plan_due``)."""
    within_noise: WithinNoise = "mark"
    """A bottom place within noise still gets the plan, and the reason says how high the
    person could rank within noise."""
    action: str = N_("Agree a written improvement plan with their manager this month.")
    """The action written into the report's improvement actions."""


class ReviewRule(_Section):
    """``ranking.review``: repeated last places."""

    after_periods: int = Field(3, ge=0)
    """Consecutive periods in last place that flag ``review`` (0: the rule is off)."""
    within_noise: WithinNoise = "spare"
    """With ``spare`` only last places clear of noise count towards the run."""
    action: str = N_("Performance review: last place for several consecutive periods.")
    """The action written into the report's improvement actions."""


class RankingConfig(_Section):
    """``ranking``: the rules applied to the ranked owner and agent scorecards."""

    reward: RewardRule = Field(default_factory=RewardRule)
    penalty: PenaltyRule = Field(default_factory=PenaltyRule)
    improvement_plan: ImprovementPlanRule = Field(default_factory=ImprovementPlanRule)
    review: ReviewRule = Field(default_factory=ReviewRule)
    noise_level: float = Field(0.9, gt=0, lt=1, allow_inf_nan=False)
    """Coverage of the KPI intervals behind the score intervals the rules are checked against."""

    @property
    def within_noise(self) -> dict[str, str]:
        """Rule name -> its ``within_noise`` setting."""
        return {
            "improvement_plan": self.improvement_plan.within_noise,
            "review": self.review.within_noise,
            "reward": self.reward.within_noise,
            "penalty": self.penalty.within_noise,
        }

    @property
    def actions(self) -> dict[str, str]:
        """Rule name (as in a scorecard's ``flags``) -> action."""
        return {
            "improvement_plan": self.improvement_plan.action,
            "review": self.review.action,
            "reward": self.reward.action,
            "penalty": self.penalty.action,
        }


class CLVConfig(_Section):
    """``clv``: the customer lifetime value of the scored table."""

    horizon_months: int = Field(12, ge=1, le=120)
    """Months of future value summed."""
    monthly_discount_rate: float = Field(0.01, ge=0, lt=1, allow_inf_nan=False)
    """Discount rate per month of the future value."""
    model: Literal["auto", "BG/NBD", "Pareto/NBD", "MBG/NBD", "BG/BB", "sBG"] = "auto"
    """The purchase model: ``auto`` chooses it on a holdout each period
    (:func:`cpm_analysis.clv.selection.choose_value_model`); a model name pins it (the
    comparison is still shown). The names are :data:`cpm_analysis.clv.selection.MODEL_NAMES`."""
    contract_period: Literal["week", "month", "quarter", "year"] = "month"
    """The contract period of the contractual (sBG) route: how often a contract renews
    (:func:`cpm_analysis.clv.contract_periods`: a week is 7 days, a month 365.25 / 12, a quarter
    365.25 / 4 and a year 365.25 days)."""


def _days(text: str) -> str:
    import pandas as pd

    try:
        value = pd.Timedelta(text)
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not a duration; write days such as '90D'") from None
    if value <= pd.Timedelta(0) or value != value.round("D"):
        raise ValueError(f"{text!r}: expected a positive whole number of days such as '90D'")
    return f"{value.days}D"


Days = Annotated[str, AfterValidator(_days)]


class ChurnWindowConfig(_Section):
    """One churn definition: customers active in ``active_window`` who do not buy in ``horizon``."""

    horizon: Days
    """Days after the cutoff in which a customer who does not buy has churned (``"90D"``)."""
    active_window: Days
    """Days before the cutoff in which a customer must have bought to be in the base."""


_WINDOWS = (
    ("90D", "365D"),
    ("90D", "180D"),
    ("60D", "180D"),
    ("60D", "120D"),
    ("30D", "90D"),
)


class ChurnConfig(_Section):
    """``churn``: the churn definitions, the standard one first."""

    windows: tuple[ChurnWindowConfig, ...] = Field(
        default_factory=lambda: tuple(
            ChurnWindowConfig.model_construct(horizon=h, active_window=a) for h, a in _WINDOWS
        ),
        min_length=1,
    )
    """Churn windows, longest first: the first is the standard one; the model uses the first
    the history can train out of time, and says when it is not the standard."""

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The windows as ``(horizon, active_window)`` pairs."""
        return tuple((w.horizon, w.active_window) for w in self.windows)


def _tier_shares(value: tuple[float, ...]) -> tuple[float, ...]:
    from cpm_analysis.segments.tiers import check_shares

    shares, _ = check_shares(value, None)
    return tuple(shares)


class SegmentsConfig(_Section):
    """``segments``: value tiers and the RFM segment map."""

    tier_shares: Annotated[tuple[float, ...], AfterValidator(_tier_shares)] = (0.8, 0.15, 0.05)
    """Each tier's share of the total value, best tier (A) first; positive, summing to 1."""
    map: str | None = None
    """A segment map file (YAML or CSV, see :func:`~cpm_analysis.segments.load_segment_map`),
    relative to the configuration file; ``null``: the built-in map."""
    _path: Path | None = PrivateAttr(default=None)

    @field_validator("map")
    @classmethod
    def _read_map(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        from cpm_analysis.segments import load_segment_map

        base = (info.context or {}).get("base") if info.context else None
        path = Path(value) if base is None else Path(base) / value
        load_segment_map(path)  # raises ValueError naming the problem
        return value

    @model_validator(mode="after")
    def _resolve(self, info: ValidationInfo) -> SegmentsConfig:
        if self.map is not None:
            base = (info.context or {}).get("base") if info.context else None
            self._path = Path(self.map) if base is None else Path(base) / self.map
        return self

    @property
    def segment_map(self) -> Any:
        """The segment map to use (a path, or ``None`` for the built-in map)."""
        return self._path


_KPI_ACTIONS = {
    "revenue": N_(
        "Focus the owners on their tier-A accounts and the Loyal segment (upsell, "
        "loyalty programme); review pricing and the pipeline of large orders."
    ),
    "orders": N_("Run a repeat-purchase campaign for Potential Loyalists and Promising customers."),
    "aov": N_("Bundle and upsell related products at checkout and in owner calls."),
    "active_customers": N_(
        "Reactivate the At Risk and About to Sleep segments with a targeted win-back offer."
    ),
    "new_customers": N_(
        "Review acquisition channels with marketing; put a referral ask to Champions."
    ),
    "revenue_per_customer": N_("Cross-sell to active customers with one category only."),
    "purchase_frequency": N_("Remind customers before their usual repurchase date."),
    "repeat_rate": N_("Onboard first-time buyers (welcome series, second-purchase incentive)."),
    "retention_rate": N_(
        "Work the churn risk list: owners call the customers with the largest expected loss first."
    ),
    "churn_rate": N_(
        "Work the churn risk list: owners call the customers with the largest expected loss first."
    ),
    "refund_rate": N_("Analyse refunds by category and product with operations."),
    "complaint_rate": N_(
        "Root-cause the complaint categories of the period with the service "
        "team; call back every complainant."
    ),
    "complaint_share": N_(
        "Root-cause the complaint categories of the period with the service team."
    ),
    "first_response_hours": N_("Rebalance ticket queues and staff the peak hours."),
    "resolution_hours": N_(
        "Escalate tickets open longer than two days; review the slowest categories."
    ),
    "sla_compliance": N_(
        "Rebalance ticket queues and staff the peak hours to answer within the SLA."
    ),
    "csat": N_("Review low-rated tickets with the agents; coach on the top complaint reasons."),
    "nps": N_(
        "Call back detractors within a week; share the main detractor themes with the teams."
    ),
    "tickets": N_("Find the drivers of ticket volume (product, delivery) and fix the top one."),
    "predicted_clv": N_("Grow value in the growth segments (loyalty programme, cross-sell)."),
    "revenue_at_risk": N_(
        "Work the churn risk list, largest expected loss first.",
    ),
}


def _merge_actions(value: Mapping[str, str]) -> dict[str, str]:
    return {**_KPI_ACTIONS, **dict(value)}


class ActionsConfig(_Section):
    """``actions``: the standard actions of the report's improvement actions."""

    kpis: Annotated[Actions, AfterValidator(_merge_actions), AfterValidator(_freeze)] = Field(
        default_factory=lambda: _freeze(_KPI_ACTIONS)
    )
    """KPI id -> the action for a missed or at-risk target; merged over the defaults."""
    risk_list_size: int = Field(25, ge=1)
    """Customers with the largest expected loss the churn action asks to call."""


class WindowsConfig(_Section):
    """``windows``: the day windows of the activity KPIs and of campaign response."""

    at_risk_days: int = Field(60, ge=1)
    """Days after a paid order without another after which a customer is at risk
    (``at_risk_follow_up_rate``)."""
    follow_up_days: int = Field(14, ge=1)
    """Days after becoming at risk within which an activity counts as the follow-up
    (``at_risk_follow_up_rate``)."""
    inquiry_order_days: int = Field(30, ge=1)
    """Days after an inquiry within which a paid order converts it (``inquiry_conversion``)."""
    campaign_response_days: int = Field(30, ge=1)
    """Days after a campaign contact within which a paid order is its response (page 06)."""
    campaign_lookback_months: int = Field(12, ge=1)
    """Months of campaign contacts, up to the period's end, that page 06 scores (campaigns run
    a few times a year, so one month seldom holds one)."""
    action_due_days: int = Field(30, ge=1)
    """Days after the period's end by which each customer of the action list
    (``care_campaign.csv``) is due to be contacted (its ``due_date``)."""


class ReportConfig(_Section):
    """``report``: how the published pages show people."""

    staff_names: Literal["name", "pseudonym"] = "name"
    """How account owners, agents and managers are shown (:mod:`cpm_analysis.staff`):
    ``name``, ``Yuki Mensah (S001)``, for reports meant for the company; ``pseudonym``, the
    staff id only, for reports shared outside it. A customer's name is never shown."""


_CURRENCY = re.compile(r"^[A-Z]{3}$")
_LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


class CPMConfig(_Section):
    """The whole configuration; every section and key is optional (the defaults apply).

    Examples
    --------
    >>> CPMConfig().ranking.improvement_plan.bottom
    2
    >>> CPMConfig.model_validate({"currency": "EUR"}).currency
    'EUR'
    """

    sla: SLAConfig = Field(default_factory=SLAConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    scorecard: ScorecardConfig = Field(default_factory=ScorecardConfig)
    assessment: AssessmentConfig = Field(default_factory=AssessmentConfig)
    ranking: RankingConfig = Field(default_factory=RankingConfig)
    clv: CLVConfig = Field(default_factory=CLVConfig)
    churn: ChurnConfig = Field(default_factory=ChurnConfig)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    windows: WindowsConfig = Field(default_factory=WindowsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    currency: str | None = None
    """ISO 4217 code of the amounts (``EUR``, ``CNY``); ``null``: amounts are shown without one."""
    locale: str = "en"
    """Language of the reports and the locale of their formats (``en``, ``zh``, ``en-GB``,
    ``zh-CN``; see :mod:`cpm_analysis.i18n`); ``cpm report --lang`` overrides it."""
    _source: str = PrivateAttr(default="defaults")

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not _CURRENCY.match(value):
            raise ValueError(f"expected a three-letter ISO 4217 code such as 'EUR', got {value!r}")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if not _LOCALE.match(value):
            raise ValueError(f"expected a language tag such as 'en' or 'zh-CN', got {value!r}")
        from cpm_analysis.i18n import format_locale

        format_locale(value, name="")  # a language the reports have, with a known region
        return value

    @model_validator(mode="after")
    def _history_covers_review(self) -> CPMConfig:
        after = self.ranking.review.after_periods
        if after > self.scorecard.history:
            raise ValueError(
                f"ranking.review.after_periods ({after}) needs scorecard.history >= {after}"
            )
        return self

    def __eq__(self, other: object) -> bool:
        """Equal when every key is (where the configuration came from does not count)."""
        if not isinstance(other, CPMConfig):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @property
    def source(self) -> str:
        """Where the configuration came from: the file name, or ``"defaults"``."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """Return the effective configuration as plain JSON types (for ``metrics.json``).

        Examples
        --------
        >>> CPMConfig().to_dict()["assessment"]["manager_weight"]
        0.7
        """
        return self.model_dump(mode="json")


DEFAULT_CONFIG = CPMConfig()
"""The defaults: the package's behaviour without a configuration file."""


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        parent: Any = CPMConfig
        for part in loc[:-1]:
            fields = getattr(parent, "model_fields", {})
            if part not in fields:
                parent = None
                break
            parent = fields[part].annotation
        known = ", ".join(getattr(parent, "model_fields", {})) if parent is not None else ""
        return f"key {_location(loc)}: unknown key" + (
            f" (expected one of: {known})" if known else ""
        )
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"key {_location(loc)}: {message}" if loc else message


def _format(err: ValidationError, where: str) -> str:
    errors = err.errors(include_url=False)
    first = _describe(errors[0]) if errors else str(err)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    joint = ", " if first.startswith("key ") else ": "
    return f"{where}{joint}{first}{more}"


def parse_config(
    content: Any, *, source: str = "configuration", base: str | os.PathLike | None = None
) -> CPMConfig:
    """Validate a configuration mapping (a parsed YAML/TOML file) into a :class:`CPMConfig`.

    Parameters
    ----------
    content : mapping or None
        The parsed file; ``None`` (an empty file) gives the defaults.
    source : str
        The file name used in error messages and as :attr:`CPMConfig.source`.
    base : path, optional
        The folder relative paths (``segments.map``) are read from.

    Raises
    ------
    ConfigError
        Naming the source and the key, e.g. ``cpm.yaml, key scorecard.owner_weights.revenue:
        Input should be greater than or equal to 0``.

    Examples
    --------
    >>> parse_config({"scorecard": {"owner_weights": {"revenue": -1}}}, source="cpm.yaml")
    Traceback (most recent call last):
    ...
    cpm_analysis.config.ConfigError: cpm.yaml, key scorecard.owner_weights.revenue: Input should be greater than or equal to 0
    """
    if content is None:
        content = {}
    if not isinstance(content, Mapping):
        raise ConfigError(
            f"{source}: expected a mapping of sections (sla, scorecard, ...), got "
            f"{type(content).__name__}"
        )
    context = {"base": str(base)} if base is not None else None
    try:
        config = CPMConfig.model_validate(dict(content), context=context)
    except ValidationError as err:
        raise ConfigError(_format(err, source)) from None
    except ValueError as err:  # raised outside pydantic's wrapping (should not happen)
        raise ConfigError(f"{source}: {err}") from None
    config._source = source
    return config


def read_config(path: str | os.PathLike) -> CPMConfig:
    """Read and validate one configuration file (``.yaml``, ``.yml`` or ``.toml``).

    Raises
    ------
    ConfigError
        For a missing or unreadable file, bad YAML/TOML, or a value that does not validate.

    Examples
    --------
    >>> read_config("docs/cpm.example.yaml").ranking.review.after_periods
    3
    """
    file = Path(path)
    name = file.name
    if not file.is_file():
        raise ConfigError(f"{name}: configuration file not found ({file})")
    suffix = file.suffix.lower()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{name}: cannot read the configuration file ({err})") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            content = yaml.safe_load(text)
        except yaml.YAMLError as err:
            problem = " ".join(str(err).split())
            raise ConfigError(f"{name}: not valid YAML ({problem})") from None
    elif suffix == ".toml":
        try:
            content = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{name}: not valid TOML ({err})") from None
    else:
        raise ConfigError(f"{name}: expected a .yaml, .yml or .toml configuration file")
    return parse_config(content, source=name, base=file.parent)


def find_config(data_folder: str | os.PathLike | None) -> Path | None:
    """Find the configuration file of a data folder (:data:`CONFIG_NAMES`), or ``None``.

    Raises
    ------
    ConfigError
        When the folder holds more than one of them.

    Examples
    --------
    >>> find_config(None) is None
    True
    """
    if data_folder is None or not Path(data_folder).is_dir():
        return None
    found = [Path(data_folder) / n for n in CONFIG_NAMES if (Path(data_folder) / n).is_file()]
    if len(found) > 1:
        raise ConfigError(
            f"{data_folder}: holds {' and '.join(p.name for p in found)}; keep one configuration"
        )
    return found[0] if found else None


def load_config(
    path: str | os.PathLike | None = None, data_folder: str | os.PathLike | None = None
) -> CPMConfig:
    """Load the configuration of a run.

    ``path`` if given, else the data folder's ``cpm.yaml``/``cpm.toml``, else
    :data:`DEFAULT_CONFIG`.

    Parameters
    ----------
    path : path, optional
        A configuration file (``--config``); it must exist.
    data_folder : path, optional
        The data folder searched when ``path`` is not given.

    Returns
    -------
    CPMConfig
        ``source`` says which file it came from (``"defaults"`` without one).

    Raises
    ------
    ConfigError
        One line naming the file and the key.

    Examples
    --------
    >>> load_config().source
    'defaults'
    >>> load_config() == DEFAULT_CONFIG
    True
    """
    if path is not None:
        return read_config(path)
    found = find_config(data_folder)
    return read_config(found) if found is not None else DEFAULT_CONFIG
