"""Figures for notebooks and scripts: ``gdynet.plot_*``.

Each function draws one result of gdynet (the same drawing as the report's figures,
:mod:`gdynet.report.figures`) and returns the matplotlib ``Figure``; nothing is written unless
``path`` is given::

    fig = gdynet.plot_implied_timescales(its)                 # a new figure (shown by Jupyter)
    gdynet.plot_state_rdf(rdf, ax=axes[0, 1])                 # into an axes of your own figure
    gdynet.plot_ck_test(ck, path="figures/ck")                # also writes ck.png and ck.svg

``ax``: the axes to draw into (multi-panel figures such as the CK test take that axes' place with
their grid); default a new figure (no pyplot state). ``path``: a file to write: with a suffix
(``.png``, ``.svg``, ``.pdf``, 150 dpi) that one file, without one ``<path>.png`` and ``<path>.svg``
as the report does; written atomically.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

from matplotlib.figure import Figure

from .files.writes import atomic_path
from .report import figures

#: file suffixes ``path`` may have (one file); without a suffix both PNG and SVG are written
SUFFIXES = (".png", ".svg", ".pdf")


def write_figure(fig: Figure, path: str | Path) -> list[Path]:
    """Write ``fig`` to ``path`` (one file for a ``.png``/``.svg``/``.pdf`` suffix, else ``<path>.png``
    and ``<path>.svg``) atomically; returns the paths written."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in SUFFIXES:
        return list(figures.save_figure(fig, path.parent / (path.name + ".png")))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix[1:].lower(), dpi=150, bbox_inches="tight")
    return [path]


def _public(draw: Callable[..., Figure], name: str) -> Callable[..., Figure]:
    """``gdynet.<name>``: ``draw`` plus ``path=`` (see the module docstring)."""
    def plot(result: Any, *, ax: Any = None, path: str | Path | None = None, **kwargs: Any) -> Figure:
        fig = draw(result, ax=ax, **kwargs)
        if path is not None:
            write_figure(fig, path)
        return fig

    signature = inspect.signature(draw)
    path = inspect.Parameter("path", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | Path | None")
    parameters = [*signature.parameters.values(), path]
    plot.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    plot.__name__ = plot.__qualname__ = name
    plot.__module__ = __name__
    plot.__doc__ = (f"{inspect.getdoc(draw)}\n\nReturns the matplotlib Figure; writes ``path`` only when given "
                    "(see :mod:`gdynet.plots`).")
    return plot


plot_implied_timescales = _public(figures.draw_implied_timescales, "plot_implied_timescales")
plot_ck_test = _public(figures.draw_ck_test, "plot_ck_test")
plot_populations = _public(figures.draw_populations, "plot_populations")
plot_eigenvectors = _public(figures.draw_eigenvectors, "plot_eigenvectors")
plot_state_rdf = _public(figures.draw_state_rdf, "plot_state_rdf")
plot_transition_msd = _public(figures.draw_transition_msd, "plot_transition_msd")
plot_conduction = _public(figures.draw_conduction, "plot_conduction")
plot_state_profile = _public(figures.draw_state_profile, "plot_state_profile")
plot_state_snapshot = _public(figures.draw_state_snapshot, "plot_state_snapshot")
plot_charge_integral = _public(figures.draw_charge_integral, "plot_charge_integral")
plot_order_parameter = _public(figures.draw_order_parameter, "plot_order_parameter")
plot_learning_curve = _public(figures.draw_learning_curve, "plot_learning_curve")

__all__ = ["write_figure", "plot_implied_timescales", "plot_ck_test", "plot_populations", "plot_eigenvectors",
           "plot_state_rdf", "plot_transition_msd", "plot_conduction", "plot_state_profile", "plot_state_snapshot",
           "plot_charge_integral", "plot_order_parameter", "plot_learning_curve"]
