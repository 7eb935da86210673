"""The glossary: every term the pages use, defined once, in English and through the catalogue.

A page defines a term where it first appears by linking to its entry (:func:`link`) and ends
with the glossary of the terms it uses (:func:`markdown`). The definitions are the code's own:
"active customer" is the KPI :func:`cpm_analysis.kpis.definitions.active_customers` (a paid
order dated in the period), which is not the scored base of the churn and CLV models (a paid
order in the trailing 365 days: "customer base"), so that one word never means two things.

The texts are marked with :func:`~cpm_analysis.i18n.N_` and translated when the page is drawn
(:meth:`~cpm_analysis.i18n.Translator.gettext`). They are the package's own constants (and
catalogue entries), not data, so they are written into Markdown as they are.

Examples
--------
>>> TERMS["active_customer"].term
'Active customer'
>>> link("churn")
'[churn](#glossary-churn)'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cpm_analysis.i18n import N_, Translator


@dataclass(frozen=True)
class Term:
    """One glossary entry.

    Attributes
    ----------
    key : str
        The anchor of the entry (``#glossary-<key>``).
    term : str
        The term as pages write it (English; translated through the catalogue).
    definition : str
        One or two sentences (English; translated through the catalogue).
    """

    key: str
    term: str
    definition: str


_ENTRIES = [
    Term(
        "active_customer",
        N_("Active customer"),
        N_("A customer with at least one paid order dated in the period (the KPI)."),
    ),
    Term(
        "customer_base",
        N_("Customer base"),
        N_(
            "The customers the models score: those with a paid order in the 365 days before "
            "the period's end. Wider than the period's active customers."
        ),
    ),
    Term(
        "churn",
        N_("Churn"),
        N_("A customer of the base who makes no paid order in the next 90 days."),
    ),
    Term(
        "churn_probability",
        N_("Churn probability"),
        N_("The model's chance, 0-100%, that a customer churns in the next 90 days."),
    ),
    Term(
        "at_risk",
        N_("At risk (customer)"),
        N_(
            "A customer more likely than not to churn (churn probability of 50% or more); they "
            "get a retention action, never a loyalty reward."
        ),
    ),
    Term(
        "at_risk_target",
        N_("At risk (target)"),
        N_("A KPI that misses its target by less than the at-risk band (5% by default)."),
    ),
    Term(
        "retention",
        N_("Retention rate"),
        N_("The share of the previous period's active customers who bought again in this period."),
    ),
    Term(
        "clv",
        N_("CLV (customer lifetime value)"),
        N_(
            "The discounted value a customer is expected to bring over the CLV horizon, in "
            "the configured currency."
        ),
    ),
    Term(
        "clv_horizon",
        N_("CLV horizon"),
        N_("The months ahead the CLV counts (12 by default, the configuration's horizon)."),
    ),
    Term(
        "expected_loss",
        N_("Expected loss"),
        N_("Churn probability times CLV: the value at stake if the customer leaves."),
    ),
    Term(
        "monetary",
        N_("Monetary value"),
        N_(
            "The sum of a customer's paid orders up to the period's end (refunded and "
            "cancelled orders do not count; the RFM measure of the segments)."
        ),
    ),
    Term(
        "score",
        N_("Score (0-100)"),
        N_(
            "A KPI result turned into points: against the person's target where set (120% of "
            "the target or more scores 100), else by rank in the team."
        ),
    ),
    Term(
        "composite",
        N_("Composite"),
        N_("The weighted KPI score, blended with the assessment where there is one."),
    ),
    Term(
        "attainment",
        N_("Attainment"),
        N_("Actual over target (inverted for lower-is-better KPIs): 100% or more meets it."),
    ),
]

TERMS: dict[str, Term] = {t.key: t for t in _ENTRIES}
"""The glossary by key."""


def link(key: str, tr: Translator | None = None, text: str | None = None) -> str:
    """Return a Markdown link to the term's entry (where the term first appears on a page).

    Raises
    ------
    ValueError
        For a key that is not in :data:`TERMS`.

    Examples
    --------
    >>> link("clv_horizon", text="12-month CLV")
    '[12-month CLV](#glossary-clv_horizon)'
    """
    if key not in TERMS:
        raise ValueError(f"glossary: no term {key!r} (known: {', '.join(TERMS)})")
    label = text if text is not None else _tr(tr).gettext(TERMS[key].term).lower()
    return f"[{label}](#glossary-{key})"


def markdown(keys: Iterable[str] | None = None, tr: Translator | None = None) -> str:
    """Return the glossary (of ``keys``, default every term) as a Markdown list with anchors.

    Examples
    --------
    >>> print(markdown(["churn"]).splitlines()[-1][:46])
    - <a id="glossary-churn"></a>**Churn**: A cust
    """
    tr = _tr(tr)
    chosen = list(TERMS) if keys is None else list(keys)
    unknown = [k for k in chosen if k not in TERMS]
    if unknown:
        raise ValueError(f"glossary: no term {', '.join(map(repr, unknown))}")
    heading = tr.gettext(N_("Glossary"))  # outside the f-string, where pybabel finds it
    lines = [f"## {heading}", ""]
    for key in chosen:
        t = TERMS[key]
        lines.append(
            f'- <a id="glossary-{key}"></a>**{tr.gettext(t.term)}**: {tr.gettext(t.definition)}'
        )
    return "\n".join(lines)


def _tr(tr: Translator | None) -> Translator:
    return tr if tr is not None else Translator("en")
