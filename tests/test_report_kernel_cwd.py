"""The kernel of a report notebook starts in its period folder, whatever the process's cwd."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import nbformat
import papermill.execute

from cpm_analysis.report.runner import NotebookSpec, execute_notebook


def test_the_kernel_starts_in_cwd_even_when_a_parallel_thread_undoes_the_chdir(
    tmp_path, monkeypatch
):
    # papermill's cwd= is a process-wide chdir: with --jobs 2 another thread may restore the
    # old folder while this kernel is spawned. Simulate that: papermill's chdir does nothing.
    monkeypatch.setattr(papermill.execute, "chdir", lambda path: contextlib.nullcontext())
    notebook = _probe(tmp_path, "import os\nopen('where.txt', 'w').write(os.getcwd())")
    folder = tmp_path / "period"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    execute_notebook(NotebookSpec(notebook), folder / "probe.ipynb", {"x": 2}, cwd=folder)
    assert Path((folder / "where.txt").read_text()) == folder
    assert not (elsewhere / "where.txt").exists()
    assert Path(os.getcwd()) == elsewhere


def test_executing_a_notebook_never_changes_this_process_cwd(tmp_path, monkeypatch):
    # A process-wide chdir from a notebook thread can leave the process in a period's
    # temporary folder that is later renamed away: the next report then fails on it.
    notebook = _probe(tmp_path, "y = x")
    folder = tmp_path / "period"
    folder.mkdir()
    here = os.getcwd()
    calls: list[str] = []
    real_chdir = os.chdir
    monkeypatch.setattr(os, "chdir", lambda path: calls.append(str(path)) or real_chdir(path))
    execute_notebook(NotebookSpec(notebook), folder / "probe.ipynb", {"x": 2}, cwd=folder)
    # papermill's file handler "changes" to the current folder around reads and writes; any
    # other folder is a process-wide move.
    assert set(calls) <= {here}
    assert os.getcwd() == here


def _probe(folder: Path, code: str) -> Path:
    """A notebook with a parameters cell (``x``) and one cell of ``code``."""
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    book = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(code)])
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    book.metadata["language_info"] = {"name": "python"}
    path = folder / "probe.ipynb"
    nbformat.write(book, path)
    return path
