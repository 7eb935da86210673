"""Why a row is rejected on loading: the reasons of ``rejected_rows.csv``, written once.

Every check of the data contract (:mod:`cpm_analysis.data.validate`, the line-level orders of
:mod:`cpm_analysis.data.lines`, the supplementary tables, the Dask engine's store) gives its
reason from here, so the same fault reads the same on every engine and in every table. A
reason is English text in the rejected rows (a CSV an analyst filters on); each is a
catalogue template (:func:`~cpm_analysis.i18n.N_`), so a page in another language shows it
translated (:meth:`~cpm_analysis.i18n.Translator.sentence`). The ``%(column)s``, ``%(allowed)s``
and ``%(code)s`` placeholders hold the data's own names and codes and are shown as they are.

Examples
--------
>>> missing("order_date"), unknown_staff("owner_id")
('missing order_date', 'owner_id not found in staff')
>>> from cpm_analysis.i18n import translator
>>> translator("zh").sentence(missing("amount"))
'缺少 amount'
"""

from __future__ import annotations

from cpm_analysis.i18n import N_

MISSING = N_("missing %(column)s")
DATE_OUT_OF_RANGE = N_("date out of range (before 1900 or after 2262)")
OPEN_ENDED_DATE = N_("open-ended date (such as 9999-12-31) for an event")
DATE_AFTER_LOAD = N_("date after the load time")
UNPARSEABLE_DATE = N_("unparseable date")
NON_NUMERIC = {"amount": N_("non-numeric amount"), "number": N_("non-numeric number")}
INFINITE = {"amount": N_("infinite amount"), "number": N_("infinite number")}
OUTSIDE = N_("%(column)s outside %(low)s-%(high)s")
NOT_YES_NO = N_("%(column)s is not a yes/no value")
UNKNOWN_CATEGORY = N_("unknown %(column)s (expected %(allowed)s)")
UNPARSEABLE_PERIOD = N_("unparseable period")
NOT_REFUNDED = N_("negative amount on an order that is not refunded")
RESPONSE_BEFORE_OPENING = N_("first response before opening")
RESOLUTION_BEFORE_OPENING = N_("resolution before opening")
CHURNED_BEFORE_SIGNUP = N_("churned_at before signup_date")
NEGATIVE_OPPORTUNITY = N_("negative opportunity amount")
DECIDED_WITHOUT_CLOSE = N_("won or lost without closed_at")
CLOSED_BEFORE_CREATED = N_("closed_at before created_at")
CLOSED_WITHOUT_WON = N_("closed_at without won (true or false)")
WON_NOT_CLOSED = N_("won opportunity whose stage is not closed")
CLOSED_STAGE_WITHOUT_DATE = N_("stage closed without closed_at")
UNKNOWN_KPI = N_("unknown kpi '%(code)s'")
DUPLICATE = N_("duplicate %(column)s")
DUPLICATE_ASSESSMENT = N_("duplicate assessment for this staff_id and period")
UNKNOWN_CUSTOMER = N_("customer_id not found in customers")
UNKNOWN_STAFF = N_("%(column)s not found in staff")
UNKNOWN_ORDER = N_("order_id not found in orders")
SECOND_OWNER = N_("more than one owner for this %(column)s")
ORDER_FAULTS: tuple[str | None, ...] = (
    None,
    N_("order has rejected lines"),
    N_("order lines disagree on customer_id"),
    N_("order lines disagree on status"),
)
"""The reasons a line-level order is rejected for, by fault code (0: no fault)."""


def missing(column: str) -> str:
    """Return the reason of a row whose required ``column`` is blank."""
    return MISSING % {"column": column}


def duplicate(column: str) -> str:
    """Return the reason of a row whose key ``column`` repeats an earlier row's."""
    return DUPLICATE % {"column": column}


def unknown_staff(column: str) -> str:
    """Return the reason of a row whose staff reference ``column`` names no staff member."""
    return UNKNOWN_STAFF % {"column": column}
