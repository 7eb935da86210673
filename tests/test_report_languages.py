"""Pages in Chinese: pages 01-06 and customer_360 rendered with lang=zh leave no English words.

The pages are rendered the way ``cpm report --lang zh`` renders them (the runner's
``execute_notebook``, which translates the Markdown cells from the catalogue, then the HTML
export) on a small synthetic company. What is checked:

- the prose (every Markdown cell), the table captions and the table headers have no English
  word left, apart from model names, metric names, file names and ids (:data:`ALLOWED`);
- the charts' text (titles, axis labels, legends, tick labels) is in Chinese
  (:func:`test_chart_text_is_translated`), and no glyph is missing from the font;
- the whole visible page is free of English (:func:`test_every_visible_string_is_translated`):
  the sentences the package writes, table cells that are words, flags and reasons included;
  what may stay in Latin letters is a name (:data:`ALLOWED`, and the data's own values such as
  a region or a team: :func:`data_names`).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib
import pytest
from bs4 import BeautifulSoup

from cpm_analysis.i18n import translator
from cpm_analysis.report import runner
from cpm_analysis.report.export import export_html
from cpm_analysis.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]
PAGES = (
    "01_data_quality",
    "02_segments",
    "03_lifetime_value",
    "04_churn",
    "05_performance_review",
    "06_sales_and_service",
    "customer_360",
)

ALLOWED = re.compile(
    r"(?:M?BG/NBD|Pareto/NBD|BG/BB|sBG|Gamma-Gamma|ROC|PR|AUC|AP|Brier|RFM|CLV|KPI|SMART|SLA|CRM|NPS|CSAT"
    r"|k-means|Wilson|alpha|beta|gamma|delta|[RFM](?=\W|$)|P-[A-Z0-9]{12}|[A-Za-z0-9_./-]+\.(?:csv|yaml|json|parquet)"
    r"|[a-z]+(?:_[a-z0-9]+)*\.[a-z]+(?:_[a-z0-9]+)*|[a-z]+(?:_[a-z0-9]+)+|[A-Z]+\d+|\d+\w*)"
)
"""What may stay in Latin letters on a Chinese page: model and metric names, ids, file names, and
the data's own field names (``customers.owner_id``, ``churned_at``: a name, not a word)."""

WORD = re.compile(r"[A-Za-z]{2,}")


def english_words(text: str, names: frozenset[str] = frozenset()) -> list[str]:
    """Return the English words of ``text`` once :data:`ALLOWED` names and ``names`` are taken out.

    ``names`` are the words of the data's own values (a region, a product category, a team):
    the company's names, shown as they are.

    >>> english_words("BG/NBD 模型 fits well, see customers_scored.csv")
    ['fits', 'well', 'see']
    >>> english_words("客户表没有 owner_id 列（customers.churned_at）; 2 days")
    ['days']
    """
    return [w for w in WORD.findall(ALLOWED.sub(" ", text)) if w not in names]


