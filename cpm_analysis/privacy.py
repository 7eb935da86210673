"""Personal data in reports: masking, stable pseudonyms, owner books and a leak scanner.

Reports are read by people who must not see customers' personal data. In ``mask`` mode (the
default of ``cpm report`` and of every notebook):

- columns holding personal data (see :func:`is_pii_column`: ``name``, ``email``, ``phone`` and
  the like) are dropped from every table shown or written, and masked inside the raw rows of
  ``rejected_rows.csv``, which keep only their table's contract columns;
- personal data is also found by content (:func:`mask_content`): e-mail addresses and phone
  numbers (:func:`phone_spans`) in any text column, and with a :class:`PiiScanner` the
  dataset's known names, e-mails and phones, become ``[masked]`` (a ``notes`` free-text column,
  a ``tel`` column, a reason code quoting either);
- customer ids are shown as *pseudonyms*: ``P-`` followed by 12 base32 characters of
  HMAC-SHA256(key, customer_id). The same id and key always give the same pseudonym, so a
  customer can be followed across periods and looked up in ``customers_scored.csv`` (which holds
  both the real id and the pseudonym), while the pseudonym alone reveals nothing without the key.

The key (see :func:`load_key`) comes from the environment variable ``CPM_PSEUDONYM_KEY`` (at
least 16 characters) or, when it is not set, from a file ``.pseudonym_key`` created once with
32 random bytes (mode 0600) in the report folder. Keep the key with the data, not with the
reports: whoever holds it and the customer list can recompute the pseudonyms.

``show`` mode is an explicit opt-in for internal use: tables keep real ids and personal data.

Examples
--------
>>> import pandas as pd
>>> key = b"0123456789abcdef-example"
>>> frame = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Ann Lee", "Bo Yu"], "x": [1, 2]})
>>> mask_frame(frame, "mask", key=key).columns.tolist()
['pseudonym', 'x']
>>> pseudonymize(pd.Series(["C1"]), key).iloc[0] == pseudonymize(pd.Series(["C1"]), key).iloc[0]
True
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data import PII_COLUMNS, TABLES, Dataset
from cpm_analysis.frames import isin

PII_MODES: tuple[str, ...] = ("mask", "show")
KEY_ENV = "CPM_PSEUDONYM_KEY"
KEY_FILE = ".pseudonym_key"
PSEUDONYM_COLUMN = "pseudonym"
PSEUDONYM_PREFIX = "P-"
PSEUDONYM_LENGTH = 12
MASKED = "[masked]"
MIN_KEY_LENGTH = 16

# Column names holding personal data: the data contract's (name, email, phone) plus the usual
# variants of extra columns a source may carry.
PII_FIELDS: frozenset[str] = frozenset(c for cols in PII_COLUMNS.values() for c in cols)
_PII_NAME = re.compile(
    r"^(?:(?:first|last|full|given|family|middle|sur|nick|display|contact|customer|client|"
    r"owner|staff|agent|manager|person|user)_?name|surname)$"
)
_PII_ANYWHERE = re.compile(r"e_?mail|phone|mobile|telephone|street|address|birth|passport|iban")
# An e-mail address: a local part that is not the user of a URL (``postgresql://cpm@db.example``
# is the report's own, redacted, data source) and a domain whose last label starts with a letter
# (``cpm@127.0.0.1`` is a URL's user at an IP address, not an address).
_EMAIL = re.compile(r"(?<![\w.+'-])(?<!://)[\w.+'-]+@(?:[\w-]+\.)+[^\W\d_][\w-]*", re.UNICODE)
# Phone numbers as people write them: international (+1-555-177-4512, +44 20 7946 0958), with a
# bracketed area code ((555) 123-4567), North American (555-123-4567, 555.123.4567) or national
# with a trunk 0 (020 7946 0958); 7 to 15 digits. Not glued to a word, another number or a path,
# so ISO dates (2025-12-31), times, ids (O00000001, C000123), amounts (1,234,567.89), decimals
# (+0.12345678) and exponents (1e+05) never match.
_PHONE = re.compile(
    r"(?<![\w+.\-/:'#=])"
    r"(?:\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}"
    r"|\(\d{2,5}\)[ .\-]?\d{3,4}[ .\-]?\d{3,4}"
    r"|\d{3}[.\- ]\d{3}[.\- ]\d{4}"
    r"|0\d{1,4}[ \-]\d{3,4}[ \-]?\d{3,4})"
    r"(?![\w\-/]|\.\d)"
)
_DECIMAL = re.compile(r"[+-]?\d+\.\d+")


def phone_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds something written like a phone number (start, end pairs).

    Examples
    --------
    >>> text = "her cell +1-555-041-8314; order O00000001 of 2025-12-31, 1,234,567.89"
    >>> [text[a:b] for a, b in phone_spans(text)]
    ['+1-555-041-8314']
    """
    spans = []
    for match in _PHONE.finditer(text):
        digits = sum(c.isdigit() for c in match.group(0))
        if 7 <= digits <= 15 and not _DECIMAL.fullmatch(match.group(0)):
            spans.append(match.span())
    return spans


