"""What the ``gdynet`` verbs share: one-line errors (:func:`friendly`), gdynet's warnings as one line,
the target options, ``--config`` files, lag and charge lists, option help texts and the summary table."""
from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from ..base.errors import GdynetError, GdynetWarning

_default_showwarning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """gdynet's own warnings as one ``warning: ...`` line on stderr; others as Python shows them."""
    if issubclass(category, GdynetWarning):
        typer.echo(f"warning: {message}", err=True)
    else:
        _default_showwarning(message, category, *args, **kwargs)


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn GdynetError (and Ctrl-C) into one line on stderr and exit status 2 (130)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..base.option_names import cli_names

        try:
            with warnings.catch_warnings(), cli_names():
                warnings.showwarning = _show_warning
                return command(*args, **kwargs)
        except GdynetError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:                    # a full disk or a folder without write permission
            from ..files.diskspace import disk_error

            error = disk_error(exc)
            if not isinstance(error, GdynetError):
                raise
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; re-run the same command to resume", err=True)
            raise typer.Exit(130) from None

    return wrapper


def targets_option(target: Optional[str], target_index: Optional[str], select: Optional[str]) -> Any:
    """Map the three mutually exclusive target options onto ``read_trajectory(targets=...)``."""
    given = [(name, v) for name, v in (("--target", target), ("--target-index", target_index),
                                      ("--select", select)) if v is not None]
    if len(given) > 1:
        raise GdynetError(f"give only one of --target, --target-index, --select (got {', '.join(n for n, _ in given)})")
    if target_index is not None:
        try:
            return [int(i) for i in target_index.split(",") if i.strip()]
        except ValueError:
            raise GdynetError(f"--target-index must be comma-separated atom indices, got {target_index!r}") from None
    if select is not None:
        return {"select": select}
    return target


HELP_SELECT_ON = ("Where --select is evaluated: each (default): on the first frame of every file, for independent "
                   "runs; first: on the first frame of the first training file only, and those same atoms are the "
                   "targets of every file (--test too), for consecutive segments of one run (a region whose "
                   "content moves); first needs the same atoms in every file.")
HELP_PROFILE = ("Density of each state along an axis (x, y, z, or cell vector a, b, c), in Å, plus a "
                 "snapshot figure, e.g. z for an interface normal to z.")
HELP_ORDER = ("Steinhardt order parameter per state: q6 (close-packed) or q3 (diamond-like), or the "
               "neighbour-averaged qbar6 / qbar3 (separates a hot solid from its melt better); neighbours "
               "within the first RDF minimum, or a cut-off in Å as q6:3.4.")
HELP_SHELL = ("First-shell radius in Å for state charges from the topology's partial charges "
               "(default: first minimum of each state's RDF).")


def load_config(ctx: typer.Context, param: Any, value: Optional[Path]) -> Optional[Path]:
    """``--config FILE.toml``: its keys (option names, ``-`` or ``_``) become the command's defaults
    (click's ``default_map``), so flags given on the command line override them. Lists become
    comma-separated text (``hidden = [32, 32]`` is ``--hidden 32,32``)."""
    if value is None:
        return value
    import tomllib

    try:
        with open(value, "rb") as handle:
            table = tomllib.load(handle)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:       # TOML is UTF-8
        from ..base.errors import exception_summary

        config_error(f"{value}: cannot read the --config file ({exception_summary(exc)})")
    params = {p.name: p for p in ctx.command.params if p.name != "config"}
    defaults = {}
    for key, item in table.items():
        name = key.replace("-", "_")
        if name not in params:
            config_error(f"{value}: unknown option {key!r} (options of `gdynet {ctx.command.name}`: "
                          f"{', '.join(sorted(params))})")
        if isinstance(item, bool) and not getattr(params[name], "is_flag", False):   # click reads true as 1
            config_error(f"{value}: {key} = {str(item).lower()}: --{name.replace('_', '-')} is not a true/false "
                         "option; give its value (e.g. a number)")
        if isinstance(item, list) and not params[name].multiple and params[name].nargs == 1:
            item = ",".join(str(v) for v in item)
        defaults[name] = item
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


