"""One look for every chart of every report, sized for a laptop screen, in the report's language.

Charts in Chinese (``apply(lang="zh")``) are drawn with a font that has the Chinese glyphs
(:func:`cjk_font`: Noto Sans CJK or WenQuanYi Micro Hei on Debian and Ubuntu, PingFang on macOS,
Microsoft YaHei on Windows); without one, :func:`apply` stops with the name of a package to
install instead of drawing empty boxes ("tofu") for every character.

Examples
--------
>>> apply()
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from cpm_analysis.i18n import normalize_lang, translator

PALETTE: tuple[str, ...] = (
    "#2f6690",  # blue
    "#d1495b",  # red
    "#edae49",  # amber
    "#3a7d44",  # green
    "#8d6a9f",  # purple
    "#66a5ad",  # teal
    "#9c6644",  # brown
    "#7a7a7a",  # grey
)
"""Qualitative colours, colour-blind friendly enough for up to eight series."""

FIGSIZE: tuple[float, float] = (9.0, 4.0)
"""Default figure size in inches: 900 x 400 pixels at 100 dpi."""

RC: dict[str, Any] = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 11,
    # Text from the data (owner ids, segment and column names) is drawn literally: a '$' in it
    # starts no maths text, which would fail to parse or draw something else than the value.
    "text.parse_math": False,
    "text.usetex": False,
}


CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",  # Debian/Ubuntu fonts-noto-cjk
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",  # Debian/Ubuntu fonts-wqy-microhei (what .ci/run installs)
    "WenQuanYi Zen Hei",  # fonts-wqy-zenhei
    "PingFang SC",  # macOS
    "Hiragino Sans GB",  # macOS
    "Microsoft YaHei",  # Windows
    "SimHei",  # Windows
    "Noto Sans CJK JP",  # the first face of Noto's font collection, with the same Han glyphs
)
"""Fonts with the Chinese glyphs, in order of preference."""

_CJK_FILES = re.compile(
    r"(wqy|NotoSansCJK|NotoSansSC|SourceHanSans|PingFang|Hiragino.*GB|msyh|simhei)", re.I
)


class MissingFontError(RuntimeError):
    """No installed font has the glyphs of the report's language."""


def cjk_font() -> str:
    """Return the name of an installed font that draws Chinese, the first of :data:`CJK_FONTS`.

    Fonts installed after matplotlib built its font cache are found too (the system's font
    folders are searched for the known files, which are then added).

    Raises
    ------
    MissingFontError
        When none is installed; the message names the packages that provide one.

    Examples
    --------
    Not run by the doctests (the answer depends on the fonts installed;
    ``tests/test_report_style.py`` checks it where CI installs one):

    >>> cjk_font() in CJK_FONTS  # doctest: +SKIP
    True
    """
    from matplotlib import font_manager

    def first() -> str | None:
        names = {entry.name for entry in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    found = first()
    if found is None:  # matplotlib's font cache may predate the font: look at the system's fonts
        for path in font_manager.findSystemFonts():
            if _CJK_FILES.search(path):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a font file FreeType cannot read
                    continue
        found = first()
    if found is None:
        raise MissingFontError(
            "lang zh: no installed font draws Chinese characters (looked for "
            f"{', '.join(CJK_FONTS)}); install one, for example `apt-get install "
            "fonts-wqy-microhei` or `apt-get install fonts-noto-cjk` on Debian and Ubuntu"
        )
    return found


def apply(
    *, inline: bool = True, lang: str = "en", words: Callable[[str], str] | None = None
) -> None:
    """Set the report style: seaborn's ``whitegrid`` look, the palette, laptop-sized figures.

    The style is matplotlib's copy of seaborn's ``whitegrid`` sheet plus :data:`RC` and
    :data:`PALETTE` as the colour cycle, set without importing seaborn (which costs a second per
    notebook); seaborn charts drawn afterwards keep it, since seaborn does not restyle on import.
    Inside a Jupyter kernel it also makes sure charts are drawn inline (a ``MPLBACKEND``
    inherited from the environment, such as ``Agg`` in CI, would otherwise hide them).

    With ``lang="zh"`` (or ``zh-CN``, ...) text is drawn with a font that has the Chinese
    glyphs (:func:`cjk_font`), DejaVu Sans filling in any glyph it lacks.

    Parameters
    ----------
    inline : bool
        Switch to the inline backend when running in a Jupyter kernel.
    lang : str
        The report's language (``ctx.lang`` in a notebook).
    words : callable, optional
        Translates the charts' text (``ctx.word`` in a notebook: the catalogue, and segment
        names by their map's label); default the catalogue of ``lang``. See
        :mod:`cpm_analysis.plots.language`.

    Raises
    ------
    MissingFontError
        For Chinese, when no font that draws it is installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> apply()
    >>> import matplotlib.pyplot as plt
    >>> tuple(plt.rcParams["figure.figsize"])
    (9.0, 4.0)
    """
    import matplotlib.pyplot as plt
    from cycler import cycler

    from cpm_analysis.plots import language as chart_language

    language = normalize_lang(lang)
    font = cjk_font() if language == "zh" else None
    if words is None and language != "en":
        words = translator(lang).gettext
    chart_language.use(None if language == "en" else words)
    if inline:
        _use_inline_backend()
    plt.style.use("seaborn-v0_8-whitegrid")
    plt.rcParams.update(cast(Any, RC))  # RC: matplotlib types its keys as literals
    plt.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))
    if font is not None:
        plt.rcParams["font.family"] = "sans-serif"
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        if not _has_bold(font):  # WenQuanYi Micro Hei has one weight: titles in it, not bold
            plt.rcParams["axes.titleweight"] = "normal"


def _has_bold(font: str) -> bool:
    from matplotlib import font_manager

    return any(
        entry.name == font and _weight(entry.weight) >= 600
        for entry in font_manager.fontManager.ttflist
    )


def _weight(weight: Any) -> int:
    from matplotlib.font_manager import weight_dict

    return int(weight) if isinstance(weight, int | float) else int(weight_dict.get(weight, 400))


def _use_inline_backend() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")
