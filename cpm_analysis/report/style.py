"""One look for every chart of every report, sized for a laptop screen.

Examples
--------
>>> apply()
"""

from __future__ import annotations

from typing import Any

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


def apply(*, inline: bool = True) -> None:
    """Set the report style: seaborn's ``whitegrid`` look, the palette, laptop-sized figures.

    The style is matplotlib's copy of seaborn's ``whitegrid`` sheet plus :data:`RC` and
    :data:`PALETTE` as the colour cycle, set without importing seaborn (which costs a second per
    notebook); seaborn charts drawn afterwards keep it, since seaborn does not restyle on import.
    Inside a Jupyter kernel it also makes sure charts are drawn inline (a ``MPLBACKEND``
    inherited from the environment, such as ``Agg`` in CI, would otherwise hide them).

    Parameters
    ----------
    inline : bool
        Switch to the inline backend when running in a Jupyter kernel.

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

    if inline:
        _use_inline_backend()
    plt.style.use("seaborn-v0_8-whitegrid")
    plt.rcParams.update(RC)
    plt.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))


def _use_inline_backend() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")
