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
from typing import Any

import numpy as np

from ..files import writes
from ..datasets.electrolyte import Electrolyte, ElectrolyteParams, environment, ion_conductivity, physics_checks
from ..runs.fit import FitOptions, fit
from ..trajectory.read_options import ReadOptions, read_all

#: the paper's PEO/LiTFSI states (Fig. 4b-c, Fig. 5): population (%) with 95 % CI, environment, charge
PAPER_STATES = (("50.6 ± 0.8", "PEO on one side, one TFSI on the other", "≈ 0"),
                ("27.3 ± 0.4", "as above, a hydroxyl end group instead of an ether O", "≈ 0"),
                ("15.1 ± 0.4", "TFSI only", "< 0; its i→i term carries ~40 % of the conduction"),
                ("7.0 ± 0.9", "PEO only", "> 0"))
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
    options = FitOptions(n_states=4, lag=size.lag, epochs=size.epochs, device=device, batch_size=size.batch_size,
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
    results["physics"]["einstein_S_cm"] = ion_conductivity(md, trajs, summary["lag_ps"])
    writes.write_json(out / "example.json", results)
    writes.write_text(out / "example.md", example_table(results))
    save_states(results, out / "electrolyte_states")
    _print(results)
    return results


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


def save_states(results: dict[str, Any], stem: Path) -> tuple[Path, Path]:
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
