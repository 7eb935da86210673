"""The documentation cannot rot: generated pages match the code, links resolve inside the repo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cpm_analysis.kpis.reference import kpi_reference, main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target), not inside inline code; reference-style links are not used
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


def _links(page: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return LINK.findall(text)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE):
        plain = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        anchors.add(re.sub(r"[^\w\- ]", "", plain).replace(" ", "-"))
    return anchors


def test_the_kpi_page_is_the_generated_one():
    committed = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert committed == kpi_reference(), (
        "docs/kpis.md differs from the KPI registry: run "
        "python -m cpm_analysis.kpis.reference --write docs/kpis.md"
    )


def test_the_kpi_page_lists_every_registered_kpi():
    from cpm_analysis.kpis import KPIS

    page = kpi_reference()
    for kpi in KPIS.values():
        assert f"| `{kpi.id}` | {kpi.label_en} | {kpi.label_zh} |" in page


def test_the_kpi_check_fails_on_a_stale_page(tmp_path, capsys):
    stale = tmp_path / "kpis.md"
    stale.write_text(kpi_reference().replace("Revenue", "Turnover"), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert "--write" in capsys.readouterr().err
    assert main(["--write", str(stale)]) == 0
    assert main(["--check", str(stale)]) == 0


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_links_stay_inside_the_repository_and_resolve(page):
    problems = []
    for target in _links(page):
        if re.match(r"^(https?|mailto):", target):
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE) or target.startswith("/"):
            problems.append(f"{target}: not a path inside the repository")
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: points outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)


def test_the_link_check_catches_a_link_outside_and_a_missing_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[a](../shared/DESIGN.md) [b](missing.md) `[c](x.md)` [d](https://x.org)")
    assert _links(page) == ["../shared/DESIGN.md", "missing.md", "https://x.org"]


def test_the_readme_is_a_short_guide_whose_test_command_is_make_test():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 260
    assert "make test" in readme
    assert "make report" in readme
    assert "docs/images/" in readme
