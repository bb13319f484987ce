"""``gdynet predict``: state probabilities of a trajectory the model never saw (:func:`gdynet.runs.predict.predict`)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

EXAMPLES = ("Examples:\n\n  gdynet predict run1 new.extxyz -o probs.npy\n\n"
            "  gdynet predict model.pt new.extxyz -o probs.extxyz  (a model saved from Python)")

def predict(
    model: Path = typer.Argument(..., help="Run folder written by `gdynet fit`, or a model file (model.pt, GDyNetModel.save)."),
    traj: Path = typer.Argument(..., help="Trajectory to label (read with the fit's options unless overridden)."),
    output: Path = typer.Option(..., "--output", "-o", help="probs.npy (frames, targets, S) or probs.extxyz (per-atom state, state_prob)."),
    dt: Optional[str] = typer.Option(None, help="Time between stored frames (replaces the fit's); a file's own frame times must agree with it unless --dt-override."),
    dt_override: bool = typer.Option(False, "--dt-override", help="The file's frame times are wrong: use --dt instead and ignore them."),
    timestep: Optional[str] = typer.Option(None, help="MD integration step, e.g. 2fs (frame spacing = file step numbers x timestep)."),
    topology: Optional[Path] = typer.Option(None, help="Topology for DCD/XTC/TRR."),
    format: Optional[str] = typer.Option(None, "--format", help="File format, when the suffix does not tell."),
    target: Optional[str] = typer.Option(None, help="Target atoms by element, e.g. Li (default: as in the fit)."),
    type_map: Optional[str] = typer.Option(None, help="Atom types to elements, e.g. 1=Li,2=S, for a LAMMPS dump whose types differ from the fit's (default: the fit's)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Write state probabilities of a trajectory the model never saw."""
    from ..runs.predict import predict as run_predict

    overrides = {"dt": dt, "timestep": timestep, "topology": str(topology) if topology else None, "format": format,
                 "targets": target, "dt_override": dt_override or None, "type_map": type_map}
    path = run_predict(model, traj, output, read_overrides=overrides, device=device, progress=not quiet)
    typer.echo(f"wrote {path}")
