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
from ..datasets.interface import InterfaceData, InterfaceParams, generate_interface, solid_fraction
from ..base.errors import GdynetError
from ..runs.fit import FitOptions, fit
from ..trajectory.targets import select_targets
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
#: core sets of the structure-label reference (milestoning): an atom is solid from the frame it has at
#: least CORE_SOLID_BONDS solid-like bonds until the frame it has at most CORE_LIQUID_BONDS, and so on
CORE_SOLID_BONDS, CORE_LIQUID_BONDS = 10, 3
#: bins of the profiles along the interface normal, Å
PROFILE_BIN_A = 0.5


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
    positions, cell = _first_frame(dumps["train"])
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
    targets = _selected(dumps["train"], read.targets, size.params.element)  # as the fit: on the training file
    if chi_test.shape[1] != len(targets):
        raise GdynetError(f"the fit chose {chi_test.shape[1]} targets with --select '{selection}', "
                          f"the example {len(targets)}", out / "run")
    reference = structure_reference(data, dumps["test"], targets, chi_test, size)
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


def _first_frame(dump: Path) -> tuple[np.ndarray, np.ndarray]:
    """Of the first frame of an orthogonal LAMMPS dump sorted by id: positions ``(N, 3)`` Å relative
    to the box's lower corner (as gdynet's reader gives them, so ``prop z`` means the same) and the
    cell ``(3, 3)`` Å."""
    with open(dump) as handle:
        head = [next(handle) for _ in range(9)]
        n_atoms = int(head[3])
        bounds = np.array([[float(x) for x in line.split()[:2]] for line in head[5:8]])
        columns = head[8].split()[2:]
        rows = [next(handle).split() for _ in range(n_atoms)]
    xyz = [columns.index(c) for c in "xyz"]
    positions = np.array([[float(r[i]) for i in xyz] for r in rows])
    return positions - bounds[:, 0], np.diag(bounds[:, 1] - bounds[:, 0])


def _selected(dump: Path, spec: str, element: str) -> np.ndarray:
    """Indices of the atoms that the target ``spec`` selects on the first frame of ``dump``."""
    from ase.data import atomic_numbers

    positions, cell = _first_frame(dump)
    numbers = np.full(len(positions), atomic_numbers[element])
    return select_targets(numbers, spec, positions=positions, cell=cell, source=dump)[:, 0]


def slab_centre(z: np.ndarray, solid: np.ndarray, lz: float) -> float:
    """z (Å) of the centre of the solid slab: the circular mean of the solid atoms' z (period ``lz``)."""
    angle = 2 * np.pi * np.asarray(z, dtype=float)[np.asarray(solid, dtype=bool)] / lz
    return float(np.arctan2(np.sin(angle).mean(), np.cos(angle).mean()) * lz / (2 * np.pi)) % lz


def slab_distance(z: np.ndarray, centre: float, lz: float) -> np.ndarray:
    """Distance (Å) along z from the slab centre, minimum image: values in ``[0, lz / 2]``."""
    dz = (np.asarray(z, dtype=float) - centre) % lz
    return np.minimum(dz, lz - dz)


def interface_selection(z: np.ndarray, solid: np.ndarray, zlo: float, lz: float, solid_layers_A: float) -> str:
    """An MDAnalysis selection (``gdynet fit --select``) of the liquid and the first solid layers.

    The interface sits at the distance ``d_i`` from the slab centre within which there are as many
    atoms as there are solid atoms (uniform density); the selection leaves out the solid core,
    ``d < d_i - solid_layers_A``. ``z``: Å, as stored in the first frame; ``solid``: bools of every
    atom; the box spans ``[zlo, zlo + lz)`` along z. A core that crosses the periodic boundary
    becomes two intervals, each open towards the boundary it touches.
    """
    solid = np.asarray(solid, dtype=bool)
    if not 0 < solid.sum() < len(solid):
        raise GdynetError("the first frame is not a solid-liquid interface: "
                          f"{solid.sum()} of {len(solid)} atoms are solid")
    centre = slab_centre(z, solid, lz)
    ranked = np.sort(slab_distance(z, centre, lz))
    half = 0.5 * (ranked[int(solid.sum()) - 1] + ranked[int(solid.sum())]) - solid_layers_A
    if half <= 0:
        return "all"
    low = zlo + (centre - half - zlo) % lz
    high = low + 2 * half
    if high <= zlo + lz:
        core = f"(prop z >= {low:.3f} and prop z < {high:.3f})"
    else:
        core = f"(prop z >= {low:.3f} or prop z < {high - lz:.3f})"
    return f"not {core}"


