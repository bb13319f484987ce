"""State probabilities χ with their time step: :class:`StateProbabilities`.

What a trained model gives for a trajectory (``GDyNetModel.transform``) and what every analysis
accepts: the calibrated χ (frames, target sets, S) plus the frame spacing in ps, the atoms of each
target set and where the frames came from, so no analysis has to be told ``dt_ps`` again. Plain
arrays keep working wherever an explicit ``dt_ps`` is given (:func:`unpack_chi`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import GdynetError

#: float64 values per chunk (16 MB), i.e. frames per chunk = CHUNK_VALUES // (n * S)
CHUNK_VALUES = 2_000_000
#: largest allowed |Σ_s χ_s - 1| of one row
SUM_TOLERANCE = 1e-3
#: most negative allowed entry (round-off of a softmax is far smaller)
NEGATIVE_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class StateProbabilities:
    """Calibrated state probabilities of one trajectory.

    Attributes:
        values: ``(F, n, S)`` χ, float32 (may be a read-only ``np.memmap``); rows sum to 1.
        dt_ps: time between frames in ps.
        targets: ``(n, k)`` atom indices of each target set in the file's numbering (an MDAnalysis
            ``AtomGroup``'s: its ``Universe``'s), as ``Trajectory.file_targets()``; or ``None``.
        source: the trajectory the frames came from (a path or a short description).
        trajectory_id: :func:`trajectory_id` of the trajectory χ was computed from (``model.transform``
            records it), or ``None``; every analysis that takes a trajectory and χ refuses a χ whose
            ``trajectory_id`` is another trajectory's (``check_source=False`` skips that check).

    ``values`` is read-only (a view with the write flag off), and rows must sum to 1 (within
    :data:`ROW_SUM_TOLERANCE`).
    """

    values: np.ndarray
    dt_ps: float
    targets: np.ndarray | None = None
    source: str = "<memory>"
    trajectory_id: str | None = None

    def __post_init__(self) -> None:
        values = self.values if isinstance(self.values, np.ndarray) else np.asarray(self.values)
        if values.ndim != 3 or values.shape[2] < 1:
            raise GdynetError(f"values must have shape (frames, target sets, states), got {values.shape}",
                              self.source)
        _check_rows(values, self.source)
        values = values.view()
        values.flags.writeable = False
        object.__setattr__(self, "values", values)
        if isinstance(self.dt_ps, bool) or not isinstance(self.dt_ps, (int, float, np.number)) \
                or not math.isfinite(self.dt_ps) or self.dt_ps <= 0:
            raise GdynetError(f"dt_ps must be a positive number of ps, got {self.dt_ps!r}", self.source)
        object.__setattr__(self, "dt_ps", float(self.dt_ps))
        if self.targets is not None:
            targets = np.asarray(self.targets)
            if targets.ndim == 1:
                targets = targets[:, None]
            if targets.ndim != 2 or targets.shape[0] != values.shape[1]:
                raise GdynetError(f"targets must have shape ({values.shape[1]}, k) to match values, "
                                  f"got {targets.shape}", self.source)
            object.__setattr__(self, "targets", targets)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.values.shape)  # type: ignore[return-value]

    @property
    def n_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_targets(self) -> int:
        return int(self.values.shape[1])

    @property
    def n_states(self) -> int:
        return int(self.values.shape[2])

    @property
    def duration_ps(self) -> float:
        """Time spanned by the frames, ``(F - 1) · dt_ps``."""
        return (self.n_frames - 1) * self.dt_ps

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.values, dtype=dtype)

    def __len__(self) -> int:
        return self.n_frames

    def most_likely(self) -> np.ndarray:
        """``(F, n)`` index of the most probable state of every target set in every frame."""
        return np.asarray(self.values).argmax(-1)

    def populations(self) -> np.ndarray:
        """``(S,)`` mean probability of each state over all frames and target sets."""
        return np.asarray(self.values, dtype=np.float64).mean(axis=(0, 1))

    def check_source(self, trajectory: Any) -> None:
        """Raise :class:`GdynetError` when χ records the trajectory it came from and ``trajectory`` is
        another one (same shapes are not enough: :func:`trajectory_id` compares atoms and frames)."""
        if self.trajectory_id is not None and self.trajectory_id != trajectory_id(trajectory):
            raise GdynetError(f"chi was computed from another trajectory ({self.source}) than the one given; pass the "
                              "trajectory chi came from (check_source=False skips this check)", trajectory.source)

    def __repr__(self) -> str:
        return (f"StateProbabilities({self.n_frames} frames x {self.n_targets} target sets x "
                f"{self.n_states} states, dt={self.dt_ps:g} ps, source={self.source!r})")


#: largest |row sum − 1| accepted in :class:`StateProbabilities` (float32 softmax rows are within ~1e-6)
ROW_SUM_TOLERANCE = 1e-4


def _check_rows(values: np.ndarray, source: str) -> None:
    """Refuse χ rows (one target set in one frame) that are not probabilities summing to 1; streams
    over a memory map in blocks of frames."""
    step = max(1, 4_000_000 // max(1, values.shape[1] * values.shape[2]))
    for start in range(0, values.shape[0], step):
        block = np.asarray(values[start:start + step], dtype=np.float64)
        bad = ~(np.abs(block.sum(axis=2) - 1.0) <= ROW_SUM_TOLERANCE) | (block.min(axis=2) < -ROW_SUM_TOLERANCE)
        if bad.any():                                                    # NaN rows are bad too
            frame, target = np.argwhere(bad)[0]
            row = block[frame, target]
            raise GdynetError(f"values are not probabilities: the row of frame {start + frame}, target set {target} "
                              f"is {', '.join(f'{p:.6g}' for p in row)} (sums to {row.sum():.6g}); rows must be >= 0 "
                              f"and sum to 1 within {ROW_SUM_TOLERANCE:g}", source)


def trajectory_id(trajectory: Any) -> str:
    """A cheap identity of a :class:`~gdynet.trajectory.core.Trajectory` (hex): its shapes, frame
    spacing, periodicity, atomic numbers, targets and the positions and cells of its first and last
    frames. Two trajectories with the same number of frames and targets but other frames differ."""
    import hashlib

    h = hashlib.blake2b(digest_size=12)
    h.update(repr((tuple(trajectory.positions.shape), float(trajectory.dt_ps), tuple(trajectory.pbc))).encode())
    for part in (trajectory.numbers, trajectory.file_targets(), trajectory.positions[0], trajectory.positions[-1],
                 trajectory.cells[0], trajectory.cells[-1]):
        h.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
    return h.hexdigest()


def unpack_chi(chi: Any, dt_ps: float | str | None, *, name: str = "chi",
               dt_name: str = "dt_ps") -> tuple[Any, float]:
    """``(arrays, dt_ps)`` from a :class:`StateProbabilities`, a list of them, or plain arrays.

    A ``StateProbabilities`` (or a list of them, which must share one frame spacing) gives its own
    ``dt_ps``; a ``dt_ps`` passed as well must agree with it within 1e-9 relative. Plain arrays (one
    ``(F, n, S)`` array or a list) need ``dt_ps``. The arrays come back in the form given (one array
    or a list).
    """
    from .units import parse_time

    items = chi if isinstance(chi, (list, tuple)) else None
    probs = [c for c in (items if items is not None else [chi]) if isinstance(c, StateProbabilities)]
    if not probs:
        if dt_ps is None:
            raise GdynetError(f"{dt_name} is needed with plain arrays for {name} (a StateProbabilities, "
                              "from model.transform, carries its own)")
        return chi, parse_time(dt_ps, name=dt_name)
    if items is not None and len(probs) != len(items):
        raise GdynetError(f"{name}: mix of StateProbabilities and plain arrays; pass one kind")
    spacings = {p.dt_ps for p in probs}
    if max(spacings) - min(spacings) > 1e-9 * max(spacings):
        raise GdynetError(f"{name}: the trajectories have different frame spacings "
                          f"({', '.join(f'{s:g}' for s in sorted(spacings))} ps)")
    own = probs[0].dt_ps
    if dt_ps is not None:
        given = parse_time(dt_ps, name=dt_name)
        if abs(given - own) > 1e-9 * own:
            raise GdynetError(f"{dt_name}={given:g} ps disagrees with the {own:g} ps that {name} carries; "
                              f"leave {dt_name} out")
    arrays = [p.values for p in probs]
    return (arrays if items is not None else arrays[0]), own


def check_rows(x: np.ndarray, name: str, first_frame: int) -> None:
    """Raise for negative entries or rows not summing to 1 (NaN/inf make the row sum non-finite)."""
    total = x.sum(axis=2)
    err = np.abs(total - 1.0)
    if not np.all(np.isfinite(total)):
        frame = first_frame + int(np.argwhere(~np.isfinite(total))[0, 0])
        raise GdynetError(f"state probabilities contain NaN or inf (frame {frame})", name)
    if x.min() < -NEGATIVE_TOLERANCE:
        frame, target, _ = np.argwhere(x < -NEGATIVE_TOLERANCE)[0]
        raise GdynetError(f"negative state probability {x.min():.3g} (frame {first_frame + frame}, target "
                          f"{target}); chi must be probabilities, e.g. a softmax output", name)
    if err.max() > SUM_TOLERANCE:
        frame, target = np.unravel_index(int(err.argmax()), err.shape)
        raise GdynetError(
            f"state probabilities of frame {first_frame + frame}, target {target} sum to "
            f"{total[frame, target]:.6g}, not 1 (tolerance {SUM_TOLERANCE:g})", name)


def check_probabilities(chi: np.ndarray, name: str) -> None:
    """Check every row of ``chi`` ``(F, n, S)`` (finite, non-negative, summing to 1) in one streamed pass.

    For analyses that read ``chi`` many times (RDF, MSD) and so check it once up front; raises
    :class:`GdynetError` naming ``name`` and the first bad frame.
    """
    step = max(1, CHUNK_VALUES // (chi.shape[1] * chi.shape[2]))
    for a in range(0, chi.shape[0], step):
        check_rows(np.asarray(chi[a:a + step], dtype=np.float64), name, a)


def check_chi(chi: Any, traj: Any, name: str = "chi", check_source: bool = True) -> np.ndarray:
    """The ``(F, n, S)`` values of ``chi`` checked against the trajectory ``traj`` (a
    :class:`~gdynet.trajectory.core.Trajectory`): a :class:`StateProbabilities` must have its frame
    spacing, when it records them its target atoms, and when it records the trajectory it came from
    (``trajectory_id``) that trajectory, unless ``check_source`` is False; the values must have shape
    ``(frames, targets, S)`` and every row be finite, non-negative and sum to 1 (:func:`check_probabilities`).

    Returns the values (a memory map stays one; anything without a shape becomes an array); raises
    :class:`GdynetError` otherwise. The one check every analysis of χ with a trajectory makes.
    """
    if isinstance(chi, StateProbabilities):
        if check_source:
            chi.check_source(traj)
        if abs(chi.dt_ps - traj.dt_ps) > 1e-9 * traj.dt_ps:
            raise GdynetError(f"chi has frames {chi.dt_ps:g} ps apart but the trajectory {traj.dt_ps:g} ps; "
                              "pass the trajectory chi was computed from", traj.source)
        if chi.targets is not None and (chi.targets.shape != traj.targets.shape
                                        or not np.array_equal(chi.targets, traj.file_targets())):
            raise GdynetError("chi was computed for other target atoms than the trajectory's; pass the same "
                              "targets", traj.source)
        chi = chi.values
    if not hasattr(chi, "shape") or not hasattr(chi, "ndim"):
        chi = np.asarray(chi)
    if chi.ndim != 3 or chi.shape[:2] != (traj.n_frames, traj.n_targets):
        raise GdynetError(f"{name} must have shape (frames={traj.n_frames}, targets={traj.n_targets}, states), "
                          f"got {tuple(chi.shape)}", traj.source)
    if chi.shape[2] < 1:
        raise GdynetError(f"{name} has no states", traj.source)
    check_probabilities(chi, f"{traj.source}: {name}")
    return chi
