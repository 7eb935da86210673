"""The KPI registry: one :class:`KPI` per id, each one small documented function.

A KPI function takes the period's :class:`~cpm_analysis.kpis.context.KPIContext` and returns
one value per group of the breakdown (a numpy array aligned with ``ctx.groups``, a Series indexed
by group label, or a scalar when there is no breakdown). It raises :class:`KPIUnavailable` with
a reason when its inputs are missing; :func:`~cpm_analysis.kpis.compute_kpis` then reports the
KPI as not available (``value`` NaN, ``available`` False, the reason in ``note``), never as 0.

Examples
--------
>>> from cpm_analysis.kpis import register_kpi, unregister_kpi
>>> @register_kpi("big_orders", label_en="Orders over 100", label_zh="大额订单数",
...               unit="orders", direction="higher")
... def big_orders(ctx):
...     '''Paid orders dated in the period with an amount above 100.'''
...     paid = ctx.paid
...     return ctx.group_sum(paid["group"], paid["amount"] > 100)
>>> KPIS["big_orders"].label_zh
'大额订单数'
>>> unregister_kpi("big_orders")
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from cpm_analysis.kpis.context import KPIContext

DIRECTIONS: tuple[str, ...] = ("higher", "lower")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class KPIUnavailable(Exception):
    """A KPI cannot be computed from this data; the message is the reason shown in the report.

    Examples
    --------
    >>> str(KPIUnavailable("needs the tickets table"))
    'needs the tickets table'
    """


@dataclass(frozen=True)
class KPI:
    """One registered KPI.

    Attributes
    ----------
    id : str
        Its key (lower case, digits and underscores), e.g. ``"revenue"``.
    label_en, label_zh : str
        English and Chinese labels for reports.
    unit : str
        What a value is measured in (``"currency"``, ``"customers"``, ``"share"``, ``"hours"``,
        ...). Shares are fractions in [0, 1], not percentages.
    direction : str
        ``"higher"`` or ``"lower"``: which way is better.
    func : callable
        ``func(ctx) -> values``; see the module docstring.
    needs : tuple of str
        Inputs: a table (``"tickets"``), a column (``"tickets.first_response_at"``) or the
        scored customer table (``"scores"``, ``"scores.clv"``). When one is missing the KPI is
        not available, with the reason naming it.
    description : str
        The exact definition, enough to recompute it by hand (defaults to the docstring).
    additive : bool
        Whether values add up across groups (revenue, orders, counts of customers). A
        company-level target of an additive KPI is not a per-person target; one of a rate is
        (see :func:`cpm_analysis.teams.owner_scorecard`).

    Examples
    --------
    >>> KPIS["revenue"].direction
    'higher'
    """

    id: str
    label_en: str
    label_zh: str
    unit: str
    direction: str
    func: Callable[[KPIContext], ArrayLike]
    needs: tuple[str, ...] = ()
    description: str = ""
    additive: bool = False

    def __post_init__(self) -> None:
        """Check the id, the direction, the function and the inputs."""
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise ValueError(
                f"id: a KPI id is lower case letters, digits and underscores, got {self.id!r}"
            )
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"direction: KPI '{self.id}' must be 'higher' or 'lower', got {self.direction!r}"
            )
        if not callable(self.func):
            raise ValueError(f"func: KPI '{self.id}' needs a callable, got {self.func!r}")
        for need in self.needs:
            table = need.split(".", 1)[0]
            if table not in _KNOWN_INPUTS:
                raise ValueError(
                    f"needs: KPI '{self.id}' needs unknown input '{need}' "
                    f"(tables: {', '.join(_KNOWN_INPUTS)})"
                )

    @property
    def higher_is_better(self) -> bool:
        """True when larger values are better."""
        return self.direction == "higher"


_KNOWN_INPUTS = (
    "customers",
    "orders",
    "tickets",
    "surveys",
    "staff",
    "activities",
    "opportunities",
    "scores",
)

KPIS: dict[str, KPI] = {}
"""Every registered KPI by id, in registration order (the order of the reports)."""


def register_kpi(
    id: str,
    *,
    label_en: str,
    label_zh: str,
    unit: str,
    direction: str,
    needs: tuple[str, ...] | list[str] = (),
    description: str | None = None,
    additive: bool = False,
    func: Callable[[KPIContext], ArrayLike] | None = None,
    replace: bool = False,
) -> Any:
    """Register a KPI; use as a decorator, or pass ``func``.

    Parameters
    ----------
    id : str
        The KPI id; lower case letters, digits and underscores.
    label_en, label_zh, unit, direction, needs, additive
        See :class:`KPI`.
    description : str, optional
        The definition; defaults to the function's docstring.
    func : callable, optional
        The KPI function; when omitted, ``register_kpi`` returns a decorator.
    replace : bool
        Allow replacing a KPI already registered under ``id`` (otherwise a ``ValueError``).

    Returns
    -------
    callable or KPI
        The decorator, or the registered :class:`KPI` when ``func`` is given.

    Examples
    --------
    >>> def refunds(ctx):
    ...     '''Refunded orders dated in the period.'''
    ...     return ctx.group_sum(ctx.refunded["group"])
    >>> register_kpi("refunds", label_en="Refunds", label_zh="退款笔数", unit="orders",
    ...              direction="lower", additive=True, func=refunds).id
    'refunds'
    >>> unregister_kpi("refunds")
    """

    def decorate(function: Callable[[KPIContext], ArrayLike]) -> Callable[[KPIContext], ArrayLike]:
        if id in KPIS and not replace:
            raise ValueError(
                f"id: a KPI '{id}' is already registered; pass replace=True to replace it"
            )
        text = description if description is not None else inspect.getdoc(function) or ""
        KPIS[id] = KPI(
            id=id,
            label_en=label_en,
            label_zh=label_zh,
            unit=unit,
            direction=direction,
            func=function,
            needs=tuple(needs),
            description=text.strip(),
            additive=additive,
        )
        return function

    if func is not None:
        decorate(func)
        return KPIS[id]
    return decorate


def unregister_kpi(id: str) -> None:
    """Remove a KPI from the registry.

    Examples
    --------
    >>> unregister_kpi("no_such_kpi")
    Traceback (most recent call last):
    ...
    ValueError: id: no KPI 'no_such_kpi' is registered
    """
    if id not in KPIS:
        raise ValueError(f"id: no KPI '{id}' is registered")
    del KPIS[id]


def get_kpi(id: str) -> KPI:
    """Return the registered KPI ``id``, or a ``ValueError`` listing the known ids.

    Examples
    --------
    >>> get_kpi("aov").label_en
    'Average order value'
    """
    try:
        return KPIS[id]
    except KeyError:
        raise ValueError(f"kpi: unknown KPI id '{id}' (known: {', '.join(KPIS)})") from None


def kpi_table() -> Any:
    """Return the registry as a DataFrame (id, labels, unit, direction, needs, description).

    Examples
    --------
    >>> kpi_table().loc["nps", "label_zh"]
    '净推荐值'
    """
    import pandas as pd

    return pd.DataFrame.from_records(
        [
            {
                "kpi": k.id,
                "label_en": k.label_en,
                "label_zh": k.label_zh,
                "unit": k.unit,
                "direction": k.direction,
                "needs": ", ".join(k.needs),
                "description": k.description,
            }
            for k in KPIS.values()
        ]
    ).set_index("kpi")
