"""The paper's toy system: one Li ion hopping between the sites of a frozen FCC S lattice.

Xie et al. (2019), Methods, "Lithium diffusion in the FCC lattice toy system": a cubic cell of
lattice parameter ``a = 6.5`` Å holds one Li and four frozen S atoms (FCC); the Li moves in the
potential of the S sublattice at constant temperature, and frames are stored every 0.1 ps. The Li
visits two kinds of sites: 8 tetrahedral sites (4 S neighbours at ``sqrt(3) a / 4``) and 4
octahedral sites (6 S neighbours at ``a / 2``), and the tet <-> oct hop is the only slow process.

Potential. The paper used a purely repulsive Born–Mayer term ``A exp(-r / rho)``. With it the
wide octahedral well always wins (for every ``rho`` in 0.08–0.2 Å with a tet -> oct barrier of at
least 3 kT, more than 96 % of the Boltzmann weight sits in octahedral sites), so the two states
would be very unbalanced. We add a London dispersion term (a Buckingham potential) which favours the
tetrahedral sites, whose S neighbours are closer, and truncate it with a shifted force at
``cutoff_A``::

    u(r)    = A exp(-r / rho) - C / r^6
    u_sf(r) = u(r) - u(r_c) - (r - r_c) u'(r_c)   for r < r_c, else 0
    V(x)    = sum over S images j of u_sf(|x - s_j|)

The defaults (A = 3600 eV, rho = 0.25 Å, C = 49.7 eV Å^6, r_c = 5.5 Å, 64 K as in the paper) put
the tetrahedral site 19.1 meV (3.5 kT) below the octahedral one, with barriers of 30.4 meV (5.5 kT,
tet -> oct) and 11.3 meV (2.0 kT, oct -> tet) at the shared S3 face; the wider octahedral well
makes up the energy difference, so the populations are about 54 % tet / 46 % oct, and the tet <->
oct relaxation time is about 30 ps (the paper's GDyNet found 42 ps; A = 3900 eV, C = 53.8 eV Å^6
give that). The Buckingham maximum of the pair term is 17 eV, so the Li never reaches the r^-6
collapse at short range.

Dynamics. Langevin dynamics (BAOAB splitting of Leimkuhler and Matthews) of the Li with mass
6.94 u; several independent replicas are integrated at once with vectorised numpy. Each replica is
one 5-atom periodic :class:`~gdynet.trajectory.core.Trajectory` (Li is atom 0 and the one target).

Ground truth. :func:`site_labels` assigns each frame to the nearest site centre (0 = tetrahedral,
1 = octahedral); :func:`reference_timescale` estimates the tet <-> oct relaxation time from a
two-state Markov model of core-set (milestoning) assignments, the independent reference that a
learned GDyNet timescale is compared against.

Units: Å, ps, eV, K, atomic mass units.
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from ase import units
from ase.data import atomic_masses

from ..base.errors import GdynetError
from ..base.progress import progress_bar
from ..trajectory.core import Trajectory
from ..trajectory.writers import write_extxyz, write_npz  # noqa: F401  (gdynet.datasets.toy's writers since 0.1)
from ..base.units import lag_to_frames

#: fractional coordinates of the four S atoms of the conventional FCC cell
S_FRACTIONAL = np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
#: the 8 tetrahedral sites (label 0)
TET_FRACTIONAL = np.array(list(itertools.product((0.25, 0.75), repeat=3)))
#: the 4 octahedral sites (label 1)
OCT_FRACTIONAL = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5], [0.5, 0.5, 0.5]])
#: atomic numbers of one replica: Li (the target, index 0) and four S
NUMBERS = np.array([3, 16, 16, 16, 16])
LI_MASS_AMU = float(atomic_masses[3])  # 6.94 u
#: 1 eV / (Å u) in Å / ps^2
_ACCEL = (units.fs * 1000.0) ** 2  # = 9648.5
_SITE_CHUNK = 200_000
#: random numbers (replica-steps) drawn at once by the integrator
_NOISE_BLOCK = 1_000_000


class LiSPotential:
    """Potential energy of one Li in the frozen FCC S lattice (periodic, cubic cell).

    ``V(x) = sum_j u_sf(|x - s_j|)`` over all S images ``s_j`` within ``cutoff_A``, with the
    shifted-force Buckingham pair term ``u_sf`` of the module docstring.

    Positions are first moved into the fundamental domain ``[0, a/2) x [0, a/2) x [0, a)`` of the
    FCC translations (``a/2 (1,0,1)``, ``a/2 (0,1,1)``, ``a (0,0,1)``), so one fixed table of S
    images serves every replica and no neighbour search is needed.

    Args:
        lattice_A: cubic lattice parameter ``a`` in Å.
        A_eV, rho_A: Born–Mayer repulsion ``A exp(-r / rho)`` (eV, Å).
        C_eV_A6: dispersion coefficient ``C`` of ``-C / r^6`` (eV Å^6); 0 gives pure Born–Mayer.
        cutoff_A: pair cut-off ``r_c`` in Å.
    """

    def __init__(self, lattice_A: float, A_eV: float, rho_A: float, C_eV_A6: float, cutoff_A: float) -> None:
        for name, value in (("lattice_A", lattice_A), ("A_eV", A_eV), ("rho_A", rho_A), ("cutoff_A", cutoff_A)):
            if not (math.isfinite(value) and value > 0):
                raise GdynetError(f"{name} must be a positive number, got {value!r}", "toy_li_fcc")
        if not (math.isfinite(C_eV_A6) and C_eV_A6 >= 0):
            raise GdynetError(f"C_eV_A6 must be a non-negative number, got {C_eV_A6!r}", "toy_li_fcc")
        self.a, self.A, self.rho, self.C, self.rc = lattice_A, A_eV, rho_A, C_eV_A6, cutoff_A
        self._urc = A_eV * math.exp(-cutoff_A / rho_A) - C_eV_A6 / cutoff_A**6
        self._durc = -A_eV / rho_A * math.exp(-cutoff_A / rho_A) + 6 * C_eV_A6 / cutoff_A**7
        n = int(math.ceil(cutoff_A / lattice_A)) + 1
        shifts = np.array(list(itertools.product(range(-n, n + 2), repeat=3)), dtype=float)
        images = (S_FRACTIONAL[None] + shifts[:, None]).reshape(-1, 3) * lattice_A
        upper = np.array([0.5, 0.5, 1.0]) * lattice_A
        gap = np.maximum(np.maximum(-images, images - upper), 0.0)  # distance to the domain box
        self.images = images[np.einsum("kj,kj->k", gap, gap) < cutoff_A**2]  # (K, 3) Å
        self._images_t = np.ascontiguousarray(self.images.T)
        self._images_sq = np.einsum("kj,kj->k", self.images, self.images)

    def _reduce(self, x: np.ndarray) -> np.ndarray:
        """Positions ``x`` (R, 3) Å moved by FCC translations into the fundamental domain."""
        u = x * (1.0 / self.a)
        shift = 0.5 * np.floor(2.0 * u[:, 0])
        u0, u2 = u[:, 0] - shift, u[:, 2] - shift
        shift = 0.5 * np.floor(2.0 * u[:, 1])
        u1 = u[:, 1] - shift
        u2 -= shift
        u2 -= np.floor(u2)
        return np.stack([u0, u1, u2], axis=1) * self.a

    def _distances(self, xr: np.ndarray) -> np.ndarray:
        """Distances (R, K) in Å from reduced positions ``xr`` (R, 3) to every S image, clipped at r_c.

        ``|x - s|^2 = |x|^2 - 2 x.s + |s|^2`` (one matrix product instead of an (R, K, 3) array).
        """
        r2 = xr @ self._images_t
        r2 *= -2.0
        r2 += self._images_sq
        r2 += np.einsum("rj,rj->r", xr, xr)[:, None]
        r = np.sqrt(r2, out=r2)
        return np.minimum(r, self.rc, out=r)

    def energy(self, x: np.ndarray) -> np.ndarray:
        """Potential energy ``V(x)`` in eV, shape ``(R,)``, of Li positions ``x`` (R, 3) in Å."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        r = self._distances(self._reduce(x))  # r = r_c contributes u_sf(r_c) = 0
        u = self.A * np.exp(-r / self.rho) - self.C / r**6 - self._urc - (r - self.rc) * self._durc
        return u.sum(axis=1)

    def forces(self, x: np.ndarray) -> np.ndarray:
        """Force ``-dV/dx`` in eV/Å, shape ``(R, 3)``, on Li positions ``x`` (R, 3) in Å.

        ``F = sum_j w_j (x - s_j)`` with ``w_j = -u_sf'(r_j) / r_j``, which vanishes at ``r_j = r_c``.
        """
        xr = self._reduce(x)
        r = self._distances(xr)
        w = np.exp(r * (-1.0 / self.rho))
        w *= self.A / self.rho
        w += self._durc
        w /= r
        inv8 = 1.0 / (r * r)
        inv8 *= inv8
        inv8 *= inv8
        inv8 *= 6.0 * self.C
        w -= inv8
        return xr * w.sum(axis=1)[:, None] - w @ self.images