def mask_patterns(text: str) -> str:
    """``text`` with every e-mail address and phone number replaced by ``[masked]``.

    Examples
    --------
    >>> mask_patterns("call +1 (555) 123-4567 or ann@x.example on 2025-12-31")
    'call [masked] or [masked] on 2025-12-31'
    """
    text = _EMAIL.sub(MASKED, text)
    spans = phone_spans(text)
    for start, end in reversed(spans):
        text = text[:start] + MASKED + text[end:]
    return text


def _text_columns(frame: pd.DataFrame, skip: Iterable[str] = ()) -> list[str]:
    skipped = set(skip)
    return [
        c
        for c in frame.columns
        if c not in skipped
        and (pd.api.types.is_object_dtype(frame[c].dtype) or pd.api.types.is_string_dtype(frame[c]))
    ]


def mask_text_values(values: pd.Series, scanner: PiiScanner | None = None) -> pd.Series:
    """Mask personal data found by content in a column of text: patterns and known values.

    E-mail addresses and phone numbers (:func:`mask_patterns`) and, with ``scanner``, the
    dataset's known names, e-mails and phones (:meth:`PiiScanner.mask_text`) become
    ``[masked]``. Each distinct value, and each distinct phrase of values joined by ``"; "``
    (reason codes), is examined once; missing values and non-text values (numbers in an object
    column) are kept as they are.

    Examples
    --------
    >>> mask_text_values(pd.Series(["mail ann@x.example", "North"])).tolist()
    ['mail [masked]', 'North']
    """
    if values.empty:
        return values
    whole = scanner.mask_text if scanner is not None else mask_patterns
    seen: dict[str, str] = {}

    def masker(text: str) -> str:
        # phrases joined by "; " (reason codes) repeat far more than whole values: mask each once
        parts = []
        for part in text.split("; "):
            done = seen.get(part)
            if done is None:
                done = seen[part] = whole(part)
            parts.append(done)
        return "; ".join(parts)

    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells, e.g. lists of reason codes
        return values.map(lambda v: _mask_cell(v, masker))
    before = uniques.tolist()
    after = [masker(v) if isinstance(v, str) else v for v in before]
    if after == before:
        return values
    out = pd.Series(np.asarray(after, dtype=object)[np.maximum(codes, 0)], index=values.index)
    return out.where(codes >= 0, values).astype(values.dtype)


