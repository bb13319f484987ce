"""Synthetic test systems for the training-scale benchmarks (issue 13), physical-ish and reproducible.

Both are FCC crystals (a = 4.0 Å, 0.0625 atoms/Å^3, 12 neighbours at 2.83 Å) in a periodic cubic or
slab cell, with Gaussian thermal vibration (fresh every frame) plus random-walk motion:

* ``interface`` (default 1,536 atoms = 8 x 8 x 6 cells, every atom a target): a solid-liquid
  interface. Atoms in the lower half of the box vibrate around their sites (0.12 Å); atoms in the
  upper half vibrate strongly (0.45 Å) and drift by a random walk (0.08 Å per frame, folded back
  into the cell), so the targets visit solid-like and liquid-like environments.
* ``ionic`` (default ~20,000 atoms = 17^3 cells, ~1,000 targets): a host lattice of O (Z = 8) with
  every 20th site a Li (Z = 3) target that hops between neighbouring sites: each frame a Li jumps
  to a random nearest site with probability 2 %, otherwise it vibrates (0.15 Å).

``make_system(name, frames=..., seed=...)`` returns a :class:`gdynet.Trajectory` (dt = 0.1 ps,
positions float32 in memory), the same for the same arguments with any gdynet version that has
``Trajectory(positions, cells, numbers, dt_ps, targets, source)``.

* ``write_large_dump`` (issue 26): 100,000 atoms at a liquid-like 0.0625 atoms/Å^3 in a periodic cube
  (117 Å), 1,000 Li (type 1, the targets) among S (type 2), uniformly random start positions and a
  random walk of 0.05 Å per coordinate per frame, written as a LAMMPS text dump (``id type x y z``,
  3 decimals, ~2.9 MB per frame, 1.2 GB for 400 frames) for the memory benchmark of ``gdynet fit``.

    python benchmarks/systems.py            # prints both systems
    python benchmarks/systems.py --dump /tmp/mem/large.dump [--frames 400]
"""
from __future__ import annotations

import numpy as np

#: FCC lattice constant in Å
A_FCC = 4.0
SYSTEMS = ("interface", "ionic")


def fcc_sites(nx: int, ny: int, nz: int, a: float = A_FCC) -> np.ndarray:
    """(4 nx ny nz, 3) FCC lattice sites in Å, in an ``nx a x ny a x nz a`` box."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"), -1).reshape(-1, 3)
    return ((grid[:, None, :] + basis[None]) * a).reshape(-1, 3)


def interface(frames: int = 400, cells: tuple[int, int, int] = (8, 8, 6), seed: int = 0):
    """Solid-liquid slab, every atom a target (see the module docstring)."""
    from gdynet.trajectory.core import Trajectory

    rng = np.random.default_rng(seed)
    sites = fcc_sites(*cells)
    box = np.array(cells, dtype=float) * A_FCC
    liquid = sites[:, 2] >= box[2] / 2
    sigma = np.where(liquid, 0.45, 0.12)[:, None]
    drift = np.zeros_like(sites)
    pos = np.empty((frames, len(sites), 3), dtype=np.float32)
    for f in range(frames):
        drift[liquid] += rng.normal(0.0, 0.08, (int(liquid.sum()), 3))
        pos[f] = np.mod(sites + drift + rng.normal(0.0, 1.0, sites.shape) * sigma, box)
    numbers = np.full(len(sites), 14, dtype=np.int64)  # Si
    return Trajectory(positions=pos, cells=np.diag(box), numbers=numbers, dt_ps=0.1,
                      targets=np.arange(len(sites))[:, None], source=f"synthetic interface {len(sites)} atoms")


def ionic(frames: int = 300, cells: tuple[int, int, int] = (17, 17, 17), every: int = 20, seed: int = 0):
    """Host lattice with hopping Li targets on every ``every``-th site (see the module docstring)."""
    from gdynet.trajectory.core import Trajectory

    rng = np.random.default_rng(seed)
    sites = fcc_sites(*cells)
    box = np.array(cells, dtype=float) * A_FCC
    li = np.arange(0, len(sites), every)
    numbers = np.full(len(sites), 8, dtype=np.int64)
    numbers[li] = 3
    # the 12 nearest-site jump vectors of FCC
    jumps = np.array([[i, j, 0] for i in (-.5, .5) for j in (-.5, .5)]
                     + [[i, 0, k] for i in (-.5, .5) for k in (-.5, .5)]
                     + [[0, j, k] for j in (-.5, .5) for k in (-.5, .5)]) * A_FCC
    home = sites[li].copy()
    pos = np.empty((frames, len(sites), 3), dtype=np.float32)
    for f in range(frames):
        hop = rng.random(len(li)) < 0.02
        home[hop] += jumps[rng.integers(0, 12, int(hop.sum()))]
        frame = sites + rng.normal(0.0, 0.1, sites.shape)
        frame[li] = home + rng.normal(0.0, 0.15, (len(li), 3))
        pos[f] = np.mod(frame, box)
    return Trajectory(positions=pos, cells=np.diag(box), numbers=numbers, dt_ps=0.1, targets=li[:, None],
                      source=f"synthetic ionic {len(sites)} atoms")


def make_system(name: str, **kwargs):
    """``interface`` or ``ionic`` with keyword overrides (frames, cells, seed, ...)."""
    if name not in SYSTEMS:
        raise ValueError(f"system must be one of {SYSTEMS}, got {name!r}")
    return {"interface": interface, "ionic": ionic}[name](**kwargs)


def write_large_dump(path, atoms: int = 100_000, targets: int = 1_000, frames: int = 400, seed: int = 0,
                     density: float = 0.0625, step: float = 0.05, every: int = 1):
    """Write the issue-26 system as a LAMMPS dump at ``path`` (see the module docstring); returns the path.

    Atoms 1..``targets`` are type 1 (Li), the rest type 2 (S); TIMESTEP advances by ``every`` per frame.
    Positions are in Å, wrapped into the box. About 0.3 s per 100,000-atom frame.
    """
    from pathlib import Path

    path = Path(path)
    rng = np.random.default_rng(seed)
    box = (atoms / density) ** (1.0 / 3.0)
    pos = rng.uniform(0.0, box, (atoms, 3))
    ids = np.arange(1, atoms + 1)
    types = np.where(ids <= targets, 1, 2)
    line = "%d %d %.3f %.3f %.3f\n" * atoms
    with path.open("w") as fh:
        for f in range(frames):
            fh.write(f"ITEM: TIMESTEP\n{f * every}\nITEM: NUMBER OF ATOMS\n{atoms}\n"
                     f"ITEM: BOX BOUNDS pp pp pp\n" + f"0.0 {box:.6f}\n" * 3 + "ITEM: ATOMS id type x y z\n")
            table = np.empty((atoms, 5), dtype=object)
            table[:, 0], table[:, 1] = ids, types
            table[:, 2:] = np.mod(pos, box)
            fh.write(line % tuple(table.ravel()))
            pos += rng.normal(0.0, step, pos.shape)
    return path


if __name__ == "__main__":
    import sys

    if "--dump" in sys.argv:
        n = int(sys.argv[sys.argv.index("--frames") + 1]) if "--frames" in sys.argv else 400
        print(write_large_dump(sys.argv[sys.argv.index("--dump") + 1], frames=n))
    else:
        for system in SYSTEMS:
            print(system, make_system(system, frames=4))
