"""Reading the trajectories of a run, with the options recorded in ``run.json``."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..base.errors import GdynetError
from ..base.option_names import option
from .core import Trajectory

#: where the target spec is evaluated (``--select-on``): on every file, or on the first file only
SELECT_ON = ("each", "first")


@dataclass(frozen=True)
class ReadOptions:
    """How to read the trajectory files of a run (the ``read_trajectory`` keywords).

    ``targets`` is what the user gave: an element ("Li"), an index list, an MDAnalysis selection
    string, or ``None`` for the file's own targets. ``dt`` is the spacing of the stored frames,
    ``timestep`` the MD integration step (times the file's step numbers, see ``read_trajectory``);
    ``exclude`` and ``pbc`` are passed on as given (``--exclude``, ``--pbc``). ``select_on``
    (``--select-on``): ``"each"`` evaluates ``targets`` on the first frame of every file (independent
    runs); ``"first"`` only on the first frame of the first file, whose target atoms (same indices)
    are then the targets of every file (consecutive segments of one run, see :class:`SharedTargets`).
    ``dt_override`` (``--dt-override``): ``dt`` replaces the files' own frame times, which are then not
    checked (by default a ``dt`` that disagrees with them is an error).
    """

    dt: float | str | None = None
    format: str | None = None
    topology: str | None = None
    targets: Any = None
    stride: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    timestep: float | str | None = None
    topology_format: str | None = None
    exclude: Any = None
    pbc: Any = None
    select_on: str = "each"
    dt_override: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The options as run.json records them (``dt_override`` only when set, so a run folder made
        before it existed still resumes)."""
        data = asdict(self)
        if not data["dt_override"]:
            del data["dt_override"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ReadOptions":
        return cls(**data)


@dataclass(frozen=True)
class SharedTargets:
    """Target sets found in one file and imposed on others (``select_on="first"``).

    ``sets``: ``(n, k)`` indices of the kept atoms (the file's numbering when no atom is left out);
    ``numbers``: ``(n, k)`` their atomic numbers; ``n_atoms``: atoms kept; ``source``: that file.
    """

    sets: np.ndarray
    numbers: np.ndarray
    n_atoms: int
    source: str

    @classmethod
    def of(cls, traj: Trajectory) -> "SharedTargets":
        return cls(np.asarray(traj.targets), np.asarray(traj.numbers)[traj.targets], traj.n_atoms, traj.source)

    def to_dict(self) -> dict[str, Any]:
        return {"sets": self.sets.tolist(), "numbers": self.numbers.tolist(), "n_atoms": self.n_atoms,
                "source": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SharedTargets":
        return cls(np.asarray(data["sets"], dtype=np.int64), np.asarray(data["numbers"], dtype=np.int64),
                   int(data["n_atoms"]), str(data["source"]))

    def read(self, path: str | Path, options: ReadOptions) -> Trajectory:
        """``path`` read with ``options`` but with these target sets; one-line error naming ``path``
        when it does not hold the same atoms (count, and elements at the target indices)."""
        from ase.data import chemical_symbols

        probe = replace(options, targets=chemical_symbols[int(self.numbers.flat[0])],   # any kept target element
                        select_on="each")
        traj = _read(path, probe)
        hint = (f"--select-on first uses the targets of the first frame of {Path(self.source).name} in every "
                "file; use --select-on each for files of other atoms")
        if traj.n_atoms != self.n_atoms:
            raise GdynetError(f"{traj.n_atoms} atoms here, {self.n_atoms} in {Path(self.source).name}: {hint}",
                              traj.source)
        differ = np.argwhere(np.asarray(traj.numbers)[self.sets] != self.numbers)
        if differ.size:
            from ase.data import chemical_symbols

            atom, there = int(self.sets[tuple(differ[0])]), int(self.numbers[tuple(differ[0])])
            raise GdynetError(f"target atom {atom} is {chemical_symbols[int(traj.numbers[atom])]} here, "
                              f"{chemical_symbols[there]} in {Path(self.source).name}: {hint}", traj.source)
        return replace(traj, targets=self.sets)


def read_all(paths: Sequence[str | Path], options: ReadOptions) -> list[Trajectory]:
    """Read every file with the same options; all must share one frame spacing ``dt_ps``.

    With ``options.select_on == "first"`` the targets are chosen on the first file only and the
    others get the same target sets (:class:`SharedTargets`).
    """
    if not paths:
        raise GdynetError("no trajectory files given")
    if options.select_on not in SELECT_ON:
        raise GdynetError(f"{option('select_on')} must be {' or '.join(SELECT_ON)}, got {options.select_on!r}")
    if options.select_on == "first":
        first = _read(paths[0], options)
        shared = SharedTargets.of(first)
        trajs = [first] + [shared.read(p, options) for p in paths[1:]]
    else:
        trajs = [_read(p, options) for p in paths]
    dts = {round(t.dt_ps, 9) for t in trajs}
    if len(dts) > 1:
        listed = ", ".join(f"{Path(t.source).name}: {t.dt_ps:g} ps ({t.dt_source})" for t in trajs[:4])
        raise GdynetError(f"trajectories have different frame spacings ({listed}); "
                          "pass --stride so they match, or --dt with --dt-override if a file's own times are "
                          "wrong")
    return trajs


def _read(path: str | Path, options: ReadOptions) -> Trajectory:
    """One file read with ``options`` (its own targets, whatever ``select_on`` says)."""
    from .readers import read_trajectory

    return read_trajectory(path, dt=options.dt, timestep=options.timestep, format=options.format,
                           topology=options.topology, topology_format=options.topology_format,
                           targets=options.targets, stride=options.stride, exclude=options.exclude,
                           pbc=options.pbc, dt_override=options.dt_override, **options.extra)
