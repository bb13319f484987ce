"""A coarse-grained polymer electrolyte (Li⁺ and anions in a PEO-like melt), simulated with LAMMPS.

The paper's third system is PEO/LiTFSI at Li/EO = 0.05 (Xie et al. 2019, Fig. 4-5). This module
builds a small, fast stand-in with the same chemistry of coordination: Li⁺ is solvated by the ether
oxygens of polymer chains and by the coordinating groups of anions, and exchanges partners many
times within a few hundred ps, so a four-state GDyNet can be trained on minutes of CPU time.

Model (LAMMPS ``units real``: Å, fs, kcal/mol, e; ``atom_style full``):

============  =========  ========  ==========  =======================================================
LAMMPS type   element    mass (u)  charge (e)  represents
============  =========  ========  ==========  =======================================================
1             C          12.011    +0.4        a CH₂–CH₂ pair of a PEO chain (+0.2 at chain ends)
2             O          15.999    −0.4        an ether oxygen (the polymer's coordinating site)
3             Li         6.941     +q          Li⁺ (``q = ion_charge``, 0.75 by default)
4             N          14.007    −0.2 q      the imide N at the centre of a CG TFSI⁻
5             S          32.06     −0.4 q      a –SO₂CF₃ group of TFSI⁻ (the anion's coordinating site)
============  =========  ========  ==========  =======================================================

Each chain is C–(O–C)ₙ (n ether oxygens, neutral, no hydroxyl ends); each anion is S–N–S (net
charge −q). The masses are those of the named elements, so a mass-based guesser maps the types to
C, O, Li, N, S; they are lighter than the groups they stand for (CH₂CH₂ weighs 28 u, SO₂CF₃ 133 u),
which only speeds up the dynamics. Bonds and angles are harmonic (C–O 1.9 Å, O–C–O and C–O–C 140°:
3.6 Å per EO unit as in PEO; N–S 2.0 Å, S–N–S 125°); non-bonded pairs interact by Lennard-Jones
(Lorentz-Berthelot mixing, 8 Å cut-off) plus damped shifted-force Coulomb (``coul/dsf``, α = 0.25
Å⁻¹, 8 Å), cheaper than PPPM for a few hundred atoms and adequate for a dense, screened melt;
1-2 and 1-3 pairs are excluded and 1-4 pairs halved. Ionic charges are scaled by ``ion_charge`` =
0.75, the usual correction for missing electronic polarisation, which also speeds up exchanges.

Composition: the default 8 chains of 40 EO units (the paper: degree of polymerisation 50) with 16
Li⁺ and 16 anions give EO:Li = 20:1, the paper's Li/EO = 0.05, within the 15-20:1 common for
conductive PEO/LiTFSI electrolytes; the number density is that of molten PEO (66 Å³ per EO unit)
plus 150 Å³ per ion pair. The temperature, 450 K, is above the paper's 363 K so that Li⁺ changes its
solvation shell many times within a few hundred ps.

Protocol: random-walk chains and random ions are pushed apart with a soft potential, relaxed with
limited steps and Langevin dynamics, then equilibrated under Nosé-Hoover NVT for ``equil_ps``. Each
production trajectory then draws new velocities from its own seed, runs ``decorrelate_ps``
unrecorded and ``run_ps`` recorded (a frame every ``dump_ps``), continuing from the previous one.
Files: ``system.data`` (the equilibrated system, ``write_data``: atom_style full with charges, bonds,
angles, velocities), ``traj_NN.lammpstrj`` (text dumps with ``ITEM: TIMESTEP``, columns ``id type
element x y z``, sorted by id), ``params.json``; all written atomically into a folder named after a
hash of the parameters, so the same parameters are simulated once.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..files import writes
from ..base.errors import GdynetError
from ..base.progress import progress_bar
from ..trajectory.core import Trajectory

#: element, mass (u), LJ ε (kcal/mol), LJ σ (Å) of the LAMMPS types 1..5
BEADS: tuple[tuple[str, float, float, float], ...] = (
    ("C", 12.011, 0.12, 3.5),
    ("O", 15.999, 0.15, 3.0),
    ("Li", 6.941, 0.10, 1.8),
    ("N", 14.007, 0.20, 3.6),
    ("S", 32.06, 0.25, 4.0),
)
TYPE_MAP = {i + 1: b[0] for i, b in enumerate(BEADS)}
C, O, LI, N, S = 1, 2, 3, 4, 5
#: bond types (1: C-O, 2: N-S) with harmonic k (kcal/mol/Å²) and r0 (Å); angles (1: polymer, 2: anion)
BONDS = ((100.0, 1.9), (150.0, 2.0))
ANGLES = ((10.0, 140.0), (20.0, 125.0))
ETHER_CHARGE = -0.4
VOLUME_PER_EO = 66.0    # Å³, molten PEO (1.1 g/cm³)
VOLUME_PER_SALT = 150.0  # Å³ per Li⁺ + anion pair


@dataclass(frozen=True)
class ElectrolyteParams:
    """Size, temperature and length of the simulation (times in ps, temperature in K, charges in e)."""

    n_chains: int = 8
    chain_eo: int = 40
    n_li: int = 16
    ion_charge: float = 0.75
    temperature_K: float = 450.0
    timestep_fs: float = 2.0
    equil_ps: float = 100.0
    decorrelate_ps: float = 10.0
    run_ps: float = 200.0
    dump_ps: float = 0.5
    n_trajectories: int = 5
    seed: int = 1

    def check(self) -> None:
        if min(self.n_chains, self.chain_eo, self.n_li, self.n_trajectories) < 1:
            raise GdynetError(f"electrolyte: counts must be positive, got {self}")
        if self.dump_ps <= 0 or self.run_ps < 10 * self.dump_ps:
            raise GdynetError(f"electrolyte: run_ps must hold at least 10 frames of dump_ps, got {self}")

    @property
    def key(self) -> str:
        """Hash of the parameters: the name of the cache folder."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    def steps(self, ps: float) -> int:
        return max(1, round(ps * 1000.0 / self.timestep_fs))


