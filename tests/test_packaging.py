"""Project hygiene: pyproject and environment.yml agree; the layout is the designed one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return re.sub(r"\[.*?\]", "", requirement.replace(" ", "")).lower().replace("_", "-")


def test_environment_yml_declares_the_same_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    conda_specs = {_name(d): _spec(d) for d in conda}
    runtime = {_name(d): _spec(d) for d in project["dependencies"]}
    scale = {_name(d): _spec(d) for d in project["optional-dependencies"]["scale"]}
    for name, spec in runtime.items():
        assert name in conda_specs, f"{name} is in pyproject.toml but not environment.yml"
        assert conda_specs[name] == spec, f"{name}: {spec} vs {conda_specs[name]}"
    extra = set(conda_specs) - set(runtime) - {"python", "pip"} - set(scale) - {"distributed"}
    assert not extra, f"environment.yml has dependencies pyproject.toml lacks: {extra}"
    assert "dask" in conda_specs and "distributed" in conda_specs
    version = scale["dask"].removeprefix("dask")
    assert conda_specs["dask"] == "dask" + version, "the scale extra drifted from environment.yml"
    assert conda_specs["distributed"] == "distributed" + version
    assert conda_specs["python"] == "python" + project["requires-python"]


def test_top_level_layout():
    for name in (
        "notebooks",
        "cpm_analysis",
        "data",
        "reports",
        "tests",
        "environment.yml",
        "README.md",
        "pyproject.toml",
        ".ci/run",
        "benchmarks",
    ):
        assert (ROOT / name).exists(), name


def test_vendored_cdnow_keeps_its_provenance():
    readme = (ROOT / "data" / "external" / "cdnow" / "README.md").read_text()
    assert "Fader" in readme and "lifetimes" in readme


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme
    assert re.search(r"^\s*make test\s*$", ci, re.MULTILINE)


def test_setuptools_reads_the_metadata_without_a_warning(monkeypatch):
    """What `pip install .` shows: no deprecation of the license table (an SPDX string now)."""
    import warnings

    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert dist.metadata.license_expression == "MIT"
    assert dist.metadata.license_files == ["LICENSE"]


def _recipe(makefile: str, target: str) -> tuple[str, str]:
    """A Makefile rule's prerequisites and recipe."""
    match = re.search(rf"^{re.escape(target)}:([^\n]*)\n((?:\t[^\n]*\n)*)", makefile, re.MULTILINE)
    assert match, f"no rule {target} in the Makefile"
    return match.group(1), match.group(2)


def test_make_report_installs_the_runtime_only_and_says_what_it_does():
    makefile = (ROOT / "Makefile").read_text()
    needs, _ = _recipe(makefile, "report")
    assert "$(BIN)/.runtime" in needs and "setup" not in needs
    _, runtime = _recipe(makefile, "$(BIN)/.runtime")
    installs = [line for line in runtime.splitlines() if "pip install" in line]
    assert installs and all("--quiet" not in line and " -q" not in line for line in installs)
    assert any(line.rstrip().endswith("pip install -e .") for line in installs)  # no extras
    assert sum("@echo" in line for line in runtime.splitlines()) >= 3  # one line per step
    needs, dev = _recipe(makefile, "$(BIN)/.installed")
    assert "$(BIN)/.runtime" in needs and '-e ".[dev,scale]"' in dev


def test_ci_installs_a_font_for_the_chinese_charts():
    """tests/test_report_style.py needs one; a fresh CI machine has none."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert "missing+=(fonts-wqy-microhei)" in ci
