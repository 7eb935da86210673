"""Warm kernels (cpm_analysis.report.kernels): one kernel executes many notebooks, each clean."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from light_period import light_build_period

from cpm_analysis.report import runner
from cpm_analysis.report.kernels import KernelPool, WarmKernel, prepare_kernel
from cpm_analysis.report.runner import NotebookFailed, NotebookSpec, execute_notebook
from cpm_analysis.synthetic import generate

# a notebook cell that records what the kernel looks like into probe.json in its folder
PROBE = """
import json, os, sys
import matplotlib, matplotlib.pyplot as plt
json.dump({
    "pid": os.getpid(),
    "cwd": os.getcwd(),
    "names": sorted(n for n in dir() if not n.startswith("_")),
    "font_size": matplotlib.rcParams["font.size"],
    "figures": plt.get_fignums(),
    "env": os.environ.get("CPM_KERNEL_TEST"),
    "leaked_env": os.environ.get("CPM_LEAKED"),
    "x": x,
}, open("probe.json", "w"))
"""
# what a notebook may leave behind: a variable, a figure, a style, an environment variable
LITTER = """
secret = 42
matplotlib.rcParams["font.size"] = 33
figure = plt.figure()
os.environ["CPM_LEAKED"] = "yes"
"""


def _notebook(folder: Path, name: str, *code: str) -> NotebookSpec:
    """A notebook with a parameters cell (``x``) and ``code`` cells."""
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    book = nbformat.v4.new_notebook(cells=[params, *(nbformat.v4.new_code_cell(c) for c in code)])
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / f"{name}.ipynb"
    nbformat.write(book, path)
    return NotebookSpec(path)


def _run(spec: NotebookSpec, folder: Path, kernel: WarmKernel, x: int = 2, **kw) -> dict:
    folder.mkdir(exist_ok=True)
    execute_notebook(spec, folder / spec.path.name, {"x": x}, cwd=folder, kernel=kernel, **kw)
    return json.loads((folder / "probe.json").read_text())


@pytest.fixture()
def kernel(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with WarmKernel(home=home) as warm:
        yield warm


def test_a_notebook_after_another_in_the_same_kernel_starts_clean(tmp_path, kernel):
    first = _notebook(tmp_path, "first", PROBE, LITTER)
    second = _notebook(tmp_path, "second", PROBE)
    one = _run(first, tmp_path / "one", kernel, env={"CPM_KERNEL_TEST": "a"})
    two = _run(second, tmp_path / "two", kernel, x=3, env={"CPM_KERNEL_TEST": "a"})
    assert kernel.starts == 1 and one["pid"] == two["pid"]  # the same kernel ran both
    assert "secret" not in two["names"] and "figure" not in two["names"]
    assert two["x"] == 3 and two["font_size"] == one["font_size"] != 33
    assert two["figures"] == [] and two["env"] == "a" and two["leaked_env"] is None
    assert Path(one["cwd"]) == tmp_path / "one" and Path(two["cwd"]) == tmp_path / "two"


def test_the_reset_leaves_no_trace_in_the_saved_notebook(tmp_path, kernel):
    spec = _notebook(tmp_path, "probe", PROBE, "y = x + 1", "y")
    _run(spec, tmp_path / "one", kernel)
    _run(spec, tmp_path / "two", kernel)
    saved = nbformat.read(tmp_path / "two" / "probe.ipynb", as_version=4)
    # the source's cells and papermill's parameters cell: nothing injected by the reset
    sources = [c.source for c in saved.cells]
    assert sources[0] == "x = 1" and sources[1].startswith("# Parameters")
    assert sources[2:] == [PROBE, "y = x + 1", "y"]
    assert [c.execution_count for c in saved.cells] == [1, 2, 3, 4, 5]  # as a fresh kernel
    assert "prepare_kernel" not in json.dumps(saved)
    assert saved.cells[-1].outputs[0]["data"]["text/plain"] == "3"


def test_a_failing_notebook_is_reported_and_the_next_runs_in_the_same_kernel(tmp_path, kernel):
    before = _run(_notebook(tmp_path, "ok", PROBE), tmp_path / "one", kernel)
    fails = _notebook(tmp_path, "fails", "ratio = x / 0")
    with pytest.raises(NotebookFailed, match=r"fails: cell 2 of 2, In \[3\]: `ratio = x / 0`"):
        execute_notebook(fails, tmp_path / "fails.out.ipynb", {"x": 2}, cwd=tmp_path, kernel=kernel)
    after = _run(_notebook(tmp_path, "ok", PROBE), tmp_path / "two", kernel)
    assert after["pid"] == before["pid"] and kernel.starts == 1


def test_a_killed_kernel_is_reported_and_replaced(tmp_path, kernel):
    before = _run(_notebook(tmp_path, "ok", PROBE), tmp_path / "one", kernel)
    dies = _notebook(tmp_path, "dies", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(NotebookFailed, match="dies: DeadKernelError"):
        execute_notebook(dies, tmp_path / "dies.out.ipynb", {"x": 2}, cwd=tmp_path, kernel=kernel)
    after = _run(_notebook(tmp_path, "ok", PROBE), tmp_path / "two", kernel)
    assert after["pid"] != before["pid"] and kernel.starts == 2


def test_a_kernel_that_timed_out_is_replaced(tmp_path, kernel):
    before = _run(_notebook(tmp_path, "ok", PROBE), tmp_path / "one", kernel)
    slow = _notebook(tmp_path, "slow", "import time\ntime.sleep(30)")
    with pytest.raises(NotebookFailed, match="slow: CellTimeoutError"):
        execute_notebook(
            slow, tmp_path / "slow.out.ipynb", {"x": 2}, cwd=tmp_path, kernel=kernel, timeout=1
        )
    after = _run(_notebook(tmp_path, "ok", PROBE), tmp_path / "two", kernel)
    assert after["pid"] != before["pid"] and kernel.starts == 2


def test_another_environment_gets_another_kernel(tmp_path, kernel):
    spec = _notebook(tmp_path, "ok", PROBE)
    one = _run(spec, tmp_path / "one", kernel, env={"CPM_KERNEL_TEST": "a"})
    two = _run(spec, tmp_path / "two", kernel, env={"CPM_KERNEL_TEST": "b"})
    assert (one["env"], two["env"]) == ("a", "b") and one["pid"] != two["pid"]


def test_a_pool_runs_many_notebooks_in_few_kernels_and_never_moves_this_process(
    tmp_path, monkeypatch
):
    spec = _notebook(tmp_path, "ok", PROBE, LITTER)
    here = os.getcwd()
    calls: list[str] = []
    real_chdir = os.chdir
    monkeypatch.setattr(os, "chdir", lambda path: calls.append(str(path)) or real_chdir(path))
    folders = [tmp_path / f"page{i}" for i in range(6)]
    with KernelPool(2, home=tmp_path, warm=True) as pool:
        futures = [pool.submit(lambda k, f=f: _run(spec, f, k)) for f in folders]
        probes = [future.result() for future in futures]
    assert pool.starts == 2 and len({p["pid"] for p in probes}) <= 2
    assert [Path(p["cwd"]) for p in probes] == folders
    assert all("secret" not in p["names"] and p["font_size"] != 33 for p in probes)
    assert set(calls) <= {here} and os.getcwd() == here  # papermill's own "chdir" to here only


def test_closing_a_pool_shuts_its_kernels_down(tmp_path):
    spec = _notebook(tmp_path, "ok", PROBE)
    with KernelPool(1, home=tmp_path) as pool:
        pid = pool.submit(lambda k: _run(spec, tmp_path / "one", k)).result()["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(lambda k: None)


def test_prepare_kernel_outside_a_kernel_only_moves(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "page"
    folder.mkdir()
    prepare_kernel(str(folder))
    assert Path(os.getcwd()) == folder
    with pytest.raises(FileNotFoundError):
        prepare_kernel(str(tmp_path / "missing"))


PID = "import os\nopen(f'pid-{os.getpid()}', 'w').write(owner)"


@pytest.mark.slow
def test_a_report_with_owner_pages_starts_one_kernel_per_job(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "build_period", light_build_period)  # files, not models
    data = generate(200, seed=3)
    customers = data.tables["customers"]
    customers["owner_id"] = np.where(np.arange(len(customers)) % 3 == 0, "S002", "S001")
    data.write(tmp_path / "data")
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    parameters = (
        'data = ""\nperiod = "latest"\nfreq = "monthly"\nout_dir = ""\npii = "mask"\n'
        'owner = ""\nseed = 0\nresult = ""'
    )
    for name in ("01_a", "02_b", "03_c", runner.OWNER_BOOK):
        book = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(PID),
            ]
        )
        book.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(book, notebooks / f"{name}.ipynb")
    outcome = runner.run_report(
        data=str(tmp_path / "data"),
        out=tmp_path / "out",
        notebooks=notebooks,
        per_owner=True,
        jobs=2,
        progress=False,
    )
    assert outcome.exit_code == 0, outcome.periods[0].error
    period = tmp_path / "out" / outcome.periods[0].label
    folders = [period, period / "owners" / "S001", period / "owners" / "S002"]
    pids = {p.name for folder in folders for p in folder.glob("pid-*")}
    assert len(list(period.glob("*.html"))) == 3  # the company's pages
    assert all(  # and one owner book per owner: 5 notebooks
        [p.name for p in folder.glob("*.html")] == ["owner_book.html"] for folder in folders[1:]
    )
    assert 1 <= len(pids) <= 2  # ... in the two warm kernels of --jobs 2


def _page(path: Path, title: str, html: str) -> Path:
    """An executed notebook: a heading and one HTML output."""
    output = nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "t"})
    cells = [
        nbformat.v4.new_markdown_cell(f"# {title}"),
        nbformat.v4.new_code_cell(outputs=[output]),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_pages_exported_by_one_reused_exporter_are_those_of_a_new_one(tmp_path, monkeypatch):
    import threading

    from cpm_analysis.report import export

    monkeypatch.setattr(export, "_EXPORTERS", threading.local())  # this thread: a new exporter
    alpha = _page(tmp_path / "a.ipynb", "Alpha", "<p>one</p>")
    first = export.export_html(alpha).read_bytes()
    other = export.export_html(_page(tmp_path / "b.ipynb", "Beta", "<b>two</b>")).read_text()
    assert export.export_html(alpha).read_bytes() == first  # nothing of Beta carried over
    assert "<b>two</b>" in other and "Alpha" not in other
    exporters: list = []
    worker = threading.Thread(target=lambda: exporters.append(export._thread_exporter()))
    worker.start()
    worker.join()
    assert exporters[0] is not export._thread_exporter()  # one per thread: never shared


def test_aborting_a_pool_kills_the_running_notebook_and_cancels_the_queued_ones(tmp_path):
    slow = _notebook(tmp_path, "slow", "import time\nopen('started', 'w').close()\ntime.sleep(60)")
    pool = KernelPool(1, home=tmp_path)
    running = pool.submit(
        lambda k: execute_notebook(slow, tmp_path / "o.ipynb", {}, cwd=tmp_path, kernel=k)
    )
    queued = pool.submit(
        lambda k: execute_notebook(slow, tmp_path / "q.ipynb", {}, cwd=tmp_path, kernel=k)
    )
    while not (tmp_path / "started").exists():  # the cell is running
        time.sleep(0.1)
    started = time.perf_counter()
    pool.close(abort=True)
    assert time.perf_counter() - started < 30  # not the minute the cell sleeps
    with pytest.raises(NotebookFailed, match="slow: DeadKernelError"):
        running.result()
    assert queued.cancelled() and pool.starts == 1