@dataclass(frozen=True, eq=False)
class ToyData:
    """Output of :func:`toy_li_fcc`.

    Attributes:
        trajectories: one 5-atom :class:`Trajectory` per replica (Li = atom 0 = target, then 4 S).
        labels: per replica, ``(F,)`` int8 nearest-site labels of the Li (0 = tet, 1 = oct).
        params: every physical and numerical parameter used (units in the key names).
        kinetic_temperature_K: measured ``m <|v|^2> / (3 k_B)`` of the Li over the stored frames.
    """

    trajectories: list[Trajectory]
    labels: list[np.ndarray]
    params: dict = field(default_factory=dict)
    kinetic_temperature_K: float = float("nan")


def toy_li_fcc(n_trajectories: int = 8, n_frames: int = 10_000, *, dt_ps: float = 0.1,
               temperature_K: float = 64.0, lattice_A: float = 6.5, A_eV: float = 3600.0,
               rho_A: float = 0.25, C_eV_A6: float = 49.7, cutoff_A: float = 5.5,
               friction_per_ps: float = 5.0, md_step_fs: float = 5.0, equilibration_ps: float = 100.0,
               seed: int = 0, wrap: bool = False, progress: bool = False) -> ToyData:
    """Simulate the Li-in-FCC-S toy system with Langevin dynamics; return trajectories and labels.

    BAOAB step of length ``h`` (Leimkuhler & Matthews 2013), per replica::

        v += h/2 F(x)/m;  x += h/2 v;  v = c v + sqrt((1 - c^2) kT/m) xi;  x += h/2 v;  v += h/2 F(x)/m

    with ``c = exp(-gamma h)`` and ``xi ~ N(0, 1)``. Each replica starts at a random site with
    Maxwell–Boltzmann velocities and is equilibrated for ``equilibration_ps`` (rounded to whole
    frames) before the first stored frame. Replica ``i`` draws its random numbers from its own stream (``SeedSequence(seed)``
    spawned), so it is the same whatever ``n_trajectories`` is, and results are deterministic.

    Args:
        n_trajectories: number of independent replicas ``R``.
        n_frames: stored frames per replica ``F``.
        dt_ps: time between stored frames (ps); a whole number of MD steps.
        temperature_K: thermostat temperature.
        lattice_A, A_eV, rho_A, C_eV_A6, cutoff_A: see :class:`LiSPotential`.
        friction_per_ps: Langevin friction ``gamma`` (1/ps).
        md_step_fs: integration step ``h`` (fs).
        equilibration_ps: simulated time discarded before the first frame (ps).
        seed: random seed.
        wrap: store Li positions wrapped into the cell (default: unwrapped, so displacements and
            mean-square displacements are meaningful).
        progress: show a rich progress bar.

    Returns:
        :class:`ToyData` with ``R`` trajectories of positions ``(F, 5, 3)`` float32 in Å.

    Speed: 64 replicas x 20,000 frames (1.28 million frames, 5 fs steps) take about 25-50 s on one
    CPU core (25,000-50,000 frames/s); more replicas are cheaper per frame. With the defaults the
    tet <-> oct relaxation time is about 30 ps (:func:`reference_timescale`), so 1 ns of one
    replica holds about 16 hops.
    """
    src = "toy_li_fcc"
    for name, value in (("n_trajectories", n_trajectories), ("n_frames", n_frames)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise GdynetError(f"{name} must be a positive integer, got {value!r}", src)
    for name, value in (("dt_ps", dt_ps), ("temperature_K", temperature_K), ("md_step_fs", md_step_fs)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise GdynetError(f"{name} must be a positive number, got {value!r}", src)
    for name, value in (("friction_per_ps", friction_per_ps), ("equilibration_ps", equilibration_ps)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise GdynetError(f"{name} must be a non-negative number, got {value!r}", src)
    h = md_step_fs * 1e-3
    steps_per_frame = round(dt_ps / h)
    if steps_per_frame < 1 or abs(steps_per_frame * h - dt_ps) > 1e-6 * dt_ps:
        raise GdynetError(f"dt_ps={dt_ps:g} is not a whole number of MD steps of {md_step_fs:g} fs", src)
    potential = LiSPotential(lattice_A, A_eV, rho_A, C_eV_A6, cutoff_A)
    kT_over_m = units.kB * temperature_K / LI_MASS_AMU * _ACCEL  # (Å/ps)^2
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(int(n_trajectories))]

    sites = np.concatenate([TET_FRACTIONAL, OCT_FRACTIONAL]) * lattice_A
    x = np.stack([sites[rng.integers(len(sites))] for rng in rngs])
    v = np.stack([rng.standard_normal(3) for rng in rngs]) * math.sqrt(kT_over_m)
    n_eq = round(equilibration_ps / dt_ps)
    li = np.empty((int(n_frames), len(rngs), 3))
    with progress_bar(enabled=progress, transient=True) as bar:
        task = bar.add_task("toy MD (frames)", total=n_eq + n_frames)
        advance = functools.partial(bar.advance, task)
        _langevin(potential, x, v, rngs, n_eq, steps_per_frame, h, friction_per_ps, kT_over_m, None, advance)
        v2_sum = _langevin(potential, x, v, rngs, n_frames, steps_per_frame, h, friction_per_ps, kT_over_m, li,
                           advance)
    cell = np.eye(3) * lattice_A
    if wrap:
        li -= np.floor(li / lattice_A) * lattice_A
    s_pos = (S_FRACTIONAL * lattice_A).astype(np.float32)
    trajectories, labels = [], []
    for r in range(len(rngs)):
        pos = np.empty((n_frames, len(NUMBERS), 3), dtype=np.float32)
        pos[:, 0] = li[:, r]
        pos[:, 1:] = s_pos
        trajectories.append(Trajectory(positions=pos, cells=cell, numbers=NUMBERS.copy(), dt_ps=dt_ps,
                                       targets=np.array([[0]]), source=f"toy_li_fcc(seed={seed}, replica={r})"))
        labels.append(site_labels(pos[:, 0], cell))
    params = dict(system="Li in frozen FCC S lattice", potential="Buckingham Li-S, shifted force",
                  lattice_A=lattice_A, A_eV=A_eV, rho_A=rho_A, C_eV_A6=C_eV_A6, cutoff_A=cutoff_A,
                  temperature_K=temperature_K, friction_per_ps=friction_per_ps, md_step_fs=md_step_fs,
                  dt_ps=dt_ps, equilibration_ps=equilibration_ps, mass_Li_amu=LI_MASS_AMU,
                  integrator="Langevin BAOAB", n_trajectories=int(n_trajectories), n_frames=int(n_frames),
                  seed=seed, wrapped=wrap)
    kinetic_T = LI_MASS_AMU * v2_sum / (3 * n_frames * len(rngs)) / _ACCEL / units.kB
    return ToyData(trajectories=trajectories, labels=labels, params=params, kinetic_temperature_K=kinetic_T)


def _langevin(potential: LiSPotential, x: np.ndarray, v: np.ndarray, rngs: list[np.random.Generator],
              n_frames: int, steps_per_frame: int, h: float, gamma: float, kT_over_m: float,
              out: np.ndarray | None, advance: Callable[[int], None]) -> float:
    """Advance positions ``x`` (R, 3) Å and velocities ``v`` (R, 3) Å/ps in place by BAOAB steps.

    Runs ``n_frames * steps_per_frame`` steps of length ``h`` ps with friction ``gamma`` (1/ps);
    after each frame's steps stores ``x`` into ``out[frame]`` (when given). Replica ``r`` takes its
    noise from ``rngs[r]``, drawn in blocks; ``advance(n)`` reports progress in frames. Returns the
    sum of ``|v|^2`` over stored frames.
    """
    c1 = math.exp(-gamma * h)
    c2 = math.sqrt((1.0 - c1 * c1) * kT_over_m)
    half_h_accel = 0.5 * h * _ACCEL / LI_MASS_AMU
    block = max(1, _NOISE_BLOCK // (len(rngs) * steps_per_frame))  # frames per block of noise
    f = potential.forces(x)
    v2_sum = 0.0
    for start in range(0, n_frames, block):
        n = min(block, n_frames - start)
        noise = np.stack([rng.standard_normal((n * steps_per_frame, 3)) for rng in rngs], axis=1)
        noise *= c2
        for frame in range(n):
            for xi in noise[frame * steps_per_frame:(frame + 1) * steps_per_frame]:
                v += half_h_accel * f
                x += 0.5 * h * v
                v *= c1
                v += xi
                x += 0.5 * h * v
                f = potential.forces(x)
                v += half_h_accel * f
            if out is not None:
                out[start + frame] = x
                v2_sum += float(np.einsum("rj,rj->", v, v))
        advance(n)
    return v2_sum


# ----------------------------------------------------------------------------- ground truth
def _check_positions(positions: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positions = np.asarray(positions, dtype=float)
    cell = np.asarray(cell, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise GdynetError(f"Li positions must have shape (frames, 3), got {positions.shape}", "site_labels")
    if cell.shape != (3, 3) or abs(np.linalg.det(cell)) < 1e-6:
        raise GdynetError(f"cell must be a non-singular (3, 3) matrix, got shape {cell.shape}", "site_labels")
    return positions, cell


def site_distances(positions_li: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances (Å) from each Li position to the nearest tetrahedral and octahedral site centre.

    Args:
        positions_li: ``(F, 3)`` Li positions in Å (wrapped or not).
        cell: ``(3, 3)`` conventional FCC cell (rows = lattice vectors, cubic for the toy system);
            periodic images are handled by the minimum image in fractional coordinates.

    Returns:
        ``(d_tet, d_oct)``, each ``(F,)`` float64 in Å.
    """
    positions, cell = _check_positions(positions_li, cell)
    inv = np.linalg.inv(cell)
    out = np.empty((2, len(positions)))
    for start in range(0, len(positions), _SITE_CHUNK):
        frac = positions[start:start + _SITE_CHUNK] @ inv
        for row, sites in enumerate((TET_FRACTIONAL, OCT_FRACTIONAL)):
            d = frac[:, None, :] - sites[None]
            d -= np.round(d)
            cart = d @ cell
            out[row, start:start + len(frac)] = np.sqrt(np.einsum("fsj,fsj->fs", cart, cart).min(axis=1))
    return out[0], out[1]


def site_labels(positions_li: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Site type of the nearest site centre: ``(F,)`` int8, 0 = tetrahedral, 1 = octahedral.

    Tetrahedral centres are at fractional ``(1/4, 1/4, 1/4)`` and its FCC equivalents (8 per cell),
    octahedral centres at ``(1/2, 0, 0)`` and equivalents (4 per cell), with S at ``(0, 0, 0)``,
    ``(0, 1/2, 1/2)``, ``(1/2, 0, 1/2)``, ``(1/2, 1/2, 0)``.
    """
    d_tet, d_oct = site_distances(positions_li, cell)
    return (d_oct < d_tet).astype(np.int8)


def core_set_labels(positions_li: np.ndarray, cell: np.ndarray, core_radius_A: float = 0.8) -> np.ndarray:
    """Core-set (milestoning, :func:`gdynet.analysis.order_labels.milestone_labels`) assignment: the type
    of the last site core the Li was inside.

    A frame is inside a core when it is within ``core_radius_A`` of a site centre; frames between
    cores keep the label of the last core visited, so recrossings of the barrier that do not reach
    the other core are not counted as transitions. Frames before the first core visit take the
    nearest-site label.

    Returns:
        ``(F,)`` int8, 0 = tetrahedral, 1 = octahedral.
    """
    if not (math.isfinite(core_radius_A) and core_radius_A > 0):
        raise GdynetError(f"core_radius_A must be a positive number of Å, got {core_radius_A!r}", "core_set_labels")
    from ..analysis.order_labels import milestone_labels

    d_tet, d_oct = site_distances(positions_li, cell)
    nearest = (d_oct < d_tet).astype(np.int8)
    return milestone_labels(np.minimum(d_tet, d_oct) < core_radius_A, nearest, nearest)


@dataclass(frozen=True)
class ReferenceTimescale:
    """Tet <-> oct relaxation time from a two-state Markov model of core-set labels.

    Attributes:
        lags_ps: ``(L,)`` lag times in ps.
        timescales_ps: ``(L,)`` implied timescale ``t_2 = -tau / ln(lambda_2)`` at each lag (ps);
            for two states ``lambda_2 = T_00 + T_11 - 1``.
        transition_matrices: ``(L, 2, 2)`` row-stochastic transition matrices (0 = tet, 1 = oct).
        populations: ``(2,)`` fraction of frames assigned to tet and oct.
        n_transitions: number of tet <-> oct switches in the core-set labels.
        core_radius_A: core radius used (Å).
    """

    lags_ps: np.ndarray
    timescales_ps: np.ndarray
    transition_matrices: np.ndarray
    populations: np.ndarray
    n_transitions: int
    core_radius_A: float

    @property
    def timescale_ps(self) -> float:
        """The reference value: the median of ``timescales_ps`` over the lags (ps)."""
        return float(np.median(self.timescales_ps))


def reference_timescale(trajectories: ToyData | Sequence[Trajectory], lags_ps: Sequence[float] = (1.0, 2.0, 5.0, 10.0),
                        *, core_radius_A: float = 0.8) -> ReferenceTimescale:
    """Estimate the tet <-> oct relaxation timescale (ps) from the geometry alone.

    Counts ``C_ab(tau)`` = number of frame pairs ``(t, t + tau)`` in core-set states ``a`` then
    ``b`` over all trajectories, ``T = C`` row-normalised (maximum-likelihood MSM), and the implied
    timescale ``t_2 = -tau / ln(T_00 + T_11 - 1)``. A Markovian two-state process gives the same
    ``t_2`` at every lag.

    Args:
        trajectories: :class:`ToyData` or toy trajectories (the first target atom is the Li).
        lags_ps: lag times in ps (whole numbers of frames).
        core_radius_A: core radius for :func:`core_set_labels`.
    """
    trajs = trajectories.trajectories if isinstance(trajectories, ToyData) else list(trajectories)
    if not trajs:
        raise GdynetError("no trajectories given", "reference_timescale")
    dt = trajs[0].dt_ps
    if any(abs(t.dt_ps - dt) > 1e-9 * dt for t in trajs):
        raise GdynetError("all trajectories must have the same frame spacing", "reference_timescale")
    lags = [lag_to_frames(f"{float(lag_ps)}ps", dt, name="reference_timescale lag") for lag_ps in lags_ps]
    longest = max(t.n_frames for t in trajs)
    for lag_ps, lag in zip(lags_ps, lags):
        if lag >= longest:
            raise GdynetError(f"lag {lag_ps!r} ps is not shorter than the longest trajectory", "reference_timescale")
    states = [core_set_labels(np.asarray(t.positions[:, t.targets[0, 0]]), t.cells[0], core_radius_A) for t in trajs]
    counts = np.zeros((len(lags), 2, 2))
    for s in states:
        for i, lag in enumerate(lags):
            if lag < len(s):
                np.add.at(counts[i], (s[:-lag], s[lag:]), 1.0)
    if np.any(counts.sum(axis=2) == 0):
        raise GdynetError("one site type is never visited; cannot estimate a timescale", "reference_timescale")
    T = counts / counts.sum(axis=2, keepdims=True)
    lam = T[:, 0, 0] + T[:, 1, 1] - 1.0
    with np.errstate(divide="ignore"):  # lambda_2 = 1 (no transitions): t_2 = inf
        ts = -np.asarray(lags) * dt / np.log(np.clip(lam, 1e-300, 1.0))
    ts[lam <= 0] = np.nan  # decorrelated within one lag: no timescale
    all_states = np.concatenate(states)
    pops = np.bincount(all_states, minlength=2) / len(all_states)
    switches = int(sum(np.count_nonzero(np.diff(s)) for s in states))
    return ReferenceTimescale(lags_ps=np.asarray(lags, dtype=float) * dt, timescales_ps=ts, transition_matrices=T,
                              populations=pops, n_transitions=switches, core_radius_A=float(core_radius_A))


# ----------------------------------------------------------------------------- writers