def _mask_cell(value: Any, masker: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return masker(value)
    if isinstance(value, list | tuple | np.ndarray):
        return (
            type(value)(_mask_cell(v, masker) for v in value)
            if not isinstance(value, np.ndarray)
            else np.array([_mask_cell(v, masker) for v in value], dtype=object)
        )
    return value


def mask_content(
    frame: pd.DataFrame,
    scanner: PiiScanner | None = None,
    *,
    skip: Iterable[str] = (),
) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text columns have personal data masked by content.

    Every text column except the ids (``pseudonym`` and any column named ``*_id``, which must
    stay joinable) and ``skip`` goes through
    :func:`mask_text_values`: free text such as ``notes = "her cell +1-555-..."`` or a reason
    code quoting one keeps its other words.

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["C1"], "reason_codes": ["notes = tel 555-123-4567"]})
    >>> mask_content(frame)["reason_codes"].tolist()
    ['notes = tel [masked]']
    """
    out = frame.copy()
    ids = [c for c in out.columns if c == PSEUDONYM_COLUMN or str(c).endswith("_id")]
    for column in _text_columns(out, [*skip, *ids]):
        out[column] = mask_text_values(out[column], scanner)
    return out


def check_mode(mode: str) -> str:
    """Validate a personal-data mode: ``"mask"`` or ``"show"``.

    Raises
    ------
    ValueError
        For any other value.

    Examples
    --------
    >>> check_mode("mask")
    'mask'
    """
    if mode not in PII_MODES:
        raise ValueError(f"pii: expected 'mask' or 'show', got {mode!r}")
    return mode


def is_pii_column(name: str) -> bool:
    """Whether a column name denotes personal data.

    The contract's personal columns (``name``, ``email``, ``phone``), names of people
    (``first_name``, ``customer_name``, ``owner_name``, ``surname``, ...) and any column whose
    name mentions an e-mail, phone, mobile, address, birth date, passport or IBAN. Product or
    team names (``category_name``, ``team``) are not personal.

    Examples
    --------
    >>> [is_pii_column(c) for c in ("email", "owner_name", "phone_number", "team", "region")]
    [True, True, True, False, False]
    """
    key = str(name).strip().lower()
    return key in PII_FIELDS or bool(_PII_NAME.match(key)) or bool(_PII_ANYWHERE.search(key))


def pii_columns(frame: pd.DataFrame) -> list[str]:
    """Return the columns of ``frame`` that :func:`is_pii_column` flags, in frame order.

    Examples
    --------
    >>> pii_columns(pd.DataFrame(columns=["customer_id", "name", "email", "region"]))
    ['name', 'email']
    """
    return [c for c in frame.columns if is_pii_column(c)]


def _coerce_key(raw: str | bytes, origin: str) -> bytes:
    key = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    key = key.strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(
            f"{origin}: the pseudonym key must be at least {MIN_KEY_LENGTH} characters "
            f"(got {len(key)}); e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return key


def key_path(folder: str | os.PathLike) -> Path:
    """Where the key file of a report folder lives (``<folder>/.pseudonym_key``).

    Examples
    --------
    >>> key_path("reports").name
    '.pseudonym_key'
    """
    return Path(folder) / KEY_FILE


def load_key(folder: str | os.PathLike | None = None, *, create: bool = True) -> bytes:
    """Return the pseudonym key: ``$CPM_PSEUDONYM_KEY``, else the key file of ``folder``.

    Parameters
    ----------
    folder : path, optional
        The report folder holding ``.pseudonym_key``; required when the environment variable is
        not set.
    create : bool
        Create the key file (32 random bytes, hex, mode 0600) when it does not exist yet. The
        file is created exclusively, so two processes never write different keys.

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    ValueError
        When the key is shorter than 16 characters, or there is neither an environment variable
        nor a folder (or the file is missing and ``create`` is false).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> load_key(folder) == load_key(folder)
    True
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return _coerce_key(env, KEY_ENV)
    if folder is None:
        raise ValueError(f"pseudonym key: set {KEY_ENV} or give the report folder holding it")
    path = key_path(folder)
    if not path.exists():
        if not create:
            raise ValueError(f"pseudonym key: {path} does not exist and {KEY_ENV} is not set")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    return _coerce_key(path.read_text(encoding="utf-8"), str(path))


