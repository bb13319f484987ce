"""Trajectories out: one frame as ``ase.Atoms`` (:func:`ase_atoms`), extended XYZ files with optional
per-atom arrays such as state probabilities (:func:`write_extxyz`), and the original GDyNet ``.npz``
layout (:func:`write_npz`). Files are written atomically."""
from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..base.errors import GdynetError
from ..files.writes import atomic_path
from .core import Trajectory


def ase_atoms(traj: Trajectory, frame: int, positions: np.ndarray | None = None, cell: np.ndarray | None = None,
              charges: bool = True) -> Any:
    """Frame ``frame`` of ``traj`` as ``ase.Atoms``: positions, cell, pbc, numbers, ``info["time"]`` (ASE
    time units, as ASE's readers store it) and (``charges``) the charges as initial charges; the inverse
    of :func:`gdynet.trajectory.ecosystem.ase_fields` for one frame. ``positions`` (N, 3) Å and ``cell``
    (3, 3) Å: the frame's, when already read."""
    from ase import Atoms
    from ase.units import fs

    positions = np.asarray(traj.positions[frame]) if positions is None else positions
    atoms = Atoms(numbers=traj.numbers, positions=positions, cell=traj.cells[frame] if cell is None else cell,
                  pbc=traj.pbc, charges=traj.charges if charges else None)
    atoms.info["time"] = frame * traj.dt_ps * 1000.0 * fs
    return atoms


def write_extxyz(traj: Trajectory, path: str | PathLike[str], *,
                 per_atom: Callable[[int], dict[str, np.ndarray]] | None = None, charges: bool = True,
                 chunk: int = 256) -> Path:
    """Write ``traj`` as extended XYZ (ASE; streamed, ``chunk`` frames at a time, atomically): one block
    per frame with its cell, pbc and ``time``, so ``read_trajectory`` reads the frame spacing back
    without ``dt``. ``per_atom(frame)`` gives extra per-atom arrays of a frame (e.g. ``state`` and
    ``state_prob``); ``charges``: write the trajectory's charges as initial charges."""
    from ase.io import write

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        for start, positions, cells in traj.iter_chunks(chunk):
            frames = []
            for offset in range(len(positions)):
                atoms = ase_atoms(traj, start + offset, positions[offset], cells[offset], charges=charges)
                for name, values in (per_atom(start + offset) if per_atom is not None else {}).items():
                    atoms.new_array(name, values)
                frames.append(atoms)
            write(handle, frames, format="extxyz")
    return path


def write_npz(traj: Trajectory, path: str | PathLike[str]) -> Path:
    """Write ``traj`` in the original GDyNet ``.npz`` layout (atomically).

    Keys: ``traj_coords`` (F, N, 3) Å, ``lattices`` (F, 3, 3) Å, ``atom_types`` (N,) atomic
    numbers, ``target_index`` (n,) indices of single-atom targets.
    """
    path = Path(path)
    if traj.target_size != 1:
        raise GdynetError(f"the GDyNet npz layout holds single-atom targets only, not sets of {traj.target_size}",
                          path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, traj_coords=np.asarray(traj.positions), lattices=np.ascontiguousarray(traj.cells),
                 atom_types=traj.numbers, target_index=traj.targets[:, 0])
    return path
