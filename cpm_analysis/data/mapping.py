"""The mapping file: your column names, your file names and your date order.

A mapping (``mapping.yaml`` in the source folder, or ``load(..., mapping=...)``) has up to three
kinds of top-level entries::

    files:                                  # which file (or sheet) holds which table
      "Sample - Superstore.csv": order_lines
      "crm.xlsx": {Clients: customers, Sales: orders}
    dayfirst: true                          # numeric dates are day/month/year
    order_lines:                            # per table: your column -> canonical column
      Order ID: order_id

- ``files`` keys are file names relative to the source folder (CSV, Parquet, ``.xlsx`` or
  ``.xls``). A value is a table name, or for a workbook a mapping of sheet names to table
  names. A table named in ``files`` is read from there; the others are still looked up under
  their own names (``customers.csv``, ...).
- ``dayfirst`` (default false) applies to every date column of every table.
- A table entry maps your column names onto the canonical ones; columns not named keep their
  names.

Tables are those of the data contract plus the supplementary ``owners`` and ``returns``
(see :mod:`cpm_analysis.data.schema`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpm_analysis.data.schema import SOURCE_TABLES
from cpm_analysis.exceptions import DataValidationError

MAPPING_FILE = "mapping.yaml"
OPTIONS = ("files", "dayfirst")


@dataclass(frozen=True)
class SourceMapping:
    """A parsed mapping: column renames per table, file assignments and the date order.

    Attributes
    ----------
    columns : dict
        ``{table: {your_column: canonical_column}}``.
    files : dict
        ``{file_name: table}`` or ``{file_name: {sheet: table}}``.
    dayfirst : bool
        Numeric dates are day/month/year.

    Examples
    --------
    >>> m = read_mapping({"files": {"x.csv": "order_lines"}, "dayfirst": True})
    >>> m.files, m.dayfirst, m.table_files()
    ({'x.csv': 'order_lines'}, True, {'order_lines': ('x.csv', None)})
    """

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    files: dict[str, str | dict[str, str]] = field(default_factory=dict)
    dayfirst: bool = False

    def table_files(self) -> dict[str, tuple[str, str | None]]:
        """``{table: (file_name, sheet or None)}`` from the ``files`` section."""
        out: dict[str, tuple[str, str | None]] = {}
        for name, target in self.files.items():
            pairs = target.items() if isinstance(target, dict) else [(None, target)]
            for sheet, table in pairs:
                out[table] = (name, sheet)
        return out


def _check_table(name: Any, where: str) -> str:
    if name not in SOURCE_TABLES:
        raise DataValidationError(
            f"mapping: unknown table '{name}' {where} (tables are {', '.join(SOURCE_TABLES)})",
            table=str(name),
        )
    return str(name)


def _read_files(section: Any) -> dict[str, str | dict[str, str]]:
    if not isinstance(section, Mapping):
        raise DataValidationError(
            "mapping: 'files' must map file names to a table, or a workbook's file name to "
            "{sheet: table}"
        )
    out: dict[str, str | dict[str, str]] = {}
    seen: dict[str, str] = {}
    for name, target in section.items():
        if isinstance(target, Mapping):
            sheets = {str(s): _check_table(t, f"in files: '{name}'") for s, t in target.items()}
            out[str(name)] = sheets
            tables = list(sheets.values())
        else:
            out[str(name)] = _check_table(target, f"in files: '{name}'")
            tables = [str(target)]
        for table in tables:
            if table in seen:
                raise DataValidationError(
                    f"mapping: files: table '{table}' is given twice ('{seen[table]}' and "
                    f"'{name}'); keep one.",
                    table=table,
                )
            seen[table] = str(name)
    return out


def read_mapping(
    # a dict is the raw content of a mapping file (YAML/JSON), checked below: values are Any
    mapping: SourceMapping | Mapping[str, Any] | str | os.PathLike[str] | None,
) -> SourceMapping:
    """Parse a mapping given as a dict, a YAML/JSON file, ``None`` or a :class:`SourceMapping`.

    Raises
    ------
    DataValidationError
        For a missing file, an unknown table or option, or a malformed section.

    Examples
    --------
    >>> read_mapping({"orders": {"OrderDate": "order_date"}}).columns
    {'orders': {'OrderDate': 'order_date'}}
    """
    if mapping is None:
        return SourceMapping()
    if isinstance(mapping, SourceMapping):
        return mapping
    if isinstance(mapping, str | os.PathLike):
        path = Path(mapping)
        if not path.is_file():
            raise DataValidationError(f"mapping: file {path} does not exist")
        text = path.read_text(encoding="utf-8-sig")
        try:
            if path.suffix.lower() == ".json":
                mapping = json.loads(text)
            else:
                import yaml

                mapping = yaml.safe_load(text) or {}
        except ValueError as err:  # yaml.YAMLError and json errors are ValueErrors or alike
            raise DataValidationError(f"mapping: cannot read {path} ({err})") from err
        except Exception as err:
            raise DataValidationError(
                f"mapping: cannot read {path} ({type(err).__name__}: {str(err)[:200]})"
            ) from err
    if not isinstance(mapping, Mapping):
        raise DataValidationError("mapping: expected {table: {your_column: canonical_column}}")
    columns: dict[str, dict[str, str]] = {}
    files: dict[str, str | dict[str, str]] = {}
    dayfirst = False
    for key, value in mapping.items():
        if key == "files":
            files = _read_files(value)
            continue
        if key == "dayfirst":
            if not isinstance(value, bool):
                raise DataValidationError(
                    f"mapping: 'dayfirst' must be true or false, got {value!r}"
                )
            dayfirst = value
            continue
        if key not in SOURCE_TABLES:
            raise DataValidationError(
                f"mapping: unknown table '{key}' (tables are {', '.join(SOURCE_TABLES)}; "
                f"options are {', '.join(OPTIONS)})",
                table=str(key),
            )
        if not isinstance(value, Mapping):
            raise DataValidationError(
                f"mapping: '{key}' must map your column names to canonical ones", table=key
            )
        columns[str(key)] = {str(k): str(v) for k, v in value.items()}
    return SourceMapping(columns=columns, files=files, dayfirst=dayfirst)
