"""``gdynet example electrolyte``: Li⁺ solvation states in a polymer electrolyte, as in the paper's Fig. 4-5.

Simulates the coarse-grained PEO-like melt with Li⁺ and S–N–S anions of
:mod:`gdynet.datasets.electrolyte` in LAMMPS (several independent trajectories), trains a four-state
GDyNet on the first trajectory and analyses the others held-out (the paper: train on one of five
80 ns PEO/LiTFSI trajectories, analyse four). Charges come from the LAMMPS data file (the topology).
On top of ``gdynet fit``'s report it checks the physics and writes ``example.json`` / ``example.md``:

* coordination numbers of each learned state by polymer O and by anion S (running coordination of
  the state RDFs, Eq. 12, at the first minimum of the state-averaged RDF);
* how often Li⁺ changes partners: a chain or an anion *binds* when its nearest coordinating site
  comes within the first-shell radius after having been beyond it + 0.5 Å (hysteresis against
  flicker); counted per Li⁺ and ns;
* the conduction table (Eqs. 13-16) beside the Einstein conductivity of the whole electrolyte
  (all Li⁺ and anions with their charges, cross terms included).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import atomic
from ..datasets.electrolyte import Electrolyte, ElectrolyteParams
from ..errors import GdynetError
from ..trajectory.core import Trajectory
from .fit import FitOptions, fit
from .inputs import ReadOptions, read_all

#: the paper's PEO/LiTFSI states (Fig. 4b-c, Fig. 5): population (%) with 95 % CI, environment, charge
PAPER_STATES = (("50.6 ± 0.8", "PEO on one side, one TFSI on the other", "≈ 0"),
                ("27.3 ± 0.4", "as above, a hydroxyl end group instead of an ether O", "≈ 0"),
                ("15.1 ± 0.4", "TFSI only", "< 0; its i→i term carries ~40 % of the conduction"),
                ("7.0 ± 0.9", "PEO only", "> 0"))
#: fewer partner atoms than this within the first shell count as "none" in the state descriptions
NO_PARTNER = 0.5
#: hysteresis (Å) of the partner-exchange count
HYSTERESIS_A = 0.5
#: radius (Å) of the solvation shell whose charge is the state charge: whole EO units (Li–O 2.1 Å plus
#: the 1.9 Å O–C bond; the first minimum of the Li–C RDF). At the first minimum of the Li–O RDF
#: (~2.5 Å) the shell would cut every coordinating C–O–C dipole in half and hold only its O (−0.4 e).
SHELL_RADIUS_A = 4.0


@dataclass(frozen=True)
class ExampleSize:
    """How much MD the example runs and how long it trains (times with units, e.g. "5ps")."""

    md: ElectrolyteParams
    epochs: int | None             # None: gdynet fit's automatic lengths (training.budget), as batch_size
    lag: str
    lags: tuple[str, ...]
    batch_size: int | None = None


FULL = ExampleSize(md=ElectrolyteParams(), epochs=None, lag="5ps",
                   lags=("1ps", "2ps", "5ps", "10ps", "20ps"))
QUICK = ExampleSize(md=ElectrolyteParams(n_chains=4, n_li=8, equil_ps=40.0, run_ps=100.0, n_trajectories=2),
                    epochs=4, lag="5ps", lags=("2ps", "5ps", "10ps"), batch_size=256)


def run_example(out: str | Path = "gdynet-electrolyte", *, quick: bool = False, device: str = "auto",
                progress: bool = True, size: ExampleSize | None = None) -> dict[str, Any]:
    """Simulate, fit four states on trajectory 0, analyse the others held-out; returns ``example.json``.

    Writes ``out/data/electrolyte-<hash>/`` (LAMMPS data file and dumps, reused for the same
    parameters), ``out/run`` (a ``gdynet fit`` run folder) and ``out/example.json`` + ``example.md``.
    """
    from ..datasets.electrolyte import simulate

    size = size or (QUICK if quick else FULL)
    out = Path(out)
    md = simulate(size.md, out / "data", progress=progress)
    train, tests = md.dumps[0], list(md.dumps[1:])
    # time from the dumps' TIMESTEP x the MD step; partial charges and elements from the data file
    read = ReadOptions(timestep=f"{size.md.timestep_fs}fs", topology=str(md.data_file), targets="Li")
    options = FitOptions(states=4, lag=size.lag, epochs=size.epochs, device=device, batch_size=size.batch_size,
                         neighbors=12)   # coarse-grained beads: the 12 nearest reach the second shell
    analysis = {"lags": list(size.lags), "temperature_K": size.md.temperature_K, "analyze_on": "test",
                "shell_radius": SHELL_RADIUS_A}
    summary = fit([train], out / "run", read, options, test_paths=tests, analysis=analysis, progress=progress)
    return report_example(out, md, size, summary, read)


def report_example(out: Path, md: Electrolyte, size: ExampleSize, summary: dict[str, Any],
                   read: ReadOptions) -> dict[str, Any]:
    """The physics checks on the held-out trajectories of a finished run ``out/run`` and the example's
    ``example.json``, ``example.md`` and ``electrolyte_states`` figure; returns ``example.json``'s dict."""
    trajs = read_all(md.dumps[1:] or md.dumps, read)
    first = 1 if len(md.dumps) > 1 else 0
    chis = [np.load(out / "run" / "chi" / f"traj_{i:03d}.npy", mmap_mode="r") for i in range(first, len(md.dumps))]
    results = {"md": asdict(size.md), "type_map": md.type_map, "data_file": str(md.data_file),
               "dumps": [str(p) for p in md.dumps], "fit": {"states": 4, "lag": size.lag, "training": summary.get("training")},
               "summary": _headline(summary), "physics": physics_checks(md, trajs, chis)}
    results["physics"]["einstein_S_cm"] = einstein_conductivity(md, trajs, summary["lag_ps"])
    atomic.write_json(out / "example.json", results)
    atomic.write_text(out / "example.md", example_table(results))
    plot_states(results, out / "electrolyte_states")
    _print(results)
    return results


