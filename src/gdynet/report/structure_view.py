"""The data behind the report's 3D view: a few dozen analysed frames, packed small.

Frames are picked evenly over the analysed data (every held-out piece, in order). Each frame stores
the shown atoms' positions as unsigned 16-bit steps between that frame's smallest and largest
coordinate per axis (steps of at most 0.01 Å for systems up to 655 Å across), wrapped into the cell
along periodic axes, and the state probabilities of the shown target sets as bytes (1/255 steps).
Above :data:`MAX_POINTS` atoms the view keeps every target atom (or a random share of the target
sets) and a random share of the other atoms; frames are cut to stay within :data:`BYTES_BUDGET`.
Both are said on the page (``notes``).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: frames the slider offers at most
MAX_FRAMES = 40
#: atoms drawn at most (WebGL stays smooth; 10^4 atoms are drawn whole)
MAX_POINTS = 20_000
#: packed bytes of frame data at most (base64 adds a third): keeps a 10^5-atom report under 25 MB
BYTES_BUDGET = 9_000_000
#: largest number of steps of a packed coordinate
_STEPS = 65535


@dataclass
class StructureView:
    """Frames of the analysed data, ready for the page (see the module docstring).

    Attributes:
        systems: per distinct trajectory piece: ``numbers`` (shown atoms' atomic numbers), ``ids``
            (their index in the file), ``kind`` (the chi column of the target set an atom belongs
            to, -1 for other atoms), ``pbc``, ``name`` (file name), all base64 or plain JSON.
        frames: per frame: ``sys`` (index into systems), ``time_ps``, ``lo``/``step`` (3 each, Å),
            ``xyz`` (base64 uint16, atoms x 3), ``chi`` (base64 uint8, target sets x S), ``cell`` (3x3 Å).
        n_states: S.
        notes: what was left out (atoms, frames), in words, for the page.
    """

    systems: list[dict[str, Any]]
    frames: list[dict[str, Any]]
    n_states: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON the page's script reads."""
        return {"systems": self.systems, "frames": self.frames, "n_states": self.n_states, "notes": self.notes}


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _shown_atoms(n_atoms: int, targets: np.ndarray, max_points: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the atoms to draw (sorted) and the target sets kept, within ``max_points``."""
    sets = np.arange(len(targets))
    if targets.size > max_points:
        sets = np.sort(rng.choice(len(targets), max(1, max_points // targets.shape[1]), replace=False))
    chosen = np.unique(targets[sets].ravel())
    others = np.setdiff1d(np.arange(n_atoms), chosen)
    room = max(0, max_points - len(chosen))
    if len(others) > room:
        others = rng.choice(others, room, replace=False)
    return np.sort(np.concatenate([chosen, others])), sets


def _pack(positions: np.ndarray, cell: np.ndarray, pbc: Sequence[bool]) -> tuple[list[float], list[float], np.ndarray]:
    """``(lo, step, uint16 steps)`` of ``positions (n, 3)`` Å, wrapped into ``cell`` along periodic axes."""
    pos = np.asarray(positions, dtype=np.float64)
    periodic = np.asarray(pbc, dtype=bool)
    if periodic.any():
        frac = pos @ np.linalg.inv(cell)
        frac[:, periodic] -= np.floor(frac[:, periodic])
        pos = frac @ cell
    lo = pos.min(axis=0)
    step = np.maximum(pos.max(axis=0) - lo, 1e-6) / _STEPS
    packed = np.rint((pos - lo) / step).astype("<u2")
    return lo.tolist(), step.tolist(), packed


def structure_view(trajs: Sequence[Any], chis: Sequence[np.ndarray], *, max_frames: int = MAX_FRAMES,
                   max_points: int = MAX_POINTS, budget: int = BYTES_BUDGET, seed: int = 0) -> StructureView:
    """Pick and pack the frames of the 3D view from the analysed pieces.

    Args:
        trajs: the analysed :class:`~gdynet.trajectory.core.Trajectory` pieces (frame 0 at time 0 of
            each piece).
        chis: their state probabilities ``(F, n, S)``, one per piece.
        max_frames: frames offered by the slider at most; max_points: atoms drawn at most;
        budget: packed bytes of frame data at most; seed: of the random atom subset.

    Returns:
        :class:`StructureView`; the same inputs give the same view.
    """
    rng = np.random.default_rng(seed)
    n_states = int(np.asarray(chis[0]).shape[2])
    systems, shown, notes = [], [], []
    for traj in trajs:
        atoms, sets = _shown_atoms(traj.n_atoms, traj.targets, max_points, rng)
        kind = np.full(traj.n_atoms, -1, dtype="<i4")
        for column, s in enumerate(sets):
            kind[traj.targets[s]] = column
        ids = atoms if traj.atom_ids is None else np.asarray(traj.atom_ids)[atoms]
        systems.append({"numbers": _b64(traj.numbers[atoms].astype("<u1")),
                        "ids": _b64(ids.astype("<i4")), "kind": _b64(kind[atoms]),
                        "pbc": [bool(b) for b in traj.pbc], "name": Path(str(traj.source)).name})
        shown.append((atoms, sets))
        if len(atoms) < traj.n_atoms:
            notes.append(f"{Path(str(traj.source)).name}: {len(atoms):,} of its {traj.n_atoms:,} atoms are drawn "
                         f"({len(sets):,} of {traj.n_targets:,} target sets and a random share of the other atoms), "
                         "to keep the view smooth and the file small")
    sizes = np.array([len(c) for c in chis])
    per_frame = max(6 * len(a) + len(s) * n_states for a, s in shown)
    count = int(min(max_frames, sizes.sum(), max(2, budget // per_frame)))
    if count < min(max_frames, sizes.sum()):
        notes.append(f"the slider offers {count} frames (not {min(max_frames, int(sizes.sum()))}) to keep the file small")
    picks = np.unique(np.linspace(0, sizes.sum() - 1, count).round().astype(np.int64))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    frames = []
    for pick in picks:
        k = int(np.searchsorted(np.cumsum(sizes), pick, side="right"))
        f = int(pick - starts[k])
        traj, (atoms, sets) = trajs[k], shown[k]
        cell = np.asarray(traj.cells[f], dtype=np.float64)
        lo, step, packed = _pack(np.asarray(traj.positions[f])[atoms], cell, traj.pbc)
        chi = np.clip(np.rint(np.asarray(chis[k][f], dtype=np.float64)[sets] * 255), 0, 255).astype("<u1")
        frames.append({"sys": k, "frame": f, "time_ps": round(f * float(traj.dt_ps), 6), "lo": lo, "step": step,
                       "xyz": _b64(packed), "chi": _b64(chi), "cell": np.round(cell, 4).tolist()})
    used = sorted({fr["sys"] for fr in frames})            # systems no picked frame shows are dropped
    renumber = {k: i for i, k in enumerate(used)}
    for fr in frames:
        fr["sys"] = renumber[fr["sys"]]
    return StructureView(systems=[systems[k] for k in used], frames=frames, n_states=n_states, notes=notes)
