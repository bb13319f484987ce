"""Graph-building throughput: gdynet vs the original GDyNet route (pymatgen) vs raw vesin.

    OMP_NUM_THREADS=1 python benchmarks/bench_graphs.py            # default run, ~1-2 min on 2 cores
    python benchmarks/bench_graphs.py --sizes 256 1024 --m 12 --kernels-only

Systems: liquid-like dense packings (a simple-cubic lattice jittered by 0.15 spacings, new noise
every frame, atoms in random order), 0.08 atoms/Å^3, in a cubic and a triclinic cell.

Columns (throughput in atom-frames per second, single process unless stated):

* ``gdynet.neighbors`` -- the kernel on a ``(F, N, 3)`` array (numba cell list; ``k-d tree`` is
  the fallback used when numba is not installed);
* ``build_graphs`` -- end to end into a fresh on-disk store (fingerprint, memmap writes), 1 worker;
* ``vesin raw`` -- only ``vesin.NeighborList(full_list=True, n_threads=1).compute`` per frame at
  ``r_min``, the smallest cutoff that gives every atom ``m`` neighbours (known here from our
  result, so vesin is not charged for guessing it, nor for any per-atom sort);
* ``original`` -- the original GDyNet ``direct`` route, rewritten: one pymatgen ``IStructure`` per
  frame, ``get_all_neighbors(r=7 Å)`` (its default radius), sort every atom's list, keep ``m``.
  Run on one frame for ``N <= --pymatgen-max-atoms``; above that its per atom-frame cost at the
  largest measured ``N`` is used (marked ``~``; pymatgen's cost per atom is flat in ``N``).
  ``original@r_min`` is the same route at ``r_min`` (a lower bound for it).

A second table (``--kernels``) times one frame with every periodic kNN candidate.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Callable

import numpy as np

from gdynet import Trajectory
from gdynet.graphs import build_graphs
import gdynet.graphs.neighbors as neighbors_module
from gdynet.graphs.neighbors import cutoff_estimate, neighbors

DENSITY = 0.08  # atoms / Å^3
ORIGINAL_RADIUS = 7.0  # Å, default of the original GDyNet preprocessing


def make_system(n_atoms: int, n_frames: int, triclinic: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``positions (F, N, 3)`` and ``cells (F, 3, 3)`` (rows = lattice vectors, lower-triangular)."""
    rng = np.random.default_rng(seed)
    shape = np.array([[1.0, 0, 0], [0.3, 0.95, 0], [0.2, -0.25, 0.9]]) if triclinic else np.eye(3)
    cell = shape * (n_atoms / DENSITY / abs(np.linalg.det(shape))) ** (1 / 3)
    side = int(np.ceil(n_atoms ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    grid = grid[rng.permutation(len(grid))[:n_atoms]] / side
    frac = grid[None] + rng.normal(0, 0.15 / side, (n_frames, n_atoms, 3))
    return frac @ cell, np.broadcast_to(cell, (n_frames, 3, 3)).copy()


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """Fastest wall time of ``repeats`` runs, in s."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def kdtree_fallback(pos: np.ndarray, cells: np.ndarray, m: int) -> None:
    """``gdynet.neighbors`` as it runs without numba (scipy k-d tree kernel)."""
    numba, neighbors_module.numba = neighbors_module.numba, None
    try:
        neighbors(pos, cells, m)
    finally:
        neighbors_module.numba = numba


def vesin_raw(pos: np.ndarray, cells: np.ndarray, cutoff: float) -> None:
    from vesin import NeighborList

    nl = NeighborList(cutoff=cutoff, full_list=True, n_threads=1)
    for f in range(len(pos)):
        nl.compute(pos[f], cells[f], True, "ijd")


def original_route(pos: np.ndarray, cells: np.ndarray, m: int, radius: float) -> np.ndarray:
    """pymatgen per frame: all neighbours within ``radius``, sorted per atom, ``m`` nearest kept."""
    from pymatgen.core import IStructure

    out = []
    for f in range(len(pos)):
        crystal = IStructure(cells[f], ["Li"] * pos.shape[1], pos[f], coords_are_cartesian=True)
        rows = [sorted(found, key=lambda n: n.nn_distance)[:m] for found in crystal.get_all_neighbors(radius)]
        out.append([[n.index for n in row] for row in rows])
    return np.array(out)


def r_min(dist: np.ndarray) -> float:
    """Smallest cutoff (strictly above the largest m-th distance) giving every atom m neighbours."""
    return float(np.nextafter(dist[..., -1].max(), np.inf)) * (1 + 1e-9)


def throughput_table(args: argparse.Namespace) -> list[str]:
    rows = ["| cell | N | m | frames | gdynet.neighbors | k-d tree fallback | build_graphs | vesin raw @ r_min "
            "| original (r=7 Å) | original @ r_min | µs / atom-frame (ours) | ours / original | ours / vesin raw |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for triclinic in (False, True):
        pmg_cost: dict[int, float] = {}  # s per atom-frame at r = 7 Å, by m
        for n_atoms in args.sizes:
            n_frames = max(2, args.atom_frames // n_atoms)
            pos, cells = make_system(n_atoms, n_frames, triclinic)
            for m in args.m:
                t_ours = best_of(args.repeats, lambda: neighbors(pos, cells, m))
                t_kdtree = best_of(args.repeats, lambda: kdtree_fallback(pos, cells, m))
                dist = neighbors(pos[:1], cells[:1], m)[1]
                cutoff = r_min(neighbors(pos, cells, m)[1])
                t_vesin = best_of(args.repeats, lambda: vesin_raw(pos, cells, cutoff))
                traj = Trajectory(pos, cells, np.full(n_atoms, 3), dt_ps=1.0, targets=np.arange(4))
                with tempfile.TemporaryDirectory() as tmp:
                    t_build = best_of(1, lambda: build_graphs(traj, m, tmp, workers=1, progress=False))
                af = n_atoms * n_frames
                original, original_rmin = "—", "—"
                if n_atoms <= args.pymatgen_max_atoms:
                    t7 = best_of(1, lambda: original_route(pos[:1], cells[:1], m, ORIGINAL_RADIUS)) / n_atoms
                    pmg_cost[m] = t7
                    t_rmin = best_of(1, lambda: original_route(pos[:1], cells[:1], m, r_min(dist))) / n_atoms
                    original, original_rmin = f"{1 / t7:,.0f}", f"{1 / t_rmin:,.0f}"
                elif m in pmg_cost:
                    original = f"~{1 / pmg_cost[m]:,.0f}"
                ratio = f"{pmg_cost[m] * af / t_ours:,.0f}×" if m in pmg_cost else "—"
                if m in pmg_cost and n_atoms > args.pymatgen_max_atoms:
                    ratio = "~" + ratio
                rows.append(f"| {'triclinic' if triclinic else 'cubic'} | {n_atoms} | {m} | {n_frames} "
                            f"| {af / t_ours:,.0f} | {af / t_kdtree:,.0f} | {af / t_build:,.0f} | {af / t_vesin:,.0f} "
                            f"| {original} | {original_rmin} | {t_ours / af * 1e6:.2f} | {ratio} | {t_vesin / t_ours:.2f} |")
                print(rows[-1], file=sys.stderr, flush=True)
    return rows


def parallel_table(args: argparse.Namespace) -> list[str]:
    """build_graphs with 1 and 2 workers on the largest size (triclinic, m = 12)."""
    n_atoms = max(args.sizes)
    n_frames = max(8, 4 * args.atom_frames // n_atoms)
    pos, cells = make_system(n_atoms, n_frames, True)
    traj = Trajectory(pos, cells, np.full(n_atoms, 3), dt_ps=1.0, targets=np.arange(4))
    traj.fingerprint()  # hashed once, outside both timings
    rows = ["| workers | N | frames | build_graphs atom-frames/s |", "|---|---|---|---|"]
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            t = best_of(1, lambda: build_graphs(traj, 12, tmp, workers=workers, progress=False))
        rows.append(f"| {workers} | {n_atoms} | {n_frames} | {n_atoms * n_frames / t:,.0f} |")
    return rows


def kernels_table(n_atoms: int = 4096, m: int = 12, n_frames: int = 2) -> list[str]:
    """One periodic kNN (or cutoff list at r_min) per library, triclinic cell, per atom-frame cost."""
    pos, cells = make_system(n_atoms, n_frames, True)
    cutoff = r_min(neighbors(pos, cells, m)[1])
    af = n_atoms * n_frames

    def freud_knn() -> None:  # minimum image only: needs cells wider than twice the kNN radius
        import freud

        box = freud.box.Box.from_matrix(cells[0].T)
        for f in range(n_frames):
            x = box.wrap(pos[f].astype(np.float32))
            freud.locality.AABBQuery(box, x).query(x, {"num_neighbors": m, "exclude_ii": True}).toNeighborList()

    def matscipy_list() -> None:
        from matscipy.neighbours import neighbour_list

        for f in range(n_frames):
            neighbour_list("ijd", positions=pos[f], cell=cells[f], pbc=[True] * 3, cutoff=cutoff)

    def mdanalysis_list() -> None:  # half list, minimum image
        from MDAnalysis.lib.distances import self_capped_distance
        from MDAnalysis.lib.mdamath import triclinic_box

        for f in range(n_frames):
            self_capped_distance(pos[f].astype(np.float32), cutoff, box=triclinic_box(*cells[f].astype(np.float32)))

    def vesin_then_select() -> None:  # an exact route on vesin: sorted full list, per-row partial sort
        from vesin import NeighborList

        nl = NeighborList(cutoff=1.3 * cutoff_estimate(n_atoms, abs(np.linalg.det(cells[0])), m), full_list=True,
                          sorted=True, n_threads=1)
        for f in range(n_frames):
            i, j, d = nl.compute(pos[f], cells[f], True, "ijd")
            counts = np.bincount(i, minlength=n_atoms)
            starts = np.cumsum(counts) - counts
            dense = np.full((n_atoms, counts.max()), np.inf)
            dense[i, np.arange(len(i)) - starts[i]] = d
            part = np.argpartition(dense, m - 1, axis=1)[:, :m]
            order = np.argsort(np.take_along_axis(dense, part, 1), axis=1)
            j[starts[:, None] + np.take_along_axis(part, order, 1)]

    candidates: dict[str, Callable[[], object]] = {
        "gdynet.neighbors (numba cell list; exact m-NN, sorted rows)": lambda: neighbors(pos, cells, m),
        "gdynet.neighbors without numba (scipy cKDTree, padded images)": lambda: kdtree_fallback(pos, cells, m),
        "vesin cutoff list @ r_min (no m-NN selection)": lambda: vesin_raw(pos, cells, cutoff),
        "vesin sorted list @ 1.3 r0 + numpy per-row m-NN selection (no retry)": vesin_then_select,
        "matscipy neighbour_list @ r_min (no selection)": matscipy_list,
        "MDAnalysis self_capped_distance @ r_min (half list, min image)": mdanalysis_list,
        "freud AABBQuery num_neighbors=m (min image only)": freud_knn,
        "pymatgen get_all_neighbors @ r_min + sort (1 frame)": lambda: original_route(pos[:1], cells[:1], m, cutoff),
    }
    rows = [f"| kernel (N={n_atoms}, m={m}, triclinic) | µs / atom-frame |", "|---|---|"]
    for name, run in candidates.items():
        try:
            run()  # warm up (imports, JIT)
            t = best_of(3, run) / (n_atoms if name.startswith("pymatgen") else af)
            rows.append(f"| {name} | {t * 1e6:.2f} |")
        except ImportError as exc:
            rows.append(f"| {name} | not installed ({exc.name}) |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--m", type=int, nargs="+", default=[12, 20])
    parser.add_argument("--atom-frames", type=int, default=65536, help="atom-frames per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pymatgen-max-atoms", type=int, default=1024)
    parser.add_argument("--kernels-only", action="store_true")
    args = parser.parse_args()
    neighbors(*make_system(64, 1, True), 12)  # compile the numba kernel (or load it from its cache)
    start = time.perf_counter()
    print(f"Machine: {machine()}; command: `{' '.join(['python'] + sys.argv)}`"
          f" (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})\n")
    if not args.kernels_only:
        print("\n".join(throughput_table(args)) + "\n")
        print("\n".join(parallel_table(args)) + "\n")
    print("\n".join(kernels_table()) + "\n")
    print(f"(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
