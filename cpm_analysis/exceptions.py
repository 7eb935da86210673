"""Exceptions raised by cpm-analysis."""

from __future__ import annotations


class DataValidationError(ValueError):
    """The data cannot be used at all.

    Raised by :func:`cpm_analysis.data.load` when a required table or column is missing, a
    file cannot be read, a table has no rows or a database cannot be reached. The message names
    the table, the column and what to do about it. Row-level faults never raise: they are
    quarantined into ``Dataset.rejected``.

    Examples
    --------
    >>> from cpm_analysis import DataValidationError
    >>> try:
    ...     raise DataValidationError("orders: required column 'amount' is missing")
    ... except DataValidationError as err:
    ...     print(err)
    orders: required column 'amount' is missing
    """

    def __init__(self, message: str, *, table: str | None = None, column: str | None = None):
        super().__init__(message)
        self.table = table
        self.column = column


class PeriodError(ValueError):
    """A period string or period argument is malformed (e.g. ``"2024-13"``)."""
