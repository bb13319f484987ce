"""``gdynet scan``: fit each number of states and recommend S and the lag (:func:`gdynet.runs.scan.scan`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List

import typer

from .fit import fit, fit_inputs
from .options import lag_list, numbers

EXAMPLE = "Example:\n\n  gdynet scan a.npz b.npz --dt 0.1ps --states 2,3,4 --lags 0.5ps,1ps,2ps --out scan1"

NOT_SCAN_OPTIONS = {"out", "states", "lag", "lags", "charge", "temperature", "test", "analyze_on", "ci_from",
                     "profile", "order_parameter", "shell_radius", "force"}


def scan(
    traj: List[Path] = typer.Argument(..., help="Trajectory files (as for `gdynet fit`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for scan.json, report.md, figures and one fit per S."),
    states: str = typer.Option("2,3,4", help="Numbers of states to try, e.g. 2,3,4."),
    lags: str = typer.Option("0.5ps,1ps,2ps", help="Lags to try, e.g. 0.5ps,1ps,2ps (each S is fitted at the middle one)."),
    **options: Any,
) -> None:
    """Recommend the number of states S and the lag τ: fit each S, compare held-out VAMP-2, implied
    timescales and CK tests over the lags (rules in scan.json and report.md)."""
    from ..runs.scan import scan as run_scan

    read, fit_options = fit_inputs({**options, "states": 2, "lag": "1"})   # S and τ: set per fit by scan
    summary = run_scan(traj, out, read, fit_options, states=numbers(states, int, "--states"),
                       lags=lag_list(lags) or [], progress=not options["quiet"])
    rec = summary["recommended"]
    seeds = f"; seeds {rec['seeds_remark']}" if rec.get("seeds_remark") else ""
    typer.echo(f"recommended: {rec['states']} states at lag {rec['lag_ps']:g} ps{seeds} (see {Path(out) / 'report.md'})")


def with_fit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` (``traj, out, ..., **options``) every option of ``fit`` except ``NOT_SCAN_OPTIONS``,
    with the same definitions (help, defaults, --config), so reading and training options stay shared."""
    import inspect

    own = inspect.signature(command, eval_str=True)
    fit_params = inspect.signature(fit, eval_str=True).parameters
    params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params += [p for name, p in fit_params.items() if name not in NOT_SCAN_OPTIONS and name not in own.parameters]
    command.__signature__ = own.replace(parameters=params)
    return command
