"""The ``gdynet`` command line: wires the verbs of :mod:`gdynet.commands` (one module each: fit, scan,
predict, analyze, report, demo, example) into typer.

User mistakes print one line, ``error: <file>: <problem>``, and exit with status 2.
"""
from __future__ import annotations

import typer

from .commands import analyze, demo, example, fit, predict, report, scan
from .commands.options import friendly

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]})


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"gdynet {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Learn the atomic-scale dynamics of target atoms in MD trajectories (Graph Dynamical Networks)."""


app.command(name="fit", epilog=fit.EXAMPLES)(friendly(fit.fit))
app.command(name="scan", epilog=scan.EXAMPLE)(friendly(scan.with_fit_options(scan.scan)))
app.command(name="predict", epilog=predict.EXAMPLES)(friendly(predict.predict))
app.command(name="analyze", epilog=analyze.EXAMPLES)(friendly(analyze.analyze))
app.command(name="report", epilog=report.EXAMPLE)(friendly(report.report))
app.command(name="demo")(friendly(demo.demo))
app.add_typer(example.app, name="example")
