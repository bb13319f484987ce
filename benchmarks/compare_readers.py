"""gdynet's readers against MDAnalysis on every multi-frame periodic trajectory of ``MDAnalysisTests``.

For each (trajectory, topology) pair gdynet's ``read_trajectory`` and an MDAnalysis ``Universe`` read
the same file; compared are the positions (Å, atoms gdynet keeps), the cells (Å), the elements
(where MDAnalysis states them) and the frame spacing (ps; for LAMMPS files MDAnalysis' step numbers
x the MD step). Positions are compared modulo the cell and up to one translation per frame, which
is reported: MDAnalysis subtracts the box origin from a dump's *scaled* coordinates too (x = lo +
xs L, so it shifts the whole frame by -lo), where gdynet gives x - lo = xs L.

Usage: ``python benchmarks/compare_readers.py [--quick]`` (needs ``pip install MDAnalysisTests``);
prints one row per file and exits with status 1 if any comparison fails.
"""
from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: (name, trajectory constant, topology constant or None, read_trajectory keywords, MDAnalysis keywords)
CASES: list[tuple[str, str, str | None, dict[str, Any], dict[str, Any]]] = [
    ("CHARMM DCD triclinic", "DCD_TRICLINIC", "PSF_TRICLINIC", {}, {}),
    ("LAMMPS DCD + data", "LAMMPSdcd2", "LAMMPSdata2", {"timestep": "2fs"}, {"format": "LAMMPS"}),
    ("GROMACS XTC + GRO (TIP4P)", "XTC", "GRO", {}, {}),
    ("GROMACS XTC + TPR (TIP4P)", "XTC", "TPR", {}, {}),
    ("GROMACS TRR + TPR (TIP4P)", "TRR", "TPR", {}, {}),
    ("cobrotoxin XTC + TPR", "XTC_sub_sol", "TPR_xvf", {}, {}),
    ("cobrotoxin TRR + TPR", "TRR_xvf", "TPR_xvf", {}, {}),
    ("XTC + TPR (aux_edr)", "AUX_EDR_XTC", "AUX_EDR_TPR", {}, {}),
    ("membrane XTC + GRO (zinc dummies excluded)", "XTC_MEMPROT", "GRO_MEMPROT", {"exclude": "name DM*"}, {}),
    ("AMBER NetCDF + PRMTOP (times all 0)", "NCDF", "PRMncdf", {"dt": "1ps"}, {}),
    ("AMBER NetCDF truncated octahedron (times all 0)", "NCDFtruncoct", "PRM7", {"dt": "1ps"}, {}),
    ("AMBER NetCDF water box", "TRJ_NCBOX", "PRM_NCBOX", {}, {}),
    ("AMBER mdcrd.bz2 with box", "TRJpbc_bz2", "PRMpbc", {"dt": "1ps"}, {}),
    ("LAMMPS dump water (bz2)", "LAMMPSDUMP", None, {"timestep": "1fs", "type_map": "1=O,2=H"}, {}),
    ("LAMMPS dump SPC/E all coordinates (bz2)", "LAMMPSDUMP_allcoords", None,
     {"timestep": "1fs", "type_map": "1=O,2=H"}, {}),
    ("LAMMPS dump image flags", "LAMMPSDUMP_image_vf", None, {"timestep": "1fs", "type_map": "1=O,2=H"}, {}),
    ("LAMMPS dump + data (chain)", "LAMMPSDUMP_chain1", "LAMMPS_chain", {"timestep": "1fs"}, {}),
]
QUICK = {"CHARMM DCD triclinic", "LAMMPS DCD + data", "cobrotoxin XTC + TPR", "LAMMPS dump water (bz2)",
         "AMBER NetCDF water box", "LAMMPS dump + data (chain)"}
#: positions agree to this many Å (MDAnalysis keeps float32 for binary formats)
POSITION_TOL = 1e-4


