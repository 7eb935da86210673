"""Generic checks over every notebook in notebooks/ (the ones that exist now and those to come).

Committed clean (outputs cleared), one ``parameters`` cell of literals, validated in the next cell
through a package function, no logic in cells (no def, class, loops, lambdas, comprehensions),
charts before tables, and each executes with papermill on a small synthetic company and shows its
key outputs (``metadata.cpm.key_outputs``).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from papermill.exceptions import PapermillExecutionError

from cpm_analysis import privacy
from cpm_analysis.report import params, runner
from cpm_analysis.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
FORBIDDEN = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Lambda,
    ast.comprehension,
)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def parameters_index(nb) -> int:
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected exactly one cell tagged 'parameters', found {len(tagged)}"
    return tagged[0]


def parameter_names(nb) -> list[str]:
    tree = ast.parse(nb.cells[parameters_index(nb)].source)
    return [
        (node.targets[0] if isinstance(node, ast.Assign) else node.target).id for node in tree.body
    ]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebook in notebooks/"
    assert any(runner.NotebookSpec(p).periodic for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_with_outputs_cleared(path):
    nb = read(path)
    nbformat.validate(nb)
    for cell in code_cells(nb):
        assert cell.outputs == [], f"outputs left in a cell: {cell.source[:60]!r}"
        assert cell.execution_count is None
    assert "papermill" not in nb.metadata
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cell_ids_are_unique(path):
    """nbformat renames a repeated id with a warning on every run: the file must not hold one."""
    ids = [cell.get("id") for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    assert all(ids) and len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_one_parameters_cell_of_typed_literals(path):
    nb = read(path)
    cell = nb.cells[parameters_index(nb)]
    assert cell.cell_type == "code"
    tree = ast.parse(cell.source)
    assert tree.body, "the parameters cell is empty"
    for node in tree.body:
        assert isinstance(node, ast.Assign | ast.AnnAssign), ast.dump(node)[:80]
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        assert len(targets) == 1 and isinstance(targets[0], ast.Name)
        assert node.value is not None
        ast.literal_eval(node.value)  # a literal, nothing computed
    names = parameter_names(nb)
    assert len(set(names)) == len(names)
    # papermill must read every parameter (a quote in a trailing comment breaks its parser)
    assert sorted(pm.inspect_notebook(str(path))) == sorted(names)
    if runner.NotebookSpec(path).periodic:
        assert set(runner.REQUIRED_PARAMETERS) <= set(names)


def _package_names(nb) -> set[str]:
    """Names bound by imports from cpm_analysis anywhere in the notebook."""
    names = set()
    for cell in code_cells(nb):
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cpm_analysis"):
                names.update(a.asname or a.name for a in node.names)
            if isinstance(node, ast.Import):
                names.update(
                    (a.asname or a.name).split(".")[0]
                    for a in node.names
                    if a.name.startswith("cpm_analysis")
                )
    return names


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_next_cell_validates_every_parameter_through_the_package(path):
    nb = read(path)
    index = parameters_index(nb)
    following = [c for c in nb.cells[index + 1 :] if c.cell_type == "code"]
    assert following, "no cell after the parameters cell"
    names = set(parameter_names(nb))
    package = _package_names(nb)
    calls = [
        node
        for node in ast.walk(ast.parse(following[0].source))
        if isinstance(node, ast.Call) and _root_name(node.func) in package
    ]
    passing_all = [
        call
        for call in calls
        if {
            kw.arg
            for kw in call.keywords
            if isinstance(kw.value, ast.Name) and kw.arg == kw.value.id
        }
        >= names
    ]
    assert passing_all, (
        "the cell after the parameters must pass them all to a cpm_analysis function"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_logic_in_cells(path):
    for cell in code_cells(read(path)):
        assert not re.search(r"^\s*[%!]", cell.source, flags=re.MULTILINE), "no magics or shell"
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, FORBIDDEN), (
                f"{type(node).__name__} in a cell: move the logic into cpm_analysis "
                f"({cell.source[:60]!r})"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_declares_key_outputs_and_a_title(path):
    nb = read(path)
    keys = nb.metadata.get("cpm", {}).get("key_outputs")
    assert isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_defaults_are_valid_on_the_bundled_sample(path, monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, "test-key-for-notebook-defaults")
    monkeypatch.chdir(NOTEBOOK_DIR)  # where JupyterLab runs a notebook
    nb = read(path)
    defaults = {}
    for node in ast.parse(nb.cells[parameters_index(nb)].source).body:
        name = (node.targets[0] if isinstance(node, ast.Assign) else node.target).id
        defaults[name] = ast.literal_eval(node.value)
    standard = {k: v for k, v in defaults.items() if k in params.PARAMETERS}
    if defaults.get("customer_id") == "":
        standard["customer_id"] = None
    ctx = params.validate_parameters(**standard)
    assert ctx.period.label and len(ctx.view.customers) > 0


# --- execution ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    data = generate(400, seed=31, faults=0.01)
    folder = tmp_path_factory.mktemp("company")
    data.write(folder)
    return data, folder


@pytest.fixture(scope="module")
def saved_result(company, tmp_path_factory):
    """The period computed once and saved, as ``cpm report`` hands it to every notebook."""
    from cpm_analysis.data import load
    from cpm_analysis.pipeline import build_period

    dataset = load(company[1])
    period = params.resolve_period(dataset, "latest", "monthly")
    path = tmp_path_factory.mktemp("private") / "period-result.pickle"
    return str(build_period(dataset, period, seed=3).save(path))


def _execute(path: Path, out: Path, **parameters) -> nbformat.NotebookNode:
    declared = set(pm.inspect_notebook(str(path)))
    pm.execute_notebook(
        str(path),
        str(out / path.name),
        parameters={k: v for k, v in parameters.items() if k in declared},
        kernel_name="python3",
        cwd=str(NOTEBOOK_DIR),
        progress_bar=False,
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )
    return read(out / path.name)


def _output_text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/html", "") + data.get("text/markdown", "") + data.get("text/plain", "")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_executes_on_a_small_company_and_shows_its_key_outputs(
    path, company, saved_result, tmp_path
):
    data, folder = company
    customer = data.tables["customers"]["customer_id"].iloc[0]
    nb = _execute(
        path, tmp_path, data=str(folder), out_dir=str(tmp_path), seed=3, customer_id=customer,
        result=saved_result,
    )  # fmt: skip
    outputs = [o for c in code_cells(nb) for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(_output_text(o) for o in outputs)
    for key in nb.metadata["cpm"]["key_outputs"]:
        assert key in text, f"key output {key!r} not shown"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    if runner.NotebookSpec(path).periodic:
        assert images, "a periodic notebook shows at least one chart"
    # charts before tables within each section
    section: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            _check_charts_first(section)
            section = []
        for output in cell.get("outputs", []):
            kinds = output.get("data", {})
            if "image/png" in kinds:
                section.append("chart")
            elif "<table" in kinds.get("text/html", ""):
                section.append("table")
    _check_charts_first(section)


def _check_charts_first(section: list[str]) -> None:
    if "chart" in section and "table" in section:
        assert section.index("chart") < section.index("table"), "a table comes before the chart"


def test_a_bad_period_stops_with_a_readable_message(company, tmp_path):
    path = next(p for p in NOTEBOOKS if runner.NotebookSpec(p).periodic)
    with pytest.raises(PapermillExecutionError) as info:
        _execute(path, tmp_path, data=str(company[1]), period="2024-13", out_dir=str(tmp_path))
    err = info.value
    assert err.ename == "ParameterError"
    assert err.evalue == "period: month 13 in '2024-13' is not 1-12"
    shown = "\n".join(err.traceback)
    assert "Traceback" not in shown and 'File "' not in shown and len(err.traceback) == 2
