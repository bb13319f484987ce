"""``gdynet example interface``: four states at a Cu solid–liquid interface (the paper's Fig. 3, in Cu).

The MD (LAMMPS, :mod:`gdynet.datasets.interface`) gives a crystal slab with its melt across two
{100} interfaces, as two consecutive production segments: the network is trained on the first and
analysed on the second (held-out), like the paper's 12.5 ns + 12.5 ns split. The targets are, as in
the paper, the liquid atoms and the first solid layers next to the interfaces: a geometric
``--select`` that leaves out the core of the slab, evaluated once, on the first frame of the training
segment (``--select-on first``): the held-out segment follows the same atoms. Besides the usual run
folder (``out/run``) the example writes an independent structural reference: every target is
labelled solid or liquid in every frame by the ten Wolde–Frenkel q6 solid-bond count, and

* the solid fraction of the whole system over time shows that the interface is stable;
* each learned state's mean solid label and its density profile along the interface normal show
  which states are bulk solid, interface solid, interface liquid and bulk liquid (Fig. 3c);
* Markov models of the solid/liquid labels, raw and with core sets (:data:`CORE_SOLID_BONDS`,
  :data:`CORE_LIQUID_BONDS`), give the solid <-> liquid relaxation timescales that the learned
  slowest timescale is compared with, at the same lags.

The fit itself also runs gdynet's own structural baseline (``--order-parameter qbar6``: per-state
distributions and qbar6 labels over time, in ``out/run/report.md``).

Positions along the normal are measured as the distance ``d`` (Å) from the centre of the solid slab
(minimum image along z), so both interfaces fold onto one: ``d`` small is bulk solid, ``d`` near
``Lz / 2`` bulk liquid.
"""
from __future__ import annotations

import inspect
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..files import writes
from ..datasets.interface import (InterfaceData, InterfaceParams, first_frame, generate_interface, interface_selection,
                                 selected_atoms, solid_fraction, state_checks, structure_reference)
from ..base.errors import GdynetError
from ..runs.fit import FitOptions, fit
from ..trajectory.read_options import ReadOptions


@dataclass(frozen=True)
class ExampleSize:
    """How large the MD is and how long the model trains (``None``: ``gdynet fit``'s automatic lengths)."""

    params: InterfaceParams
    lag: str
    lags: tuple[str, ...]
    solid_layers_A: float          # solid within this distance (Å) of the interface is a target too
    epochs: int | None = None
    batch_size: int | None = None  # frame pairs per step (each holds every target: ~10^3 samples)
    neighbors: int = 20            # as the paper's Si-Au model: the first FCC shell (12) and its gap to the second


FULL = ExampleSize(params=replace(InterfaceParams(), cells=(6, 6, 12), production_ps=120.0, frame_ps=0.4),
                   lag="2ps", lags=("0.8ps", "2ps", "4ps", "8ps", "16ps"), solid_layers_A=6.0)
QUICK = ExampleSize(params=replace(InterfaceParams(), cells=(4, 4, 16), crystal_ps=2.0, melt_ps=2.0, cool_ps=1.0,
                                   relax_ps=2.0, production_ps=24.0, frame_ps=0.4),
                    lag="0.8ps", lags=("0.4ps", "0.8ps", "1.6ps"), solid_layers_A=4.0, epochs=60)


