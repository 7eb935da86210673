"""The output folder belongs to the report (issue 12, parts 2, 6 and 7).

``cpm report`` claims only a new or empty folder, records what it writes in
``.cpm-report.json`` and deletes or replaces nothing else; it refuses a folder that holds the
data; owner ids of any shape become safe, unique folder names; an unwritable folder, a full disk
and a short pseudonym key end in one line. The runs use a tiny notebook and the no-model scored
table, so each takes seconds.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from click.testing import CliRunner
from light_period import light_build_period
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cpm_analysis import privacy
from cpm_analysis.cli import main
from cpm_analysis.report import manifest, runner
from cpm_analysis.report.lock import LOCK_FILE
from cpm_analysis.synthetic import generate

PERIOD = "2025-12"
LIGHT = "print(f'report {period} owner={owner!r}')"  # no imports: a fast kernel
BOOK = (  # loads the owner's book in the kernel, as the real notebooks do
    "from cpm_analysis.report.params import validate_parameters\n"
    "ctx = validate_parameters(data=data, period=period, freq=freq, out_dir=out_dir, pii=pii,\n"
    "                          owner=owner, seed=seed, result=result)\n"
    "print(f'book of {len(ctx.view.customers)} customers')"
)
PARAMETERS = (
    'data: str = "data/sample"\nperiod: str = "latest"\nfreq: str = "monthly"\n'
    'out_dir: str = ""\npii: str = "mask"\nowner: str = ""\nseed: int = 0\nresult: str = ""'
)


@pytest.fixture(autouse=True)
def _fast_and_isolated(monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.delenv(runner.NOTEBOOKS_ENV, raising=False)
    # the no-model scored table: these tests are about files, not models
    monkeypatch.setattr(runner, "build_period", light_build_period)


def _notebook(folder: Path, code: str = LIGHT, name: str = "01_light") -> Path:
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"# {name}"),
            new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
            new_code_cell(code),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    data = generate(300, seed=5)
    folder = tmp_path_factory.mktemp("company")
    data.write(folder)
    return folder


@pytest.fixture(scope="module")
def light(tmp_path_factory):
    return _notebook(tmp_path_factory.mktemp("nb"))


def report(data: Path | str, out: Path, notebooks: Path, *extra: str):
    args = ["report", "--data", str(data), "--out", str(out), "--period", PERIOD]
    return CliRunner().invoke(main, [*args, "--notebooks", str(notebooks), "-q", *extra])


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` with a digest of its bytes (for the manifest, of
    what it lists; the lock file says which run held it last, so only its presence counts)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.name == LOCK_FILE:
            found[rel] = "lock"
        elif path.name == manifest.MANIFEST_FILE:
            found[rel] = json.dumps(json.loads(path.read_text())["entries"], sort_keys=True)
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


def _one_error_line(result, code: int = 2) -> str:
    """The error line; with exit 2 it is all the output, with exit 1 it closes the error log."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: "), result.output
    assert len(lines) == 1 or code == 1, result.output
    return lines[-1]


# --- a folder that is not the report's ------------------------------------------------------------


def _users_folder(root: Path) -> Path:
    (root / PERIOD).mkdir(parents=True)
    (root / PERIOD / "family-photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 a photo")
    (root / ".tmp-build").mkdir()
    (root / ".tmp-build" / "object.o").write_bytes(b"\x7fELF")
    (root / ".old-thesis").mkdir()
    (root / ".old-thesis" / "draft.tex").write_text("\\chapter{One}")
    (root / "index.html").write_text("<h1>My own page</h1>")
    return root


def test_a_users_folder_is_refused_and_nothing_in_it_changes(company, light, tmp_path):
    out = _users_folder(tmp_path / "mine")
    before = snapshot(out)
    line = _one_error_line(report(company, out, light))
    assert f"--out: {out} is not empty and was not written by cpm report" in line
    assert snapshot(out) == before  # nothing removed, nothing added (not even a lock file)


def test_data_inside_out_is_refused_and_the_data_is_intact(company, light, tmp_path):
    root = tmp_path / "X"
    shutil.copytree(company, root / PERIOD)
    before = snapshot(root)
    line = _one_error_line(report(root / PERIOD, root, light))
    assert f"--data {root / PERIOD} lies inside --out {root}" in line
    assert snapshot(root) == before
    line = _one_error_line(report(root / PERIOD, root / PERIOD / "reports", light))
    assert "lies inside --data" in line
    assert snapshot(root) == before


def test_a_sqlite_file_inside_out_is_refused(tmp_path, light):
    (tmp_path / "crm.db").write_bytes(b"")
    line = _one_error_line(report(f"sqlite:///{tmp_path / 'crm.db'}", tmp_path, light))
    assert "lies inside --out" in line


