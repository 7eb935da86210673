"""Reading tables from Excel workbooks (``.xlsx``, ``.xls``) with python-calamine.

A workbook holds one table per sheet. Cells keep the types Excel gives them (numbers are floats,
dates are datetimes); the validator types them as it types CSV text, and ids go through
:func:`cpm_analysis.data.ids.normalise_ids`, so ``17850`` in a numeric cell is the same id as
``17850`` in a CSV file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpm_analysis.exceptions import DataValidationError

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def is_workbook(path: Path) -> bool:
    """Whether ``path`` names an Excel workbook (by its suffix).

    Examples
    --------
    >>> is_workbook(Path("Sample - Superstore.xls")), is_workbook(Path("orders.csv"))
    (True, False)
    """
    return path.suffix.lower() in EXCEL_SUFFIXES


def sheet_names(path: Path, table: str = "workbook") -> list[str]:
    """Return the sheet names of the workbook at ``path``.

    Examples
    --------
    >>> sheet_names(Path("data/external/superstore/workbook/Sample - Superstore.xls"))
    ['Orders', 'People', 'Returns']
    """
    from python_calamine import CalamineWorkbook

    try:
        return list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception as err:
        raise DataValidationError(
            f"{table}: cannot read the workbook {path} ({type(err).__name__}: {str(err)[:200]})",
            table=table,
        ) from err


def read_sheet(path: Path, sheet: str | None, table: str) -> pd.DataFrame:
    """One sheet of a workbook as a DataFrame (``sheet=None``: the first sheet).

    Raises
    ------
    DataValidationError
        When the workbook cannot be read or has no such sheet (the message lists the sheets).

    Examples
    --------
    >>> path = Path("data/external/superstore/workbook/Sample - Superstore.xls")
    >>> read_sheet(path, "People", "owners").columns.tolist()
    ['Regional Manager', 'Region']
    """
    try:  # the workbook is opened once, for its sheet names and the sheet
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as err:
        raise DataValidationError(
            f"{table}: cannot read the workbook {path} ({type(err).__name__}: {str(err)[:200]})",
            table=table,
        ) from err
    with book:
        names = list(book.sheet_names)
        if sheet is not None and sheet not in names:
            raise DataValidationError(
                f"{table}: workbook {path.name} has no sheet '{sheet}' "
                f"(sheets: {', '.join(names)}); fix the sheet name in the mapping's files "
                "section.",
                table=table,
            )
        try:
            return pd.read_excel(book, sheet_name=sheet if sheet is not None else 0)
        except Exception as err:
            raise DataValidationError(
                f"{table}: cannot read sheet '{sheet}' of {path} "
                f"({type(err).__name__}: {str(err)[:200]})",
                table=table,
            ) from err
