"""A crystal slab in coexistence with its own melt, simulated with LAMMPS (``gdynet example interface``).

The system is the one-component analogue of the paper's Si–Au interface (Xie et al. 2019, Fig. 3):
an FCC Cu crystal with its {100} planes normal to z, in contact with liquid Cu across two periodic
interfaces, using the EAM potential of Mishin et al. (2001) shipped with LAMMPS
(``Cu_mishin1.eam.alloy``, zero-pressure melting point 1327 K). Units: Å, ps, K, fs for the MD step.

Protocol (all in one LAMMPS instance, see :func:`_lammps_script`):

1. the perfect crystal equilibrates at ``temperature_K`` and zero pressure (isotropic NPT), which
   sets the lateral lattice constant of the slab;
2. the upper half (``z > Lz/2``) melts at ``melt_K`` (constant volume) and is cooled back to
   ``temperature_K`` while its length along z follows zero normal pressure; the lower half stays at
   ``temperature_K`` throughout (separate thermostats, each on its own group's temperature);
3. all atoms relax at zero normal pressure (NPT on z only, x and y fixed), so the melt reaches its
   own density;
4. production at constant volume and energy (NVE); a frame is dumped every ``frame_ps``.

Under a thermostat (NVT) coexistence at constant volume holds only very near the melting point at
that density: in a 120 ps NVT run at 1300 K the melt of this system crystallised, at 1320 K the slab
melted. At constant energy the interface stabilises itself: crystallisation releases latent heat
and melting absorbs it, so the temperature settles at the melting point of that density, and the
mean production temperature (``temperature_<segment>.npy``, sampled every few frames) measures
it. :func:`solid_fraction` checks that the interface is stable: each frame
also stores the ten Wolde–Frenkel count of solid-like bonds of every atom (LAMMPS ``compute
coord/atom orientorder`` on normalised q6 vectors, bond when the dot product exceeds 0.5), and an
atom with at least ``SOLID_BONDS`` such bonds is solid.

Outputs in the cache folder (keyed by a hash of the parameters), per production segment
(``train``, ``test``): ``dump_<segment>.lammpstrj`` (id, element, x, y, z of every frame, sorted by
id), ``solid_bonds_<segment>.npy`` ``(F, N)`` int8 solid-bond counts, ``temperature_<segment>.npy``
(K); and ``data.lmp`` (the first production frame as a LAMMPS data file), ``log.lammps``,
``params.json``.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..files import writes
from ..files.cache_root import cache_root
from ..base.errors import GdynetError, exception_summary
from ..base.progress import progress_bar
from ..trajectory.targets import select_targets

#: version of the MD protocol below; part of the cache key, so a changed protocol never reuses old data
PROTOCOL = 5
#: the production is cut into these consecutive segments, one dump each (train on the first, analyse the second)
SEGMENTS = ("train", "test")
#: an atom with at least this many solid-like bonds (of its neighbours within ``BOND_CUTOFF_A``) is solid
SOLID_BONDS = 7
#: neighbour cutoff of the q6 bond-order analysis (between the first and second FCC shells at ~1300 K), Å
BOND_CUTOFF_A = 3.4
#: normalised q6 dot product above which a bond is solid-like (ten Wolde, Ruiz-Montero & Frenkel 1996)
BOND_THRESHOLD = 0.5


@dataclass(frozen=True)
class InterfaceParams:
    """Everything that defines one interface trajectory (and its cache key).

    ``cells``: FCC unit cells along x, y, z (4 atoms each); ``lattice_A``: starting lattice constant
    (the NPT stage adjusts it); times in ps, MD step in fs.
    """

    potential: str = "Cu_mishin1.eam.alloy"
    element: str = "Cu"
    mass_amu: float = 63.546
    lattice_A: float = 3.615
    cells: tuple[int, int, int] = (6, 6, 16)
    temperature_K: float = 1310.0
    melt_K: float = 2500.0
    timestep_fs: float = 4.0
    crystal_ps: float = 10.0
    melt_ps: float = 10.0
    cool_ps: float = 5.0
    relax_ps: float = 10.0
    production_ps: float = 200.0
    frame_ps: float = 0.2
    seed: int = 12345

    def key(self) -> str:
        """A short hash of the parameters: the name of the cache folder."""
        text = json.dumps({**asdict(self), "protocol": PROTOCOL}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def steps(self, ps: float) -> int:
        return max(1, round(ps * 1000.0 / self.timestep_fs))

    @property
    def frames_per_segment(self) -> int:
        """Frame intervals in each production segment (the segment holds one frame more)."""
        return self.steps(self.production_ps / len(SEGMENTS)) // self.steps(self.frame_ps)

    @property
    def n_atoms(self) -> int:
        return 4 * int(np.prod(self.cells))


@dataclass(frozen=True)
class InterfaceData:
    """Files of one generated interface trajectory (``folder`` holds them all)."""

    folder: Path
    params: InterfaceParams

    def dump(self, segment: str) -> Path:
        """The LAMMPS dump of one production segment (``"train"`` or ``"test"``)."""
        return self.folder / f"dump_{segment}.lammpstrj"

    @property
    def data_file(self) -> Path:
        """The first production frame as a LAMMPS data file (atom style atomic)."""
        return self.folder / "data.lmp"

    def solid_bonds(self, segment: str) -> np.ndarray:
        """``(F, N)`` solid-like bond counts of every atom in every frame of one segment."""
        return np.load(self.folder / f"solid_bonds_{segment}.npy")

    def temperature(self, segment: str) -> np.ndarray:
        """Temperatures (K) of one NVE production segment, sampled every few frames."""
        return np.load(self.folder / f"temperature_{segment}.npy")

    def solid(self, segment: str) -> np.ndarray:
        """``(F, N)`` bool: the atom is solid (at least ``SOLID_BONDS`` solid-like bonds)."""
        return self.solid_bonds(segment) >= SOLID_BONDS


def solid_fraction(solid: np.ndarray) -> np.ndarray:
    """Fraction of solid atoms in each frame: ``(F, N)`` bool -> ``(F,)``."""
    return np.asarray(solid, dtype=float).mean(axis=1)


def generate_interface(params: InterfaceParams = InterfaceParams(), *, cache_dir: str | Path | None = None,
                       progress: bool = True) -> InterfaceData:
    """Run the MD (or reuse the cached result of the same ``params``) and return its files.

    The cache is ``cache_dir`` or ``cache_root("examples")``, one folder per parameter hash; a
    folder is complete once ``params.json`` exists (written last), so a killed run starts over.
    """
    folder = cache_root("examples", cache_dir) / f"interface-{params.key()}"
    data = InterfaceData(folder, params)
    if (folder / "params.json").is_file():
        return data
    if folder.exists():
        shutil.rmtree(folder)
    work = folder.with_name(folder.name + ".part")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _run_md(params, work, progress)
    writes.write_json(work / "params.json", asdict(params))
    work.rename(folder)
    return data


def _run_md(params: InterfaceParams, work: Path, progress: bool) -> None:
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

    from .lammps_engine import potential_file, start_lammps

    lmp = start_lammps(log=work / "log.lammps")
    try:
        lmp.commands_string(_setup_script(params, potential_file(params.potential)))
        chunk = max(1, params.frames_per_segment // 25) * params.steps(params.frame_ps)
        bar = progress_bar(TextColumn("LAMMPS {task.description}"), BarColumn(), TimeRemainingColumn(),
                           enabled=progress)
        with bar:
            stages = _stage_scripts(params)
            total = sum(params.steps(ps) for _, ps in stages) + params.steps(params.production_ps)
            task = bar.add_task("equilibration", total=total)
            for commands, ps in stages:
                lmp.commands_string(commands)
                bar.advance(task, params.steps(ps))
            bar.update(task, description="production")
            lmp.commands_string(_production_script(params, work))
            every = params.steps(params.frame_ps)
            for i, name in enumerate(SEGMENTS):
                if i:                       # one frame spacing apart, so no frame is in both files
                    lmp.command(f"run {every} pre no post no")
                    bar.advance(task, every)
                lmp.commands_string(_dump_script(params, work, name))
                done, target, temperatures = 0, params.frames_per_segment * every, []
                while done < target:
                    step = min(chunk, target - done)
                    lmp.command(f"run {step} pre {'no' if done else 'yes'} post no")
                    temperatures.append(lmp.get_thermo("temp"))
                    done += step
                    bar.advance(task, step)
                writes.save_npy(work / f"temperature_{name}.npy", np.asarray(temperatures))
                lmp.command("undump traj")
                lmp.command("undump bonds")
    except Exception as exc:            # LAMMPS raises plain Exception with its ERROR line
        raise GdynetError(f"LAMMPS failed ({exception_summary(exc)}); its log is here", work / "log.lammps") from None
    finally:
        lmp.close()
    for name in SEGMENTS:
        bonds = _read_bond_dump(work / f"bonds_{name}.dump", params.n_atoms)
        writes.save_npy(work / f"solid_bonds_{name}.npy", bonds)
        (work / f"bonds_{name}.dump").unlink()


def _setup_script(params: InterfaceParams, potential: Path) -> str:
    nx, ny, nz = params.cells
    return f"""
