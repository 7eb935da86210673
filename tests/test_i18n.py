"""cpm_analysis.i18n: languages, the catalogues, locale formats, and nothing left untranslated."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cpm_analysis import i18n
from cpm_analysis.config import ConfigError, CPMConfig
from cpm_analysis.i18n import Translator, missing_translations, normalize_lang, translator

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("tag", "lang"),
    [("en", "en"), ("EN", "en"), ("en-GB", "en"), ("en_US", "en"), (None, "en"), ("", "en"),
     ("zh", "zh"), ("zh-CN", "zh"), ("zh_Hans", "zh"), ("zh-Hans-CN", "zh")],
)  # fmt: skip
def test_language_tags_name_a_report_language(tag, lang):
    assert normalize_lang(tag) == lang


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("fr", r"no report language 'fr'; the languages are en \(English\), zh"),
        ("zh-TW", "no catalogue for Traditional Chinese"),
        ("zh-Hant", "no catalogue for Traditional Chinese"),
        ("English!", "expected a language tag"),
    ],
)
def test_other_languages_are_refused_not_shown_in_english(tag, message):
    with pytest.raises(ValueError, match=message):
        normalize_lang(tag)
    with pytest.raises(ValueError, match="^--lang: "):
        normalize_lang(tag, name="--lang")


def test_an_unknown_region_is_refused():
    with pytest.raises(ValueError, match="unknown region in 'en-XX'"):
        i18n.format_locale("en-XX")


def test_the_configurations_locale_must_be_a_report_language():
    assert CPMConfig(locale="zh-CN").locale == "zh-CN"
    with pytest.raises(ValueError, match="no report language 'fr'"):
        CPMConfig(locale="fr")


def test_a_config_file_with_another_language_is_one_line(tmp_path):
    from cpm_analysis.config import load_config

    (tmp_path / "cpm.yaml").write_text("locale: de\n")
    with pytest.raises(ConfigError, match="key locale: no report language 'de'"):
        load_config(data_folder=tmp_path)


def test_chinese_words_and_formats():
    tr = translator("zh", currency="CNY")
    assert tr._("Period") == "周期" and tr.html_lang == "zh-Hans"
    assert tr.integer(1234567.4) == "1,234,567"
    assert tr.percent(0.35) == "35.0%" and tr.change(0.005) == "+0.5%"
    assert tr.money(1549.0) == "¥1,549.00"
    assert tr.date("2025-12-31") == "2025年12月31日"
    assert tr.hours(5.24) == "5.2小时" and tr.days(94) == "94天"
    assert tr.number(float("inf")) == tr.integer(None) == tr.percent(float("nan")) == "不可用"


def test_english_formats_follow_the_region():
    us, gb = translator("en"), translator("en-GB", currency="GBP")
    assert us.date("2025-12-31") == "Dec 31, 2025" and gb.date("2025-12-31") == "31 Dec 2025"
    assert gb.money(1234.5) == "£1,234.50" and us.money(1234.5) == "1,234.50"
    assert us.hours(5.25) == "5.2 hr" and us.days(1) == "1 day" and us.days(94) == "94 days"
    assert us.html_lang == "en" and gb.html_lang == "en-GB"
    assert us._("Period") == "Period" and us.not_available() == "not available"


def test_the_translator_records_what_it_was_asked():
    tr = Translator("zh")
    tr._("Period")
    tr.n_(
        "%(count)s owner report in %(folder)s",
        "%(count)s owner reports in %(folder)s",
        2,
        folder="x",
    )
    assert tr.used == {
        "Period",
        ("%(count)s owner report in %(folder)s", "%(count)s owner reports in %(folder)s"),
    }


def test_a_fuzzy_or_empty_translation_counts_as_missing(tmp_path, monkeypatch):
    po = tmp_path / "zh_Hans" / "LC_MESSAGES" / "cpm_analysis.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        'msgid "Period"\nmsgstr "周期"\n\n#, fuzzy\nmsgid "Data"\nmsgstr "数据"\n\n'
        'msgid "Reports"\nmsgstr ""\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.read_catalogue.cache_clear()
    i18n._translations.cache_clear()
    try:
        assert missing_translations(["Period", "Data", "Reports", "Other"], "zh") == [
            "Data",
            "Reports",
            "Other",
        ]
        assert translator("zh")._("Data") == "Data"  # a fuzzy entry is not used
    finally:
        i18n.read_catalogue.cache_clear()
        i18n._translations.cache_clear()
    assert missing_translations(["Anything"], "en") == []


def test_the_catalogue_is_read_from_the_po_file_no_compiled_file_needed():
    assert not list(i18n.LOCALE_DIR.rglob("*.mo"))
    assert i18n.catalogue_path("zh").is_file()
    with pytest.raises(ValueError, match="source language"):
        i18n.catalogue_path("en")


def test_the_catalogues_are_package_data():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = project["tool"]["setuptools"]["package-data"]["cpm_analysis"]
    assert "locale/*/LC_MESSAGES/*.po" in data and "locale/*.pot" in data


def test_the_notebook_extractor_reads_markdown_blocks_and_code_cells_and_skips_magics():
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "tr._('not code')"},
            {"cell_type": "code", "source": ["%matplotlib inline\n", "tr._('magic')"]},
            {"cell_type": "code", "source": ["x = 1\n", "y = tr._('Churn')\n"]},
        ]
    }
    found = list(i18n.extract_notebook(io.BytesIO(json.dumps(nb).encode()), {"_": None}, [], {}))
    assert [(line, message) for line, _, message, _ in found] == [
        (1, "tr._('not code')"),  # a markdown cell is prose: its block is a message
        (5, "Churn"),
    ]


def test_every_marked_string_of_the_package_and_notebooks_has_a_chinese_translation(tmp_path):
    """`pybabel extract` with the project's configuration, as docs/report.md says to run it."""
    pot = tmp_path / "messages.pot"
    command = [
        str(Path(sys.executable).with_name("pybabel")),
        "extract",
        "-F",
        "pyproject.toml",
        "-k",
        "n_:1,2",
        "-k",
        "M_",
        "-o",
        str(pot),
        "cpm_analysis",
        "notebooks",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with pot.open("rb") as handle:
        extracted = [m.id for m in read_po(handle) if m.id]
    assert "Customer performance reports" in extracted  # the index page's strings are found
    assert "Monthly" in extracted  # N_() marks
    missing = missing_translations(extracted, "zh")
    assert not missing, f"no Chinese translation in {i18n.catalogue_path('zh')} for {missing}"


def test_a_message_is_its_english_text_and_is_translated_when_shown():
    import pickle

    from cpm_analysis.i18n import M_, Message, join, named

    gone = M_(
        "%(analysis)s is not available: %(detail)s.",
        analysis=M_("Churn model"),
        detail=M_("the data has no tickets table"),
    )
    assert gone == "Churn model is not available: the data has no tickets table."
    assert isinstance(gone, str) and translator("en").gettext(gone) == gone
    zh = translator("zh")
    assert zh.gettext(gone) == "流失模型不可用：数据中没有工单表。"
    assert zh.gettext(pickle.loads(pickle.dumps(gone))) == zh.gettext(gone)  # a saved result
    both = join("; ", [M_("fitted"), "BG/NBD"])
    assert both == "fitted; BG/NBD" and zh.gettext(both) == "已拟合; BG/NBD"
    assert zh.gettext(named("Revenue", zh="销售收入")) == "销售收入"
    assert isinstance(M_("x %(n)s", n=1), Message)


def test_plain_english_the_package_wrote_is_matched_against_the_catalogues_templates():
    zh = translator("zh", names={"At Risk": "流失风险客户", "Lost": "已流失客户"})
    assert zh.sentence("92 orders in 2025-12") == "2025-12 共 92 笔订单"
    assert zh.sentence("no order for 94 days, usual gap 21; 3 orders in the last 90 days") == (
        "94 天未下单，通常间隔 21 天；过去 90 天内 3 笔订单"
    )
    # the most specific template wins: not "no order in %(n)s days" with n = "the last 90"
    assert zh.sentence("no order in the last 90 days") == "过去 90 天内没有订单"
    assert zh.sentence("At Risk, Lost") == "流失风险客户、已流失客户"
    assert zh.sentence("Recent, frequent, high spend") == "近期购买、经常购买、消费较高"
    assert zh.sentence("C000123") == "C000123"  # an id matches nothing
    assert translator("en").sentence("92 orders in 2025-12") == "92 orders in 2025-12"


def test_every_churn_reason_phrase_matches_a_template_of_the_catalogue():
    """A phrase the reasons engine writes reads in Chinese (its English is not left on a page)."""
    import numpy as np
    import pandas as pd

    from cpm_analysis.churn.reasons import CANONICAL, phrase_feature

    names = [
        "days_since_last_order", "days_since_first_order", "tenure_days", "orders_90d",
        "spend_90d", "orders_prev_90d", "spend_prev_90d", "spend_trend_90d", "orders_trend_90d",
        "orders_total", "spend_total", "avg_order_value", "refund_share_90d", "tickets_90d",
        "complaints_90d", "open_tickets", "first_response_hours_90d", "resolution_hours_90d",
        "last_csat", "mean_csat_90d", "last_nps", "mean_nps_90d", "p_alive",
        "expected_purchases_90d",
    ]  # fmt: skip
    assert all(any(p.match(n) for p, _ in CANONICAL) for n in names)
    values = pd.Series([np.nan, 0.0, 1.0, 2.0, 0.004, 0.35, -1.0, -0.4, 0.5, 1.0, 120.0])
    zh = translator("zh")
    left = {}
    for name in names:
        for phrase in set(phrase_feature(name, values).tolist()) - {""}:
            shown = zh.sentence(phrase)
            words = [
                w
                for w in re.findall(r"[A-Za-z]{2,}", shown)
                if w not in {"CSAT", "NPS", "BG", "NBD"}
            ]
            if words:
                left[phrase] = shown
    assert not left, left


def test_table_notes_and_words_are_in_the_report_language():
    import pandas as pd

    from cpm_analysis.report.tables import to_html

    frame = pd.DataFrame({"status": ["fitted"] * 3, "ok": [True, False, True]})
    html = to_html(frame, max_rows=2, translator=translator("zh"))
    assert "显示 3 行中的 2 行。" in html and "已拟合" in html and "是" in html and "否" in html
    english = to_html(frame, max_rows=2)
    assert "Showing 2 of 3 rows." in english and "fitted" in english and "yes" in english
    dates = pd.DataFrame({"day": pd.to_datetime(["2025-12-31"])})
    assert "2025年12月31日" in to_html(dates, translator=translator("zh"))
    assert "2025-12-31" in to_html(dates)


def _bold_closing_on_punctuation(text: str) -> bool:
    parts = text.split("**")  # the odd parts are bold, when the markers pair up
    return any(
        parts[k].endswith(("：", "；", "，", "。")) and parts[k + 1][:1] not in ("", " ", "\n")
        for k in range(1, len(parts) - 1, 2)
    )


def test_chinese_bold_closes_before_its_punctuation():
    # "**有所改善：**电话" shows its asterisks: a closing ** after CJK punctuation must be
    # followed by a space or punctuation (CommonMark's flanking rule), so the colon goes outside
    assert _bold_closing_on_punctuation("**有所改善：**电话")
    assert not _bold_closing_on_punctuation("**有所改善**：电话")
    path = Path(i18n.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "cpm_analysis.po"
    catalog = read_po(path.open("rb"))
    bad = [
        m.string
        for m in catalog
        if m.id and isinstance(m.string, str) and _bold_closing_on_punctuation(m.string)
    ]
    assert bad == []


def test_every_rejection_reason_reads_in_chinese():
    """Page 01's rejected-rows tables show each reason of the data contract translated."""
    from cpm_analysis.data import reasons

    filled = {
        "column": "order_date",
        "low": "1",
        "high": "5",
        "allowed": "call, visit",
        "code": "x y",
    }
    templates = [
        value for name, value in vars(reasons).items() if name.isupper() and isinstance(value, str)
    ]
    templates += [
        t for name in ("NON_NUMERIC", "INFINITE") for t in getattr(reasons, name).values()
    ]
    templates += [t for t in reasons.ORDER_FAULTS if t]
    assert len(templates) >= 30
    zh = translator("zh")
    left = {}
    for template in templates:
        text = template % {k: v for k, v in filled.items() if f"%({k})s" in template}
        shown = zh.sentence(text)
        identifiers = {"order_date", "call", "visit", "x", "y", "KPI"}
        identifiers |= set(re.findall(r"\b[a-z]+_[a-z_]+\b", text))
        words = set(re.findall(r"[A-Za-z_]{2,}", shown)) - identifiers
        if shown == text or words - {"customers", "staff", "orders", "true", "false", "won"}:
            left[text] = shown
    assert not left, left
    # a column named by a word stays the column's name, not a translation of the word
    assert zh.sentence(reasons.missing("amount")) == "缺少 amount"


def test_the_health_of_a_model_fit_reads_in_chinese():
    """A fit that did not converge says so on a Chinese page, also from a saved (plain) table."""
    import warnings

    import pandas as pd

    from cpm_analysis.clv import BetaGeoModel

    s = pd.DataFrame(
        {"frequency": [0, 1, 2, 0, 3] * 10, "recency": [0, 5, 8, 0, 9] * 10, "T": [10.0] * 50}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BetaGeoModel().fit(s)
    assert model.fit_warnings_ and not model.converged_
    zh = translator("zh")
    for sentence in [*model.fit_warnings_, f"the fit did not converge ({model.fit_message_})"]:
        for shown in (zh.sentence(sentence), zh.sentence(str(sentence))):
            words = set(re.findall(r"\b[a-z]{3,}", shown)) - {"alpha", "beta", "alive"}
            assert not words, shown