def test_an_empty_or_new_folder_is_claimed_with_a_manifest(company, light, tmp_path):
    out = tmp_path / "new" / "reports"
    result = report(company, out, light)
    assert result.exit_code == 0, result.output
    data = json.loads((out / manifest.MANIFEST_FILE).read_text())
    entries = data["entries"]
    assert {PERIOD, "index.html"} <= set(entries)
    assert set(entries[PERIOD]) == {p.name for p in (out / PERIOD).iterdir()}
    assert entries[PERIOD]["01_light.html"] == (out / PERIOD / "01_light.html").stat().st_size
    assert not [n for n in entries if n.startswith((".tmp-", ".old-"))]
    # a folder holding only a .gitkeep (the project's reports/) is empty for this purpose
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / ".gitkeep").write_text("")
    assert report(company, kept, light).exit_code == 0
    assert (kept / ".gitkeep").exists()


@pytest.fixture()
def owned(company, light, tmp_path):
    """A folder holding one published period, written by cpm report."""
    out = tmp_path / "reports"
    result = report(company, out, light)
    assert result.exit_code == 0, result.output
    return out


def test_rerunning_into_its_own_folder_replaces_its_period_atomically(company, light, owned):
    inode = (owned / PERIOD).stat().st_ino
    result = report(company, owned, light)
    assert result.exit_code == 0, result.output
    assert (owned / PERIOD).stat().st_ino != inode  # a new folder was swapped in whole
    assert not list(owned.glob(".tmp-*")) and not list(owned.glob(".old-*"))


def test_a_file_added_to_its_period_folder_stops_the_rerun(company, light, owned):
    photo = owned / PERIOD / "family-photo.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    before = snapshot(owned)
    line = _one_error_line(report(company, owned, light))
    assert f"{photo} was not written by cpm report" in line and "will not replace" in line
    assert snapshot(owned) == before


def test_an_edited_file_or_index_stops_the_rerun(company, light, owned):
    scored = owned / PERIOD / "customers_scored.csv"
    scored.write_text(scored.read_text() + "my,own,notes\n")
    assert "customers_scored.csv was not written" in _one_error_line(report(company, owned, light))
    shutil.rmtree(owned / PERIOD)  # the user may remove a report; the next run rebuilds it
    (owned / "index.html").write_text("<h1>my own page</h1>")
    before = snapshot(owned)
    line = _one_error_line(report(company, owned, light))
    assert "index.html was not written by cpm report" in line and "will not rewrite" in line
    assert snapshot(owned) == before


def test_a_period_folder_it_did_not_write_is_never_replaced(company, light, owned):
    theirs = owned / "2025-11"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    before = snapshot(owned)
    line = _one_error_line(report(company, owned, light, "--period", "2025-11"))
    assert f"{theirs} was not written by cpm report" in line
    assert snapshot(owned) == before
    # and the index of its own folder does not list it as a report
    assert report(company, owned, light).exit_code == 0
    assert "2025-11" not in (owned / "index.html").read_text()


def test_only_the_staging_folders_it_listed_are_cleaned(company, light, owned):
    theirs = owned / ".tmp-build"
    theirs.mkdir()
    (theirs / "object.o").write_bytes(b"\x7fELF")
    (owned / ".old-thesis").mkdir()
    left = owned / f".tmp-{PERIOD}-deadbeef"  # as a killed run leaves it: listed, then made
    mine = manifest.Manifest.read(owned)
    mine.reserve(left)
    left.mkdir()
    (left / "01_light.ipynb").write_text("{}")
    result = report(company, owned, light)
    assert result.exit_code == 0, result.output
    assert not left.exists() and left.name not in manifest.Manifest.read(owned).entries
    assert (theirs / "object.o").read_bytes() == b"\x7fELF" and (owned / ".old-thesis").is_dir()


def test_a_failed_attempt_folder_it_did_not_write_is_never_replaced(company, owned, tmp_path):
    failing = _notebook(tmp_path / "nb-fail", "1 / 0", "01_fails")
    assert report(company, owned, failing).exit_code == 1  # its own _failed/2025-12
    assert (owned / "_failed" / PERIOD / "FAILED.txt").exists()
    assert report(company, owned, failing).exit_code == 1  # replaces its own failed attempt
    (owned / "_failed" / PERIOD / "analysis.xlsx").write_bytes(b"PK")
    line = _one_error_line(report(company, owned, failing))
    assert "analysis.xlsx was not written by cpm report" in line
    assert (owned / "_failed" / PERIOD / "analysis.xlsx").read_bytes() == b"PK"


