"""The built-in KPIs, one small function each; the docstring is the exact definition.

Conventions shared by every definition (period ``P``, cutoff = the last instant of ``P``):

- *paid orders* have status ``paid`` or no status; *refunded* orders have status ``refunded``
  and a negative amount; cancelled orders never count;
- "dated in P" means ``P.start <= date <= cutoff``; everything is seen as at the cutoff (see
  :mod:`cpm_analysis.kpis.context`);
- shares are fractions in [0, 1]; a ratio whose denominator is 0 is undefined (NaN), not 0;
- with a breakdown (``by``), each customer's orders, tickets, survey answers, activities and
  opportunities count in the customer's group (by ``agent_id``: tickets in the agent's group,
  activities in that of their ``staff_id``, opportunities in that of their ``owner_id``).

Examples
--------
>>> from cpm_analysis.kpis import KPIS
>>> print(KPIS["repeat_rate"].description)
Share of active customers with 2 or more paid orders dated in the period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cpm_analysis.data.schema import OPPORTUNITY_STAGES
from cpm_analysis.kpis.context import KPIContext
from cpm_analysis.kpis.registry import register_kpi

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

# --- sales ------------------------------------------------------------------------------------


@register_kpi(
    "revenue",
    label_en="Revenue",
    label_zh="销售收入",
    unit="currency",
    direction="higher",
    needs=("orders",),
    additive=True,
)
def revenue(ctx: KPIContext) -> np.ndarray:
    """Sum of amount over paid orders dated in the period."""
    return ctx.group_sum(ctx.paid["group"], ctx.paid["amount"])


@register_kpi(
    "orders",
    label_en="Orders",
    label_zh="订单数",
    unit="orders",
    direction="higher",
    needs=("orders",),
    additive=True,
)
def orders(ctx: KPIContext) -> np.ndarray:
    """Number of paid orders dated in the period."""
    return ctx.group_sum(ctx.paid["group"])


@register_kpi(
    "aov",
    label_en="Average order value",
    label_zh="客单价",
    unit="currency",
    direction="higher",
    needs=("orders",),
)
def aov(ctx: KPIContext) -> np.ndarray:
    """Revenue / orders."""
    return ctx.ratio(ctx.kpi("revenue"), ctx.kpi("orders"))


@register_kpi(
    "active_customers",
    label_en="Active customers",
    label_zh="活跃客户数",
    unit="customers",
    direction="higher",
    needs=("orders",),
    additive=True,
)
def active_customers(ctx: KPIContext) -> np.ndarray:
    """Distinct customers with a paid order dated in the period."""
    return ctx.group_sum(ctx.active["group"])


@register_kpi(
    "new_customers",
    label_en="New customers",
    label_zh="新客户数",
    unit="customers",
    direction="higher",
    needs=("orders",),
    additive=True,
)
def new_customers(ctx: KPIContext) -> np.ndarray:
    """Customers whose first paid order ever is dated in the period."""
    return ctx.group_sum(ctx.new_customers["group"])


@register_kpi(
    "revenue_per_customer",
    label_en="Revenue per active customer",
    label_zh="客均收入",
    unit="currency",
    direction="higher",
    needs=("orders",),
)
def revenue_per_customer(ctx: KPIContext) -> np.ndarray:
    """Revenue / active customers."""
    return ctx.ratio(ctx.kpi("revenue"), ctx.kpi("active_customers"))


@register_kpi(
    "purchase_frequency",
    label_en="Purchase frequency",
    label_zh="购买频次",
    unit="orders per customer",
    direction="higher",
    needs=("orders",),
)
def purchase_frequency(ctx: KPIContext) -> np.ndarray:
    """Orders / active customers."""
    return ctx.ratio(ctx.kpi("orders"), ctx.kpi("active_customers"))


@register_kpi(
    "repeat_rate",
    label_en="Repeat purchase rate",
    label_zh="复购率",
    unit="share",
    direction="higher",
    needs=("orders",),
)
def repeat_rate(ctx: KPIContext) -> np.ndarray:
    """Share of active customers with 2 or more paid orders dated in the period."""
    active = ctx.active
    return ctx.ratio(
        ctx.group_sum(active["group"], active["orders"] >= 2), ctx.kpi("active_customers")
    )


@register_kpi(
    "retention_rate",
    label_en="Customer retention rate",
    label_zh="客户留存率",
    unit="share",
    direction="higher",
    needs=("orders",),
)
def retention_rate(ctx: KPIContext) -> np.ndarray:
    """Of the customers active in the previous period, the share also active in this one.

    With contract ends (the customers table has ``churned_at``): of the customers whose
    contract was running at the previous period's cutoff (signed up by it, no ``churned_at`` by
    it), the share whose contract is still running at this cutoff (no ``churned_at`` by it),
    whatever their orders.
    """
    base = ctx.retention
    return ctx.ratio(ctx.group_sum(base["group"], base["retained"]), ctx.group_sum(base["group"]))


@register_kpi(
    "churn_rate",
    label_en="Customer churn rate",
    label_zh="客户流失率",
    unit="share",
    direction="lower",
    needs=("orders",),
)
def churn_rate(ctx: KPIContext) -> np.ndarray:
    """1 - retention rate: the share of the previous period's active customers not active now.

    With contract ends: the share of the contracts running at the previous period's cutoff
    that ended (``churned_at``) in this period, by its cutoff.
    """
    return 1.0 - ctx.kpi("retention_rate")


@register_kpi(
    "refund_rate",
    label_en="Refund rate",
    label_zh="退款率",
    unit="share",
    direction="lower",
    needs=("orders",),
)
def refund_rate(ctx: KPIContext) -> np.ndarray:
    """|refunded| / (paid + |refunded|): absolute amount of refunded orders dated in the period
    over the amount of paid orders plus the absolute amount of refunded orders dated in it.
    """
    refunds = np.abs(ctx.group_sum(ctx.refunded["group"], ctx.refunded["amount"]))
    return ctx.ratio(refunds, ctx.kpi("revenue") + refunds)


# --- service ----------------------------------------------------------------------------------


@register_kpi(
    "complaint_rate",
    label_en="Complaints per 100 active customers",
    label_zh="投诉率",
    unit="per 100 customers",
    direction="lower",
    needs=("tickets.is_complaint",),
)
def complaint_rate(ctx: KPIContext) -> np.ndarray:
    """100 x tickets opened in the period with is_complaint true / active customers.

    A ticket whose is_complaint is unknown is not a complaint.
    """
    tickets = ctx.tickets
    complaints = ctx.group_sum(tickets["group"], tickets["is_complaint"] == 1.0)
    return 100.0 * ctx.ratio(complaints, ctx.kpi("active_customers"))


@register_kpi(
    "tickets",
    label_en="Tickets opened",
    label_zh="工单数",
    unit="tickets",
    direction="lower",
    needs=("tickets",),
    additive=True,
)
def tickets(ctx: KPIContext) -> np.ndarray:
    """Number of tickets opened in the period."""
    return ctx.group_sum(ctx.tickets["group"])


@register_kpi(
    "complaint_share",
    label_en="Complaint share of tickets",
    label_zh="投诉工单占比",
    unit="share",
    direction="lower",
    needs=("tickets.is_complaint",),
)
def complaint_share(ctx: KPIContext) -> np.ndarray:
    """Share of the tickets opened in the period that are complaints (tickets whose
    is_complaint is unknown are left out).
    """
    flag = ctx.tickets["is_complaint"]
    return ctx.group_mean(ctx.tickets["group"], flag)


@register_kpi(
    "first_response_hours",
    label_en="First response time (median)",
    label_zh="首次响应时长",
    unit="hours",
    direction="lower",
    needs=("tickets.first_response_at",),
)
def first_response_hours(ctx: KPIContext) -> np.ndarray:
    """Median hours from opening to first response, over tickets opened in the period that have
    a response by the cutoff.
    """
    return ctx.group_median(ctx.tickets["group"], ctx.tickets["response_hours"])


@register_kpi(
    "resolution_hours",
    label_en="Resolution time (median)",
    label_zh="解决时长",
    unit="hours",
    direction="lower",
    needs=("tickets.resolved_at",),
)
def resolution_hours(ctx: KPIContext) -> np.ndarray:
    """Median hours from opening to resolution, over tickets opened in the period that are
    resolved by the cutoff.
    """
    return ctx.group_median(ctx.tickets["group"], ctx.tickets["resolution_hours"])


def sla_outcome(
    response_hours: ArrayLike, age_hours: ArrayLike, sla_hours: float
) -> tuple[np.ndarray, np.ndarray]:
    """The SLA rule of ``sla_compliance``: which tickets met and which breached the SLA.

    ``met``: first answered within ``sla_hours`` (exactly at it counts as met); ``breached``:
    answered later, or unanswered at the cutoff and older than the SLA. A ticket unanswered
    and still within the SLA is neither.

    Examples
    --------
    >>> met, breached = sla_outcome([2.0, 30.0, np.nan, np.nan], [50, 50, 30, 5], 24)
    >>> met.tolist(), breached.tolist()
    ([True, False, False, False], [False, True, True, False])
    """
    hours = np.asarray(response_hours, dtype=float)
    age = np.asarray(age_hours, dtype=float)
    met = hours <= sla_hours
    breached = (hours > sla_hours) | (np.isnan(hours) & (age > sla_hours))
    return met, breached


@register_kpi(
    "sla_compliance",
    label_en="First-response SLA compliance",
    label_zh="SLA达成率",
    unit="share",
    direction="higher",
    needs=("tickets.first_response_at",),
)
def sla_compliance(ctx: KPIContext) -> np.ndarray:
    """Share of tickets opened in the period first answered within the SLA (``sla_hours``,
    default 24; a response exactly at the SLA counts as met). A ticket unanswered at the cutoff
    and older than the SLA is a breach; one unanswered but still within the SLA at the cutoff
    is left out of the share.
    """
    tickets = ctx.tickets
    met, breached = sla_outcome(tickets["response_hours"], tickets["age_hours"], ctx.sla_hours)
    return ctx.ratio(
        ctx.group_sum(tickets["group"], met), ctx.group_sum(tickets["group"], met | breached)
    )


@register_kpi(
    "csat",
    label_en="Customer satisfaction (CSAT)",
    label_zh="客户满意度",
    unit="score 1-5",
    direction="higher",
    needs=("tickets.satisfaction", "tickets.resolved_at"),
)
def csat(ctx: KPIContext) -> np.ndarray:
    """Mean satisfaction (1-5) of the tickets resolved in the period that have a rating.

    A ticket counts in the period it was resolved in, whenever it was opened.
    """
    resolved = ctx.resolved_tickets
    return ctx.group_mean(resolved["group"], resolved["satisfaction"])


PROMOTER_MIN = 9
"""An NPS answer (0-10) at or above this is a promoter's."""
DETRACTOR_MAX = 6
"""An NPS answer (0-10) at or below this is a detractor's."""


