"""The structure analyses of ``gdynet analyze`` beyond the RDFs: state profiles and a snapshot along an
axis (``--profile``), a Steinhardt order parameter per state (``--order-parameter``), the charge
integral per state and the state charges it gives for the conduction analysis (``--shell-radius``).

Each analysis is strided to a bounded number of frames per trajectory (``*_FRAMES``), so its cost
does not grow with the trajectory length. The order parameter is computed in consecutive frames (the
structure labels over time need every lag): the first ``LABEL_FRAMES`` of each analysed trajectory,
or five times the longest lag when that is more (about 25 ms per frame for 1,728 Cu atoms on one core).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..files.writes import json_safe
from ..base.errors import GdynetError
from ..base.option_names import option
from ..trajectory.core import Trajectory

#: at most this many frames (per trajectory) go into a profile, an order parameter, a charge integral
PROFILE_FRAMES = 4000
#: consecutive frames (per trajectory) of the order parameter per state and the structure labels over time
LABEL_FRAMES = 2000
CHARGE_FRAMES = 400
#: radius (Å) and bins of the charge integral
CHARGE_R_MAX = 6.0
CHARGE_BINS = 120


def parse_order_parameter(text: str | None) -> tuple[int, bool, float | None] | None:
    """``"q6"`` -> (6, False, None); ``"qbar6"`` -> (6, True, None) (Lechner-Dellago average);
    ``"q3:3.1"`` -> (3, False, 3.1 Å cut-off); None -> None."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*q(bar)?(\d{1,2})\s*(?::\s*([0-9.]+)\s*)?", str(text).lower())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise GdynetError(f"{option('order_parameter')} must be q6, q3, qbar6 or qbar3 (any l up to 12), optionally with a "
                          f"cut-off in Å such as q6:3.4, got {text!r}")
    try:
        cutoff = None if match.group(3) is None else float(match.group(3))
    except ValueError:
        raise GdynetError(f"{option('order_parameter')}: the cut-off in {text!r} is not a number of Å") from None
    return int(match.group(2)), match.group(1) is not None, cutoff


def check_options(profile: str | None, order_parameter: str | None, shell_radius: float | None) -> None:
    """Raise :class:`GdynetError` for a bad ``--profile``, ``--order-parameter`` or ``--shell-radius``
    before any work is done."""
    from ..analysis.profile import AXES

    if profile is not None and str(profile).strip().lower() not in AXES:
        raise GdynetError(f"{option('profile')} must be one of {', '.join(AXES)}, got {profile!r}")
    parse_order_parameter(order_parameter)
    if shell_radius is not None and not (np.isfinite(shell_radius) and shell_radius > 0):
        raise GdynetError(f"{option('shell_radius')} must be a positive distance in Å, got {shell_radius!r}")