def test_publish_without_the_report_manifest_entry_refuses(tmp_path):
    out = tmp_path / "out"
    mine = manifest.Manifest.claim(out)
    final = out / PERIOD
    final.mkdir(parents=True)
    (final / "thesis.pdf").write_bytes(b"%PDF")
    staging = out / ".tmp-x"
    staging.mkdir()
    with pytest.raises(manifest.OutputFolderError, match="thesis.pdf|was not written"):
        runner.publish(staging, final, mine)
    assert (final / "thesis.pdf").read_bytes() == b"%PDF"


# --- identifiers as folder names ----------------------------------------------------------------

HOSTILE_OWNERS = (
    "x" * 300,  # longer than any file name may be
    "a/b",
    "../../etc",
    "..",
    "CON",
    "nul.txt",
    "COM1",
    "Ünïcödé ‮ rtl",
    "日本の担当",
    "case",
    "CASE",
    "tab\tand\nnewline",
)


def test_hostile_owner_ids_get_safe_unique_stable_folder_names():
    names = runner.owner_folder_names(list(HOSTILE_OWNERS))
    assert names == runner.owner_folder_names(list(HOSTILE_OWNERS))  # stable
    folded = [n.casefold() for n in names.values()]
    assert len(set(folded)) == len(HOSTILE_OWNERS)  # unique, even ignoring case
    for owner, name in names.items():
        assert len(name.encode()) <= 64, owner
        assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name), name
        assert name not in (".", "..") and not name.startswith(".")
        assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}
    assert names["case"] != names["CASE"] and names["case"].startswith("case-")
    assert runner.owner_folder_names(["S001", "north-1"]) == {"S001": "S001", "north-1": "north-1"}


@pytest.mark.slow
def test_hostile_owner_ids_work_end_to_end_per_owner(tmp_path):
    data = generate(240, seed=9)
    customers = data.tables["customers"]
    owners = np.array(HOSTILE_OWNERS, dtype=object)
    customers["owner_id"] = owners[np.arange(len(customers)) % len(owners)]
    source = tmp_path / "company"
    data.write(source)
    notebooks = _notebook(tmp_path / "nb")
    _notebook(notebooks, BOOK, runner.OWNER_BOOK)
    out = tmp_path / "out"
    result = report(source, out, notebooks, "--per-owner", "--jobs", "2")
    assert result.exit_code == 0, result.output
    folders = sorted((out / PERIOD / "owners").iterdir())
    names = runner.owner_folder_names(sorted(set(HOSTILE_OWNERS)))
    assert sorted(p.name for p in folders) == sorted(names.values())
    for owner, name in names.items():
        page = (out / PERIOD / "owners" / name / f"{runner.OWNER_BOOK}.html").read_text()
        expected = int((customers["owner_id"] == owner).sum())
        assert f"book of {expected} customers" in page, owner
    assert not (tmp_path / "etc").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "company",
        "nb",
        "out",
    ]


# --- failures end in one line -------------------------------------------------------------------


def test_a_short_pseudonym_key_is_one_line_exit_2(company, light, tmp_path, monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, "short")
    line = _one_error_line(report(company, tmp_path / "out", light))
    assert "CPM_PSEUDONYM_KEY: the pseudonym key must be at least 16 characters" in line
    assert not (tmp_path / "out" / PERIOD).exists()


def test_a_read_only_out_is_one_line_exit_2(company, light, tmp_path, monkeypatch):
    out = tmp_path / "ro"

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self.path))

    monkeypatch.setattr(runner.ReportLock, "acquire", read_only)
    line = _one_error_line(report(company, out, light))
    assert f"--out: cannot write to {out} (Read-only file system" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_a_read_only_out_by_permissions_is_one_line_exit_2(company, light, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        line = _one_error_line(report(company, out, light))
    finally:
        out.chmod(0o755)
    assert "--out: cannot write to" in line and "Permission denied" in line


def test_a_full_disk_fails_the_period_in_one_line_and_keeps_the_report(
    company, light, owned, monkeypatch
):
    before = snapshot(owned / PERIOD)

    def full(folder, scored, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "customers_scored.csv"))

    monkeypatch.setattr(runner, "write_scored", full)
    line = _one_error_line(report(company, owned, light), code=1)
    assert "writing the report: No space left on device" in line
    assert snapshot(owned / PERIOD) == before  # the previous report is untouched
    assert not list(owned.glob(".tmp-*"))


def test_a_full_disk_while_writing_the_index_is_one_line_exit_1(
    company, light, tmp_path, monkeypatch
):
    def full(out_dir, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(out_dir) / "index.html"))

    monkeypatch.setattr(runner, "write_index", full)
    line = _one_error_line(report(company, tmp_path / "out", light), code=1)
    assert "cannot write the report (No space left on device" in line
