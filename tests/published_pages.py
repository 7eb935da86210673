"""What a reader sees on a published page, and the check that it shows no broken number.

Used by the report tests and the real-data gallery: every published HTML page's visible text
(no scripts, styles, charts or tags) never shows ``nan``, ``NaN``, ``inf``, ``-inf``, ``inf%``,
a Python error or traceback, or an empty "No rows." table.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

BAD = re.compile(r"\b(?:nan|NaN|-?inf|Traceback|Error)\b|inf%|\w+Error\b|No rows\.")
"""What a published page never shows: numbers that are not numbers, Python errors, empty tables."""


def visible_text(page: Path) -> str:
    """The text a reader sees: no scripts, styles, images (charts) or tags; entities decoded."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<img\b[^>]*>", " ", text, flags=re.I)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\s+", " ", text)


def assert_clean(folder: Path) -> list[Path]:
    """Every HTML page under ``folder`` is free of :data:`BAD`; returns the pages."""
    pages = sorted(p for p in folder.rglob("*.html") if "_failed" not in p.parts)
    assert pages, f"no page in {folder}"
    found = []
    for page in pages:
        text = visible_text(page)
        for match in BAD.finditer(text):
            start = max(match.start() - 60, 0)
            found.append(f"{page.relative_to(folder)}: ...{text[start : match.end() + 30]}...")
    assert not found, "\n".join(found[:10])
    return pages