@register_kpi(
    "nps",
    label_en="Net Promoter Score",
    label_zh="净推荐值",
    unit="NPS points (-100 to 100)",
    direction="higher",
    needs=("surveys",),
)
def nps(ctx: KPIContext) -> np.ndarray:
    """100 x (share of survey answers in the period scoring 9-10 minus share scoring 0-6)."""
    surveys = ctx.surveys
    score = surveys["score"].to_numpy()
    net = (score >= PROMOTER_MIN).astype(float) - (score <= DETRACTOR_MAX).astype(float)
    return 100.0 * ctx.group_mean(surveys["group"], np.where(np.isnan(score), np.nan, net))


# --- models -----------------------------------------------------------------------------------


@register_kpi(
    "predicted_clv",
    label_en="Predicted 12-month CLV (active customers)",
    label_zh="预测客户终身价值",
    unit="currency",
    direction="higher",
    needs=("scores.clv",),
)
def predicted_clv(ctx: KPIContext) -> np.ndarray:
    """Mean 12-month CLV from the scored customer table over the customers active in the period
    (active customers without a score are left out, with a note).
    """
    scored = ctx.scored
    active = scored.loc[scored["active"]]
    unscored = len(ctx.active) - len(active)
    if unscored:
        ctx.note(f"{unscored} of {len(ctx.active)} active customers have no CLV score")
    return ctx.group_mean(active["group"], active["clv"])


