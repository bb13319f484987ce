"""``gdynet predict``: apply a trained model to a trajectory it never saw."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..base.errors import GdynetError
from ..base.option_names import option
from ..trajectory.core import Trajectory
from ..trajectory.read_options import ReadOptions, SharedTargets, read_all
from ..trajectory.writers import write_extxyz
from .lock import run_lock
from .rundir import RunDir

OUTPUT_SUFFIXES = (".npy", ".extxyz")


def predict(model: str | Path, traj_path: str | Path, output: str | Path, *,
            read_overrides: dict[str, Any] | None = None, device: str = "auto",
            progress: bool = True) -> Path:
    """Write the state probabilities of every target set in every frame of ``traj_path``.

    ``model``: a ``gdynet fit`` run folder or a model file (``GDyNetModel.save``). ``output`` ending in
    ``.npy`` gets an array (frames, targets, S); ``.extxyz`` gets the frames with per-atom properties
    ``state`` (most probable state, -1 for atoms that are not targets) and ``state_prob`` (S
    probabilities, 0 for non-targets) that OVITO and ASE can colour by. The read options default to
    those of the fit (same dt, targets, stride); ``read_overrides`` replaces some of them. A fit with
    ``select_on="first"`` gives the file the targets chosen on the first frame of its first training
    file (the file must hold the same atoms). The states come from ``GDyNetModel.transform``.
    A run folder is refused while another gdynet process writes it, and when the fit's input files
    changed since (:mod:`gdynet.files.fingerprint`).
    """
    from ..api.model import load

    output = Path(output)
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise GdynetError(f"output must end in {' or '.join(OUTPUT_SUFFIXES)}", output)
    refuse_input_as_output(output, [traj_path, model, (read_overrides or {}).get("topology")])
    if Path(model).is_dir():
        from ..files.fingerprint import require_same_inputs

        run = RunDir(Path(model))
        run.require_model()
        with run_lock(run.root, shared=True):
            require_same_inputs(run.read_run(), run.root, "predict")
            return _predict(load(run.root), traj_path, output, read_overrides, device, progress)
    return _predict(load(model), traj_path, output, read_overrides, device, progress)


def _predict(fitted: Any, traj_path: str | Path, output: Path, read_overrides: dict[str, Any] | None,
             device: str, progress: bool) -> Path:
    """:func:`predict` with the model opened (under its run folder's lock, when it has one); graphs go
    to the shared cache (``$GDYNET_CACHE``), so predicting the same file again reuses them."""
    from ..graphs.store import default_cache_dir

    traj = read_for(fitted, traj_path, read_overrides)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".npy":
        fitted.transform(traj, out=output, device=device, cache_dir=default_cache_dir(), progress=progress)
    else:
        chi = fitted.transform(traj, device=device, cache_dir=default_cache_dir(), progress=progress).values
        write_extxyz(traj, output, per_atom=state_arrays(traj, chi), charges=False)
    return output


def refuse_input_as_output(output: Path, inputs: list[Any]) -> None:
    """Raise :class:`GdynetError` when ``output`` is the same file (by path, link or hard link:
    :func:`os.path.samefile`) as one of ``inputs`` (``None`` entries skipped): writing it would
    replace a file being read."""
    for given in inputs:
        if given is None:
            continue
        try:
            same = os.path.samefile(output, given)
        except OSError:                           # output (or the input) does not exist yet
            same = output.resolve() == Path(given).resolve()
        if same:
            raise GdynetError(f"is also an input of this command ({given}); write the state probabilities to "
                              "another file", output)


def read_options(model: Any, read_overrides: dict[str, Any] | None = None) -> ReadOptions:
    """How to read a new file for ``model``: as its training files were (``model.read``), with
    ``read_overrides`` (e.g. ``dt``, ``targets``, ``type_map``; ``None`` values keep the fit's) replacing some
    options."""
    given = {k: v for k, v in (read_overrides or {}).items() if v is not None}
    if given.keys() & {"dt", "timestep"}:  # a new frame spacing replaces the fit's, whichever way it was given
        given = {"dt": None, "timestep": None, "dt_override": False, **given}
    if model.read is None and "targets" not in given:
        raise GdynetError(f"the model does not record how its target atoms were chosen (trained from Python "
                          f"on custom targets); give them with {option('targets')}")
    if "targets" in given:                      # own targets: chosen on this file
        given["select_on"] = "each"
    if "type_map" in given:                     # read_trajectory's type_map= lives in the options' extra
        given["extra"] = {**(model.read or {}).get("extra", {}), "type_map": given.pop("type_map")}
    return ReadOptions.from_dict({**(model.read or {}), **given})


def read_for(model: Any, traj_path: str | Path, read_overrides: dict[str, Any] | None = None) -> Trajectory:
    """``traj_path`` read with :func:`read_options`; a fit with ``select_on="first"`` imposes the
    target sets it chose on its first training file."""
    read = read_options(model, read_overrides)
    if read.select_on == "first":
        return SharedTargets.from_dict(model.meta["shared_targets"]).read(traj_path, read)
    (traj,) = read_all([traj_path], read)
    return traj


def state_arrays(traj: Trajectory, chi: np.ndarray) -> Any:
    """``per_atom`` of :func:`gdynet.trajectory.writers.write_extxyz`: every atom of a target set gets the
    set's probabilities ``state_prob`` (S,) and most likely ``state``; other atoms zeros and -1."""
    def arrays(frame: int) -> dict[str, np.ndarray]:
        probs = np.zeros((traj.n_atoms, chi.shape[2]))
        state = np.full(traj.n_atoms, -1, dtype=np.int64)
        p = chi[frame]                                # (n, S)
        for column in traj.targets.T:
            probs[column] = p
            state[column] = p.argmax(axis=1)
        return {"state": state, "state_prob": probs}
    return arrays