def config_error(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def select_on_option(select_on: Optional[str], select: Optional[str]) -> str:
    """``--select-on`` (default each); it only applies to ``--select``."""
    if select_on is not None and select is None:
        raise GdynetError(f"--select-on {select_on} needs --select (it says on which file's first frame the "
                          "selection is evaluated)")
    return select_on or "each"


def numbers(text: str, kind: type, flag: str) -> list[Any]:
    """Comma-separated numbers of one kind; a one-line error naming the option otherwise."""
    try:
        return [kind(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise GdynetError(f"{flag} must be {kind.__name__} numbers separated by commas, got {text!r}") from None


#: fit's options that make no sense for scan (analysis of one run, or replaced by scan's own)


def lag_value(text: str) -> Any:
    """A bare integer means frames; anything else is a time with a unit."""
    return int(text) if text.strip().isdigit() else text


def charges(text: Optional[str]) -> Optional[list[float]]:
    if text is None:
        return None
    try:
        return [float(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise GdynetError(f"--charge must be numbers separated by commas, got {text!r}") from None


def lag_list(text: Optional[str]) -> Optional[list[Any]]:
    return None if text is None else [lag_value(t) for t in text.split(",") if t.strip()]


def print_summary(summary: dict[str, Any], out: Path) -> None:
    """The headline numbers as a table; an infinite timescale (``None`` in JSON) prints as ∞."""
    from rich.console import Console
    from rich.table import Table

    resolved = summary.get("timescales_resolved") or [True] * len(summary["timescales_ps"])
    checks = summary.get("timescales_checks") or [{}] * len(resolved)
    table = Table(title=f"gdynet run {out}", show_header=False)
    table.add_row("lag", f"{summary['lag_ps']:g} ps")
    table.add_row("timescales", ", ".join(
        ("∞" if t is None else f"{t:.4g} ps")
        + ("" if ok else " (lower bound)" if check.get("lower_bound") else " (not resolved)")
        for t, ok, check in zip(summary["timescales_ps"], resolved, checks)))
    reasons = [check["reason"] for check in checks if check.get("reason")]
    for reason in reasons:
        table.add_row("", reason)
    if not all(resolved) and not reasons:
        table.add_row("", f"not resolved: shorter than the lag or longer than the "
                          f"{summary.get('analysed_time_ps', float('nan')):.4g} ps of trajectory analysed")
    ci, pops = summary.get("populations_ci") or {}, summary["populations"]
    table.add_row("populations", ", ".join(
        f"{p:.3f}" + ("" if lo is None or hi is None else f" [{lo:.3f}, {hi:.3f}]")
        for p, lo, hi in zip(pops, ci.get("lower") or [None] * len(pops), ci.get("upper") or [None] * len(pops))))
    if ci.get("note"):
        table.add_row("", f"intervals: {ci['note']}")
    if summary.get("states_remark"):
        table.add_row("", summary["states_remark"])
    if "analysis_on" in summary:
        table.add_row("analysed", "held-out frames only" if summary["analysis_on"] == "test" else "all frames")
    table.add_row("VAMP-2 train / val / test", " / ".join("–" if summary["vamp2"].get(k) is None else
                                                          f"{summary['vamp2'][k]:.3f}"
                                                          for k in ("train", "validation", "test")))
    if summary.get("seeds_remark"):
        table.add_row("seeds", summary["seeds_remark"])
    table.add_row("frames, target sets", f"{summary['n_frames']}, {summary['n_targets']}")
    table.add_row("report", f"{Path(out) / 'report.md'}, {Path(out) / 'report.html'} (interactive)")
    Console(stderr=False).print(table)