_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)


def _hmac_sha256(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer states computed once.

    Twice as fast per message as ``hmac.digest``, whose one-shot call sets up the key again for
    every id; the result is identical (a test checks it against ``hmac.digest``).
    """
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def digest(message: bytes) -> bytes:
        h = inner.copy()
        h.update(message)
        o = outer.copy()
        o.update(h.digest())
        return o.digest()

    return digest


def _pseudonyms_of(key: bytes, values: Sequence[str]) -> np.ndarray:
    """``P-`` + the first 12 base32 characters of HMAC-SHA256(key, value), for each value."""
    if not len(values):
        return np.empty(0, dtype=object)
    raw = b"".join(map(_hmac_sha256(key), map(str.encode, values)))
    head = np.frombuffer(raw, dtype=">u8").reshape(-1, 4)[:, 0].astype(np.uint64)
    shifts = np.uint64(64) - np.uint64(5) * np.arange(1, PSEUDONYM_LENGTH + 1, dtype=np.uint64)
    chars = _B32[((head[:, None] >> shifts) & np.uint64(31)).astype(np.intp)]
    text = np.ascontiguousarray(chars).view(f"S{PSEUDONYM_LENGTH}").ravel().astype(str)
    return np.char.add(PSEUDONYM_PREFIX, text).astype(object)


def pseudonymize(ids: pd.Series | pd.Index | Sequence[str], key: bytes) -> pd.Series:
    """Stable pseudonyms for ids: ``P-`` + 12 base32 characters of HMAC-SHA256(key, id).

    Each distinct id is hashed once (two C SHA-256 calls per distinct id: no vectorised HMAC
    exists in numpy or Arrow; a million ids take a few seconds, 100,000 well under one). With 60
    bits, a collision among a million customers is a one-in-two-million event; one is detected
    and raised rather than shown.

    Parameters
    ----------
    ids : Series, Index or sequence of str
        Customer ids; missing values stay missing.
    key : bytes
        The key from :func:`load_key`.

    Returns
    -------
    Series
        Pseudonyms (``str`` dtype), aligned with ``ids`` (same index when a Series).

    Examples
    --------
    >>> out = pseudonymize(pd.Series(["C000001", "C000001", None]), b"k" * 16)
    >>> out.iloc[0] == out.iloc[1], out.iloc[0][:2], pd.isna(out.iloc[2])
    (True, 'P-', True)
    """
    if not isinstance(key, bytes) or len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"key: expected at least {MIN_KEY_LENGTH} bytes (see load_key)")
    series = ids if isinstance(ids, pd.Series) else pd.Series(np.asarray(ids, dtype=object))
    codes, uniques = pd.factorize(series.astype("str"), use_na_sentinel=True)
    hashed = _pseudonyms_of(key, uniques.tolist())
    if len(hashed) and len(set(hashed)) != len(hashed):
        raise ValueError(
            "pseudonymize: two customer ids share a pseudonym under this key (about one chance "
            f"in a million for a million customers); use another key ({KEY_ENV})"
        )
    out = np.empty(len(series), dtype=object)
    valid = codes >= 0
    out[valid] = hashed[codes[valid]]
    out[~valid] = None
    return pd.Series(out, index=series.index, dtype="str", name=PSEUDONYM_COLUMN)


def mask_frame(
    frame: pd.DataFrame,
    mode: str = "mask",
    *,
    key: bytes | None = None,
    id_column: str = "customer_id",
) -> pd.DataFrame:
    """Return a copy of ``frame`` safe to show: personal columns dropped, customer ids pseudonymised.

    In ``mask`` mode, every column flagged by :func:`is_pii_column` is dropped, e-mail addresses
    and phone numbers found in the other text columns are masked (:func:`mask_content`) and
    ``id_column`` (when present) is replaced, in place, by a column ``pseudonym``. In ``show``
    mode the frame is returned unchanged (a copy).

    Parameters
    ----------
    frame : DataFrame
        Any table about customers.
    mode : {"mask", "show"}
        ``--pii`` of the report.
    key : bytes, optional
        Pseudonym key; required in ``mask`` mode when ``id_column`` is present.
    id_column : str
        The customer id column.

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["C1"], "email": ["a@b.example"], "clv": [12.5]})
    >>> mask_frame(frame, "show").columns.tolist()
    ['customer_id', 'email', 'clv']
    >>> mask_frame(frame, "mask", key=b"k" * 16).columns.tolist()
    ['pseudonym', 'clv']
    """
    check_mode(mode)
    out = frame.copy()
    if mode == "show":
        return out
    out = mask_content(out.drop(columns=pii_columns(out)), skip=(id_column, PSEUDONYM_COLUMN))
    if id_column in out.columns:
        if key is None:
            raise ValueError(f"mask_frame: a key is needed to pseudonymise '{id_column}'")
        values = pseudonymize(out[id_column], key)
        columns = [c for c in out.columns if c != PSEUDONYM_COLUMN]
        out = out[columns].assign(**{id_column: values})
        out = out.rename(columns={id_column: PSEUDONYM_COLUMN})
    return out


def _mask_json_lines(
    lines: pd.Series,
    table: str,
    *,
    key: bytes | None,
    id_column: str,
    scanner: PiiScanner | None,
) -> pd.Series:
    """Return the contract columns of raw rows (JSON, one per line, all of ``table``), masked."""
    if lines.empty:
        return lines
    records = pd.read_json(
        io.StringIO("\n".join(lines.tolist())),
        lines=True,
        dtype=False,
        precise_float=True,
    )
    records.index = lines.index
    spec = TABLES.get(table)
    contract = [c.name for c in spec.columns] if spec is not None else []
    records = records[[c for c in records.columns if c in contract]]
    for column in pii_columns(records):
        records[column] = records[column].astype(object).where(records[column].isna(), MASKED)
    records = mask_content(records, scanner, skip=[id_column, *pii_columns(records)])
    if key is not None and id_column in records.columns:
        ids = records[id_column]
        masked = pseudonymize(ids.where(ids.notna(), None).astype("str"), key)
        records[id_column] = masked.astype(object).where(ids.notna(), None)
    records = records.astype(object).where(records.notna(), None)
    if records.columns.empty:
        return pd.Series("{}", index=lines.index, dtype="str")
    text = records.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    return pd.Series(text.splitlines(), index=lines.index, dtype="str")


def mask_rejected(
    rejected: pd.DataFrame,
    mode: str = "mask",
    *,
    key: bytes | None = None,
    id_column: str = "customer_id",
    scanner: PiiScanner | None = None,
) -> pd.DataFrame:
    """Mask personal data inside the raw rows (``values``, JSON) of a rejected-rows table.

    In ``mask`` mode each raw row keeps only the columns of its table's data contract (an
    extra column such as ``notes`` or ``tel`` is left out whatever its name); the contract's
    personal fields become ``"[masked]"``, and e-mail addresses and phone numbers found in the
    other values are masked too (with ``scanner``, also the dataset's known names, e-mails
    and phones: see :func:`mask_content`). With ``key`` the customer ids inside the rows are
    pseudonymised as well (for HTML); without it they stay real (for the CSV that the data team
    uses to fix the source). ``show`` returns a copy unchanged.

    Examples
    --------
    >>> rejected = pd.DataFrame({"table": ["customers"], "row": [3], "column": ["customer_id"],
    ...     "reason": ["duplicate customer_id"],
    ...     "values": ['{"customer_id":"C1","name":"Ann Lee","notes":"cell 555-123-4567"}']})
    >>> mask_rejected(rejected)["values"].iloc[0]
    '{"customer_id":"C1","name":"[masked]"}'
    """
    check_mode(mode)
    out = rejected.copy()
    if mode == "show" or out.empty:
        return out
    masked = out["values"].astype("str")
    for table in pd.unique(out["table"]):
        rows = (out["table"] == table).to_numpy()
        masked.loc[rows] = _mask_json_lines(
            masked.loc[rows], str(table), key=key, id_column=id_column, scanner=scanner
        )
    out["values"] = masked
    return out


def restrict_to_owner(dataset: Dataset, owner: str) -> Dataset:
    """Return the account owner's book: only their customers and what belongs to them.

    Customers whose ``owner_id`` is ``owner``; their orders, tickets, surveys, activities and
    opportunities; the owner's own
    staff row and assessments; targets that are the owner's or company-wide (no ``owner_id``);
    rejected rows that reference one of the owner's customers, or the owner when they reference
    no validated customer. Books are split on the validated customers only: a quarantined
    duplicate row of a customer that names another owner does not bring the customer (or the
    row) into that owner's book, so every customer is in exactly one book. Nothing about another
    owner's customers remains.

    Raises
    ------
    ValueError
        When customers have no ``owner_id`` column or ``owner`` has no customers.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> book = restrict_to_owner(ds, ds.customers["owner_id"].iloc[0])
    >>> book.customers["owner_id"].nunique()
    1
    """
    customers = dataset.customers
    if "owner_id" not in customers.columns:
        raise ValueError("owner: customers have no owner_id column, so there are no owner books")
    mine = (customers["owner_id"] == owner).fillna(False).to_numpy(dtype=bool)
    if not mine.any():
        known = ", ".join(sorted(customers["owner_id"].dropna().unique().tolist())[:10])
        raise ValueError(f"owner: '{owner}' owns no customers (owners include {known})")
    book = customers.loc[mine].reset_index(drop=True)
    ids = book["customer_id"]
    out: dict[str, Any] = {"customers": book}
    for name in ("orders", "tickets", "surveys", "activities", "opportunities"):
        frame = getattr(dataset, name)
        out[name] = (
            None
            if frame is None
            else frame.loc[isin(frame["customer_id"], ids)].reset_index(drop=True)
        )
    if dataset.staff is not None:
        out["staff"] = dataset.staff.loc[
            (dataset.staff["staff_id"] == owner).to_numpy()
        ].reset_index(drop=True)
    if dataset.assessments is not None:
        keep = (dataset.assessments["staff_id"] == owner).to_numpy()
        out["assessments"] = dataset.assessments.loc[keep].reset_index(drop=True)
    if dataset.targets is not None:
        targets = dataset.targets
        keep = np.ones(len(targets), dtype=bool)
        if "owner_id" in targets.columns:
            keep = (targets["owner_id"].isna() | (targets["owner_id"] == owner)).to_numpy(
                dtype=bool
            )
        out["targets"] = targets.loc[keep].reset_index(drop=True)
    out["rejected"] = _rejected_of_owner(dataset.rejected, ids, owner, customers["customer_id"])
    return replace(dataset, **out)


def _rejected_of_owner(
    rejected: pd.DataFrame, ids: pd.Series, owner: str, customers: pd.Series
) -> pd.DataFrame:
    """Return the rejected rows of one owner's book.

    A row naming a customer of the validated table belongs to that customer's owner only,
    whatever ``owner_id`` the row itself names (a duplicated customer row naming another owner
    stays in the first owner's book). A row naming no known customer belongs to the owner or
    staff member it names.
    """
    if rejected.empty:
        return rejected.copy()
    keep = np.zeros(len(rejected), dtype=bool)
    for table in pd.unique(rejected["table"]):
        rows = (rejected["table"] == table).to_numpy()
        records = pd.read_json(
            io.StringIO("\n".join(rejected.loc[rows, "values"].astype("str").tolist())),
            lines=True,
            dtype=False,
        )
        hit = np.zeros(len(records), dtype=bool)
        known = np.zeros(len(records), dtype=bool)
        if "customer_id" in records.columns:
            named = records["customer_id"].astype("str")
            hit |= isin(named, ids)
            known = np.asarray(isin(named, customers), dtype=bool)
        for column in ("owner_id", "staff_id"):
            if column in records.columns:
                mine = (records[column].astype("str") == owner).fillna(False).to_numpy(dtype=bool)
                hit |= mine & ~known
        keep[np.flatnonzero(rows)[hit]] = True
    return rejected.loc[keep].reset_index(drop=True)


# --- the leak scanner --------------------------------------------------------------------------

_BLOB = re.compile(r"[A-Za-z0-9+/=]{120,}|(?:\\n)?[A-Za-z0-9+/=]{60,}\\n")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
_PHONE_RUN = re.compile(r"[+(]?\d[\d\s().\-/]{5,}\d")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@dataclass(frozen=True)
class Finding:
    """Personal data found in a file: which file, what kind and how many occurrences."""

    path: str
    kind: str
    count: int

    def __str__(self) -> str:
        """Say where the finding is, how many and of what kind."""
        return f"{self.path}: {self.count} {self.kind}"


def _staff_keys(dataset: Dataset) -> set[str]:
    """Return the ids of staff, account owners and agents: values a report shows by design."""
    keys: set[str] = set()
    for table, column in (
        ("staff", "staff_id"),
        ("customers", "owner_id"),
        ("tickets", "agent_id"),
        ("activities", "staff_id"),
        ("opportunities", "owner_id"),
    ):
        frame = dataset.tables.get(table)
        if frame is not None and column in frame.columns:
            keys.update(frame[column].dropna().astype("str").tolist())
    return keys


class PiiScanner:
    """Finds personal data in written text: a dataset's known values and anything shaped like one.

    The report's last line of defence in ``mask`` mode: every HTML, CSV, notebook and JSON
    written is scanned before the report is published, and a hit fails the run. After HTML
    entities are decoded it counts

    - ``email``: every e-mail address (a pattern: known to the dataset or not);
    - ``phone``: every phone number written as one (:func:`phone_spans`: not ISO dates, ids or
      amounts), and every run of digits holding a known phone number (compared on digits, at
      least 7, so ``+1-555-177-4512`` and ``15551774512`` both match);
    - ``name``: the known names (of two words or more) as word n-grams, case-insensitive.

    Matching is linear in the text. Findings report counts, never the values.
    :meth:`mask_text` replaces the same things by ``[masked]``.

    Parameters
    ----------
    names, emails, phones : iterable of str
        The values to look for.

    Examples
    --------
    >>> scanner = PiiScanner(names=["Ann Lee"], emails=["ann@x.example"], phones=["+1-555-123-4567"])
    >>> scanner.scan_text("<td>ann LEE</td> call 15551234567 or bo@y.example")
    {'email': 1, 'name': 1, 'phone': 1}
    >>> scanner.mask_text("Ann Lee: +1 555 123 4567, notes of 2025-12-31")
    '[masked]: [masked], notes of 2025-12-31'
    """

    def __init__(
        self,
        names: Iterable[str] = (),
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
    ):
        self.names_: set[tuple[str, ...]] = set()
        for name in names:
            words = tuple(_words(str(name)))
            if len(words) >= 2:
                self.names_.add(words)
        self.name_lengths_ = sorted({len(n) for n in self.names_})
        self.emails_ = {str(e).strip().lower() for e in emails if str(e).strip()}
        digits = {re.sub(r"\D", "", str(p)) for p in phones}
        self.phones_ = {d for d in digits if len(d) >= 7}
        self.phone_lengths_ = sorted({len(p) for p in self.phones_})

    @classmethod
    def from_dataset(cls, dataset: Dataset, *, staff_names: bool = False) -> PiiScanner:
        """Collect the personal values of every table (customers, staff, extra columns).

        The raw rows of rejected records are included, so a quarantined duplicate's name is
        looked for too. With ``staff_names`` (``report.staff_names: name``, the reports show
        staff by name: internal information, not a customer's personal data) the ``staff``
        table's names are not looked for; a customer who shares one is not revealed by it.
        """
        values: dict[str, list[str]] = {"name": [], "email": [], "phone": []}
        frames = list(dataset.tables.values())
        if len(dataset.rejected):
            for table in pd.unique(dataset.rejected["table"]):
                lines = dataset.rejected.loc[dataset.rejected["table"] == table, "values"]
                frames.append(
                    pd.read_json(
                        io.StringIO("\n".join(lines.astype("str").tolist())),
                        lines=True,
                        dtype=False,
                    )
                )
        for frame in frames:
            for column in pii_columns(frame):
                key = str(column).lower()
                kind = (
                    "email"
                    if "mail" in key
                    else "phone"
                    if re.search(r"phone|mobile|tele", key)
                    else "name"
                )
                values[kind].extend(frame[column].dropna().astype("str").tolist())
        # The ids of the people responsible are shown by design (an export may key its account
        # owners by name, as Superstore's People sheet does); a customer who shares such a name
        # is not revealed by it, so those values are not looked for as customer names.
        staff_keys = _staff_keys(dataset)
        staff = dataset.tables.get("staff")
        if staff_names and staff is not None and "name" in staff.columns:
            staff_keys.update(staff["name"].dropna().astype("str").tolist())
        names = [name for name in values["name"] if name not in staff_keys]
        return cls(names=names, emails=values["email"], phones=values["phone"])

    def scan_text(self, text: str) -> dict[str, int]:
        """Occurrences of personal values in ``text`` by kind (kinds with none are left out)."""
        text = _BLOB.sub(" ", html.unescape(text))  # base64 images: long runs, no names inside
        found: Counter[str] = Counter()
        found["email"] = len(_EMAIL.findall(text))
        shaped = phone_spans(text)
        found["phone"] = len(shaped)
        if self.phones_:
            for run in _PHONE_RUN.finditer(text):
                counted = any(a < run.end() and run.start() < b for a, b in shaped)
                found["phone"] += not counted and self._known_phone(run.group(0))
        if self.names_:
            found["name"] = len(self._name_spans(text))
        return {kind: count for kind, count in sorted(found.items()) if count}

    def _known_phone(self, run: str) -> bool:
        digits = re.sub(r"\D", "", run)
        return any(
            digits[i : i + n] in self.phones_
            for n in self.phone_lengths_
            for i in range(len(digits) - n + 1)
        )

    def _name_spans(self, text: str) -> list[tuple[int, int]]:
        words = list(_WORD.finditer(text))
        lowered = [w.group(0).lower() for w in words]
        spans = []
        for n in self.name_lengths_:
            for i in range(len(words) - n + 1):
                if tuple(lowered[i : i + n]) in self.names_:
                    spans.append((words[i].start(), words[i + n - 1].end()))
        return spans

    def mask_text(self, text: str) -> str:
        """``text`` with what :meth:`scan_text` finds replaced by ``[masked]``.

        Examples
        --------
        >>> PiiScanner(names=["Bo Yu"]).mask_text("ask bo yu at bo@y.example")
        'ask [masked] at [masked]'
        """
        text = mask_patterns(text)
        spans: list[tuple[int, int]] = []
        if self.phones_:
            spans += [r.span() for r in _PHONE_RUN.finditer(text) if self._known_phone(r.group(0))]
        if self.names_:
            spans += self._name_spans(text)
        if not spans:
            return text
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in reversed(merged):
            text = text[:start] + MASKED + text[end:]
        return text

    def scan_files(self, paths: Iterable[str | os.PathLike]) -> list[Finding]:
        """Scan text files; returns one :class:`Finding` per file and kind with hits."""
        findings = []
        for path in paths:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
            for kind, count in self.scan_text(text).items():
                findings.append(Finding(str(path), kind, count))
        return findings
