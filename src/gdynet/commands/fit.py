"""``gdynet fit``: train a GDyNet (or the global VAMPnet) and write the run folder (:func:`gdynet.runs.fit.fit`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from .options import (HELP_ORDER, HELP_PROFILE, HELP_SELECT_ON, HELP_SHELL, charges, lag_list, lag_value, load_config,
                      numbers, print_summary, select_on_option, targets_option)

EXAMPLES = """
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


def fit(
    traj: List[Path] = typer.Argument(..., help="Trajectory files (extxyz, .traj, XDATCAR, LAMMPS dump, DCD/XTC/TRR with --topology, GDyNet .npz)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder for model.pt, summary.json, figures, report.md."),
    dt: Optional[str] = typer.Option(None, help="Time between stored frames, e.g. 0.1ps or 100fs, for files without frame times (npz, XDATCAR, dumps). A file's own frame times must agree with it (an error naming the frames otherwise) unless --dt-override; step numbers and times must be evenly spaced."),
    dt_override: bool = typer.Option(False, "--dt-override", help="The file's frame times are wrong: use --dt instead and ignore them."),
    timestep: Optional[str] = typer.Option(None, help="MD integration step, e.g. 2fs: frame spacing = step numbers in the file (dump TIMESTEP, DCD/XTC step) x timestep."),
    target: Optional[str] = typer.Option(None, help="Target atoms: an element symbol (Li), atom indices (0,5,9: 0-based, the file's numbering), a selection (name OW) or molecules:H2O."),
    target_index: Optional[str] = typer.Option(None, help="Target atoms by index, e.g. 0,1,5."),
    select: Optional[str] = typer.Option(None, help="Target atoms by MDAnalysis selection on the first frame, any format: \"name OW\", \"prop z > 20 and prop z < 40\", \"around 5 name Au\" (without --topology, names are element symbols)."),
    select_on: Optional[str] = typer.Option(None, help=HELP_SELECT_ON),
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
    config: Optional[Path] = typer.Option(None, "--config", is_eager=True, callback=load_config, help="TOML file with any of these options, e.g. lr = 0.001 (flags override it)."),
    batch_atoms: Optional[int] = typer.Option(None, help="Atom-frames per forward pass (memory bounded by atoms; "
                                              "larger batches run in chunks, same gradient). Default 2097152."),
    precision: str = typer.Option("fp32", help="fp32 or bf16 (network in bfloat16, VAMP moments in float64)."),
    compile: bool = typer.Option(False, "--compile", help="Run the network through torch.compile."),
    lags: Optional[str] = typer.Option(None, help="Lags for implied timescales, times or whole numbers of frames, e.g. 0.5ps,1ps,2ps or 5,10,20."),
    charge: Optional[str] = typer.Option(None, help="Charge of each state (e, comma-separated) or one for all; default: from the topology's partial charges, else no conductivity (D_ij only)."),
    temperature: Optional[float] = typer.Option(None, help="Temperature in K, for absolute conductivities."),
    test: List[Path] = typer.Option([], "--test", help="A trajectory never trained on, analysed instead of the test blocks (repeatable)."),
    analyze_on: str = typer.Option("test", help="test: analyse only frames not trained on (--test files, else each trajectory's test block); all: every frame."),
    profile: Optional[str] = typer.Option(None, help=HELP_PROFILE),
    order_parameter: Optional[str] = typer.Option(None, help=HELP_ORDER),
    shell_radius: Optional[float] = typer.Option(None, help=HELP_SHELL),
    ci_from: str = typer.Option("auto", help="95 % intervals from: trajectories, targets (5 random subsets of the target sets), blocks (5 time blocks) or auto."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    force: bool = typer.Option(False, "--force", help="Start over: delete the run in --out (even one whose input files changed since), and allow --states above 20."),
) -> None:
    """Train a GDyNet (or the global VAMPnet baseline) and write model, figures and report to --out."""
    from ..runs.fit import fit as run_fit

    from ..runs.materials import check_options

    check_options(profile, order_parameter, shell_radius)
    read, options = fit_inputs(locals())
    analysis = {"lags": lag_list(lags), "charges": charges(charge), "temperature_K": temperature,
                "analyze_on": analyze_on, "ci_from": ci_from, "profile": profile,
                "order_parameter": order_parameter, "shell_radius": shell_radius}
    summary = run_fit(traj, out, read, options, test_paths=test, analysis=analysis, progress=not quiet, force=force)
    if summary:                                   # empty on torchrun ranks other than 0
        print_summary(summary, out)


def fit_inputs(p: dict[str, Any]) -> tuple[Any, Any]:
    """``ReadOptions`` and ``FitOptions`` from the parameters of ``fit`` (also used by ``scan``)."""
    from ..runs.fit import FitOptions
    from ..trajectory.read_options import ReadOptions

    read = ReadOptions(dt=p["dt"], timestep=p["timestep"], format=p["format"],
                       topology=str(p["topology"]) if p["topology"] else None, topology_format=p["topology_format"],
                       targets=targets_option(p["target"], p["target_index"], p["select"]), stride=p["stride"],
                       exclude=p["exclude"], pbc=p["pbc"], extra={"type_map": p["type_map"]} if p["type_map"] else {},
                       select_on=select_on_option(p["select_on"], p["select"]), dt_override=p["dt_override"])
    options = FitOptions(model=p["model"], n_states=p["states"], lag=lag_value(p["lag"]), neighbors=p["neighbors"],
                         seed=p["seed"], epochs=p["epochs"], device=p["device"], batch_size=p["batch_size"],
                         lr=p["lr"], patience=p["patience"], weight_decay=p["weight_decay"],
                         split=tuple(numbers(p["split"], float, "--split")), seeds=p["seeds"],
                         atom_features=p["atom_features"], conv_layers=p["conv_layers"],
                         hidden=tuple(numbers(p["hidden"], int, "--hidden")), cutoff=p["cutoff"],
                         batch_atoms=p["batch_atoms"], precision=p["precision"], compile=p["compile"])
    return read, options