@dataclass
class Row:
    name: str
    frames: int = 0
    atoms: int = 0
    dropped: int = 0
    position_err: float = float("nan")
    shift: float = 0.0
    cell_err: float = float("nan")
    elements_ok: str = "-"
    dt_gdynet: float = float("nan")
    dt_mda: float = float("nan")
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def compare(name: str, trajectory: str, topology: str | None, read_kwargs: dict[str, Any],
            mda_kwargs: dict[str, Any]) -> Row:
    """Read ``trajectory`` with gdynet and MDAnalysis and compare them (constants of MDAnalysisTests.datafiles)."""
    import MDAnalysis as mda
    import MDAnalysisTests.datafiles as data
    from MDAnalysis.lib.mdamath import triclinic_vectors

    from gdynet import read_trajectory

    row = Row(name)
    traj_path = getattr(data, trajectory)
    top_path = getattr(data, topology) if topology else None
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = read_trajectory(traj_path, topology=top_path, targets=[_first_kept(top_path, traj_path)],
                               **read_kwargs)
        row.seconds = time.perf_counter() - start
        if top_path is None:
            u = mda.Universe(traj_path, format="LAMMPSDUMP", topology_format="LAMMPSDUMP", **mda_kwargs)
        elif "lammpstrj" in traj_path:
            u = mda.Universe(top_path, traj_path, format="LAMMPSDUMP", **mda_kwargs)
        else:
            u = mda.Universe(top_path, traj_path, **mda_kwargs)
    keep = _kept_mask(u, traj.n_atoms)
    row.frames, row.atoms, row.dropped = traj.n_frames, traj.n_atoms, int((~keep).sum())
    if u.trajectory.n_frames != traj.n_frames:
        row.problems.append(f"{u.trajectory.n_frames} frames in MDAnalysis")
        return row
    pos_err, cell_err, shift, times, steps = 0.0, 0.0, 0.0, [], []
    for f, ts in enumerate(u.trajectory):
        cell = triclinic_vectors(ts.dimensions)
        cell_err = max(cell_err, float(np.abs(cell - traj.cells[f]).max()))
        delta = np.asarray(traj.positions[f], dtype=np.float64) - ts.positions[keep]
        frac = delta @ np.linalg.inv(cell)
        wrapped = (frac - np.round(frac)) @ cell
        offset = np.median(wrapped, axis=0)
        shift = max(shift, float(np.abs(offset).max()))
        frac = (wrapped - offset) @ np.linalg.inv(cell)
        pos_err = max(pos_err, float(np.abs((frac - np.round(frac)) @ cell).max()))
        times.append(ts.time)
        steps.append(ts.data.get("step", np.nan))
    row.position_err, row.cell_err, row.shift = pos_err, cell_err, shift
    row.dt_gdynet = traj.dt_ps
    if "timestep" in read_kwargs and "lammpstrj" in traj_path:
        from gdynet.base.units import parse_time

        row.dt_mda = float(np.diff(steps).mean()) * parse_time(read_kwargs["timestep"])
    elif mda_kwargs.get("format") == "LAMMPS":
        row.dt_mda = float(np.diff(times).mean())  # MDAnalysis' LAMMPS DCD reader assumes units real (fs)
    elif "dt" not in read_kwargs:
        row.dt_mda = float(np.diff(times).mean())
    row.elements_ok = _elements(u, keep, traj.numbers)
    if pos_err > POSITION_TOL:
        row.problems.append(f"positions differ by {pos_err:.2g} Å")
    if cell_err > POSITION_TOL:
        row.problems.append(f"cells differ by {cell_err:.2g} Å")
    if np.isfinite(row.dt_mda) and abs(row.dt_mda - row.dt_gdynet) > 1e-3 * row.dt_mda:
        row.problems.append(f"dt {row.dt_gdynet:g} vs {row.dt_mda:g} ps")
    if row.elements_ok.startswith("differ"):
        row.problems.append("elements " + row.elements_ok)
    return row


def _first_kept(top_path: str | None, traj_path: str) -> int:
    """Index of an atom with mass (a target gdynet accepts)."""
    if top_path is None:
        return 0
    import MDAnalysis as mda

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = mda.Universe(top_path, **({"topology_format": "DATA"} if top_path.endswith((".data", ".bz2")) and
                                      "lammps" in top_path else {}))
    return int(np.flatnonzero(u.atoms.masses > 0)[0]) if hasattr(u.atoms, "masses") else 0


def _kept_mask(u: Any, n_kept: int) -> np.ndarray:
    """Atoms gdynet keeps: all, or those MDAnalysis gives a mass (or a type other than DUMMY)."""
    if u.atoms.n_atoms == n_kept:
        return np.ones(n_kept, dtype=bool)
    keep = u.atoms.masses > 0
    if keep.sum() != n_kept and hasattr(u.atoms, "types"):
        keep = np.asarray(u.atoms.types) != "DUMMY"
    return keep


def _elements(u: Any, keep: np.ndarray, numbers: np.ndarray) -> str:
    from ase.data import atomic_numbers

    how = "equal"
    if not hasattr(u.atoms, "elements"):
        if not hasattr(u.atoms, "names") or set(np.asarray(u.atoms.names).astype(str)) <= {""}:
            return "-"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u.guess_TopologyAttrs(to_guess=["elements"])
        how = "equal to MDAnalysis' guess"
    stated = [str(e).strip().capitalize() for e in np.asarray(u.atoms.elements)[keep]]
    known = np.array([s in atomic_numbers and s != "X" for s in stated])
    if not known.any():
        return "-"
    expected = np.array([atomic_numbers[s] for s, k in zip(stated, known) if k])
    wrong = int((numbers[known] != expected).sum())
    return f"{how} ({int(known.sum())})" if wrong == 0 else f"differ ({wrong} of {int(known.sum())})"


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    rows = []
    for case in CASES:
        if quick and case[0] not in QUICK:
            continue
        try:
            rows.append(compare(*case))
        except Exception as exc:  # a reader failure is a row, not a crash
            rows.append(Row(case[0], problems=[f"{type(exc).__name__}: {str(exc)[-160:]}"]))
    print("| file | frames | atoms (left out) | max position diff (Å) | frame shift (Å) | max cell diff (Å) | "
          "elements | dt gdynet / MDAnalysis (ps) | gdynet read (s) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        verdict = "; ".join(r.problems) or "same"
        print(f"| {r.name} | {r.frames} | {r.atoms} ({r.dropped}) | {r.position_err:.1e} | {r.shift:.2g} | "
              f"{r.cell_err:.1e} | "
              f"{r.elements_ok} | {r.dt_gdynet:g} / {r.dt_mda:g} | {r.seconds:.2f} | {verdict} |")
    return 1 if any(r.problems for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