@register_kpi(
    "revenue_at_risk",
    label_en="Revenue at risk",
    label_zh="风险收入",
    unit="currency",
    direction="lower",
    needs=("scores.clv", "scores.churn_probability"),
    additive=True,
)
def revenue_at_risk(ctx: KPIContext) -> np.ndarray:
    """Sum of churn probability x 12-month CLV over the scored customers signed up by the
    cutoff.
    """
    scored = ctx.scored
    return ctx.group_sum(scored["group"], scored["churn_probability"] * scored["clv"])


# --- activities ---------------------------------------------------------------------------------


def _success_rate(ctx: KPIContext, kind: str) -> np.ndarray:
    acts = ctx.activities
    acts = acts.loc[(acts["type"] == kind).to_numpy()]
    outcome = acts["outcome"]
    success = np.where(outcome.isna(), np.nan, (outcome == "success").astype(float))
    return ctx.group_mean(acts["group"], success)


@register_kpi(
    "visit_success_rate",
    label_en="Visit success rate",
    label_zh="拜访成功率",
    unit="share",
    direction="higher",
    needs=("activities.outcome",),
)
def visit_success_rate(ctx: KPIContext) -> np.ndarray:
    """Share of the activities of type visit dated in the period whose outcome is success
    (visits without an outcome are left out).
    """
    return _success_rate(ctx, "visit")


