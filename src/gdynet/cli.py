"""The ``gdynet`` command line: ``fit``, ``predict``, ``analyze``, ``report``, ``demo``.

User mistakes print one line, ``error: <file>: <problem>``, and exit with status 2.
"""
from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from .errors import GdynetError, GdynetWarning

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


_default_showwarning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """gdynet's own warnings as one ``warning: ...`` line on stderr; others as Python shows them."""
    if issubclass(category, GdynetWarning):
        typer.echo(f"warning: {message}", err=True)
    else:
        _default_showwarning(message, category, *args, **kwargs)


def _friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn GdynetError (and Ctrl-C) into one line on stderr and exit status 2 (130)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .option_names import cli_names

        try:
            with warnings.catch_warnings(), cli_names():
                warnings.showwarning = _show_warning
                return command(*args, **kwargs)
        except GdynetError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:                    # a full disk or a folder without write permission
            from .diskspace import disk_error

            error = disk_error(exc)
            if not isinstance(error, GdynetError):
                raise
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; re-run the same command to resume", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _targets(target: Optional[str], target_index: Optional[str], select: Optional[str]) -> Any:
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


_HELP_SELECT_ON = ("Where --select is evaluated: each (default): on the first frame of every file, for independent "
                   "runs; first: on the first frame of the first training file only, and those same atoms are the "
                   "targets of every file (--test too), for consecutive segments of one run (a region whose "
                   "content moves); first needs the same atoms in every file.")
_HELP_PROFILE = ("Density of each state along an axis (x, y, z, or cell vector a, b, c), in Å, plus a "
                 "snapshot figure, e.g. z for an interface normal to z.")
_HELP_ORDER = ("Steinhardt order parameter per state: q6 (close-packed) or q3 (diamond-like), or the "
               "neighbour-averaged qbar6 / qbar3 (separates a hot solid from its melt better); neighbours "
               "within the first RDF minimum, or a cut-off in Å as q6:3.4.")
_HELP_SHELL = ("First-shell radius in Å for state charges from the topology's partial charges "
               "(default: first minimum of each state's RDF).")

_EXAMPLES_FIT = """
Examples:\n
  gdynet fit md.extxyz --out run1 --target Li --lag 1ps\n
  gdynet fit dump.lammpstrj --timestep 2fs --type-map 1=Li,2=S --target Li --out run2\n
  gdynet fit prod.xtc --topology topol.tpr --target "molecules:H2O" --out water  (virtual sites dropped)\n
  gdynet fit slab.lammpstrj --timestep 1fs --topology data.lmp --exclude "type 3" --target Li --out slab\n
  gdynet fit prod.dcd --topology system.pdb --select "resname SOL and name OW" --out water\n
  gdynet fit dump.lammpstrj --timestep 1fs --type-map 1=Si,2=Au --select "name Si and prop z > 20" --states 4 --out si\n
  gdynet fit part1.lammpstrj --test part2.lammpstrj --timestep 1fs --type-map 1=Si,2=Au --select "name Si and prop z > 20" --select-on first --states 4 --out si  (same atoms in both parts)\n
  gdynet fit a.npz b.npz --dt 0.1ps --states 3 --lag 2ps --epochs 50 --device cuda --out run3
"""


def _load_config(ctx: typer.Context, param: Any, value: Optional[Path]) -> Optional[Path]:
    """``--config FILE.toml``: its keys (option names, ``-`` or ``_``) become the command's defaults
    (click's ``default_map``), so flags given on the command line override them. Lists become
    comma-separated text (``hidden = [32, 32]`` is ``--hidden 32,32``)."""
    if value is None:
        return value
    import tomllib

    try:
        with open(value, "rb") as handle:
            table = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        from .errors import exception_summary

        _config_error(f"{value}: cannot read the --config file ({exception_summary(exc)})")
    params = {p.name: p for p in ctx.command.params if p.name != "config"}
    defaults = {}
    for key, item in table.items():
        name = key.replace("-", "_")
        if name not in params:
            _config_error(f"{value}: unknown option {key!r} (options of `gdynet {ctx.command.name}`: "
                          f"{', '.join(sorted(params))})")
        if isinstance(item, list) and not params[name].multiple and params[name].nargs == 1:
            item = ",".join(str(v) for v in item)
        defaults[name] = item
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


