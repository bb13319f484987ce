"""Figures of a gdynet analysis (matplotlib, no pyplot state: safe in scripts, threads and servers).

One drawing function per figure, ``draw_<name>(result, *, ax=None, ...)``, returns the matplotlib
``Figure`` and writes nothing: without ``ax`` it makes a new figure, with ``ax`` it draws into that
axes (a multi-panel figure fills the axes' place with its grid of panels). Two users:

* ``save_<name>(result, stem, ...)`` here, for the report: draws and writes ``<stem>.png`` (150 dpi)
  and ``<stem>.svg`` atomically (:func:`save_figure`), returning ``(png_path, svg_path)``;
* ``gdynet.plot_<name>(result, ax=None, path=None)`` (:mod:`gdynet.plots`), for notebooks: returns
  the figure and writes files only when given ``path``.

States keep the same colour in every figure (matplotlib's ``tab10`` cycle).

Inputs are the Koopman results of :mod:`gdynet.koopman` (``ImpliedTimescales``, ``CKTest``,
``KoopmanModel``) and the analysis results :class:`~gdynet.analysis.rdf.StateRDF` and
:class:`~gdynet.analysis.conduction.Conduction`; any object with the same attributes works.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpecBase

from ..files.writes import atomic_path
from ..base.errors import GdynetError

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def state_color(state: int) -> str:
    """Colour of state ``state`` (the same in every figure)."""
    return _COLORS[state % len(_COLORS)]


def save_figure(fig: Figure, stem: str | Path) -> tuple[Path, Path]:
    """Write ``fig`` to ``<stem>.png`` and ``<stem>.svg`` (atomically) and return both paths."""
    stem = Path(stem)
    if stem.suffix.lower() in (".png", ".svg"):
        stem = stem.with_suffix("")
    paths = []
    for fmt in ("png", "svg"):
        path = stem.parent / f"{stem.name}.{fmt}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
        paths.append(path)
    return paths[0], paths[1]


def _single(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``(figure, axes)`` to draw one panel in: ``ax`` and its figure, or a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax.get_figure(root=True), ax
    fig = Figure(figsize=figsize)
    return fig, fig.add_subplot()


def _grid(ax: Axes | None, figsize: tuple[float, float], rows: int, cols: int,
          **kwargs: Any) -> tuple[Figure, GridSpecBase]:
    """``(figure, grid spec)`` for a ``rows x cols`` panel grid: in the place of ``ax``, or on a new figure
    of ``figsize`` inches. ``ax`` stays in its figure (hidden: its frame and ticks off, so a title set
    on it still shows) and the panels fill its subplot slot, so ``tight_layout`` and constrained layout
    place them as the user's other panels; a 1 x 1 grid is ``ax`` itself (:func:`_panels`)."""
    if ax is None:
        fig = Figure(figsize=figsize)
        return fig, fig.add_gridspec(rows, cols, **kwargs)
    fig, spec = ax.get_figure(root=True), ax.get_subplotspec()
    if spec is None:
        raise GdynetError("ax must be a subplot (from fig.subplots or fig.add_subplot) to hold a grid of panels",
                          "plot")
    if rows * cols > 1:
        ax.set_axis_off()
    return fig, _Slot(spec.subgridspec(rows, cols, **kwargs), ax if rows * cols == 1 else None)