def structure_reference(data: InterfaceData, test_dump: Path, targets: np.ndarray, chi: np.ndarray,
                        size: ExampleSize) -> dict[str, Any]:
    """Compare the learned states (``chi`` of the held-out segment) with the solid/liquid labels.

    Returns ``states`` (per state: population, mean solid label, mean distance from the slab centre
    in Å), ``profile`` (density of each state vs distance from the slab centre), and ``labels``
    (the structure-label Markov model: solid fraction of the targets, implied timescales at the
    example's lags).
    """
    from ..analysis.order_labels import core_set_labels, label_timescales
    from ..base.units import lag_to_frames

    params = size.params
    solid = data.solid("test")                                       # (F, N)
    z, lz, area = _z_positions(test_dump, params)                    # (F, N), (F,), Å²
    chi = np.asarray(chi, dtype=float)
    n = min(len(chi), len(solid), len(z))
    chi, solid, z, lz = chi[:n], solid[:n], z[:n], lz[:n]
    d = np.stack([slab_distance(z[f], slab_centre(z[f], solid[f], lz[f]), lz[f]) for f in range(n)])
    d_t, solid_t = d[:, targets], solid[:, targets].astype(float)
    weight = chi.sum(axis=(0, 1))
    states = {"population": (weight / weight.sum()).tolist(),
              "solid_fraction": (np.einsum("fns,fn->s", chi, solid_t) / weight).tolist(),
              "mean_distance_A": (np.einsum("fns,fn->s", chi, d_t) / weight).tolist()}
    edges = np.arange(0.0, float(lz.max()) / 2 + PROFILE_BIN_A, PROFILE_BIN_A)
    density = [np.histogram(d_t.ravel(), edges, weights=chi[..., s].ravel())[0] / (2 * area * PROFILE_BIN_A * n)
               for s in range(chi.shape[2])]
    lags = sorted({lag_to_frames(x, params.frame_ps) for x in size.lags if lag_to_frames(x, params.frame_ps) < n - 1})
    bonds = data.solid_bonds("test")[:n, targets]
    core = core_set_labels(bonds, CORE_SOLID_BONDS, CORE_LIQUID_BONDS)   # solid from >= 10 to <= 3 bonds

    def slowest(labels: np.ndarray) -> list[float]:
        its = label_timescales([labels], lags, params.frame_ps)
        return [float(row[0]) for row in np.asarray(its.timescales_ps, dtype=float)]

    return {"states": states,
            "profile": {"axis": "distance from the solid slab centre along z", "edges_A": edges.tolist(),
                        "density_per_A3": [x.tolist() for x in density]},
            "labels": {"target_solid_fraction": float(solid_t.mean()), "lags_ps": [x * params.frame_ps for x in lags],
                       "timescales_ps": slowest(solid_t), "core_timescales_ps": slowest(core),
                       "core_bonds": [CORE_SOLID_BONDS, CORE_LIQUID_BONDS]}}


def _z_positions(dump: Path, params: InterfaceParams) -> tuple[np.ndarray, np.ndarray, float]:
    """From a dump sorted by id: z of every atom in every frame ``(F, N)`` Å, the box length along z
    ``(F,)`` Å and the mean cross-section of the box (Å²)."""
    from ..trajectory.readers import read_trajectory

    traj = read_trajectory(dump, dt=params.frame_ps, targets=params.element)
    cells = np.asarray(traj.cells)
    area = float(np.linalg.norm(np.cross(cells[:, 0], cells[:, 1]), axis=1).mean())
    return np.asarray(traj.positions[:, :, 2]), cells[:, 2, 2].copy(), area


def state_checks(results: dict[str, Any]) -> dict[str, Any]:
    """Are there four populated states, ordered solid-bulk ... liquid-bulk along the normal?

    ``populated``: every state above 1 %; ``ordered``: :func:`ordered_along_normal`; ``separated``:
    one state is more than 80 % solid and one less than 20 %; ``slowest_ratio`` (``slowest_core_ratio``): learned
    slowest timescale over the one of the structure labels (with core sets) at the fit lag.
    """
    states = results["states"]
    pops = np.asarray(results["learned"]["populations"], dtype=float)
    order = np.argsort(states["mean_distance_A"])
    solid = np.asarray(states["solid_fraction"])
    labels = results["labels"]
    lag = results["learned"]["lag_ps"]
    at_lag = int(np.argmin(np.abs(np.asarray(labels["lags_ps"]) - lag)))
    return {"populated": bool(np.all(pops > 0.01)), "min_population": float(pops.min()),
            "n_populated": int((pops > 0.01).sum()),
            "order_along_normal": order.tolist(),
            "ordered": ordered_along_normal(solid[order]),
            "separated": bool(solid.max() > 0.8 and solid.min() < 0.2),
            "slowest_learned_ps": float(results["learned"]["timescales_ps"][0]),
            "slowest_labels_ps": labels["timescales_ps"][at_lag],
            "slowest_ratio": float(results["learned"]["timescales_ps"][0]) / labels["timescales_ps"][at_lag],
            "slowest_core_ratio": float(results["learned"]["timescales_ps"][0]) / labels["core_timescales_ps"][at_lag]}


def ordered_along_normal(solid: np.ndarray) -> bool:
    """Do states sorted by distance from the slab centre go from solid to liquid?

    ``solid``: each state's solid fraction, nearest state first. True when the nearest state is
    mostly solid (> 0.5), the farthest is the most liquid, and every mostly solid state lies nearer
    than every mostly liquid one (bulk solid, solid at the interface, liquid at the interface, bulk
    liquid; the two solid states may swap, as their solid fractions are close).
    """
    solid = np.asarray(solid, dtype=float)
    is_solid = solid > 0.5
    return bool(is_solid[0] and np.argmin(solid) == len(solid) - 1
                and not np.any(np.diff(is_solid.astype(int)) > 0))


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