@register_kpi(
    "call_success_rate",
    label_en="Call success rate",
    label_zh="电话成功率",
    unit="share",
    direction="higher",
    needs=("activities.outcome",),
)
def call_success_rate(ctx: KPIContext) -> np.ndarray:
    """Share of the activities of type call dated in the period whose outcome is success
    (calls without an outcome are left out).
    """
    return _success_rate(ctx, "call")


@register_kpi(
    "at_risk_follow_up_rate",
    label_en="At-risk follow-up rate",
    label_zh="风险客户跟进率",
    unit="share",
    direction="higher",
    needs=("orders", "activities"),
)
def at_risk_follow_up_rate(ctx: KPIContext) -> np.ndarray:
    """Share of the customers becoming at risk in the period that had an activity (any type,
    by anyone) within 14 days of becoming at risk. A customer becomes at risk 60 days after a
    paid order that no paid order follows within those 60 days; each such moment in the period
    counts once. One whose 14 days are not over at the cutoff and who has no activity yet is
    left out. The 60 and 14 days are the defaults of windows.at_risk_days and
    windows.follow_up_days in the configuration.
    """
    risk = ctx.at_risk
    return ctx.group_mean(risk["group"], risk["followed"])


# --- opportunities ------------------------------------------------------------------------------


@register_kpi(
    "opportunity_win_rate",
    label_en="Opportunity win rate",
    label_zh="商机赢单率",
    unit="share",
    direction="higher",
    needs=("opportunities.closed_at", "opportunities.won"),
)
def opportunity_win_rate(ctx: KPIContext) -> np.ndarray:
    """Won / closed, over the opportunities closed (won or lost) in the period."""
    closed = ctx.closed_opportunities
    return ctx.group_mean(closed["group"], closed["won"])


@register_kpi(
    "sales_cycle_days",
    label_en="Average sales cycle",
    label_zh="平均销售周期",
    unit="days",
    direction="lower",
    needs=("opportunities.closed_at",),
)
def sales_cycle_days(ctx: KPIContext) -> np.ndarray:
    """Mean days from created_at to closed_at over the opportunities closed (won or lost) in
    the period.
    """
    closed = ctx.closed_opportunities
    return ctx.group_mean(closed["group"], closed["cycle_days"])


