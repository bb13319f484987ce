"""``gdynet predict``: apply a trained model to a trajectory it never saw."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..errors import GdynetError
from ..trajectory.core import Trajectory
from .chi import predict_raw, write_calibrated
from .inputs import ReadOptions, SharedTargets, read_all
from .rundir import RunDir, load_model, run_lock

OUTPUT_SUFFIXES = (".npy", ".extxyz")


def predict(run_dir: str | Path, traj_path: str | Path, output: str | Path, *,
            read_overrides: dict[str, Any] | None = None, device: str = "auto",
            progress: bool = True) -> Path:
    """Write the state probabilities of every target set in every frame of ``traj_path``.

    ``output`` ending in ``.npy`` gets an array (frames, targets, S); ``.extxyz`` gets the frames with
    per-atom properties ``state`` (most probable state, -1 for atoms that are not targets) and
    ``state_prob`` (S probabilities, 0 for non-targets) that OVITO and ASE can colour by.
    The read options default to those of the fit (same dt, targets, stride); ``read_overrides``
    replaces some of them. A fit with ``select_on="first"`` gives the file the targets chosen on
    the first frame of its first training file (the file must hold the same atoms).
    Refused while another gdynet process writes ``run_dir``, and when the fit's input files changed
    since (:mod:`gdynet.fingerprint`).
    """
    output = Path(output)
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise GdynetError(f"output must end in {' or '.join(OUTPUT_SUFFIXES)}", output)
    run = RunDir(Path(run_dir))
    run.require_model()
    with run_lock(run.root, shared=True):
        return _predict(run, traj_path, output, read_overrides, device, progress)


def _predict(run: RunDir, traj_path: str | Path, output: Path, read_overrides: dict[str, Any] | None,
             device: str, progress: bool) -> Path:
    """:func:`predict` under the run folder's lock."""
    from ..fingerprint import require_same_inputs

    require_same_inputs(run.read_run(), run.root, "predict")
    model, meta = load_model(run.model)
    given = {k: v for k, v in (read_overrides or {}).items() if v is not None}
    if given.keys() & {"dt", "timestep"}:  # a new frame spacing replaces the fit's, whichever way it was given
        given = {"dt": None, "timestep": None, **given}
    read = ReadOptions.from_dict({**meta["read"], **given})
    if read.select_on == "first":       # the targets the fit chose on its first training file
        traj = SharedTargets.from_dict(meta["shared_targets"]).read(traj_path, read)
    else:
        (traj,) = read_all([traj_path], read)
    A = np.asarray(meta["calibration"])
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gdynet-predict-", dir=output.parent) as tmp:
        raw = predict_raw(model, _source(meta, traj, progress), meta["n_states"], Path(tmp) / "raw.npy", device)
        if output.suffix.lower() == ".npy":
            write_calibrated(raw, A, output)
        else:
            chi = np.load(write_calibrated(raw, A, Path(tmp) / "chi.npy"), mmap_mode="r")
            atomic.atomic_write(output, lambda path: write_extxyz(path, traj, chi))
            del chi
        del raw
    return output


def _source(meta: dict[str, Any], traj: Trajectory, progress: bool) -> Any:
    """The model's input source for ``traj``: graphs (GDyNet) or coordinates (global VAMPnet)."""
    from ..training.data import CoordinateSource, GraphSource

    if meta["kind"] == "vampnet":
        if traj.n_atoms != meta["n_atoms"]:
            raise GdynetError(f"the global VAMPnet was trained on {meta['n_atoms']} atoms, this trajectory "
                              f"has {traj.n_atoms}", traj.source)
        return CoordinateSource(traj)
    from ..graphs.store import build_graphs

    return GraphSource(build_graphs(traj, meta["neighbors"], progress=progress))


def write_extxyz(path: Path, traj: Trajectory, chi: np.ndarray, chunk: int = 256) -> None:
    """Write ``traj`` with per-atom ``state`` and ``state_prob`` arrays as extended XYZ (streamed);
    each frame carries its ``time`` (ASE units, as ASE's readers expect) and the trajectory's pbc, so
    ``read_trajectory`` reads the file back with the same frame spacing."""
    from ase import Atoms
    from ase.io import write
    from ase.units import fs

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
                atoms = Atoms(numbers=traj.numbers, positions=positions[offset], cell=cells[offset], pbc=traj.pbc)
                atoms.info["time"] = (start + offset) * traj.dt_ps * 1000.0 * fs
                atoms.new_array("state", state)
                atoms.new_array("state_prob", probs)
                frames.append(atoms)
            write(handle, frames, format="extxyz")