units metal
boundary p p p
atom_style atomic
lattice fcc {params.lattice_A}
region box block 0 {nx} 0 {ny} 0 {nz}
create_box 1 box
create_atoms 1 box
mass 1 {params.mass_amu}
pair_style eam/alloy
pair_coeff * * {potential} {params.element}
neighbor 1.0 bin
timestep {params.timestep_fs / 1000.0}
compute q6 all orientorder/atom degrees 1 6 components 6 nnn NULL cutoff {BOND_CUTOFF_A}
compute bonds all coord/atom orientorder q6 {BOND_THRESHOLD}
variable solid atom c_bonds>={SOLID_BONDS}
compute n_solid all reduce sum v_solid
thermo {params.steps(1.0)}
thermo_style custom step temp press pe lx ly lz c_n_solid
velocity all create {params.temperature_K} {params.seed} dist gaussian mom yes rot yes
"""


def _stage_scripts(params: InterfaceParams) -> list[tuple[str, float]]:
    """The equilibration stages 1-3 of the module docstring, as (LAMMPS commands, duration in ps)."""
    T, Tm = params.temperature_K, params.melt_K
    damp_T, damp_P = 0.1, 1.0
    return [
        (f"""
fix eq all npt temp {T} {T} {damp_T} iso 0.0 0.0 {damp_P}
run {params.steps(params.crystal_ps)}
unfix eq
""", params.crystal_ps),
        (f"""