def _stage_conversion(step: int):
    before, after = OPPORTUNITY_STAGES[step - 1], OPPORTUNITY_STAGES[step]

    def conversion(ctx: KPIContext) -> np.ndarray:
        closed = ctx.closed_opportunities
        stage = closed["stage"].to_numpy()
        reached = stage >= step - 1
        passed = np.where(reached, (stage >= step).astype(float), np.nan)
        return ctx.group_mean(closed["group"], passed)

    conversion.__doc__ = (
        f"Of the opportunities closed in the period whose stage reached {before}, the share "
        f"that reached {after} (stage is the furthest stage reached, in the order "
        f"{', '.join(OPPORTUNITY_STAGES)}; a won opportunity reached every stage)."
    )
    return conversion


for _step, (_label_zh, _stage) in enumerate(
    zip(
        ("线索合格率", "合格至方案转化率", "方案至谈判转化率", "谈判至成交转化率"),
        OPPORTUNITY_STAGES[1:],
        strict=True,
    ),
    start=1,
):  # the four steps of the funnel, one KPI each
    register_kpi(
        f"conversion_to_{_stage}",
        label_en=f"Stage conversion: {OPPORTUNITY_STAGES[_step - 1]} to {_stage}",
        label_zh=_label_zh,
        unit="share",
        direction="higher",
        needs=("opportunities.closed_at",),
        func=_stage_conversion(_step),
    )


# --- service (continued) and orders -------------------------------------------------------------


@register_kpi(
    "inquiry_conversion",
    label_en="Inquiry conversion",
    label_zh="咨询转化率",
    unit="share",
    direction="higher",
    needs=("tickets.category", "orders"),
)
def inquiry_conversion(ctx: KPIContext) -> np.ndarray:
    """Share of the inquiries opened in the period followed by a paid order of the same customer
    within 30 days after the opening. An inquiry is a ticket whose category is inquiry or
    product (any case) and that is not a complaint. One whose 30 days are not over at the
    cutoff and that has no order yet is left out. The 30 days are the default of
    windows.inquiry_order_days in the configuration.
    """
    asked = ctx.inquiries
    return ctx.group_mean(asked["group"], asked["converted"])


@register_kpi(
    "complaint_resolution_hours",
    label_en="Complaint resolution time (median)",
    label_zh="投诉解决时长",
    unit="hours",
    direction="lower",
    needs=("tickets.is_complaint", "tickets.resolved_at"),
)
def complaint_resolution_hours(ctx: KPIContext) -> np.ndarray:
    """Median hours from opening to resolution, over the complaints (is_complaint true) opened
    in the period that are resolved by the cutoff.
    """
    tickets = ctx.tickets
    hours = np.where(tickets["is_complaint"] == 1.0, tickets["resolution_hours"], np.nan)
    return ctx.group_median(tickets["group"], hours)


@register_kpi(
    "open_complaints",
    label_en="Open complaints at period end",
    label_zh="未结投诉数",
    unit="tickets",
    direction="lower",
    needs=("tickets.is_complaint", "tickets.resolved_at"),
    additive=True,
)
def open_complaints(ctx: KPIContext) -> np.ndarray:
    """Complaints (is_complaint true) opened by the cutoff, whenever, and not resolved at the
    cutoff: the backlog at the end of the period.
    """
    return ctx.group_sum(ctx.open_complaints["group"])


@register_kpi(
    "cancelled_share",
    label_en="Share of cancelled orders",
    label_zh="订单取消率",
    unit="share",
    direction="lower",
    needs=("orders.status",),
)
def cancelled_share(ctx: KPIContext) -> np.ndarray:
    """Orders with status cancelled dated in the period / all orders dated in the period
    (paid, refunded and cancelled).
    """
    cancelled = ctx.group_sum(ctx.cancelled["group"])
    total = ctx.kpi("orders") + ctx.group_sum(ctx.refunded["group"]) + cancelled
    return ctx.ratio(cancelled, total)
