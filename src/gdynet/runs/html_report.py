"""``report.html`` of a run folder: written by ``gdynet analyze`` (and so ``fit``), rewritten by ``gdynet report``.

Everything on the page comes from ``summary.json`` and ``run.json``; the 3D view also needs the
analysed frames: ``analyze`` passes the pieces it has just analysed, ``gdynet report`` reads the
run's trajectories again (with the options in run.json) and takes the same pieces. When those
files are gone or changed since the fit, the page is written without the 3D view and says why.
"""
from __future__ import annotations

import warnings
from pathlib import Path


from ..base.errors import GdynetError, GdynetWarning
from .lock import run_lock
from .rundir import RunDir


def rewrite_report(run_dir: str | Path) -> Path:
    """``gdynet report RUN``: write ``RUN/report.html`` again from the run folder, recomputing nothing.

    Reads summary.json, run.json and chi/*.npy; for the 3D view the run's trajectories (the same
    analysed pieces as ``analyze``). Refused (one line) when the folder has no analysis yet.
    """
    import json

    from ..files.fingerprint import require_same_inputs
    from ..trajectory.read_options import ReadOptions, read_all
    from .analyze import _frames, write_run_html
    from .outputs import recover
    from .selection import select_frames, split_fractions

    run = RunDir(Path(run_dir))
    if not run.root.is_dir():
        raise GdynetError("no such run folder", run.root)
    with run_lock(run.root):
        recover(run)
        if not run.summary.is_file():
            raise GdynetError("no summary.json: run `gdynet analyze` (or `gdynet fit`) first", run.root)
        try:
            summary = json.loads(run.summary.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GdynetError(f"summary.json cannot be read ({exc})", run.root) from None
        record = run.read_run()
        paths = list(record["paths"]) + list(record.get("test_paths", []))
        chis = [run.load_chi(i) for i in range(len(paths))]
        dt, lag = float(record["dt_ps"]), int(record["lag_frames"])
        largest = max(round(x / dt) for x in summary["implied_timescales"]["lags_ps"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GdynetWarning)
            selection = select_frames([len(c) for c in chis], n_train=len(record["paths"]), lag=lag,
                                      split=split_fractions(record["fit"].get("split")),
                                      analyze_on=summary.get("analysis_on", "test"), largest_lag=largest)
        trajs, note = None, None
        try:
            require_same_inputs(record, run.root, "report")
            trajs = read_all(paths, ReadOptions.from_dict(record["read"]))
        except (GdynetError, OSError) as exc:
            note = f"no 3D view: the run's trajectories cannot be read as in the fit ({exc})"
            warnings.warn(GdynetWarning(note), stacklevel=2)
        pieces = None if trajs is None else [_frames(trajs[k], a, b) for k, a, b in selection.segments]
        return write_run_html(run.root, summary, record, pieces,
                              [chis[k][a:b] for k, a, b in selection.segments], view_note=note)
