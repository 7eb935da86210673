"""The report's language: --lang and the configuration's locale reach the notebooks and the index."""

from __future__ import annotations

import dataclasses
import json
import logging
from types import SimpleNamespace

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_notebook

from cpm_analysis.cli import main
from cpm_analysis.config import CPMConfig
from cpm_analysis.report import params, runner
from cpm_analysis.synthetic import generate

STANDARD = (
    'data: str = ""\nperiod: str = ""\nfreq: str = ""\nout_dir: str = ""\npii: str = ""\n'
    'owner: str = ""\nseed: int = 0\nresult: str = ""'
)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    folder = tmp_path_factory.mktemp("company")
    generate(300, seed=5).write(folder)
    return folder


def _notebook(path, parameters, *code):
    cells = [new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(c) for c in code]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_lang_is_a_standard_notebook_parameter():
    assert params.PARAMETERS["lang"] == "en"


def test_the_run_language_is_lang_else_the_configurations_locale():
    assert runner.report_language(None, CPMConfig(locale="zh")) == "zh"
    assert runner.report_language("", CPMConfig(locale="en-GB")) == "en-GB"
    assert runner.report_language(" zh-CN ", CPMConfig()) == "zh-CN"
    with pytest.raises(runner.ReportArgumentError, match="^--lang: no report language 'fr'"):
        runner.report_language("fr", CPMConfig(locale="zh"))


def test_cpm_report_refuses_another_language_in_one_line_before_writing(company, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["report", "--data", str(company), "--out", str(out), "--lang", "zh-TW"]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --lang: no catalogue for Traditional")
    assert not out.exists()


def test_the_notebook_context_carries_the_language(company):
    ctx = params.validate_parameters(data=str(company), period="2025-06", lang="zh-CN")
    assert ctx.lang == "zh-CN" and ctx.translator.lang == "zh"
    assert ctx.translator._("Period") == "周期"
    assert ctx.translator.money(1549.0) == "1,549.00"  # no result, no configured currency
    saved = dataclasses.replace(ctx, _result=SimpleNamespace(config=CPMConfig(currency="EUR")))
    assert saved.translator.money(1549.0) == "€1,549.00"
    with pytest.raises(params.ParameterError, match="lang: no report language 'de'"):
        params.validate_parameters(data=str(company), period="2025-06", lang="de")
    with pytest.raises(params.ParameterError, match="lang: expected str"):
        params.validate_parameters(data=str(company), period="2025-06", lang=1)


@pytest.mark.slow
def test_the_configurations_locale_reaches_the_notebooks_and_the_index(
    company, tmp_path, monkeypatch, caplog
):
    from light_period import light_build_period

    monkeypatch.setattr(runner, "build_period", light_build_period)
    monkeypatch.setattr(logging.getLogger("cpm_analysis"), "propagate", True)  # as the CLI sets it
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_page.ipynb", STANDARD + '\nlang: str = "en"', "print('LANG=' + lang)")
    _notebook(notebooks / "02_english.ipynb", STANDARD, "print('no lang parameter')")
    rules = tmp_path / "rules.yaml"
    rules.write_text("locale: zh-CN\ncurrency: CNY\n")
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="cpm_analysis.report"):
        outcome = runner.run_report(
            data=str(company), period="2025-06", out=out, notebooks=notebooks, config=rules,
            progress=False,
        )  # fmt: skip
    assert outcome.exit_code == 0, [p.error for p in outcome.periods]
    assert "lang zh-CN: 02_english declare(s) no lang parameter" in caplog.text
    executed = nbformat.read(out / "2025-06" / "01_page.ipynb", as_version=4)
    assert executed.metadata["papermill"]["parameters"]["lang"] == "zh-CN"
    assert "LANG=zh-CN" in json.dumps(executed.cells[-1].outputs)
    plain = nbformat.read(out / "2025-06" / "02_english.ipynb", as_version=4)
    assert "lang" not in plain.metadata["papermill"]["parameters"]  # it declares none
    assert json.loads((out / "2025-06" / "metrics.json").read_text())["parameters"]["lang"] == (
        "zh-CN"
    )
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans-CN">' in page and "<title>客户绩效报告</title>" in page
    assert "本期订单数" in page and "首个周期" in page  # the row counts, in the first period


def test_the_pages_show_the_configured_segment_maps_own_labels(tmp_path):
    from cpm_analysis.config import load_config
    from cpm_analysis.report.params import ReportContext

    (tmp_path / "two.yaml").write_text(
        "segments:\n"
        "  - {segment: Active, r: 3-5, group: top, label_zh: 活跃客户}\n"
        "  - {segment: Dormant, r: 1-2, group: lapsed, label_zh: 沉睡客户}\n",
        encoding="utf-8",
    )
    (tmp_path / "cpm.yaml").write_text("segments: {map: two.yaml}\n")
    ctx = ReportContext.__new__(ReportContext)  # as validate_parameters(..., lang="zh")
    result = SimpleNamespace(config=load_config(data_folder=tmp_path))
    for name, value in {"lang": "zh", "_result": result}.items():
        object.__setattr__(ctx, name, value)
    assert ctx.word("Active") == "活跃客户" and ctx.word("Dormant") == "沉睡客户"