@dataclass(frozen=True)
class Electrolyte:
    """A simulated electrolyte: the LAMMPS data file, the production dumps and what made them."""

    folder: Path
    data_file: Path
    dumps: tuple[Path, ...]
    params: ElectrolyteParams

    @property
    def dt_ps(self) -> float:
        """Time between dump frames (ps)."""
        return self.params.steps(self.params.dump_ps) * self.params.timestep_fs / 1000.0

    @property
    def type_map(self) -> str:
        """``"1=C,2=O,3=Li,4=N,5=S"``: LAMMPS type -> element, for ``--type-map``."""
        return ",".join(f"{t}={e}" for t, e in TYPE_MAP.items())


@dataclass
class _System:
    """Initial configuration: positions (Å), LAMMPS types, charges (e), molecule ids, bonds, angles."""

    box: float
    positions: np.ndarray
    types: np.ndarray
    charges: np.ndarray
    molecules: np.ndarray
    bonds: list[tuple[int, int, int]]
    angles: list[tuple[int, int, int, int]]


def build_system(params: ElectrolyteParams, rng: np.random.Generator) -> _System:
    """Random-walk chains C-(O-C)ₙ and randomly placed Li⁺ and S-N-S anions in a cubic box.

    Overlaps are allowed: the soft push-off of :func:`simulate` removes them. Atom ids are 1-based
    in ``bonds``/``angles``; the system is neutral by construction.
    """
    n_eo, q = params.n_chains * params.chain_eo, params.ion_charge
    box = (n_eo * VOLUME_PER_EO + params.n_li * VOLUME_PER_SALT) ** (1.0 / 3.0)
    pos: list[np.ndarray] = []
    types: list[int] = []
    charges: list[float] = []
    mols: list[int] = []
    bonds: list[tuple[int, int, int]] = []
    angles: list[tuple[int, int, int, int]] = []

    def chain(kinds: Sequence[int], qs: Sequence[float], bond: int, angle: int, mol: int) -> None:
        r0, theta = BONDS[bond - 1][1], math.radians(ANGLES[angle - 1][1])
        x, prev = rng.uniform(0, box, 3), None
        start = len(pos) + 1
        for i, (kind, qi) in enumerate(zip(kinds, qs)):
            if i:
                step = _random_step(rng, prev, theta) * r0
                prev, x = step, x + step
            pos.append(x.copy())
            types.append(kind)
            charges.append(qi)
            mols.append(mol)
            if i:
                bonds.append((bond, start + i - 1, start + i))
            if i > 1:
                angles.append((angle, start + i - 2, start + i - 1, start + i))

    for m in range(params.n_chains):
        n = params.chain_eo
        kinds = [C] + [O, C] * n
        qs = [-ETHER_CHARGE / 2] + [ETHER_CHARGE, -ETHER_CHARGE] * n
        qs[-1] = -ETHER_CHARGE / 2
        chain(kinds, qs, 1, 1, m + 1)
    for i in range(params.n_li):
        mol = params.n_chains + 2 * i + 1
        chain([LI], [q], 1, 1, mol)
        chain([S, N, S], [-0.4 * q, -0.2 * q, -0.4 * q], 2, 2, mol + 1)
    system = _System(box, np.mod(np.array(pos), box), np.array(types), np.array(charges),
                     np.array(mols), bonds, angles)
    assert abs(system.charges.sum()) < 1e-9
    return system


