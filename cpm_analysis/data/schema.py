"""The data contract: the tables a dataset may hold, their columns and their types.

Every table is described by a :class:`TableSpec`. ``orders`` (or ``order_lines``) is required,
``customers`` is derived from the orders when absent; the other tables are optional and each unlocks more of the analysis (tickets: service KPIs,
surveys: NPS, staff: team scorecards, targets: SMART evaluation, assessments: blended scores,
activities: contact KPIs, opportunities: the sales funnel).

Column kinds
------------
``id``        string identifier, surrounding blanks stripped
``datetime``  parsed to ``datetime64[ns]``, tz-naive and in UTC (aware inputs are converted)
``amount``    float, may be negative only on refunded orders
``number``    float
``bool``      true/false, yes/no, 1/0, t/f, y/n (any case)
``category``  lower-cased string from a fixed vocabulary (``status``, ``role``)
``text``      free string (kept as is)
``period``    a period label such as ``2024-06``, ``2024-Q2`` or ``2024``

Examples
--------
>>> from cpm_analysis.data.schema import TABLES
>>> TABLES["orders"].required_columns
('order_id', 'customer_id', 'order_date', 'amount')
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A validated dataset always holds customers and orders; a source may give ``order_lines``
# instead of ``orders`` (aggregated into orders) and may leave ``customers`` out (derived).
REQUIRED_TABLES: tuple[str, ...] = ("customers", "orders")
OPTIONAL_TABLES: tuple[str, ...] = (
    "tickets",
    "surveys",
    "staff",
    "targets",
    "assessments",
    "order_lines",
    "activities",
    "opportunities",
)
ALL_TABLES: tuple[str, ...] = REQUIRED_TABLES + OPTIONAL_TABLES
# Tables a source may hold that the loader applies to the others and does not keep:
# ``owners`` assigns account owners by a customer attribute (the Superstore ``People`` sheet),
# ``returns`` marks orders as refunded (the Superstore ``Returns`` sheet).
SUPPLEMENTARY_TABLES: tuple[str, ...] = ("owners", "returns")
SOURCE_TABLES: tuple[str, ...] = ALL_TABLES + SUPPLEMENTARY_TABLES
# Tables keyed by customer (a customer's rows of all of them travel together) and plan tables.
CUSTOMER_TABLES: tuple[str, ...] = (
    "customers",
    "orders",
    "tickets",
    "surveys",
    "activities",
    "opportunities",
)
PLAN_TABLES: tuple[str, ...] = ("staff", "targets", "assessments")

ORDER_STATUSES: tuple[str, ...] = ("paid", "refunded", "cancelled")
STAFF_ROLES: tuple[str, ...] = ("sales", "service", "marketing")
ACTIVITY_TYPES: tuple[str, ...] = ("call", "visit", "email", "meeting", "care")
"""Kinds of contact: a phone call, a visit, an e-mail, a meeting, a care contact (service)."""
ACTIVITY_OUTCOMES: tuple[str, ...] = ("success", "no_answer", "declined", "follow_up")
"""How a contact ended: ``success`` (the customer was reached and the aim met), ``no_answer``
(not reached), ``declined`` (reached, said no), ``follow_up`` (reached, another contact agreed)."""
OPPORTUNITY_STAGES: tuple[str, ...] = ("lead", "qualified", "proposal", "negotiation", "closed")
"""The sales funnel in order; an opportunity's ``stage`` is the furthest one it reached."""
# Columns of other tables that name a staff member: checked against staff when it is present.
STAFF_REFERENCES: dict[str, str] = {"activities": "staff_id", "opportunities": "owner_id"}


@dataclass(frozen=True)
class Column:
    """One column of the data contract."""

    name: str
    kind: str
    required: bool = False
    pii: bool = False
    description: str = ""
    vocabulary: tuple[str, ...] | None = None
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class TableSpec:
    """One table of the data contract."""

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    references_customers: bool = False
    description: str = ""
    extra_columns: str = "kept"
    _by_name: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Index the columns by name."""
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Names of the columns the table must have."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def pii_columns(self) -> tuple[str, ...]:
        """Names of the columns holding personal data."""
        return tuple(c.name for c in self.columns if c.pii)

    def column(self, name: str) -> Column | None:
        """Return the contract's column called ``name``, or ``None`` for an extra column."""
        return self._by_name.get(name)


