"""``gdynet analyze``: redo the analysis of a run folder, or run a saved model on new trajectories
(:func:`gdynet.runs.analyze.analyze`, :func:`gdynet.runs.model_run.analyze_trajectory_files`)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..base.errors import GdynetError
from .options import HELP_ORDER, HELP_PROFILE, HELP_SHELL, charges, lag_list, print_summary

EXAMPLES = ("Examples:\n\n  gdynet analyze run1 --lags 0.5ps,1ps,2ps,5ps --charge 1 --temperature 300\n\n"
            "  gdynet analyze model.pt new1.extxyz new2.extxyz --out run2  (a saved model on new data)")

def analyze(
    run_dir: Path = typer.Argument(..., help="Run folder written by `gdynet fit`, or a model file (then give TRAJ and --out)."),
    traj: Optional[List[Path]] = typer.Argument(None, help="With a model file: trajectories to label and analyse (read as in the fit; every frame is new to the model)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="With a model file: the new run folder."),
    dt: Optional[str] = typer.Option(None, help="With a model file: time between stored frames (replaces the fit's); a file's own frame times must agree with it unless --dt-override."),
    dt_override: bool = typer.Option(False, "--dt-override", help="With a model file: the files' frame times are wrong: use --dt instead and ignore them."),
    target: Optional[str] = typer.Option(None, help="With a model file: target atoms by element, e.g. Li (default: as in the fit)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N (with a model file)."),
    lags: Optional[str] = typer.Option(None, help="Lags for implied timescales, times or whole numbers of frames, e.g. 0.5ps,1ps,2ps,5ps or 5,10,20."),
    charge: Optional[str] = typer.Option(None, help="Charge of each state (e, comma-separated) or one for all; default: from the topology's partial charges, else no conductivity (D_ij only)."),
    temperature: Optional[float] = typer.Option(None, help="Temperature in K, for absolute conductivities."),
    analyze_on: Optional[str] = typer.Option(None, help="test (frames not trained on) or all; default: as given to fit, else test."),
    profile: Optional[str] = typer.Option(None, help=HELP_PROFILE),
    order_parameter: Optional[str] = typer.Option(None, help=HELP_ORDER),
    shell_radius: Optional[float] = typer.Option(None, help=HELP_SHELL),
    ci_from: Optional[str] = typer.Option(None, help="95 % intervals from trajectories, targets, blocks or auto; default: as given to fit, else auto."),
    coarse: Optional[int] = typer.Option(None, help="Lump the states into this many metastable sets (PCCA+)."),
) -> None:
    """Recompute Koopman model, implied timescales, CK test, state RDFs, conduction, figures and report
    (of a run folder, or of a saved model applied to new trajectories)."""
    options = dict(lags=lag_list(lags), charges=charges(charge), temperature_K=temperature,
                   analyze_on=analyze_on, ci_from=ci_from, coarse=coarse, profile=profile,
                   order_parameter=order_parameter, shell_radius=shell_radius)
    if not run_dir.exists():
        raise GdynetError("no such run folder or model file", run_dir)
    if run_dir.is_dir():
        if traj or out is not None or dt is not None or dt_override or target is not None:
            raise GdynetError("TRAJ, --out, --dt, --dt-override and --target go with a model file; a run folder is "
                              "analysed in place")
        from ..runs.analyze import analyze as run_analyze

        summary = run_analyze(run_dir, **options)
    else:
        from ..runs.model_run import analyze_trajectory_files

        if not traj or out is None:
            raise GdynetError("a model file needs the trajectories to analyse and --out DIR for the new run "
                              "folder, e.g. gdynet analyze model.pt new.extxyz --out run2", run_dir)
        summary = analyze_trajectory_files(run_dir, traj, out, read_overrides={"dt": dt, "targets": target,
                                                                                 "dt_override": dt_override or None},
                                           device=device, **options)
        run_dir = out
    print_summary(summary, run_dir)