def _random_step(rng: np.random.Generator, prev: np.ndarray | None, theta: float) -> np.ndarray:
    """A unit vector; with ``prev``, at bond angle ``theta`` to it (random azimuth)."""
    if prev is None:
        v = rng.normal(size=3)
        return v / np.linalg.norm(v)
    u = prev / np.linalg.norm(prev)
    w = np.cross(u, rng.normal(size=3))
    w /= np.linalg.norm(w)
    return -math.cos(theta) * u + math.sin(theta) * w


def write_data(system: _System, path: Path) -> None:
    """LAMMPS data file (atom_style full) of the initial configuration."""
    lines = ["gdynet coarse-grained polymer electrolyte (initial configuration)", "",
             f"{len(system.types)} atoms", f"{len(system.bonds)} bonds", f"{len(system.angles)} angles", "",
             f"{len(BEADS)} atom types", f"{len(BONDS)} bond types", f"{len(ANGLES)} angle types", "",
             *(f"0.0 {system.box:.6f} {a}lo {a}hi" for a in "xyz"), "", "Masses", "",
             *(f"{i + 1} {b[1]} # {b[0]}" for i, b in enumerate(BEADS)), "", "Atoms # full", ""]
    lines += [f"{i + 1} {m} {t} {q:.6f} {x:.5f} {y:.5f} {z:.5f}" for i, (m, t, q, (x, y, z))
              in enumerate(zip(system.molecules, system.types, system.charges, system.positions))]
    lines += ["", "Bonds", ""] + [f"{i + 1} {t} {a} {b}" for i, (t, a, b) in enumerate(system.bonds)]
    lines += ["", "Angles", ""] + [f"{i + 1} {t} {a} {b} {c}" for i, (t, a, b, c) in enumerate(system.angles)]
    path.write_text("\n".join(lines) + "\n")


def _force_field(pair: str) -> list[str]:
    """Pair, bond and angle coefficients (``pair``: "soft" for the push-off, else the real one)."""
    cmds = []
    if pair == "soft":
        cmds += ["pair_style soft 3.0", "pair_coeff * * 0.0"]
    else:
        cmds += ["pair_style lj/cut/coul/dsf 0.25 8.0 8.0", "pair_modify mix arithmetic"]
        cmds += [f"pair_coeff {i + 1} {i + 1} {eps} {sigma}" for i, (_, _, eps, sigma) in enumerate(BEADS)]
    cmds += [f"bond_coeff {i + 1} {k} {r0}" for i, (k, r0) in enumerate(BONDS)]
    cmds += [f"angle_coeff {i + 1} {k} {theta}" for i, (k, theta) in enumerate(ANGLES)]
    return cmds


