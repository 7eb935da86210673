"""cpm_analysis.report.style: charts in Chinese draw every glyph (no tofu boxes)."""

from __future__ import annotations

import io
import warnings

import matplotlib.pyplot as plt
import pytest

from cpm_analysis.report import style

MISSING_GLYPH = r"Glyph \d+ .* missing from font"


def _chinese_chart() -> None:
    """A chart with Chinese title, axis labels, legend and tick labels, and a minus sign."""
    fig, ax = plt.subplots()
    ax.plot([-2.0, 1.0, 3.0], label="销售收入")
    ax.bar(["冠军客户", "流失风险"], [3, -1], label="客户数")
    ax.set_title("客户流失率（近90天）")
    ax.set_xlabel("周期")
    ax.set_ylabel("变化 −5%")
    ax.legend(title="图例")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=MISSING_GLYPH)  # tofu is a failure
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_a_chinese_chart_has_every_glyph():
    with plt.rc_context():
        style.apply(lang="zh", inline=False)
        assert plt.rcParams["font.sans-serif"][0] in style.CJK_FONTS
        _chinese_chart()


def test_the_check_catches_tofu_in_the_english_style():
    with plt.rc_context():
        style.apply(lang="en", inline=False)
        with pytest.raises(UserWarning, match=MISSING_GLYPH):
            _chinese_chart()
    plt.close("all")


def test_no_font_for_chinese_stops_with_what_to_install(monkeypatch):
    from matplotlib import font_manager

    monkeypatch.setattr(style, "CJK_FONTS", ("No Such Font SC",))
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    with plt.rc_context(), pytest.raises(style.MissingFontError, match="fonts-wqy-microhei"):
        style.apply(lang="zh-CN", inline=False)


def test_a_font_installed_after_matplotlibs_cache_is_found(monkeypatch):
    from matplotlib import font_manager

    name = style.cjk_font()
    entries = [e for e in font_manager.fontManager.ttflist if e.name == name]
    monkeypatch.setattr(
        font_manager.fontManager,
        "ttflist",
        [e for e in font_manager.fontManager.ttflist if e.name not in style.CJK_FONTS],
    )
    assert entries and style.cjk_font() == name  # found again in the system's font folders


def test_the_english_style_is_unchanged_by_a_chinese_one():
    with plt.rc_context():
        style.apply(lang="zh", inline=False)
        style.apply(inline=False)
        assert not set(plt.rcParams["font.sans-serif"]) & set(style.CJK_FONTS)
        assert plt.rcParams["axes.titleweight"] == "bold"
