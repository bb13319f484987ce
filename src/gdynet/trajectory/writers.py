"""Trajectories out: one frame as ``ase.Atoms`` (:func:`ase_atoms`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .core import Trajectory


def ase_atoms(traj: Trajectory, frame: int) -> Any:
    """Frame ``frame`` of ``traj`` as ``ase.Atoms``: positions, cell, pbc, numbers, ``info["time"]`` (ASE
    time units, as ASE's readers store it) and the charges as initial charges; the inverse of
    :func:`gdynet.trajectory.ecosystem.ase_fields` for one frame."""
    from ase import Atoms
    from ase.units import fs

    atoms = Atoms(numbers=traj.numbers, positions=np.asarray(traj.positions[frame]), cell=traj.cells[frame],
                  pbc=traj.pbc, charges=traj.charges)
    atoms.info["time"] = frame * traj.dt_ps * 1000.0 * fs
    return atoms