def simulate(params: ElectrolyteParams = ElectrolyteParams(), root: str | Path = ".", *,
             threads: int = 1, progress: bool = False) -> Electrolyte:
    """Simulate (or reuse) the electrolyte for ``params`` in ``root/electrolyte-<hash>``.

    Returns the :class:`Electrolyte` with its data file and ``params.n_trajectories`` dumps. A folder
    whose ``params.json`` matches is reused without running LAMMPS; a killed run leaves no partial
    file behind (every file is moved into place when complete), so re-running continues from scratch.
    ``threads``: OpenMP threads of LAMMPS (default 1: a few hundred atoms gain little from more, and
    spinning threads waste a shared machine). Raises :class:`GdynetError` when LAMMPS is missing or fails.
    """
    from .lammps_engine import start_lammps

    params.check()
    folder = Path(root) / f"electrolyte-{params.key}"
    result = Electrolyte(folder, folder / "system.data",
                         tuple(folder / f"traj_{k:02d}.lammpstrj" for k in range(params.n_trajectories)), params)
    done = folder / "params.json"
    if done.is_file() and json.loads(done.read_text()) == asdict(params) and all(
            p.is_file() for p in (result.data_file, *result.dumps)):
        return result
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(params.seed)
    T, seeds = params.temperature_K, rng.integers(1, 2**30, size=2 + params.n_trajectories)
    lmp = start_lammps(log=folder / "log.lammps",
                       cmdargs=("-sf", "omp", "-pk", "omp", str(threads)) if threads > 1 else ())
    stages = [("push-off", 2000), ("relax", 5000), ("equilibrate", params.steps(params.equil_ps))]
    stages += [(f"trajectory {k}", params.steps(params.decorrelate_ps) + params.steps(params.run_ps))
               for k in range(params.n_trajectories)]
    with progress_bar(*_columns(), enabled=progress, transient=True) as bar:
        task = bar.add_task("LAMMPS electrolyte MD", total=sum(n for _, n in stages))

        def run(steps: int, label: str) -> None:
            bar.update(task, description=f"LAMMPS electrolyte MD: {label}")
            chunk = max(1, steps // 20)
            for i in range(0, steps, chunk):
                _command(lmp, f"run {min(chunk, steps - i)}")
                bar.advance(task, min(chunk, steps - i))

        try:
            with writes.atomic_path(folder / "initial.data") as tmp:
                write_data(build_system(params, rng), tmp)
                _commands(lmp, ["units real", "atom_style full", "boundary p p p", "bond_style harmonic",
                                "angle_style harmonic", "special_bonds lj/coul 0.0 0.0 0.5",
                                f"read_data {tmp}", *_force_field("soft"),
                                "neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes",
                                f"timestep {params.timestep_fs}",
                                "variable prefactor equal ramp(0,60)",
                                "fix push all adapt 1 pair soft a * * v_prefactor",
                                "fix move all nve/limit 0.1",
                                f"fix bath all langevin {T} {T} 100.0 {seeds[0]}"])
            run(stages[0][1], stages[0][0])
            _commands(lmp, ["unfix push", *_force_field("lj"), "unfix move", "fix move all nve/limit 0.05"])
            run(stages[1][1], stages[1][0])
            _commands(lmp, ["unfix move", "unfix bath", f"velocity all create {T} {seeds[1]} dist gaussian",
                            f"fix md all nvt temp {T} {T} 100.0"])
            run(stages[2][1], stages[2][0])
            with writes.atomic_path(result.data_file) as tmp:
                _command(lmp, f"write_data {tmp} nocoeff")
            every = params.steps(params.dump_ps)
            elements = " ".join(b[0] for b in BEADS)
            for k, dump in enumerate(result.dumps):
                _commands(lmp, [f"velocity all create {T} {seeds[2 + k]} dist gaussian mom yes rot yes"])
                run(params.steps(params.decorrelate_ps), f"trajectory {k} (decorrelate)")
                with writes.atomic_path(dump) as tmp:
                    _commands(lmp, ["reset_timestep 0",
                                    f"dump traj all custom {every} {tmp} id type element x y z",
                                    f"dump_modify traj element {elements} sort id"])
                    run(params.steps(params.run_ps), f"trajectory {k}")
                    _command(lmp, "undump traj")
        finally:
            lmp.close()
    writes.write_json(done, asdict(params))
    return result


def _columns() -> tuple[Any, ...]:
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

    return TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn()


def _command(lmp: Any, cmd: str) -> None:
    try:
        lmp.command(cmd)
    except Exception as exc:
        from ..base.errors import exception_summary

        raise GdynetError(f"LAMMPS failed on {cmd!r}: {exception_summary(exc)}") from None


def _commands(lmp: Any, cmds: Sequence[str]) -> None:
    for cmd in cmds:
        _command(lmp, cmd)


# ----------------------------------------------------------------------------- its science
#: fewer partner atoms than this within the first shell count as "none" in the state descriptions
NO_PARTNER = 0.5
#: hysteresis (Å) of the partner-exchange count
HYSTERESIS_A = 0.5


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


def ion_conductivity(md: Electrolyte, trajs: Sequence[Trajectory], lag_ps: float) -> dict[str, float]:
    """Einstein conductivity (S/cm, :func:`gdynet.analysis.conduction.einstein_conductivity`) of the
    whole electrolyte (``total``), of the Li⁺ (charge q) and of the anions (charge −q, at their N)
    (``li``, ``anion``: collective; ``*_self``: Nernst-Einstein sums without cross terms)."""
    from ..analysis.conduction import einstein_conductivity

    q = md.params.ion_charge
    sigma = einstein_conductivity(trajs, {3: q, 7: -q}, lag_ps, md.params.temperature_K)
    return {"total": sigma["total"], "li": sigma["Li"], "anion": sigma["N"], "li_self": sigma["Li_self"],
            "anion_self": sigma["N_self"], "fit_window_ps": sigma["fit_window_ps"]}



def environment(cn_o: float, cn_s: float) -> str:
    """A short description of a solvation shell from its coordination numbers by polymer O and anion S."""
    if cn_s < NO_PARTNER:
        return "polymer only"
    if cn_o < NO_PARTNER:
        return "anions only"
    return "polymer + anion" if cn_o >= cn_s else "anion-rich + polymer"
