"""``gdynet predict``: apply a trained model to a trajectory it never saw."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..errors import GdynetError
from ..trajectory.core import Trajectory
from .inputs import ReadOptions, read_all
from .rundir import RunDir, load_model

OUTPUT_SUFFIXES = (".npy", ".extxyz")


def predict(run_dir: str | Path, traj_path: str | Path, output: str | Path, *,
            read_overrides: dict[str, Any] | None = None, device: str = "auto",
            progress: bool = True) -> Path:
    """Write the state probabilities of every target set in every frame of ``traj_path``.

    ``output`` ending in ``.npy`` gets an array (frames, targets, S); ``.extxyz`` gets the frames with
    per-atom properties ``state`` (most probable state, -1 for atoms that are not targets) and
    ``state_prob`` (S probabilities, 0 for non-targets) that OVITO and ASE can colour by.
    The read options default to those of the fit (same dt, targets, stride); ``read_overrides``
    replaces some of them.
    """
    output = Path(output)
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise GdynetError(f"output must end in {' or '.join(OUTPUT_SUFFIXES)}", output)
    run = RunDir(Path(run_dir))
    run.require_model()
    model, meta = load_model(run.model)
    read = ReadOptions.from_dict({**meta["read"], **{k: v for k, v in (read_overrides or {}).items()
                                                      if v is not None}})
    (traj,) = read_all([traj_path], read)
    chi = probabilities(model, meta, traj, device=device, progress=progress)
    if output.suffix.lower() == ".npy":
        atomic.save_npy(output, chi)
    else:
        atomic.atomic_write(output, lambda tmp: write_extxyz(tmp, traj, chi))
    return output


def probabilities(model: Any, meta: dict[str, Any], traj: Trajectory, *, device: str = "auto",
                  progress: bool = True) -> np.ndarray:
    """Calibrated state probabilities (frames, targets, S) of ``traj`` under a loaded model."""
    from ..training.data import CoordinateSource, GraphSource
    from ..training.trainer import predict as predict_chi

    if meta["kind"] == "vampnet":
        if traj.n_atoms != meta["n_atoms"]:
            raise GdynetError(f"the global VAMPnet was trained on {meta['n_atoms']} atoms, this trajectory "
                              f"has {traj.n_atoms}", traj.source)
        source = CoordinateSource(traj)
    else:
        from ..graphs.store import build_graphs

        source = GraphSource(build_graphs(traj, meta["neighbors"], progress=progress))
    from ..model.calibration import apply_calibration

    return apply_calibration(predict_chi(model, source, device=device), np.asarray(meta["calibration"]))


def write_extxyz(path: Path, traj: Trajectory, chi: np.ndarray, chunk: int = 256) -> None:
    """Write ``traj`` with per-atom ``state`` and ``state_prob`` arrays as extended XYZ (streamed)."""
    from ase import Atoms
    from ase.io import write

    n_states = chi.shape[2]
    with open(path, "w") as handle:
        for start, positions, cells in traj.iter_chunks(chunk):
            frames = []
            for offset in range(len(positions)):
                probs = np.zeros((traj.n_atoms, n_states))
                state = np.full(traj.n_atoms, -1, dtype=np.int64)
                p = chi[start + offset]                       # (n, S)
                for column in traj.targets.T:                 # every atom of a set gets the set's probs
                    probs[column] = p
                    state[column] = p.argmax(axis=1)
                atoms = Atoms(numbers=traj.numbers, positions=positions[offset], cell=cells[offset], pbc=True)
                atoms.new_array("state", state)
                atoms.new_array("state_prob", probs)
                frames.append(atoms)
            write(handle, frames, format="extxyz")
