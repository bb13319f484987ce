"""``report.html`` of a run folder: written by ``gdynet analyze`` (and so ``fit``), rewritten by ``gdynet report``.

Everything on the page comes from ``summary.json`` and ``run.json``; the 3D view also needs the
analysed frames: ``analyze`` passes the pieces it has just analysed, ``gdynet report`` reads the
run's trajectories again (with the options in run.json) and takes the same pieces. When those
files are gone or changed since the fit, the page is written without the 3D view and says why.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..base.errors import GdynetError, GdynetWarning
from ..api.limits import FIGURE_STATES, figure_note
from .lock import run_lock
from .rundir import RunDir


def html_inputs(record: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The page's inputs table, from run.json and summary.json."""
    charges = summary.get("state_charges") or {}
    given = record.get("analysis", {})
    return {"trajectories": ", ".join(record["paths"]),
            "test trajectories": ", ".join(record.get("test_paths", [])) or "none",
            "frames analysed": summary.get("analysis_data"),
            **{k: v for k, v in record["read"].items() if v}, **record["fit"],
            "lag (frames)": record["lag_frames"], "dt (ps)": record["dt_ps"],
            "charges (e)": charges.get("charges_e", "none") if charges else "none",
            "temperature (K)": given.get("temperature_K") or "not given"}


def html_remarks(summary: Mapping[str, Any]) -> dict[str, list[str]]:
    """The sentences beside each part of the page (the same verdicts as report.md), from summary.json."""
    from ..koopman.processes import describe_process
    from .analyze import _headlines, _training_lines
    from .seeds import kept_seed, seed_differences
    from .symmetry import invariance_line, shell_line

    heads = _headlines(dict(summary))
    its_line = next(f"{k}: {v}" for k, v in heads.items() if k.startswith("implied timescales"))
    checks = summary.get("timescales_checks") or []
    reasons = [c["reason"] for c in checks if c.get("reason")]
    markovian = summary.get("timescales_markovian")
    top = [summary.get("states_remark"), summary.get("seeds_remark") and f"seeds: {summary['seeds_remark']}",
           figure_note(len(summary["populations"]))]
    if summary.get("invariance_check"):
        top.append("invariance check: " + invariance_line(summary["invariance_check"]))
    graph = summary.get("graph") or {}
    if graph.get("shell_closing_neighbors") is not None:
        top.append("neighbour shells: " + shell_line(graph))
    if summary.get("frames_dropped") or summary.get("truncated_tail"):
        top.append(f"left out while reading: {summary.get('frames_dropped', 0)} repeated frames, "
                   f"{summary.get('truncated_tail', 0)} bytes of a cut-off last frame")
    timescales = [its_line, *reasons, "lower bound: a timescale that keeps rising with the lag or exceeds half the "
                  "analysed time (dotted line, triangle); open circles: not resolved at that lag"]
    if markovian is not None:
        timescales.append("the timescales are " + ("flat with the lag (Markovian)" if markovian else
                                                   "still rising with the lag: not Markovian at τ"))
    right = np.array(((summary.get("koopman") or {}).get("eigenvectors") or {}).get("right") or [], dtype=float)
    processes = [describe_process(i + 1, np.inf if t is None else t, right[i], c.get("resolved", True),
                                  c.get("lower_bound", False))
                 for i, (t, c) in enumerate(zip(summary["timescales_ps"], checks)) if i < len(right)]
    structure = []
    order = summary.get("order_parameter") or {}
    if order.get("labels"):
        labels = order["labels"]
        structure.append(f"{order['name']} labels (threshold {labels['threshold']:.3g}): ordered fraction per state "
                         + ", ".join(f"{s}: {100 * f:.0f} %" for s, f in enumerate(labels["ordered_fraction"]))
                         + f"; the most likely state agrees with the label on {100 * labels['agreement']:.0f} % of "
                           "target-frames")
    charges = summary.get("state_charges")
    if charges:
        structure.append(f"state charges {', '.join(f'{q:.3g}' for q in charges['charges_e'])} e ({charges['source']})")
    seeds = []
    entries = summary.get("seeds") or []
    if len(entries) > 1 and summary.get("seeds_remark"):
        seeds = [summary["seeds_remark"], *seed_differences(entries, kept_seed(entries, None))]
    return {"top": [line for line in top if line], "timescales": timescales,
            "ck": [heads["Chapman-Kolmogorov test"]],
            "populations": [line for line in (summary.get("states_remark"),) if line],
            "eigenvectors": processes, "training": list(_training_lines(dict(summary)).values()),
            "structure": structure, "seeds": seeds}


def write_run_html(out_dir: Path, summary: Mapping[str, Any], record: Mapping[str, Any],
                   trajs: Sequence[Any] | None, chis: Sequence[np.ndarray] | None,
                   view_note: str | None = None) -> Path:
    """``out_dir/report.html`` for a run: ``trajs``/``chis`` are the analysed pieces (None: no 3D view,
    ``view_note`` says why)."""
    from ..report.html import write_html_report
    from ..report.structure_view import structure_view

    view = None if trajs is None else structure_view(trajs, chis)
    n_states = len(summary["populations"])
    return write_html_report(out_dir, summary, inputs=html_inputs(record, summary), remarks=html_remarks(summary),
                             view=view, view_note=view_note, full=n_states <= FIGURE_STATES,
                             title=f"gdynet report: {summary.get('model', 'gdynet')} with {n_states} states")


def rewrite_report(run_dir: str | Path) -> Path:
    """``gdynet report RUN``: write ``RUN/report.html`` again from the run folder, recomputing nothing.

    Reads summary.json, run.json and chi/*.npy; for the 3D view the run's trajectories (the same
    analysed pieces as ``analyze``). Refused (one line) when the folder has no analysis yet.
    """
    import json

    from ..files.fingerprint import require_same_inputs
    from ..trajectory.read_options import ReadOptions, read_all
    from .analyze import _frames
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