TABLES: dict[str, TableSpec] = {
    "customers": TableSpec(
        "customers",
        (
            Column("customer_id", "id", True, description="unique customer key"),
            Column("signup_date", "datetime", True, description="when the customer joined"),
            Column("name", "text", pii=True, description="personal data, masked in reports"),
            Column("email", "text", pii=True, description="personal data, masked in reports"),
            Column("phone", "text", pii=True, description="personal data, masked in reports"),
            Column("owner_id", "id", description="account owner (a staff_id with role sales)"),
            Column("region", "text", description="attribute, used as a churn feature"),
            Column("channel", "text", description="acquisition channel, used as a churn feature"),
            Column(
                "churned_at",
                "datetime",
                description="contract end (subscription businesses); blank while active",
            ),
        ),
        key="customer_id",
        description="one row per customer; any further column is kept as an attribute",
    ),
    "orders": TableSpec(
        "orders",
        (
            Column("order_id", "id", True, description="unique order key"),
            Column("customer_id", "id", True, description="must exist in customers"),
            Column("order_date", "datetime", True, description="when the order was placed"),
            Column("amount", "amount", True, description="order value; negative only if refunded"),
            Column(
                "status",
                "category",
                vocabulary=ORDER_STATUSES,
                description="paid / refunded / cancelled; no column means every order is paid",
            ),
            Column("quantity", "number", description="items in the order"),
            Column("category", "text", description="product category"),
            Column("channel", "text", description="sales channel"),
        ),
        key="order_id",
        references_customers=True,
    ),
    "tickets": TableSpec(
        "tickets",
        (
            Column("ticket_id", "id", True, description="unique ticket key"),
            Column("customer_id", "id", True, description="must exist in customers"),
            Column("opened_at", "datetime", True, description="when the ticket was opened"),
            Column("first_response_at", "datetime", description="first agent response"),
            Column("resolved_at", "datetime", description="resolution; blank while open"),
            Column("category", "text", description="ticket category"),
            Column("is_complaint", "bool", description="true for complaints"),
            Column("agent_id", "id", description="service agent (a staff_id with role service)"),
            Column(
                "satisfaction", "number", bounds=(1, 5), description="CSAT 1-5 after resolution"
            ),
        ),
        key="ticket_id",
        references_customers=True,
    ),
    "surveys": TableSpec(
        "surveys",
        (
            Column("customer_id", "id", True, description="must exist in customers"),
            Column("responded_at", "datetime", True, description="when the answer came in"),
            Column("score", "number", True, bounds=(0, 10), description="NPS answer 0-10"),
            Column("channel", "text", description="survey channel"),
        ),
        references_customers=True,
    ),
    "staff": TableSpec(
        "staff",
        (
            Column("staff_id", "id", True, description="unique staff key"),
            Column(
                "role",
                "category",
                True,
                vocabulary=STAFF_ROLES,
                description="sales / service / marketing",
            ),
            Column("name", "text", pii=True, description="personal data, masked in reports"),
            Column("team", "text", description="team name"),
            Column("manager_id", "id", description="the staff_id of the manager"),
        ),
        key="staff_id",
    ),
    "targets": TableSpec(
        "targets",
        (
            Column("kpi", "text", True, description="a KPI id of the registry"),
            Column("period", "period", True, description="2024-06, 2024-Q2 or 2024"),
            Column("target", "number", True, description="the goal value"),
            Column("owner_id", "id", description="for an owner's own target"),
            Column("segment", "text", description="for a segment's target"),
            Column("weight", "number", description="weight in composite scores"),
        ),
    ),
    "assessments": TableSpec(
        "assessments",
        (
            Column("staff_id", "id", True, description="the staff member assessed"),
            Column("period", "period", True, description="2024-06, 2024-Q2 or 2024"),
            Column("self_score", "number", True, bounds=(0, 100), description="0-100"),
            Column("manager_score", "number", True, bounds=(0, 100), description="0-100"),
            Column("peer_score", "number", bounds=(0, 100), description="0-100, optional"),
            Column("subordinate_score", "number", bounds=(0, 100), description="0-100, optional"),
            Column("customer_score", "number", bounds=(0, 100), description="0-100, optional"),
        ),
    ),
    "order_lines": TableSpec(
        "order_lines",
        (
            Column("order_id", "id", True, description="the order the line belongs to"),
            Column("customer_id", "id", True, description="the same on every line of an order"),
            Column("order_date", "datetime", True, description="the order's date is the earliest"),
            Column("line_amount", "amount", description="line value (or quantity x unit_price)"),
            Column("quantity", "number", description="items on the line"),
            Column("unit_price", "number", description="price of one item"),
            Column(
                "status",
                "category",
                vocabulary=ORDER_STATUSES,
                description="paid / refunded / cancelled, the same on every line of an order",
            ),
            Column("product_id", "id", description="product key"),
            Column("product_name", "text", description="product name"),
            Column("category", "text", description="product category"),
            Column("name", "text", pii=True, description="customer attribute: personal data"),
            Column("email", "text", pii=True, description="customer attribute: personal data"),
            Column("phone", "text", pii=True, description="customer attribute: personal data"),
        ),
        description="one row per order line, aggregated into orders by the loader",
    ),
    "activities": TableSpec(
        "activities",
        (
            Column("activity_id", "id", True, description="unique activity key"),
            Column("customer_id", "id", True, description="must exist in customers"),
            Column("staff_id", "id", True, description="who made the contact (a staff_id)"),
            Column(
                "type",
                "category",
                True,
                vocabulary=ACTIVITY_TYPES,
                description="call / visit / email / meeting / care",
            ),
            Column("at", "datetime", True, description="when the contact took place"),
            Column(
                "outcome",
                "category",
                vocabulary=ACTIVITY_OUTCOMES,
                description="success / no_answer / declined / follow_up; blank when unknown",
            ),
            Column("campaign", "text", description="the marketing campaign of the contact"),
        ),
        key="activity_id",
        references_customers=True,
        description="one row per contact of a customer by a staff member",
    ),
    "opportunities": TableSpec(
        "opportunities",
        (
            Column("opportunity_id", "id", True, description="unique opportunity key"),
            Column("customer_id", "id", True, description="must exist in customers"),
            Column("owner_id", "id", True, description="the salesperson (a staff_id)"),
            Column("created_at", "datetime", True, description="when the opportunity opened"),
            Column(
                "stage",
                "category",
                True,
                vocabulary=OPPORTUNITY_STAGES,
                description="furthest stage reached: lead / qualified / proposal / "
                "negotiation / closed",
            ),
            Column("amount", "number", description="expected deal value (not negative)"),
            Column(
                "closed_at", "datetime", description="when it was won or lost; blank while open"
            ),
            Column("won", "bool", description="true won, false lost; blank while open"),
        ),
        key="opportunity_id",
        references_customers=True,
        description="one row per sales opportunity; a won one has stage closed",
    ),
    "owners": TableSpec(
        "owners",
        (Column("owner_id", "id", True, description="the account owner (a staff_id)"),),
        description="owner_id and one customer column: who owns the customers of each value",
    ),
    "returns": TableSpec(
        "returns",
        (Column("order_id", "id", True, description="a returned order (repeats allowed)"),),
        description="orders that were returned: they become refunded",
    ),
}

# The column that dates each row of a table, used by ``Dataset.as_of``.
EVENT_DATE: dict[str, str] = {
    "customers": "signup_date",
    "orders": "order_date",
    "tickets": "opened_at",
    "surveys": "responded_at",
    "order_lines": "order_date",
    "activities": "at",
    "opportunities": "created_at",
}

PII_COLUMNS: dict[str, tuple[str, ...]] = {
    name: spec.pii_columns for name, spec in TABLES.items() if spec.pii_columns
}
