"""Reading the trajectories of a run, with the options recorded in ``run.json``."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import GdynetError
from ..trajectory.core import Trajectory


@dataclass(frozen=True)
class ReadOptions:
    """How to read the trajectory files of a run (the ``read_trajectory`` keywords).

    ``targets`` is what the user gave: an element ("Li"), an index list, an MDAnalysis selection
    string, or ``None`` for the file's own targets. ``dt`` is the spacing of the stored frames,
    ``timestep`` the MD integration step (times the file's step numbers, see ``read_trajectory``);
    ``exclude`` and ``pbc`` are passed on as given (``--exclude``, ``--pbc``).
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ReadOptions":
        return cls(**data)


def read_all(paths: Sequence[str | Path], options: ReadOptions) -> list[Trajectory]:
    """Read every file with the same options; all must share one frame spacing ``dt_ps``."""
    from ..trajectory.readers import read_trajectory

    if not paths:
        raise GdynetError("no trajectory files given")
    trajs = [read_trajectory(p, dt=options.dt, timestep=options.timestep, format=options.format,
                             topology=options.topology, topology_format=options.topology_format,
                             targets=options.targets, stride=options.stride, exclude=options.exclude,
                             pbc=options.pbc, **options.extra) for p in paths]
    dts = {round(t.dt_ps, 9) for t in trajs}
    if len(dts) > 1:
        listed = ", ".join(f"{Path(t.source).name}: {t.dt_ps:g} ps ({t.dt_source})" for t in trajs[:4])
        raise GdynetError(f"trajectories have different frame spacings ({listed}); "
                          "pass --stride so they match, or --dt / --timestep if a file's own time is wrong")
    return trajs