variable zmid equal 0.5*(zlo+zhi)
region upper block INF INF INF INF ${{zmid}} INF units box
group liquid region upper
group solid subtract all liquid
velocity liquid create {Tm} {params.seed + 1} dist gaussian mom yes rot yes
fix hot liquid nvt temp {Tm} {Tm} {damp_T}
fix cold solid nvt temp {T} {T} {damp_T}
run {params.steps(params.melt_ps)}
unfix hot
compute t_liquid liquid temp
fix hot liquid npt temp {T} {T} {damp_T} z 0.0 0.0 {damp_P} dilate liquid
fix_modify hot temp t_liquid
run {params.steps(params.cool_ps)}
unfix hot
unfix cold
""", params.melt_ps + params.cool_ps),
        (f"""
fix eq all npt temp {T} {T} {damp_T} z 0.0 0.0 {damp_P}
run {params.steps(params.relax_ps)}
unfix eq
""", params.relax_ps),
    ]


def _production_script(params: InterfaceParams, work: Path) -> str:
    return f"""
reset_timestep 0
write_data {work / 'data.lmp'}
fix prod all nve
"""


def _dump_script(params: InterfaceParams, work: Path, segment: str) -> str:
    every = params.steps(params.frame_ps)
    return f"""
dump traj all custom {every} {work / f'dump_{segment}.lammpstrj'} id element x y z
dump_modify traj sort id element {params.element}
dump bonds all custom {every} {work / f'bonds_{segment}.dump'} id c_bonds
dump_modify bonds sort id
"""


def _read_bond_dump(path: Path, n_atoms: int) -> np.ndarray:
    """The ``(F, N)`` solid-bond counts of a LAMMPS dump with columns ``id c_bonds`` (sorted by id)."""
    rows = []
    with open(path) as handle:
        lines = handle.read().splitlines()
    block = 9 + n_atoms
    if len(lines) % block:
        raise GdynetError(f"unexpected LAMMPS dump layout ({len(lines)} lines, {n_atoms} atoms)", path)
    for start in range(0, len(lines), block):
        values = np.array([line.split()[1] for line in lines[start + 9:start + block]], dtype=float)
        rows.append(values.astype(np.int8))
    return np.stack(rows)


# ----------------------------------------------------------------------------- its science
#: bins of the profiles along the interface normal, Å
PROFILE_BIN_A = 0.5
#: core sets of the structure-label reference (milestoning): an atom is solid from the frame it has at
#: least CORE_SOLID_BONDS solid-like bonds until the frame it has at most CORE_LIQUID_BONDS, and so on
CORE_SOLID_BONDS, CORE_LIQUID_BONDS = 10, 3


def first_frame(dump: Path) -> tuple[np.ndarray, np.ndarray]:
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


def selected_atoms(dump: Path, spec: str, element: str) -> np.ndarray:
    """Indices of the atoms that the target ``spec`` selects on the first frame of ``dump``."""
    from ase.data import atomic_numbers

    positions, cell = first_frame(dump)
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
                        params: InterfaceParams, lags: Sequence[str | int]) -> dict[str, Any]:
    """Compare the learned states (``chi`` of the held-out segment) with the solid/liquid labels.

    Returns ``states`` (per state: population, mean solid label, mean distance from the slab centre
    in Å), ``profile`` (density of each state vs distance from the slab centre), and ``labels``
    (the structure-label Markov model: solid fraction of the targets, implied timescales at the
    ``lags``, times or frames).
    """
    from ..analysis.order_labels import core_set_labels, label_timescales
    from ..base.units import lag_to_frames

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
    lags = sorted({lag_to_frames(x, params.frame_ps) for x in lags if lag_to_frames(x, params.frame_ps) < n - 1})
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