def _stride(trajs: Sequence[Trajectory], frames: int) -> int:
    return max(1, max(t.n_frames for t in trajs) // frames)


@dataclass
class MaterialsResults:
    """What :func:`structure_analyses` adds to ``gdynet analyze``: ``summary`` (keys of summary.json),
    ``figures`` (report name -> paths), ``headlines`` (report text lines) and the state charges for
    the conduction analysis (None: no charges given or known)."""

    summary: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    headlines: dict[str, str] = field(default_factory=dict)
    charges: Any = None


def structure_analyses(trajs: Sequence[Trajectory], chis: Sequence[np.ndarray], figures_dir: Path, *,
                       profile: str | None = None, order_parameter: str | None = None,
                       shell_radius: float | None = None, charges: Sequence[float] | None = None,
                       timescales: Any = None, lag_ps: float | None = None, figures: bool = True) -> MaterialsResults:
    """Run the analyses that were asked for (and the charge integral whenever the trajectories carry
    partial charges); write their figures to ``figures_dir``.

    Args:
        profile: axis for the state density profile and snapshot (x/y/z/a/b/c), or None.
        order_parameter: ``"q6"``, ``"q3"`` or with a cut-off, ``"q6:3.4"`` (Å), or None.
        shell_radius: first-shell radius in Å for the state charges (default: each state's first
            RDF minimum).
        charges: state charges given by the user (``--charge``, e); they win over the topology's.
        timescales: the learned model's ``ImpliedTimescales``: with an order parameter, the structure
            labels get Markov models at the same lags, with intervals from the same blocks
            (:mod:`gdynet.analysis.order_labels`), compared in the report at the lag nearest ``lag_ps``.
        figures: draw the figures (False: numbers only, for many states, see :mod:`.limits`).
    """
    from ..analysis.charge import given_charges, state_charge_integral, state_charges
    from ..report import figures as fig

    out = MaterialsResults()
    if profile is not None:
        from ..analysis.profile import state_profile, state_snapshot

        prof = state_profile(trajs, chis, axis=profile, stride=_stride(trajs, PROFILE_FRAMES))
        out.summary["profile"] = json_safe(prof.summary())
        if figures:
            out.figures[f"State densities along {prof.axis}"] = fig.save_state_profile(prof, figures_dir / "profile")
            out.figures["Snapshot of the most likely states"] = fig.save_state_snapshot(
                state_snapshot(trajs[0], chis[0], axis=profile), figures_dir / "snapshot")
        peaks = ", ".join(f"{prof.centers[int(np.argmax(d))]:.3g}" for d in prof.density)
        out.headlines[f"state density profile along {prof.axis}"] = f"densest slab of each state at {peaks} Å"
    parsed = parse_order_parameter(order_parameter)
    if parsed is not None:
        _order_analyses(out, trajs, chis, figures_dir if figures else None, parsed, timescales, lag_ps)
    if all(t.charges is not None for t in trajs):
        integral = state_charge_integral(trajs, chis, r_max=CHARGE_R_MAX, n_bins=CHARGE_BINS,
                                         stride=_stride(trajs, CHARGE_FRAMES))
        out.summary["charge_integral"] = json_safe(integral.summary())
        out.charges = given_charges(charges) if charges is not None else state_charges(integral, shell_radius)
        if figures:
            out.figures["Charge integral per state"] = fig.save_charge_integral(
                integral, figures_dir / "charge_integral", shell_radii=out.charges.shell_radius_A)
    elif charges is not None:
        out.charges = given_charges(charges)
    elif shell_radius is not None:
        raise GdynetError(f"{option('shell_radius')} needs partial charges, but the trajectories have none "
                          "(read them with a topology that has charges)")
    out.summary["state_charges"] = None if out.charges is None else out.charges.summary()
    out.headlines["state charges"] = charge_text(out.summary["state_charges"])
    return out


def _order_analyses(out: MaterialsResults, trajs: Sequence[Trajectory], chis: Sequence[np.ndarray], figures_dir: Path | None,
                    parsed: tuple[int, bool, float | None], timescales: Any, lag_ps: float | None) -> None:
    """The Steinhardt order parameter per state and, given the learned ``timescales``, the structure
    labels over time (``order_parameter.labels``), from one pass over the first frames of each trajectory;
    its figure in ``figures_dir`` (None: no figure)."""
    from ..analysis.order import state_order_parameter
    from ..report import figures as fig

    l, average, cutoff = parsed
    window = max(LABEL_FRAMES, 5 * int(max(timescales.lags))) if timescales is not None else LABEL_FRAMES
    trajs = [t if t.n_frames <= window else t[:window] for t in trajs]
    chis = [c[:window] for c in chis]
    order = state_order_parameter(trajs, chis, l=l, average=average, cutoff=cutoff, progress=True)
    out.summary["order_parameter"] = json_safe(order.summary())
    out.headlines[f"Steinhardt {order.name} (cut-off {order.cutoff_A:.3g} Å)"] = "mean per state " + ", ".join(
        f"{m:.3f}" for m in order.mean)
    threshold = None
    if timescales is not None:
        from ..analysis.order_labels import labels_from_order

        lags = [x for x in timescales.lags if x < max(len(c) for c in chis) - 1]
        labels = labels_from_order(list(order.series), chis, lags, timescales.dt_ps, ci_from=timescales.ci_from)
        out.summary["order_parameter"]["labels"] = json_safe(labels.summary())
        out.headlines[f"{order.name} structure labels over time"] = labels.sentence(
            order.name, timescales, timescales.lags_ps[0] if lag_ps is None else lag_ps)
        threshold = labels.threshold
    if figures_dir is not None:
        out.figures[f"Steinhardt {order.name} per state"] = fig.save_order_parameter(
            order, figures_dir / "order_parameter", threshold=threshold)


def charge_text(charges: Mapping[str, Any] | None) -> str:
    """The state charges in words, from summary.json's ``state_charges`` (None: no charges)."""
    if charges is None:
        return "no charges given (--charge) and none in the topology: conduction shows only D_ij"
    values = ", ".join(f"{c:+.3g}" for c in charges["charges_e"])
    if charges["source"] == "--charge":
        return f"{values} e, given with --charge"
    radii = ", ".join(f"{r:.3g}" for r in charges["shell_radius_A"])
    return f"{values} e from the topology's partial charges: own charge + charge within {radii} Å"
