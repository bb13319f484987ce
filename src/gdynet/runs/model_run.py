"""A run folder from a saved model and new trajectories: ``gdynet analyze MODEL.pt TRAJ... --out DIR``
and ``GDyNetModel.analyze(trajectories, DIR)``.

The folder has the layout of ``gdynet fit``'s (:mod:`.rundir`): run.json records the trajectories as
test trajectories (never trained on), model.pt is the model, chi/ its state probabilities; then
:func:`gdynet.runs.analyze.analyze` writes summary.json, figures and report.md as for any run
(and ``gdynet analyze DIR`` can redo it with other options).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..files import writes
from ..files.writes import json_safe
from ..base.errors import GdynetError
from ..base.option_names import option
from ..trajectory.core import Trajectory
from ..trajectory.read_options import ReadOptions
from .lock import LOCK_NAME, writing_run
from .rundir import RunDir


def analyze_trajectory_files(model_file: str | Path, paths: Sequence[str | Path], out: str | Path, *,
                             read_overrides: dict[str, Any] | None = None, device: str = "auto",
                             progress: bool = True, **analysis: Any) -> dict[str, Any]:
    """``gdynet analyze MODEL.pt TRAJ... --out DIR``: the files read as the model's training files were,
    but for ``read_overrides`` (``dt``, ``targets``, ...; ``None`` values keep the fit's)."""
    from ..files.fingerprint import input_path, read_unchanged
    from .predict import read_for, read_options
    from ..api.model import load

    model = load(model_file)
    trajs, _ = read_unchanged([str(p) for p in paths], lambda: [read_for(model, path, read_overrides) for path in paths])
    return analyze_model(model, trajs, out, read=read_options(model, read_overrides, paths[0] if paths else None),
                         paths=[input_path(p) for p in paths], device=device, progress=progress,
                         **analysis)


def analyze_model(model: Any, trajectories: Trajectory | Sequence[Trajectory], out: str | Path, *,
                  read: ReadOptions | None = None, paths: Sequence[str] | None = None, device: str = "auto",
                  progress: bool = False, **analysis: Any) -> dict[str, Any]:
    """Write the run folder ``out`` for ``model`` applied to ``trajectories`` and analyse it; returns
    summary.json's dict. ``read`` and ``paths``: how and from where the files were read (recorded so
    ``gdynet analyze DIR`` can read them again; default: the model's read options and each
    trajectory's source); ``analysis``: keywords of :func:`~gdynet.runs.analyze.analyze`."""
    from .analysis_options import check_analysis
    from .analyze import analyze

    trajs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    if not trajs or not all(isinstance(t, Trajectory) for t in trajs):
        raise GdynetError("trajectories must be a Trajectory or a list of them")
    check_analysis(analysis, trajs[0].dt_ps, n_states=model.n_states)
    for traj in trajs:
        model.check(traj)
    from ..files.fingerprint import input_fingerprints

    run = RunDir(Path(out))
    read = read or ReadOptions.from_dict(model.read or {})
    test_paths = list(paths or [str(t.source) for t in trajs])
    record = json_safe({"paths": [], "test_paths": test_paths, "read": read.to_dict(),
                        "fit": model.meta.get("settings") or {}, "lag_frames": model.lag, "dt_ps": trajs[0].dt_ps,
                        "model_file": True, "analysis": {},
                        "inputs": input_fingerprints([*test_paths, read.topology])})   # analyze DIR checks them
    with writing_run(run.root):
        if any(entry.name != LOCK_NAME for entry in run.root.iterdir()):
            raise GdynetError(f"output folder exists and is not empty; choose another {option('out')}", run.root)
        writes.write_json(run.run_json, record)
        model.save(run.model)
        for i, traj in enumerate(trajs):
            model.transform(traj, out=run.chi(i), device=device, progress=progress)
            writes.save_npy(run.targets(i), traj.file_targets())
        return analyze(run.root, trajectories=trajs, **analysis)