class _Slot:
    """The grid spec of a multi-panel figure drawn into a user's axes; a 1 x 1 grid gives back that axes."""

    def __init__(self, spec: GridSpecBase, own: Axes | None) -> None:
        self.spec, self.own = spec, own

    def subplots(self, **kwargs: Any) -> Any:
        if self.own is not None:
            return np.array([[self.own]]) if kwargs.get("squeeze", True) is False else self.own
        return self.spec.subplots(**kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self.spec[key]


def _headline(fig: Figure, own: bool, title: str) -> None:
    """The figure title and a tight layout, on a figure made here only (``own``)."""
    if own:
        fig.suptitle(title)
        fig.tight_layout()


def _band(values: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """A CI bound as a float array of ``shape``, or None if absent / all NaN."""
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    if values.shape != shape or not np.any(np.isfinite(values)):
        return None
    return values


def _log_x_if_wide(ax: Axes, x: np.ndarray) -> None:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) > 1 and x.max() / x.min() >= 20:
        ax.set_xscale("log")


def save_implied_timescales(its: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_implied_timescales` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_implied_timescales(its, **kwargs), stem)


def draw_implied_timescales(its: Any, *, ax: Axes | None = None, title: str | None = None,
                            references: Sequence[tuple[str, Any, Any]] = ()) -> Figure:
    """Relaxation timescales ``t_i(tau)`` (Eq. 11) against the lag, with confidence bands.

    Args:
        its: ``ImpliedTimescales`` with ``lags_ps (L,)``, ``timescales_ps (L, S-1)`` and optional
            ``lower``/``upper`` of the same shape.
        ax: axes to draw into (default: a new figure).
        references: ``(name, lags_ps, timescales_ps)`` of independent estimates (e.g. the slowest
            timescale of structure labels; None for unknown), drawn in black, dashed then dotted.

    The black line is ``t = tau``; processes in the grey region below it decay faster than the lag
    and are not resolved by the model. An infinite timescale (|λ| ≥ 1) is a triangle on the top edge,
    and a confidence band without an upper bound reaches the top edge.
    """
    lags = np.asarray(its.lags_ps, dtype=np.float64)
    ts = np.asarray(its.timescales_ps, dtype=np.float64)
    if ts.ndim == 1:
        ts = ts[:, None]
    if len(lags) == 0 or ts.shape[0] != len(lags):
        raise GdynetError("implied timescales: lags_ps and timescales_ps do not match", "plot")
    lower, upper = _band(getattr(its, "lower", None), ts.shape), _band(getattr(its, "upper", None), ts.shape)
    refs = [(name, np.asarray(x, dtype=np.float64), np.array(y, dtype=np.float64)) for name, x, y in references]
    every = np.concatenate([ts.ravel(), *[y for _, _, y in refs]])
    finite = every[np.isfinite(every) & (every > 0)]
    top = max(finite.max() if finite.size else lags.max(), lags.max()) * 3
    bottom = min(finite.min() if finite.size else lags.min(), lags.min()) / 3
    fig, ax = _single(ax, (5.5, 4.0))
    for i in range(ts.shape[1]):
        color = state_color(i)
        ax.plot(lags, ts[:, i], "o-", color=color, ms=4, label=f"process {i + 1}")
        endless = np.isposinf(ts[:, i])  # |λ| >= 1: drawn as a triangle on the top edge (none: no marker at all,
        if endless.any():                # an empty unclipped line would sit at the figure's origin for layouts)
            ax.plot(lags[endless], np.full(endless.sum(), top), "^", color=color, ms=6, clip_on=False)
        if lower is not None and upper is not None:  # an unbounded interval (upper = inf) fills to the top
            ax.fill_between(lags, lower[:, i], np.where(np.isposinf(upper[:, i]), top, upper[:, i]),
                            color=color, alpha=0.25, lw=0)
    for (name, x, y), style in zip(refs, ("k--s", "k:^", "k-.v")):
        ax.plot(x, y, style, ms=4, lw=1.2, label=name)
    ax.plot(lags, lags, "k-", lw=1.2, label="t = τ")
    ax.fill_between(lags, bottom, lags, color="0.85", zorder=0)
    ax.set_yscale("log")
    ax.set_ylim(bottom, top)
    _log_x_if_wide(ax, lags)
    ax.set_xlabel("lag time τ (ps)")
    ax.set_ylabel("relaxation timescale (ps)")
    ax.set_title(title or "Implied relaxation timescales")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3, which="both")
    return fig


def save_ck_test(ck: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_ck_test` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_ck_test(ck, **kwargs), stem)


def draw_ck_test(ck: Any, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Chapman-Kolmogorov test: an ``S x S`` grid, panel ``(i, j)`` = probability ``i -> j`` vs time.

    Args:
        ck: ``CKTest`` with ``lags_ps (m,)``, ``predicted`` and ``estimated`` ``(m, S, S)`` and
            optional ``predicted_lower/upper``, ``estimated_lower/upper``.
        ax: axes whose place the grid takes (default: a new figure).

    Lines: the Koopman model's prediction ``K(tau)^n`` (band: its CI); points with error bars: the
    transition probabilities estimated directly at ``n tau``.
    """
    lags = np.asarray(ck.lags_ps, dtype=np.float64)
    pred = np.asarray(ck.predicted, dtype=np.float64)
    est = np.asarray(ck.estimated, dtype=np.float64)
    if pred.ndim != 3 or pred.shape != est.shape or pred.shape[0] != len(lags) or pred.shape[1] != pred.shape[2]:
        raise GdynetError("CK test: predicted/estimated must be (steps, S, S) matching lags_ps", "plot")
    n = pred.shape[1]
    bands = {name: _band(getattr(ck, name, None), pred.shape)
             for name in ("predicted_lower", "predicted_upper", "estimated_lower", "estimated_upper")}
    size = min(2.2, 9.0 / n) * n
    own = ax is None
    fig, grid = _grid(ax, (size + 0.6, size), n, n)
    axes = grid.subplots(sharex=True, sharey=True, squeeze=False)
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            ax.plot(lags, pred[:, i, j], "-", color="tab:blue", lw=1.5, label="predicted K(τ)ⁿ")
            if bands["predicted_lower"] is not None and bands["predicted_upper"] is not None:
                ax.fill_between(lags, bands["predicted_lower"][:, i, j], bands["predicted_upper"][:, i, j],
                                color="tab:blue", alpha=0.2, lw=0)
            yerr = None
            if bands["estimated_lower"] is not None and bands["estimated_upper"] is not None:
                yerr = np.abs(np.stack([est[:, i, j] - bands["estimated_lower"][:, i, j],
                                        bands["estimated_upper"][:, i, j] - est[:, i, j]]))
            ax.errorbar(lags, est[:, i, j], yerr=yerr, fmt="o", color="tab:red", ms=3, capsize=2, lw=1,
                        label="estimated")
            ax.set_ylim(-0.05, 1.05)
            ax.text(0.95, 0.92, f"{i}→{j}", transform=ax.transAxes, ha="right", va="top", fontsize=8)
            ax.grid(alpha=0.3)
            if i == n - 1:
                ax.set_xlabel("time (ps)")
            if j == 0:
                ax.set_ylabel("probability")
    axes[0, n - 1].legend(fontsize=7, loc="center right")
    _headline(fig, own, title or "Chapman-Kolmogorov test")
    return fig


def save_populations(populations: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_populations` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_populations(populations, **kwargs), stem)


def draw_populations(populations: Any, *, ax: Axes | None = None, errors: Sequence[float] | None = None,
                     labels: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Bar chart of the state populations (in %).

    Args:
        populations: ``(S,)`` fractions summing to 1, a ``KoopmanModel`` (its ``stationary``), a
            ``PopulationIntervals`` (its populations, with its confidence interval as the error bars
            unless ``errors`` are given) or a ``StateProbabilities`` (its mean over frames and targets).
        ax: axes to draw into (default: a new figure).
        errors: optional error bars (fractions): ``(S,)`` symmetric, or ``(2, S)`` distances below and
            above each population (e.g. a confidence interval clipped at 0 and 1).
        labels: optional state names.
    """
    if hasattr(populations, "lower") and hasattr(populations, "upper"):      # PopulationIntervals
        if errors is None:
            errors = np.nan_to_num(np.stack([populations.populations - populations.lower,
                                             populations.upper - populations.populations]))
        populations = populations.populations
    pops = getattr(populations, "stationary", populations)
    pops = np.asarray(pops.populations() if callable(getattr(pops, "populations", None)) else pops,
                      dtype=np.float64).reshape(-1)
    n = len(pops)
    labels = list(labels) if labels is not None else [f"state {i}" for i in range(n)]
    if len(labels) != n:
        raise GdynetError(f"{len(labels)} labels for {n} states", "plot")
    yerr = np.zeros(n) if errors is None else 100 * np.asarray(errors, dtype=np.float64)
    if yerr.shape not in ((n,), (2, n)):
        raise GdynetError(f"error bars of shape {yerr.shape} for {n} states", "plot")
    fig, ax = _single(ax, (max(3.5, 1.0 + 0.9 * n), 3.5))
    bars = ax.bar(range(n), 100 * pops, yerr=yerr if errors is not None else None, capsize=3,
                  color=[state_color(i) for i in range(n)])
    above = yerr if yerr.ndim == 1 else yerr[1]
    for bar, p, err in zip(bars, pops, above):
        ax.annotate(f"{100 * p:.1f}%", (bar.get_x() + bar.get_width() / 2, bar.get_height() + err),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(range(n), labels)
    ax.set_ylabel("population (%)")
    ax.set_ylim(0, max(np.max(100 * pops + above), 1) * 1.18)
    ax.set_title(title or "State populations")
    return fig


def save_state_rdf(rdfs: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_state_rdf` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_state_rdf(rdfs, **kwargs), stem)


def draw_state_rdf(rdfs: Any, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """State-weighted RDFs (Eq. 12): one panel per partner species, one curve per state.

    Args:
        rdfs: a ``StateRDF`` or a mapping ``name -> StateRDF`` (e.g. ``{"Li-O": ..., "Li-N": ...}``).
        ax: axes to draw into; several RDFs share its place side by side (default: a new figure).
    """
    items = list(rdfs.items()) if isinstance(rdfs, Mapping) else [(getattr(rdfs, "label", "partners"), rdfs)]
    if not items:
        raise GdynetError("no RDFs to plot", "plot")
    own = ax is None
    fig, grid = _grid(ax, (4.6 * len(items), 3.6), 1, len(items))
    axes = grid.subplots(squeeze=False)[0]
    for ax, (name, rdf) in zip(axes, items):
        g = np.asarray(rdf.g)
        for s in range(g.shape[0]):
            ax.plot(rdf.r, g[s], color=state_color(s), lw=1.3, label=f"state {s}")
        ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel("r (Å)")
        ax.set_ylabel(f"g(r), {name}")
        ax.set_xlim(0, float(rdf.edges[-1]))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    _headline(fig, own, title or "State-weighted radial distribution functions")
    return fig


def save_transition_msd(conduction: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_transition_msd` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_transition_msd(conduction, **kwargs), stem)


def draw_transition_msd(conduction: Any, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Transition-resolved MSDs ``E[d^2(t)|i->j]`` (Eq. 13), one panel per initial state ``i``
    (in the place of ``ax`` when given, else on a new figure).

    Curves are coloured by the final state ``j`` (solid for ``i -> i``, dashed otherwise); the dotted
    vertical line marks the lag ``tau`` and the shaded span the window used to fit ``D_ij`` (Eq. 14).
    Log-log axes: a slope of 1 is normal diffusion.
    """
    msd = np.asarray(conduction.msd, dtype=np.float64)
    times = np.asarray(conduction.times_ps, dtype=np.float64)
    n = msd.shape[0]
    fit = np.asarray(conduction.fit_offsets) * (conduction.lag_ps / conduction.lag)
    cols = n if n <= 3 else int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    own = ax is None
    fig, spec = _grid(ax, (3.6 * cols + 0.4, 3.2 * rows + 0.3), rows, cols)
    grid = spec.subplots(sharey=True, squeeze=False)
    for ax in grid.ravel()[n:]:
        ax.set_visible(False)
    axes = grid.ravel()[:n]
    for i, ax in enumerate(axes):
        for j in range(n):
            ok = np.isfinite(msd[i, j]) & (msd[i, j] > 0)
            if ok.any():
                ax.plot(times[ok], msd[i, j, ok], "-" if i == j else "--", color=state_color(j), lw=1.4,
                        label=f"{i}→{j}  D={conduction.D[i, j]:.3g} Å²/ps")
        ax.axvspan(fit.min(), fit.max(), color="0.88", zorder=0, label="fit window for D")
        ax.axvline(conduction.lag_ps, color="k", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("time t (ps)")
        ax.set_title(f"from state {i}", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3, which="both")
        if i % cols == 0:
            ax.set_ylabel("E[d² | i→j] (Å²)")
    _headline(fig, own, title or f"Transition-resolved MSD (τ = {conduction.lag_ps:g} ps)")
    return fig


def save_conduction(conduction: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_conduction` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_conduction(conduction, **kwargs), stem)


def draw_conduction(conduction: Any, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Contribution of every transition ``i -> j`` to the conductivity (Eq. 16, in %), plus totals
    (two panels, in the place of ``ax`` when given, else on a new figure).

    Left: percentage bars annotated with their value (bar colour = initial state, hatched when
    ``i != j``). Right: the Nernst-Einstein sum (Eq. 15), the self part of the collective Einstein
    conductivity and the collective value with cross terms between target sets, in S/cm.
    """
    percent = np.asarray(conduction.percent, dtype=np.float64)
    n = percent.shape[0]
    own = ax is None
    fig, grid = _grid(ax, (min(12.0, max(6.5, 5.0 + 0.4 * n * n)), 3.8), 1, 2,
                      width_ratios=[max(2, n * n), max(3.0, 0.35 * n * n)])
    ax = fig.add_subplot(grid[0])
    labels = [f"{i}→{j}" for i in range(n) for j in range(n)]
    values = np.nan_to_num(percent.reshape(-1))
    errors = np.asarray(getattr(conduction, "percent_ci", np.full_like(percent, np.nan)), dtype=np.float64)
    errors = errors.reshape(-1) if np.isfinite(errors).any() else None      # 95 % CI (Conduction.ci_from)
    bars = ax.bar(range(n * n), values, color=[state_color(i) for i in range(n) for _ in range(n)],
                  hatch=None, edgecolor="k", lw=0.5, yerr=errors, capsize=3 if errors is not None else 0,
                  error_kw={"lw": 0.8})
    for k, bar in enumerate(bars):
        i, j = divmod(k, n)
        if i != j:
            bar.set_hatch("//")
        top = max(values[k], 0) + (np.nan_to_num(errors[k]) if errors is not None else 0)
        ax.annotate(f"{values[k]:.1f}%", (bar.get_x() + bar.get_width() / 2, top),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(n * n), labels, fontsize=8)
    ax.set_xlabel("transition i→j over τ")
    ax.set_ylabel("contribution to σ (%)")
    spread = np.nan_to_num(errors) if errors is not None else 0.0
    low, high = min(0.0, (values - spread).min()), max((values + spread).max(), 1.0)
    ax.set_ylim(low * 1.15, high * 1.15)
    source = getattr(conduction, "ci_from", None)
    bars_from = "" if errors is None or source is None else f"; 95 % CI from {conduction.ci_blocks} {source}"
    ax.set_title(f"Cluster Nernst-Einstein contributions (τ = {conduction.lag_ps:g} ps{bars_from})", fontsize=10)
    ax2 = fig.add_subplot(grid[1])
    names = ["Nernst-\nEinstein", "self\npart", "collective\n(+cross)"]
    totals = [conduction.sigma_ne, conduction.sigma_self, conduction.sigma_collective]
    if not np.all(np.isfinite(totals)):         # no temperature given: only the percentages exist
        ax2.text(0.5, 0.5, "absolute σ needs the\ntemperature\n(--temperature K)", ha="center",
                 va="center", transform=ax2.transAxes, fontsize=9, color="0.3")
        ax2.set_xticks([])
        ax2.set_yticks([])
    else:
        bars = ax2.bar(range(3), totals, color=["0.45", "0.65", "tab:purple"], edgecolor="k", lw=0.5)
        for bar, value in zip(bars, totals):
            ax2.annotate(f"{value:.3g}", (bar.get_x() + bar.get_width() / 2, max(value, 0)), xytext=(0, 3),
                         textcoords="offset points", ha="center", fontsize=8)
        ax2.set_xticks(range(3), names, fontsize=8)
        ax2.set_ylabel("σ (S/cm)")
        ax2.axhline(0, color="k", lw=0.8)
        top = max(max(totals), 0)
        ax2.set_ylim(min(0, min(totals)) * 1.2, top * 1.2 if top > 0 else 1)
    ax2.set_title("Totals", fontsize=10)
    _headline(fig, own, title or "Contributions to ionic conductivity")
    return fig


def _finish(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    """Axis labels, title, a small legend and a light grid."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def save_state_profile(profile: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_state_profile` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_state_profile(profile, **kwargs), stem)


def draw_state_profile(profile: Any, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Density of every state along an axis (Fig. 3c): ``StateProfile`` (``edges`` Å, ``density``
    ``(S, B)`` per Å^3) as filled step curves, one colour per state, plus their sum (dashed)."""
    density = np.asarray(profile.density, dtype=np.float64)
    edges = np.asarray(profile.edges, dtype=np.float64)
    fig, ax = _single(ax, (6.0, 3.6))
    for s in range(density.shape[0]):
        ax.stairs(density[s], edges, color=state_color(s), fill=True, alpha=0.35)
        ax.stairs(density[s], edges, color=state_color(s), lw=1.3, label=f"state {s}")
    ax.stairs(density.sum(axis=0), edges, color="k", ls="--", lw=1.0, label="all")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(bottom=0)
    _finish(ax, f"position along {profile.axis} (Å)", "density (target sets / Å³)",
            title or f"State densities along {profile.axis}")
    return fig


def save_state_snapshot(snapshot: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_state_snapshot` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_state_snapshot(snapshot, **kwargs), stem)


def draw_state_snapshot(snapshot: Any, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """One frame (Fig. 3b): every atom at its (``horizontal``, ``vertical``) position in Å, target
    atoms coloured by their most likely state, other atoms small and grey."""
    state = np.asarray(snapshot.state)
    other = state < 0
    fig, ax = _single(ax, (7.0, 3.8))
    ax.scatter(snapshot.horizontal[other], snapshot.vertical[other], s=4, color="0.75", lw=0, label="other atoms")
    for s in np.unique(state[~other]):
        mine = state == s
        ax.scatter(snapshot.horizontal[mine], snapshot.vertical[mine], s=14, color=state_color(int(s)), lw=0,
                   label=f"state {s}")
    horizontal, vertical, view = snapshot.labels
    ax.set_aspect("equal")
    ax.set_xlabel(f"{horizontal} (Å)")
    ax.set_ylabel(f"{vertical} (Å)")
    ax.set_title(title or f"Most likely state at t = {snapshot.time_ps:g} ps (seen along {view})", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=1.5)
    return fig


def save_charge_integral(integral: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_charge_integral` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_charge_integral(integral, **kwargs), stem)


def draw_charge_integral(integral: Any, *, ax: Axes | None = None, shell_radii: Sequence[float] | None = None,
                         title: str | None = None) -> Figure:
    """Charge within ``r`` of a target set in each state, ``Q_s(r)`` in e (Fig. 4c); dotted vertical
    lines mark each state's first-shell radius when ``shell_radii`` are given."""
    Q = np.asarray(integral.Q, dtype=np.float64)
    r = np.asarray(integral.r, dtype=np.float64)
    fig, ax = _single(ax, (5.5, 3.8))
    for s in range(Q.shape[0]):
        ax.plot(r, Q[s], color=state_color(s), lw=1.4, label=f"state {s}")
        if shell_radii is not None:
            ax.axvline(shell_radii[s], color=state_color(s), ls=":", lw=1)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlim(0, float(r[-1]))
    _finish(ax, "r (Å)", "charge within r, Q(r) (e)", title or "Charge integral around the targets per state")
    return fig


def save_order_parameter(order: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_order_parameter` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_order_parameter(order, **kwargs), stem)


def draw_order_parameter(order: Any, *, ax: Axes | None = None, title: str | None = None,
                         threshold: float | None = None) -> Figure:
    """Distribution of a Steinhardt order parameter in each state (Supp. Fig. 2): ``edges`` on [0, 1],
    ``density`` ``(S, B)``; the dashed line of each colour marks the state's mean, a black line the
    ``threshold`` between disordered and ordered labels when given."""
    density = np.asarray(order.density, dtype=np.float64)
    edges = np.asarray(order.edges, dtype=np.float64)
    fig, ax = _single(ax, (5.5, 3.8))
    for s in range(density.shape[0]):
        ax.stairs(density[s], edges, color=state_color(s), lw=1.4, label=f"state {s}")
        ax.axvline(order.mean[s], color=state_color(s), ls="--", lw=0.9)
    if threshold is not None:
        ax.axvline(threshold, color="k", lw=1.2, label=f"ordered above {threshold:.3g}")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    _finish(ax, f"{order.name} (neighbours within {order.cutoff_A:.3g} Å)", "probability density",
            title or f"Steinhardt {order.name} per state")
    return fig


def save_eigenvectors(koopman: Any, stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_eigenvectors` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_eigenvectors(koopman, **kwargs), stem)


def draw_eigenvectors(koopman: Any, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Left and right Koopman eigenvectors of every process as bars per state (paper Fig. 3e).

    Args:
        koopman: ``KoopmanModel`` (``left_eigenvectors``, ``right_eigenvectors``, ``timescales_ps``).
        ax: axes whose place the panels take (default: a new figure).

    One column per process i = 1 … S−1 (slowest first), the left eigenvector above, the right one
    below (signs as in :func:`gdynet.koopman.processes.oriented_eigenvectors`): the process moves
    probability between the states with positive and those with negative bars.
    """
    from ..koopman.processes import oriented_eigenvectors

    left, right = oriented_eigenvectors(koopman.left_eigenvectors, koopman.right_eigenvectors)
    ts = np.asarray(koopman.timescales_ps, dtype=np.float64)
    n_proc, n_states = left.shape
    own = ax is None
    fig, grid = _grid(ax, (max(3.2, 2.6 * n_proc), 4.6), 2, n_proc)
    axes = grid.subplots(squeeze=False, sharex=True)
    colors = [state_color(s) for s in range(n_states)]
    for i in range(n_proc):
        t = "∞" if not np.isfinite(ts[i]) else f"{ts[i]:.3g} ps"
        for row, (vec, name) in enumerate(((left[i], "left"), (right[i], "right"))):
            ax = axes[row, i]
            ax.bar(range(n_states), vec, color=colors)
            ax.axhline(0, color="black", lw=0.8)
            ax.set_xticks(range(n_states), [str(s) for s in range(n_states)])
            if i == 0:
                ax.set_ylabel(f"{name} eigenvector")
        axes[0, i].set_title(f"process {i + 1}, t = {t}", fontsize=9)
        axes[1, i].set_xlabel("state")
    _headline(fig, own, title or "Koopman eigenvectors")
    return fig


def save_learning_curve(history: Sequence[Mapping[str, Any]], stem: str | Path, **kwargs: Any) -> tuple[Path, Path]:
    """:func:`draw_learning_curve` written to ``<stem>.png`` and ``<stem>.svg``."""
    return save_figure(draw_learning_curve(history, **kwargs), stem)


def draw_learning_curve(history: Sequence[Mapping[str, Any]], *, ax: Axes | None = None,
                        title: str | None = None) -> Figure:
    """Training (mean batch) and validation VAMP-2 per epoch; epochs undone by the collapse guard
    are marked with a red x.

    Args:
        history: summary.json ``history``: dicts with ``epoch``, ``train``, ``validation`` (and
            optionally ``collapse``).
        ax: axes to draw into (default: a new figure).
    """
    from matplotlib.ticker import MaxNLocator

    if not history:
        raise GdynetError("no training history to plot", "plot")
    epochs = np.array([h["epoch"] for h in history])
    fig, ax = _single(ax, (4.5, 3.2))
    for key, style in (("train", "o-"), ("validation", "s-")):
        ax.plot(epochs, [np.nan if h[key] is None else h[key] for h in history], style, ms=3, label=key)
    collapsed = [h for h in history if h.get("collapse")]
    if collapsed:
        ax.plot([h["epoch"] for h in collapsed], [h["validation"] for h in collapsed], "x", color="#d62728",
                ms=8, label="collapse (undone)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("VAMP-2")
    ax.legend(fontsize=8)
    ax.set_title(title or "Learning curve")
    return fig


def __getattr__(name: str) -> Any:
    """``plot_<name>`` of gdynet 0.4 (a file writer, now ``save_<name>``), for one release, with a warning."""
    if name.startswith("plot_") and f"save_{name[5:]}" in globals():
        import warnings

        warnings.warn(f"gdynet.report.figures.{name} is deprecated; use save_{name[5:]} (gdynet.{name} returns "
                      "a Figure)", DeprecationWarning, stacklevel=2)
        return globals()[f"save_{name[5:]}"]
    raise AttributeError(f"module 'gdynet.report.figures' has no attribute {name!r}")