def run_example(out: str | Path = "gdynet-interface", *, quick: bool = False, device: str = "auto",
                progress: bool = True, size: ExampleSize | None = None,
                cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Simulate (or reuse) the interface, fit four states, compare them with the structure labels.

    Writes ``out/md`` (links to the LAMMPS dumps and data file), ``out/run`` (a ``gdynet fit`` run
    folder), ``out/example.json``, ``out/example.md`` and ``out/figures/``; returns example.json's dict.
    """
    size = size or (QUICK if quick else FULL)
    out = Path(out)
    start = time.perf_counter()
    data = generate_interface(size.params, cache_dir=cache_dir, progress=progress)
    md_seconds = time.perf_counter() - start
    dumps = _link_md(data, out / "md")
    positions, cell = first_frame(dumps["train"])
    selection = interface_selection(positions[:, 2], data.solid("train")[0], 0.0, cell[2, 2], size.solid_layers_A)
    # time between frames from the dump's TIMESTEP x the MD step, as a user would read it
    read = ReadOptions(timestep=f"{size.params.timestep_fs:g}fs", targets=f"select:{selection}", select_on="first")

    options = FitOptions(n_states=4, lag=size.lag, epochs=size.epochs, device=device, batch_size=size.batch_size,
                         neighbors=size.neighbors)
    analysis = supported_analysis({"lags": list(size.lags),
                                   "profile": "z", "order_parameter": "qbar6", "analyze_on": "test",
                                   "ci_from": "targets"})
    summary = _fit(dumps, out / "run", read, options, analysis, progress)
    fit_seconds = time.perf_counter() - start - md_seconds

    from ..runs.rundir import RunDir

    chi_test = np.load(RunDir(out / "run").chi(1), mmap_mode="r")
    targets = selected_atoms(dumps["train"], read.targets, size.params.element)  # as the fit: on the training file
    if chi_test.shape[1] != len(targets):
        raise GdynetError(f"the fit chose {chi_test.shape[1]} targets with --select '{selection}', "
                          f"the example {len(targets)}", out / "run")
    reference = structure_reference(data, dumps["test"], targets, chi_test, size.params, size.lags)
    results = {"size": {**asdict(size), "params": asdict(size.params)}, "n_targets": int(len(targets)),
               "selection": selection,
               "md_seconds": md_seconds, "fit_seconds": fit_seconds,
               "learned": {"populations": summary["populations"], "timescales_ps": summary["timescales_ps"],
                           "lag_ps": summary["lag_ps"], "vamp2": summary["vamp2"],
                           "populations_ci": summary.get("populations_ci"),
                           "implied_timescales": summary["implied_timescales"],
                           "timescales_markovian": summary.get("timescales_markovian"),
                           "timescales_checks": summary.get("timescales_checks")},
               "solid_fraction": {seg: solid_fraction(data.solid(seg)).tolist() for seg in ("train", "test")},
               "production_temperature_K": _mean_std(np.concatenate([data.temperature(s) for s in ("train", "test")])),
               **reference}
    results["checks"] = state_checks(results)
    writes.write_json(out / "example.json", results)
    _figures(results, out / "figures")
    writes.write_text(out / "example.md", example_report(results))
    _print(results)
    return results


def _mean_std(values: np.ndarray) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def supported_analysis(wanted: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``wanted`` that this version of :func:`gdynet.runs.analyze.analyze` accepts."""
    from ..runs.analyze import analyze

    accepted = inspect.signature(analyze).parameters
    return {k: v for k, v in wanted.items() if k in accepted}


def _fit(dumps: dict[str, Path], out: Path, read: ReadOptions, options: FitOptions, analysis: dict[str, Any],
         progress: bool) -> dict[str, Any]:
    """Train on the first segment; the second is held out (``test_paths``) when ``fit`` supports it."""
    if "test_paths" in inspect.signature(fit).parameters:
        return fit([dumps["train"]], out, read, options, test_paths=[dumps["test"]], analysis=analysis,
                   progress=progress)
    return fit([dumps["train"], dumps["test"]], out, read, options, analysis=analysis, progress=progress)


def _link_md(data: InterfaceData, folder: Path) -> dict[str, Path]:
    """Hard links (copies across file systems) of the cached MD files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, src in (("train", data.dump("train")), ("test", data.dump("test")), ("data", data.data_file)):
        dst = folder / src.name
        if not dst.exists():
            try:
                os.link(src, dst)
            except OSError:
                with writes.atomic_path(dst) as tmp:
                    shutil.copyfile(src, tmp)
        paths[name] = dst
    return paths


def _figures(results: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Solid fraction vs time, state profiles along the normal, learned vs structure-label timescales."""
    from matplotlib.figure import Figure

    from ..report.figures import save_figure, state_color

    frame_ps = results["size"]["params"]["frame_ps"]
    paths = {}
    fig = Figure(figsize=(5.2, 3.2))
    ax = fig.add_subplot()
    t0 = 0.0
    for seg, color in (("train", "tab:blue"), ("test", "tab:orange")):
        f = np.asarray(results["solid_fraction"][seg])
        ax.plot(t0 + np.arange(len(f)) * frame_ps, f, color=color, lw=1, label=f"{seg} segment")
        t0 += (len(f) + 1) * frame_ps
    ax.set(xlabel="production time (ps)", ylabel="solid fraction (q6 bonds)", ylim=(0, 1),
           title=f"Cu slab + melt, NVE at {results['production_temperature_K']['mean']:.0f} K")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths["solid fraction"] = save_figure(fig, folder / "solid_fraction")[0]

    prof = results["profile"]
    edges = np.asarray(prof["edges_A"])
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig = Figure(figsize=(5.2, 3.2))
    ax = fig.add_subplot()
    for s, density in enumerate(prof["density_per_A3"]):
        frac = results["states"]["solid_fraction"][s]
        ax.plot(centres, density, color=state_color(s), label=f"state {s} ({frac:.0%} solid)")
    ax.set(xlabel="distance from the solid slab centre along z (Å)", ylabel="atoms / Å³",
           title="learned states across the interface (held-out frames)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths["profile"] = save_figure(fig, folder / "state_profile")[0]

    its = results["learned"]["implied_timescales"]
    fig = Figure(figsize=(5.2, 3.4))
    ax = fig.add_subplot()
    lags = np.asarray(its["lags_ps"], dtype=float)
    ts = np.asarray([[np.nan if v is None else v for v in row] for row in its["timescales_ps"]], dtype=float)
    for i in range(ts.shape[1]):
        ax.plot(lags, ts[:, i], "o-", ms=3, color=state_color(i), label=f"learned t{i + 1}")
    labels = results["labels"]
    ax.plot(labels["lags_ps"], labels["timescales_ps"], "k--s", ms=3, label="solid/liquid labels (q6)")
    ax.plot(labels["lags_ps"], labels["core_timescales_ps"], "k:^", ms=3,
            label="labels with core sets (≥{} / ≤{} bonds)".format(*labels["core_bonds"]))
    ax.plot(lags, lags, color="0.5", lw=1, label="t = τ")
    ax.set(xscale="log", yscale="log", xlabel="lag time τ (ps)", ylabel="relaxation timescale (ps)",
           title="implied timescales")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    paths["timescales"] = save_figure(fig, folder / "timescales")[0]
    return paths


def example_report(results: dict[str, Any]) -> str:
    """The example's results as Markdown (also written to ``example.md``)."""
    p, st, chk, lab = results["size"]["params"], results["states"], results["checks"], results["labels"]
    sf = {k: np.asarray(v) for k, v in results["solid_fraction"].items()}
    lines = [
        f"# Cu solid–liquid interface ({p['potential']}), NVE at {results['production_temperature_K']['mean']:.0f} "
        f"± {results['production_temperature_K']['std']:.0f} K (the melting point at this density)",
        "",
        f"{4 * int(np.prod(p['cells']))} atoms, {results['n_targets']} targets (liquid + solid within "
        f"{results['size']['solid_layers_A']:g} Å of the interfaces); {p['production_ps']:g} ps production, "
        f"frames every {p['frame_ps']:g} ps; first half trains, second half is analysed. "
        + ("MD reused from the cache" if results["md_seconds"] < 1 else f"MD {results['md_seconds']:.0f} s")
        + f", fit + analysis {results['fit_seconds']:.0f} s.",
        "",
        "The same fit from the command line: `gdynet fit md/dump_train.lammpstrj --test md/dump_test.lammpstrj "
        f"--timestep {p['timestep_fs']:g}fs --select '{results['selection']}' --select-on first --states 4 "
        f"--lag {results['size']['lag']}`",
        "",
        f"Solid fraction (all atoms): train {sf['train'][:10].mean():.3f} -> {sf['train'][-10:].mean():.3f}, "
        f"test {sf['test'][:10].mean():.3f} -> {sf['test'][-10:].mean():.3f}.",
        "",
        "| state | population | solid (q6 labels) | mean distance from slab centre (Å) |",
        "|---|---|---|---|",
    ]
    for s in chk["order_along_normal"]:
        lines.append(f"| {s} | {100 * results['learned']['populations'][s]:.1f} % | "
                     f"{100 * st['solid_fraction'][s]:.0f} % | {st['mean_distance_A'][s]:.1f} |")
    lines += ["",
              f"Learned timescales at τ = {results['learned']['lag_ps']:g} ps: "
              + ", ".join(f"{t:.3g} ps" for t in results["learned"]["timescales_ps"] if t is not None) + ".",
              "Solid/liquid-label Markov model, slowest timescale: "
              + ", ".join(f"{t:.3g} ps at τ = {l:g} ps" for l, t in zip(lab["lags_ps"], lab["timescales_ps"])) + ".",
              "The same with core sets (solid from ≥ {} to ≤ {} solid-like bonds): ".format(*lab["core_bonds"])
              + ", ".join(f"{t:.3g} ps" for t in lab["core_timescales_ps"]) + ".",
              "Learned implied timescales at the same lags: "
              + ", ".join("—" if row[0] is None else f"{row[0]:.3g} ps"
                          for row in results["learned"]["implied_timescales"]["timescales_ps"]) + ".",
              *[f"Not pinned down by the data: {c['reason']}."
                for c in results["learned"].get("timescales_checks") or [] if c.get("lower_bound")],
              f"Checks: every state above 1 %: {chk['populated']} (smallest {100 * chk['min_population']:.1f} %); "
              f"states ordered solid -> liquid along the normal: {chk['ordered']}; one state > 80 % solid and "
              f"one < 20 %: {chk['separated']}; learned / label slowest "
              f"timescale: {chk['slowest_ratio']:.2f} (with core sets {chk['slowest_core_ratio']:.2f}).",
              *([] if chk["populated"] else [
                  f"Only {chk['n_populated']} states hold more than 1 % of the population: these data support "
                  f"fewer than 4 states (fit with --states {max(2, chk['n_populated'])})."]),
              "",
              "![solid fraction](figures/solid_fraction.png) ![profile](figures/state_profile.png) "
              "![timescales](figures/timescales.png)", ""]
    return "\n".join(lines)


def _print(results: dict[str, Any]) -> None:
    print(example_report(results))