def data_names(data) -> frozenset[str]:
    """The words of the data's own text values (not ids or personal data), e.g. "Central"."""
    # staff are shown by name (report.staff_names, internal information), campaigns by theirs
    named = {
        "customers": None,
        "orders": ["category"],
        "tickets": ["category"],
        "staff": ["team", "name"],
        "activities": ["campaign"],
    }
    words = set()
    for name, columns in named.items():
        table = data.tables.get(name)
        if table is None:
            continue
        for column in columns or table.columns:
            if (
                column not in table
                or column.endswith("_id")
                or (column in {"name", "email", "phone"} and name != "staff")
            ):
                continue
            values = table[column]
            if values.dtype.kind in "OUT" or str(values.dtype) in {"str", "string", "category"}:
                for value in values.dropna().astype(str).unique()[:200]:
                    words.update(WORD.findall(value))
    return frozenset(words)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Pages 01-06 and customer_360 rendered in Chinese from one saved period result."""
    from cpm_analysis.data import load
    from cpm_analysis.pipeline import build_period
    from cpm_analysis.report import params

    data = generate(400, seed=31)
    folder = tmp_path_factory.mktemp("company")
    data.write(folder)
    dataset = load(folder)
    period = params.resolve_period(dataset, "latest", "monthly")
    private = tmp_path_factory.mktemp("private")
    saved = str(build_period(dataset, period, seed=3).save(private / "period-result.pickle"))
    out = tmp_path_factory.mktemp("report")
    customer = str(data.tables["customers"]["customer_id"].iloc[0])
    pages = {}
    for name in PAGES:
        spec = runner.NotebookSpec(ROOT / "notebooks" / f"{name}.ipynb")
        declared = runner.check_notebook_parameters(spec)
        parameters = {
            "data": str(folder),
            "out_dir": str(out),
            "seed": 3,
            "result": saved,
            "lang": "zh",
            "customer_id": customer,
        }
        notebook = out / f"{name}.ipynb"
        runner.execute_notebook(
            spec, notebook, {k: v for k, v in parameters.items() if k in declared}, cwd=out
        )
        pages[name] = export_html(notebook)
    pages["names"] = data_names(data)  # type: ignore[assignment]
    return pages


def _soup(page: Path) -> BeautifulSoup:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["style", "script", "code", "img"]):
        tag.decompose()
    return soup


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_prose_captions_and_headers_are_translated(rendered, name):
    soup = _soup(rendered[name])
    texts = [cell.get_text(" ") for cell in soup.select(".jp-MarkdownCell")]
    texts += [tag.get_text(" ") for tag in soup.find_all(["caption", "th", "title"])]
    assert len(texts) > 5, "the page has prose, captions and headers"
    left = {word for text in texts for word in english_words(text)}
    assert not left, f"{name}: English left in the prose, captions or headers: {sorted(left)}"
    assert re.search(r"[\u4e00-\u9fff]", soup.find("h1").get_text()), "the title is in Chinese"


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_no_glyph_is_missing_from_the_charts(rendered, name):
    import nbformat

    nb = nbformat.read(rendered[name].with_suffix(".ipynb"), as_version=4)
    streams = [
        output.get("text", "")
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]
    assert not [s for s in streams if "missing from" in s], f"{name}: tofu in a chart"


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_every_visible_string_is_translated(rendered, name):
    soup = _soup(rendered[name])
    left = english_words(soup.get_text(" "), rendered["names"])
    assert not left, f"{name}: {sorted(set(left))[:40]}"


def _chart_words(figure) -> list[str]:
    from matplotlib.text import Text

    return [
        word
        for text in figure.findobj(Text)
        for word in english_words(text.get_text())
        if text.get_visible()
    ]


def test_chart_text_is_translated():
    """The data-quality, segment, scorecard, cohort and team charts draw their words in Chinese."""
    import matplotlib.pyplot as plt

    from cpm_analysis.cohorts import cohort_retention
    from cpm_analysis.data import quality
    from cpm_analysis.kpis import compute_kpis
    from cpm_analysis.kpis.scorecard import scorecard
    from cpm_analysis.periods import parse_period
    from cpm_analysis.plots import language
    from cpm_analysis.plots import quality as quality_charts
    from cpm_analysis.plots.kpis import cohort_heatmap, plot_scorecard
    from cpm_analysis.plots.segments import plot_rf_heatmap, plot_segment_sizes
    from cpm_analysis.plots.teams import composite_bars
    from cpm_analysis.segments import rfm_scores, rfm_segments, segment_labels
    from cpm_analysis.teams import owner_scorecard

    matplotlib.use("Agg")
    dataset = generate(300, seed=2).to_dataset()
    period = parse_period("2025-06")
    view = dataset.as_of(period.end)
    from cpm_analysis.kpis.registry import KPIS

    labels = segment_labels("zh")  # the names a page's translator knows (as ctx.translator)
    zh = translator("zh", names={k.label_en: k.label_zh for k in KPIS.values()})
    try:
        segments = rfm_segments(rfm_scores(dataset, "2025-06"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a missing glyph warns
            from cpm_analysis.report import style

            style.apply(inline=False, lang="zh")
            language.use(lambda text: labels.get(text) or zh.sentence(text))
            axes = [
                quality_charts.table_sizes(quality.table_overview(view, period, dataset.rejected)),
                quality_charts.monthly_activity(quality.monthly_activity(view), period),
                plot_segment_sizes(segments),
                plot_rf_heatmap(segments),
                plot_scorecard(
                    scorecard(compute_kpis(dataset, "2025-06"), dataset.targets, period)
                ),
                cohort_heatmap(cohort_retention(dataset, freq="Q")),
                composite_bars(owner_scorecard(dataset, "2025-06")),
            ]
            for ax in axes:
                ax.figure.canvas.draw()
        for ax in axes:
            assert not _chart_words(ax.figure), ax.get_title()
    finally:
        language.use(None)
        plt.close("all")