def _config_error(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command(epilog=_EXAMPLES_FIT)
@_friendly
def fit(
    traj: List[Path] = typer.Argument(..., help="Trajectory files (extxyz, .traj, XDATCAR, LAMMPS dump, DCD/XTC/TRR with --topology, GDyNet .npz)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder for model.pt, summary.json, figures, report.md."),
    dt: Optional[str] = typer.Option(None, help="Time between stored frames, e.g. 0.1ps or 100fs (overrides the file's time; its step numbers and times must still be evenly spaced)."),
    timestep: Optional[str] = typer.Option(None, help="MD integration step, e.g. 2fs: frame spacing = step numbers in the file (dump TIMESTEP, DCD/XTC step) x timestep."),
    target: Optional[str] = typer.Option(None, help="Target atoms by element, e.g. Li."),
    target_index: Optional[str] = typer.Option(None, help="Target atoms by index, e.g. 0,1,5."),
    select: Optional[str] = typer.Option(None, help="Target atoms by MDAnalysis selection on the first frame, any format: \"name OW\", \"prop z > 20 and prop z < 40\", \"around 5 name Au\" (without --topology, names are element symbols)."),
    select_on: Optional[str] = typer.Option(None, help=_HELP_SELECT_ON),
    topology: Optional[Path] = typer.Option(None, help="Topology (PDB, GRO, PSF, TPR, PRMTOP, LAMMPS data *.data/*.lmp/data.*): needed for DCD/XTC/TRR; adds names, masses, charges, selections to any format."),
    topology_format: Optional[str] = typer.Option(None, help="MDAnalysis topology format when the name does not tell, e.g. DATA, PSF, TPR."),
    format: Optional[str] = typer.Option(None, "--format", help="File format, when the suffix does not tell."),
    type_map: Optional[str] = typer.Option(None, help="Atom types to elements, e.g. 1=Li,2=S (always wins over element columns, masses, names)."),
    exclude: Optional[str] = typer.Option(None, help="Atoms to leave out (massless virtual sites always are): indices 0,5, elements Na,Cl, or an MDAnalysis selection with --topology."),
    pbc: Optional[str] = typer.Option(None, help="Periodic cell vectors, overriding the file: xyz, xy, 1,1,0 or none."),
    stride: int = typer.Option(1, help="Use every stride-th frame."),
    states: int = typer.Option(2, help="Number of states S."),
    lag: str = typer.Option("1ps", help="Lag time tau: a time with its unit (1ps, 500fs) or a whole number of frames (10); a bare decimal such as 1.5 is refused."),
    neighbors: int = typer.Option(20, help="Neighbours per atom in each graph (M; the paper: 20 for Si-Au and PEO/LiTFSI, 12 for its toy). A shell tied at the M-th place counts half for each member (README, Graphs). Cost grows linearly with M."),
    seed: int = typer.Option(0, help="Random seed (same seed, same weights on CPU)."),
    epochs: Optional[int] = typer.Option(None, help="Maximum training epochs (early stopping on validation VAMP-2). Default: enough for 5,000 steps, at least 30."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    model: str = typer.Option("gdynet", help="gdynet (graph network) or vampnet (global-coordinate baseline)."),
    batch_size: Optional[int] = typer.Option(None, help="Time-lagged frame pairs per mini-batch (every target set of a pair is a sample). Default: ~4,096 samples, 4 to 256 pairs."),
    lr: float = typer.Option(1e-3, help="Learning rate (Adam)."),
    patience: Optional[int] = typer.Option(None, help="Stop after this many epochs without a better validation VAMP-2 (0: never). Default: 800 steps, at least 5 epochs."),
    weight_decay: float = typer.Option(0.0, help="L2 penalty on the weights (Adam weight_decay)."),
    split: str = typer.Option("0.7,0.15,0.15", help="Train,validation,test fractions of each trajectory (contiguous time blocks)."),
    seeds: int = typer.Option(1, help="Train N initialisations (seed, seed+1, ...) and keep the best by validation VAMP-2; the report says whether they agree (robust: matched states agree on >= 90 % of target-frames and t1 varies by <= 25 %)."),
    atom_features: int = typer.Option(16, help="Width of the atom features (F)."),
    conv_layers: int = typer.Option(3, help="Number of graph convolutions (K)."),
    hidden: str = typer.Option("32,32", help="Widths of the hidden layers of the output MLP, e.g. 64,32."),
    cutoff: float = typer.Option(7.0, help="Range of the Gaussian bond-length expansion in Å (centres every 0.2 Å); keep it above the M-th neighbour distance."),
    config: Optional[Path] = typer.Option(None, "--config", is_eager=True, callback=_load_config, help="TOML file with any of these options, e.g. lr = 0.001 (flags override it)."),
    batch_atoms: Optional[int] = typer.Option(None, help="Atom-frames per forward pass (memory bounded by atoms; "
                                              "larger batches run in chunks, same gradient). Default 2097152."),
    precision: str = typer.Option("fp32", help="fp32 or bf16 (network in bfloat16, VAMP moments in float64)."),
    compile: bool = typer.Option(False, "--compile", help="Run the network through torch.compile."),
    lags: Optional[str] = typer.Option(None, help="Lags for implied timescales, times or whole numbers of frames, e.g. 0.5ps,1ps,2ps or 5,10,20."),
    charge: Optional[str] = typer.Option(None, help="Charge of each state (e, comma-separated) or one for all; default: from the topology's partial charges, else no conductivity (D_ij only)."),
    temperature: Optional[float] = typer.Option(None, help="Temperature in K, for absolute conductivities."),
    test: List[Path] = typer.Option([], "--test", help="A trajectory never trained on, analysed instead of the test blocks (repeatable)."),
    analyze_on: str = typer.Option("test", help="test: analyse only frames not trained on (--test files, else each trajectory's test block); all: every frame."),
    profile: Optional[str] = typer.Option(None, help=_HELP_PROFILE),
    order_parameter: Optional[str] = typer.Option(None, help=_HELP_ORDER),
    shell_radius: Optional[float] = typer.Option(None, help=_HELP_SHELL),
    ci_from: str = typer.Option("auto", help="95 % intervals from: trajectories, targets (5 random subsets of the target sets), blocks (5 time blocks) or auto."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    force: bool = typer.Option(False, "--force", help="Start over: delete the run in --out (even one whose input files changed since), and allow --states above 20."),
) -> None:
    """Train a GDyNet (or the global VAMPnet baseline) and write model, figures and report to --out."""
    from .pipeline.fit import fit as run_fit

    from .pipeline.materials import check_options

    check_options(profile, order_parameter, shell_radius)
    read, options = _fit_inputs(locals())
    analysis = {"lags": _lag_list(lags), "charges": _charges(charge), "temperature_K": temperature,
                "analyze_on": analyze_on, "ci_from": ci_from, "profile": profile,
                "order_parameter": order_parameter, "shell_radius": shell_radius}
    summary = run_fit(traj, out, read, options, test_paths=test, analysis=analysis, progress=not quiet, force=force)
    if summary:                                   # empty on torchrun ranks other than 0
        _print_summary(summary, out)


def _fit_inputs(p: dict[str, Any]) -> tuple[Any, Any]:
    """``ReadOptions`` and ``FitOptions`` from the parameters of ``fit`` (also used by ``scan``)."""
    from .pipeline.fit import FitOptions
    from .pipeline.inputs import ReadOptions

    read = ReadOptions(dt=p["dt"], timestep=p["timestep"], format=p["format"],
                       topology=str(p["topology"]) if p["topology"] else None, topology_format=p["topology_format"],
                       targets=_targets(p["target"], p["target_index"], p["select"]), stride=p["stride"],
                       exclude=p["exclude"], pbc=p["pbc"], extra={"type_map": p["type_map"]} if p["type_map"] else {},
                       select_on=_select_on(p["select_on"], p["select"]))
    options = FitOptions(model=p["model"], states=p["states"], lag=_lag_value(p["lag"]), neighbors=p["neighbors"],
                         seed=p["seed"], epochs=p["epochs"], device=p["device"], batch_size=p["batch_size"],
                         lr=p["lr"], patience=p["patience"], weight_decay=p["weight_decay"],
                         split=tuple(_numbers(p["split"], float, "--split")), seeds=p["seeds"],
                         atom_features=p["atom_features"], n_conv=p["conv_layers"],
                         hidden=tuple(_numbers(p["hidden"], int, "--hidden")), cutoff=p["cutoff"],
                         batch_atoms=p["batch_atoms"], precision=p["precision"], compile=p["compile"])
    return read, options


def _select_on(select_on: Optional[str], select: Optional[str]) -> str:
    """``--select-on`` (default each); it only applies to ``--select``."""
    if select_on is not None and select is None:
        raise GdynetError(f"--select-on {select_on} needs --select (it says on which file's first frame the "
                          "selection is evaluated)")
    return select_on or "each"


def _numbers(text: str, kind: type, flag: str) -> list[Any]:
    """Comma-separated numbers of one kind; a one-line error naming the option otherwise."""
    try:
        return [kind(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise GdynetError(f"{flag} must be {kind.__name__} numbers separated by commas, got {text!r}") from None


#: fit's options that make no sense for scan (analysis of one run, or replaced by scan's own)
_NOT_SCAN_OPTIONS = {"out", "states", "lag", "lags", "charge", "temperature", "test", "analyze_on", "ci_from",
                     "profile", "order_parameter", "shell_radius", "force"}


def _scan(
    traj: List[Path] = typer.Argument(..., help="Trajectory files (as for `gdynet fit`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for scan.json, report.md, figures and one fit per S."),
    states: str = typer.Option("2,3,4", help="Numbers of states to try, e.g. 2,3,4."),
    lags: str = typer.Option("0.5ps,1ps,2ps", help="Lags to try, e.g. 0.5ps,1ps,2ps (each S is fitted at the middle one)."),
    **options: Any,
) -> None:
    """Recommend the number of states S and the lag τ: fit each S, compare held-out VAMP-2, implied
    timescales and CK tests over the lags (rules in scan.json and report.md)."""
    from .pipeline.scan import scan as run_scan

    read, fit_options = _fit_inputs({**options, "states": 2, "lag": "1"})   # S and τ: set per fit by scan
    summary = run_scan(traj, out, read, fit_options, states=_numbers(states, int, "--states"),
                       lags=_lag_list(lags) or [], progress=not options["quiet"])
    rec = summary["recommended"]
    seeds = f"; seeds {rec['seeds_remark']}" if rec.get("seeds_remark") else ""
    typer.echo(f"recommended: {rec['states']} states at lag {rec['lag_ps']:g} ps{seeds} (see {Path(out) / 'report.md'})")


def _with_fit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` (``traj, out, ..., **options``) every option of ``fit`` except ``_NOT_SCAN_OPTIONS``,
    with the same definitions (help, defaults, --config), so reading and training options stay shared."""
    import inspect

    own = inspect.signature(command, eval_str=True)
    fit_params = inspect.signature(fit, eval_str=True).parameters
    params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params += [p for name, p in fit_params.items() if name not in _NOT_SCAN_OPTIONS and name not in own.parameters]
    command.__signature__ = own.replace(parameters=params)
    return command


app.command(name="scan", epilog="Example:\n\n  gdynet scan a.npz b.npz --dt 0.1ps --states 2,3,4 --lags 0.5ps,1ps,2ps --out scan1")(
    _friendly(_with_fit_options(_scan)))


@app.command(epilog="Examples:\n\n  gdynet predict run1 new.extxyz -o probs.npy\n\n"
                     "  gdynet predict model.pt new.extxyz -o probs.extxyz  (a model saved from Python)")
@_friendly
def predict(
    model: Path = typer.Argument(..., help="Run folder written by `gdynet fit`, or a model file (model.pt, GDyNetModel.save)."),
    traj: Path = typer.Argument(..., help="Trajectory to label (read with the fit's options unless overridden)."),
    output: Path = typer.Option(..., "--output", "-o", help="probs.npy (frames, targets, S) or probs.extxyz (per-atom state, state_prob)."),
    dt: Optional[str] = typer.Option(None, help="Override the frame spacing."),
    timestep: Optional[str] = typer.Option(None, help="MD integration step, e.g. 2fs (frame spacing = file step numbers x timestep)."),
    topology: Optional[Path] = typer.Option(None, help="Topology for DCD/XTC/TRR."),
    format: Optional[str] = typer.Option(None, "--format", help="File format, when the suffix does not tell."),
    target: Optional[str] = typer.Option(None, help="Target atoms by element, e.g. Li (default: as in the fit)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Write state probabilities of a trajectory the model never saw."""
    from .pipeline.predict import predict as run_predict

    overrides = {"dt": dt, "timestep": timestep, "topology": str(topology) if topology else None, "format": format,
                 "targets": target}
    path = run_predict(model, traj, output, read_overrides=overrides, device=device, progress=not quiet)
    typer.echo(f"wrote {path}")


@app.command(epilog="Examples:\n\n  gdynet analyze run1 --lags 0.5ps,1ps,2ps,5ps --charge 1 --temperature 300\n\n"
                     "  gdynet analyze model.pt new1.extxyz new2.extxyz --out run2  (a saved model on new data)")
@_friendly
def analyze(
    run_dir: Path = typer.Argument(..., help="Run folder written by `gdynet fit`, or a model file (then give TRAJ and --out)."),
    traj: Optional[List[Path]] = typer.Argument(None, help="With a model file: trajectories to label and analyse (read as in the fit; every frame is new to the model)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="With a model file: the new run folder."),
    dt: Optional[str] = typer.Option(None, help="With a model file: time between stored frames (overrides the file's and the fit's)."),
    target: Optional[str] = typer.Option(None, help="With a model file: target atoms by element, e.g. Li (default: as in the fit)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N (with a model file)."),
    lags: Optional[str] = typer.Option(None, help="Lags for implied timescales, times or whole numbers of frames, e.g. 0.5ps,1ps,2ps,5ps or 5,10,20."),
    charge: Optional[str] = typer.Option(None, help="Charge of each state (e, comma-separated) or one for all; default: from the topology's partial charges, else no conductivity (D_ij only)."),
    temperature: Optional[float] = typer.Option(None, help="Temperature in K, for absolute conductivities."),
    analyze_on: Optional[str] = typer.Option(None, help="test (frames not trained on) or all; default: as given to fit, else test."),
    profile: Optional[str] = typer.Option(None, help=_HELP_PROFILE),
    order_parameter: Optional[str] = typer.Option(None, help=_HELP_ORDER),
    shell_radius: Optional[float] = typer.Option(None, help=_HELP_SHELL),
    ci_from: Optional[str] = typer.Option(None, help="95 % intervals from trajectories, targets, blocks or auto; default: as given to fit, else auto."),
    coarse: Optional[int] = typer.Option(None, help="Lump the states into this many metastable sets (PCCA+)."),
) -> None:
    """Recompute Koopman model, implied timescales, CK test, state RDFs, conduction, figures and report
    (of a run folder, or of a saved model applied to new trajectories)."""
    options = dict(lags=_lag_list(lags), charges=_charges(charge), temperature_K=temperature,
                   analyze_on=analyze_on, ci_from=ci_from, coarse=coarse, profile=profile,
                   order_parameter=order_parameter, shell_radius=shell_radius)
    if not run_dir.exists():
        raise GdynetError("no such run folder or model file", run_dir)
    if run_dir.is_dir():
        if traj or out is not None or dt is not None or target is not None:
            raise GdynetError("TRAJ, --out, --dt and --target go with a model file; a run folder is analysed in place")
        from .pipeline.analyze import analyze as run_analyze

        summary = run_analyze(run_dir, **options)
    else:
        from .pipeline.model_run import analyze_trajectory_files

        if not traj or out is None:
            raise GdynetError("a model file needs the trajectories to analyse and --out DIR for the new run "
                              "folder, e.g. gdynet analyze model.pt new.extxyz --out run2", run_dir)
        summary = analyze_trajectory_files(run_dir, traj, out, read_overrides={"dt": dt, "targets": target},
                                           device=device, **options)
        run_dir = out
    _print_summary(summary, run_dir)


@app.command(epilog="Example:\n\n  gdynet report run1   (then open run1/report.html in a browser)")
@_friendly
def report(
    run_dir: Path = typer.Argument(..., help="Run folder written by `gdynet fit` or `gdynet analyze`."),
) -> None:
    """Write RUN/report.html again (interactive figures, atoms coloured by state) from the run folder,
    recomputing nothing."""
    from .pipeline.html_report import rewrite_report

    typer.echo(f"wrote {rewrite_report(run_dir)}")


@app.command()
@_friendly
def demo(
    out: Path = typer.Option(Path("gdynet-demo"), "--out", "-o", help="Folder for data, both runs and the comparison."),
    quick: bool = typer.Option(False, help="A much smaller run (about a minute), for smoke tests."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Toy Li in FCC S: fit GDyNet and the global VAMPnet, compare with the geometric truth."""
    from .pipeline.demo import run_demo

    run_demo(out, quick=quick, device=device, progress=not quiet)


example_app = typer.Typer(no_args_is_help=True, help="Example systems simulated with LAMMPS (needs the examples extra, see README).")
app.add_typer(example_app, name="example")


def _add_example(name: str, summary: str) -> None:
    """Register ``gdynet example NAME``: it calls ``gdynet.pipeline.example_NAME.run_example``."""

    @example_app.command(name, help=summary)
    @_friendly
    def command(
        out: Path = typer.Option(Path(f"gdynet-{name}"), "--out", "-o", help="Folder for the MD data, the run and its report."),
        quick: bool = typer.Option(False, help="A much smaller run (under 3 minutes), for smoke tests."),
        device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        import importlib

        module = importlib.import_module(f"gdynet.pipeline.example_{name}")
        module.run_example(out, quick=quick, device=device, progress=not quiet)


_add_example("interface", "Crystal slab in coexistence with its melt (LAMMPS): four-state model of the interface atoms.")
_add_example("electrolyte", "Li+ and anions in a polymer melt (LAMMPS): solvation states, their charges, who carries the current.")


def _lag_value(text: str) -> Any:
    """A bare integer means frames; anything else is a time with a unit."""
    return int(text) if text.strip().isdigit() else text


def _charges(text: Optional[str]) -> Optional[list[float]]:
    if text is None:
        return None
    try:
        return [float(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise GdynetError(f"--charge must be numbers separated by commas, got {text!r}") from None


def _lag_list(text: Optional[str]) -> Optional[list[Any]]:
    return None if text is None else [_lag_value(t) for t in text.split(",") if t.strip()]


def _print_summary(summary: dict[str, Any], out: Path) -> None:
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


