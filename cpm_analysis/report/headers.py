"""The column headers the report pages show, marked for the message catalogues.

A page's table headers are its columns' names made readable (:func:`cpm_analysis.report.tables.header`:
``revenue_share`` -> ``Revenue share``) and translated when the table is drawn
(``ReportContext.show`` passes the translator). The columns are named by the analyses, which
produce no visible text, so their headers are marked here, once, for ``pybabel extract``; the
untranslated-string test of the pages (``tests/test_report_languages.py``) fails on a header
that is missing here or in a catalogue.

Examples
--------
>>> from cpm_analysis.i18n import translator
>>> "Revenue share" in HEADERS, translator("zh").gettext("Revenue share")
(True, '收入占比')
"""

from __future__ import annotations

from cpm_analysis.i18n import N_

HEADERS: frozenset[str] = frozenset(
    {
        N_("Action"),
        N_("Actual"),
        N_("Actual mean"),
        N_("Analysis"),
        N_("Available"),
        N_("Brier"),
        N_("Capture top decile"),
        N_("Churn probability"),
        N_("Churn rate"),
        N_("Cluster"),
        N_("Cluster name"),
        N_("Clv"),
        N_("Clv share"),
        N_("Column"),
        N_("Current"),
        N_("Customer share"),
        N_("Customers"),
        N_("Detail"),
        N_("Down"),
        N_("Error by frequency group (%)"),
        N_("Expected loss"),
        N_("Expected purchases 90d"),
        N_("Feature"),
        N_("First"),
        N_("Frequency"),
        N_("Importance mean"),
        N_("Importance std"),
        N_("In period"),
        N_("Last"),
        N_("Left"),
        N_("Lift top decile"),
        N_("Loss share"),
        N_("Mean churn probability"),
        N_("Mean clv"),
        N_("Mean frequency"),
        N_("Mean monetary"),
        N_("Mean p alive"),
        N_("Mean recency days"),
        N_("Meaning"),
        N_("Model"),
        N_("Monetary"),
        N_("Needs"),
        N_("Note"),
        N_("Owner id"),
        N_("P alive"),
        N_("Parameter"),
        N_("Parameters (calibration fit)"),
        N_("Pr auc"),
        N_("Predicted"),
        N_("Predicted (26 weeks)"),
        N_("Predicted mean"),
        N_("Present"),
        N_("Previous"),
        N_("Previous segment"),
        N_("Pseudonym"),
        N_("Reason"),
        N_("Reason codes"),
        N_("Recency days"),
        N_("Recommended action"),
        N_("Rejected"),
        N_("Revenue"),
        N_("Revenue share"),
        N_("Roc auc"),
        N_("Row"),
        N_("Rows"),
        N_("Scored at"),
        N_("Segment"),
        N_("Sideways"),
        N_("Status"),
        N_("Stayed"),
        N_("Stayed share"),
        N_("Table"),
        N_("Tier"),
        N_("Total clv"),
        N_("Total error (%)"),
        N_("Up"),
        N_("Value"),
        N_("Value share"),
        N_("Values"),
    }
)
"""The English headers of the pages' tables (as :func:`~cpm_analysis.report.tables.header` writes them)."""