def physics_checks(md: Electrolyte, trajs: Sequence[Trajectory], chis: Sequence[np.ndarray]) -> dict[str, Any]:
    """Coordination numbers per state (polymer O, anion S) and partner-exchange counts."""
    from ..analysis.pairs import first_minimum
    from ..analysis.rdf import state_rdf

    result: dict[str, Any] = {"coordination": {}, "shell_radius_A": {}}
    for element in ("O", "S"):
        rdf = state_rdf(list(trajs), list(chis), element, r_max=6.0, n_bins=120)
        w = rdf.weight / rdf.weight.sum()
        r_shell = first_minimum(rdf.r, (w[:, None] * rdf.g).sum(axis=0))
        b = int(np.searchsorted(rdf.edges[1:], r_shell))
        result["coordination"][element] = rdf.coordination[:, b].tolist()
        result["shell_radius_A"][element] = float(rdf.edges[b + 1])
    result["exchanges"] = partner_exchanges(md, trajs, result["shell_radius_A"])
    return result


#: coordination labels of :func:`coordination_labels` (index = label value)
COORDINATION_LABELS = ("polymer only", "anion only", "mixed", "none")


def label_radii(trajs: Sequence[Trajectory], n_frames: int = 200) -> dict[str, float]:
    """First-shell radii (Å) of the coordination labels: the first minimum of the Li–O RDF (``"O"``)
    and of the Li–anion RDF, S and N pooled (``"anion"``), over ``n_frames`` evenly strided frames of
    every trajectory in ``trajs``."""
    from ..analysis.pairs import first_minimum
    from ..analysis.rdf import state_rdf

    radii = {}
    for key, species in (("O", "O"), ("anion", ["S", "N"])):
        chis = [np.ones((t.n_frames, t.n_targets, 1)) for t in trajs]
        rdf = state_rdf(list(trajs), chis, species, r_max=6.0, n_bins=120,
                        stride=max(1, min(t.n_frames for t in trajs) // n_frames))
        radii[key] = first_minimum(rdf.r, rdf.g[0])
    return radii


def coordination_labels(traj: Trajectory, radii: dict[str, float]) -> np.ndarray:
    """Per frame and Li⁺: 0 polymer only (an O within ``radii["O"]`` Å and no anion S or N within
    ``radii["anion"]`` Å), 1 anion only, 2 mixed (both), 3 none (neither); ``(F, n_Li)`` int8, the
    Li⁺ in the order of ``traj.numbers`` (the example's targets). Names in :data:`COORDINATION_LABELS`."""
    li = np.nonzero(traj.numbers == 3)[0]
    groups = [np.nonzero(traj.numbers == 8)[0], np.nonzero(np.isin(traj.numbers, (7, 16)))[0]]
    labels = np.empty((traj.n_frames, len(li)), dtype=np.int8)
    for f in range(traj.n_frames):
        x, cell = np.asarray(traj.positions[f]), np.asarray(traj.cells[f])
        inv = np.linalg.inv(cell)
        near = []
        for sites, r in zip(groups, (radii["O"], radii["anion"])):
            frac = (x[sites][None] - x[li][:, None]) @ inv
            near.append((np.linalg.norm((frac - np.round(frac)) @ cell, axis=-1) < r).any(axis=1))
        polymer, anion = near
        labels[f] = np.where(polymer, np.where(anion, 2, 0), np.where(anion, 1, 3))
    return labels


def partner_exchanges(md: Electrolyte, trajs: Sequence[Trajectory], shell: dict[str, float]) -> dict[str, Any]:
    """How often a chain or an anion binds to a Li⁺ (per Li⁺ and ns; with hysteresis HYSTERESIS_A).

    A partner molecule is *bound* once its nearest O (chain) or S (anion) is within the first-shell
    radius and stays bound until that distance exceeds the radius + ``HYSTERESIS_A``; every new
    binding after frame 0 is one exchange. Molecule ids come from the data file.
    """
    molecules = _molecule_ids(md.data_file)
    counts, partners, li_ns = 0, [], 0.0
    for traj in trajs:
        li = np.nonzero(traj.numbers == 3)[0]
        sites = np.nonzero(np.isin(traj.numbers, (8, 16)))[0]
        sites = sites[np.argsort(molecules[sites], kind="stable")]      # grouped by molecule
        radius = np.where(traj.numbers[sites] == 8, shell["O"], shell["S"])
        starts = np.flatnonzero(np.r_[True, np.diff(molecules[sites]) != 0])
        bound = np.zeros((len(li), len(starts)), dtype=bool)
        for f in range(traj.n_frames):
            x, cell = np.asarray(traj.positions[f]), np.asarray(traj.cells[f])
            frac = (x[sites][None] - x[li][:, None]) @ np.linalg.inv(cell)
            excess = np.linalg.norm((frac - np.round(frac)) @ cell, axis=-1) - radius
            nearest = np.minimum.reduceat(excess, starts, axis=1)        # (n_li, n_molecules)
            now = (bound | (nearest < 0)) & (nearest < HYSTERESIS_A)
            if f:
                counts += int((now & ~bound).sum())
            bound = now
            partners.append(bound.sum(axis=1).mean())
        li_ns += len(li) * (traj.n_frames - 1) * traj.dt_ps / 1000.0
    return {"bindings": counts, "per_li_per_ns": counts / li_ns, "mean_partner_molecules": float(np.mean(partners)),
            "li_ns": li_ns}


def _molecule_ids(data_file: Path) -> np.ndarray:
    """Molecule id of each atom (in id order) from a LAMMPS data file's Atoms section (style full)."""
    ids, mols = [], []
    with open(data_file) as fh:
        lines = iter(fh)
        for line in lines:
            if line.strip().startswith("Atoms"):
                break
        else:
            raise GdynetError("no Atoms section", data_file)
        for line in lines:
            parts = line.split()
            if not parts and ids:
                break
            if parts:
                ids.append(int(parts[0]))
                mols.append(int(parts[1]))
    return np.asarray(mols)[np.argsort(ids)]


def einstein_conductivity(md: Electrolyte, trajs: Sequence[Trajectory], lag_ps: float) -> dict[str, float]:
    """Einstein conductivity (S/cm) of the whole electrolyte and of its parts.

    sigma = e² / (6 V k_B T) d/dt < |Σ_i q_i Δr_i(t)|² >, with Li⁺ (charge q) and the anions
    (charge −q, at their N) as carriers, fitted between ``lag_ps`` and five times it; ``total``
    includes all cross terms, ``li``/``anion`` only that species' collective term, ``*_self`` the
    Nernst-Einstein sums without any cross terms. Pooled over ``trajs``.
    """
    from ..analysis.conduction import SIGMA_UNIT
    from ..analysis.msd import slope
    from ..analysis.unwrap import unwrap_centers

    q, T = md.params.ion_charge, md.params.temperature_K
    curves: dict[str, list[np.ndarray]] = {k: [] for k in ("total", "li", "anion", "li_self", "anion_self")}
    volumes = []
    n_frames = min(t.n_frames for t in trajs)
    dt = trajs[0].dt_ps
    offsets = np.unique(np.linspace(max(1, round(lag_ps / dt)), min(5 * round(lag_ps / dt), n_frames // 3),
                                    8).astype(int))
    for traj in trajs:
        ions = np.r_[np.nonzero(traj.numbers == 3)[0], np.nonzero(traj.numbers == 7)[0]]
        r = unwrap_centers(traj.with_targets(ions[:, None]))                 # (F, n, 3) Å
        z = np.where(traj.numbers[ions] == 3, q, -q)
        li = z > 0
        for key, mask in (("total", slice(None)), ("li", li), ("anion", ~li)):
            M = (z[mask][None, :, None] * r[:, mask]).sum(axis=1)
            curves[key].append(np.array([np.mean(np.sum((M[o:] - M[:-o]) ** 2, axis=-1)) for o in offsets]))
        for key, mask in (("li_self", li), ("anion_self", ~li)):
            d2 = [np.mean(np.sum((r[o:, mask] - r[:-o, mask]) ** 2, axis=-1)) * mask.sum() * q ** 2 for o in offsets]
            curves[key].append(np.array(d2))
        volumes.append(float(np.mean(traj.volumes())))
    times = offsets * dt
    return {k: float(SIGMA_UNIT * slope(times, np.mean(v, axis=0)) / (6 * np.mean(volumes) * T))
            for k, v in curves.items()} | {"fit_window_ps": [float(times[0]), float(times[-1])]}


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The numbers of ``summary.json`` the example reports."""
    keys = ("lag_ps", "timescales_ps", "populations", "populations_ci", "vamp2", "analysis_on", "state_charges",
            "conduction", "n_trajectories", "n_frames")
    return {k: summary[k] for k in keys if k in summary}


def _ci(results: dict[str, Any], s: int) -> str:
    ci = results["summary"].get("populations_ci")
    if not ci:
        return ""
    return f" [{100 * ci['lower'][s]:.1f}, {100 * ci['upper'][s]:.1f}]"


def environment(cn_o: float, cn_s: float) -> str:
    """A short description of a solvation shell from its coordination numbers by polymer O and anion S."""
    if cn_s < NO_PARTNER:
        return "polymer only"
    if cn_o < NO_PARTNER:
        return "anions only"
    return "polymer + anion" if cn_o >= cn_s else "anion-rich + polymer"


def _conduction_by_state(conduction: dict[str, Any], n_states: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per state: the i→i percentage, its 95 % CI half-width (NaN without) and the sum over all i→j."""
    own, own_ci, total = np.zeros(n_states), np.full(n_states, np.nan), np.zeros(n_states)
    for row in conduction["transitions"]:
        i, j = (int(x) for x in row["transition"].split("->"))
        total[i] += row["percent"]
        if i == j:
            own[i] = row["percent"]
            own_ci[i] = np.nan if row.get("percent_ci") is None else row["percent_ci"]
    return own, own_ci, total


def example_table(results: dict[str, Any]) -> str:
    """Markdown: the learned states (most populated first), the paper's states, conduction, exchanges."""
    s_, phys = results["summary"], results["physics"]
    pops, cn = s_["populations"], phys["coordination"]
    charges = s_["state_charges"]["charges_e"]
    own, own_ci, total = _conduction_by_state(s_["conduction"], len(pops))
    lines = ["| state | population % [95 % CI] | CN polymer O | CN anion S | environment | charge (e) |"
             " i→i conduction % (± 95 % CI) | all i→j % |", "|---|---|---|---|---|---|---|---|"]
    for s in np.argsort(pops)[::-1]:
        ci = "" if np.isnan(own_ci[s]) else f" ± {own_ci[s]:.1f}"
        lines.append(f"| {s} | {100 * pops[s]:.1f}{_ci(results, s)} | {cn['O'][s]:.2f} | {cn['S'][s]:.2f} | "
                     f"{environment(cn['O'][s], cn['S'][s])} | {charges[s]:+.2f} | {own[s]:.1f}{ci} | {total[s]:.1f} |")
    lines += ["", "Paper (PEO/LiTFSI, 363 K, Fig. 4-5):", "", "| population % | environment | charge |",
              "|---|---|---|", *(f"| {p} | {env} | {q} |" for p, env, q in PAPER_STATES)]
    cond, ein, ex = s_["conduction"], phys["einstein_S_cm"], phys["exchanges"]
    lines += ["", f"Analysed: {s_.get('analysis_on', 'all')} trajectories; lag τ = {s_['lag_ps']:g} ps; "
              f"timescales {', '.join(f'{t:.3g}' for t in s_['timescales_ps'])} ps.",
              f"Coordination numbers within the first minimum of the state-averaged RDF: "
              f"O {phys['shell_radius_A']['O']:.2f} Å, S {phys['shell_radius_A']['S']:.2f} Å; state charges: "
              f"Li⁺ plus all partial charges within {s_['state_charges']['shell_radius_A'][0]:g} Å "
              f"({s_['state_charges']['source']}).",
              f"Partner exchanges: {ex['bindings']} bindings of a chain or anion to a Li⁺, "
              f"{ex['per_li_per_ns']:.0f} per Li⁺ per ns; {ex['mean_partner_molecules']:.2f} partner molecules on average.",
              f"Conductivity (S/cm): Σσ_ij (Eq. 15) {_g(cond.get('sigma_nernst_einstein_S_cm'))}; "
              f"Li⁺ with state charges: self {_g(cond.get('sigma_self_S_cm'))}, collective "
              f"{_g(cond.get('sigma_collective_S_cm'))}; Einstein with the bare ionic charges: Li⁺ only "
              f"{_g(ein['li'])} (self {_g(ein['li_self'])}), anions self {_g(ein['anion_self'])}, "
              f"whole electrolyte {_g(ein['total'])}."]
    return "\n".join(lines) + "\n"


def _g(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}"


def plot_states(results: dict[str, Any], stem: Path) -> tuple[Path, Path]:
    """Bar chart: population, coordination by O and S, and charge of every learned state."""
    from matplotlib.figure import Figure

    from ..report.figures import save_figure

    s_, phys = results["summary"], results["physics"]
    charges = s_["state_charges"]["charges_e"]
    S = len(s_["populations"])
    x = np.arange(S)
    fig = Figure(figsize=(7.5, 2.8))
    axes = fig.subplots(1, 3)
    axes[0].bar(x, 100 * np.asarray(s_["populations"]), color="tab:blue")
    axes[0].set(xlabel="state", ylabel="population (%)")
    axes[1].bar(x - 0.2, phys["coordination"]["O"], 0.4, label="polymer O")
    axes[1].bar(x + 0.2, phys["coordination"]["S"], 0.4, label="anion S")
    axes[1].set(xlabel="state", ylabel="coordination number")
    axes[1].legend(fontsize=7)
    axes[2].bar(x, charges, color=["tab:red" if c > 0 else "tab:green" for c in charges])
    axes[2].axhline(0, color="k", lw=0.8)
    axes[2].set(xlabel="state", ylabel="state charge (e)")
    for ax in axes:
        ax.set_xticks(x)
    fig.tight_layout()
    return save_figure(fig, stem)


def _print(results: dict[str, Any]) -> None:
    from rich.console import Console

    Console(soft_wrap=True).print(example_table(results), markup=False)
