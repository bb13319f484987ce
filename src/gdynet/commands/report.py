"""``gdynet report RUN``: write RUN/report.html again from the run folder, recomputing nothing."""
from __future__ import annotations

from pathlib import Path

import typer

EXAMPLE = "Example:\n\n  gdynet report run1   (then open run1/report.html in a browser)"


def report(
    run_dir: Path = typer.Argument(..., help="Run folder written by `gdynet fit` or `gdynet analyze`."),
) -> None:
    """Write RUN/report.html again (interactive figures, atoms coloured by state) from the run folder,
    recomputing nothing."""
    from ..runs.html_report import rewrite_report

    typer.echo(f"wrote {rewrite_report(run_dir)}")
