"""Page helpers for what is not available: a chart, a section, a verdict of an :class:`Unavailable`.

An analysis that cannot run for the data returns an
:class:`~cpm_analysis.availability.Unavailable` (see :mod:`cpm_analysis.availability`) instead
of its result. A table cell shows it as its sentence; these helpers do the same for the other
cells of a section: :func:`chart` for a chart cell, :func:`section` under a new heading,
:func:`markdown` for a verdict.

Examples
--------
>>> from cpm_analysis.availability import Unavailable
>>> gone = Unavailable("The churn backtest is not available: one year of orders.")
>>> markdown(gone) is gone, chart(max, 1, 2)
(True, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cpm_analysis.availability import Unavailable
from cpm_analysis.i18n import shown


def first_unavailable(*values: Any) -> Unavailable | None:
    """Return the first :class:`Unavailable` among ``values`` (and dict/list items), or ``None``.

    Examples
    --------
    >>> gone = Unavailable("x")
    >>> first_unavailable(1, [2, gone]) is gone
    True
    """
    for value in values:
        if isinstance(value, Unavailable):
            return value
        if isinstance(value, list | tuple):
            found = first_unavailable(*value)
            if found is not None:
                return found
    return None


def chart(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, or the sentence of the first :class:`Unavailable` input.

    For chart cells, whose value is assigned (``ax = availability.chart(plot_roc, ...)``): a
    missing input is displayed at once (if not yet shown) and ``None`` is returned.

    Examples
    --------
    >>> chart(max, 1, 2)
    2
    >>> gone = Unavailable("x")
    >>> gone.shown = True
    >>> chart(max, gone, 2) is None
    True
    """
    missing = first_unavailable(*args, *kwargs.values())
    if missing is not None:
        missing.display()
        return None
    return function(*args, **kwargs)


def section(value: Any) -> Any:
    """``value`` for use under a new heading: an :class:`Unavailable` states its reason again.

    An unavailable result is shown once; a later section that depends on it (the P(alive)
    matrix after the model parameters, the churn drivers after the backtest) passes it through
    ``section`` so that its heading is not left empty.

    Examples
    --------
    >>> gone = Unavailable("x")
    >>> gone.shown = True
    >>> section(gone).shown, section(gone).text, section(3)
    (False, 'x', 3)
    """
    if isinstance(value, Unavailable):
        return Unavailable(value.text)
    return value


def markdown(text: Any) -> Any:
    """``IPython.display.Markdown(text)``, or ``text`` itself when it is an :class:`Unavailable`.

    For a section's verdict cell: ``availability.markdown(backtest_verdict(result))``. A
    verdict the package wrote (a :class:`~cpm_analysis.i18n.Message`) is shown in the page's
    language (:func:`cpm_analysis.i18n.shown`).

    Examples
    --------
    >>> markdown("**ok**").data
    '**ok**'
    >>> gone = Unavailable("x")
    >>> markdown(gone) is gone
    True
    """
    from IPython.display import Markdown

    if isinstance(text, Unavailable):
        return text
    return Markdown(shown(text))


# --- facts ------------------------------------------------------------------------------------


# --- checks -----------------------------------------------------------------------------------
