"""State-weighted radial distribution functions (Eq. 12 of Xie et al., 2019).

For state ``s`` the RDF around the target sets (atoms, or the centre of mass of each set for
``k > 1``) counts partner atoms of the chosen species in spherical shells, every count weighted by
the probability ``p_s(l, t)`` that the reference set ``l`` is in state ``s`` at frame ``t``::

    g_s(r) = sum_t sum_l p_s(l,t) n_{l,t}(r)  /  ( sum_t sum_l p_s(l,t) rho_l(t) V_shell(r) )

``n_{l,t}(r)`` is the number of partner atoms in the shell ``[r, r + dr)``, ``V_shell`` its volume
and ``rho_l(t) = (N_species - own_l) / V(t)`` the partner density, ``own_l`` being the number of
the set's own atoms of that species (these are never counted as partners, nor their periodic
images). An ideal gas gives ``g = 1`` at every ``r`` and integrating ``4 pi r^2 rho g(r)`` over a
peak gives its coordination number (returned directly as :attr:`StateRDF.coordination`).

The neighbour search is vesin's periodic radius search, which includes periodic images, so ``r_max``
may exceed half the cell width (e.g. small cells); triclinic cells are supported.

**Non-periodic axes** (``Trajectory.pbc``, e.g. a slab ``(True, True, False)``): vesin searches with
images only along the periodic axes and the positions are not wrapped along the others, so the
counts ``n_{l,t}(r)`` and the coordination numbers are exact. The normalisation still uses the
density ``N / V(t)`` of the whole cell (vacuum included) and the full sphere ``V_shell``: for a slab
``g_s(r)`` therefore does not tend to 1 at large ``r`` (part of each shell lies in vacuum), and its
absolute height depends on how much vacuum the cell holds. Compare curves, peak positions and
coordination numbers, not the level of ``g`` far away.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..base.errors import GdynetError
from ..trajectory.core import Trajectory
from ..base.wording import number_list
from .pairs import as_lists, reference_pairs
from .unwrap import target_centers, target_masses



@dataclass(frozen=True)
class StateRDF:
    """Result of :func:`state_rdf`.

    Attributes:
        r: ``(B,)`` bin centres in Å.
        edges: ``(B+1,)`` bin edges in Å.
        g: ``(S, B)`` state-weighted RDF ``g_s(r)`` (dimensionless).
        coordination: ``(S, B)`` running coordination number: mean number of partner atoms within
            the upper edge of each bin around a set in state ``s``.
        weight: ``(S,)`` total weight ``sum_t sum_l p_s(l,t)`` behind each curve (reference-frames).
        density: ``(S,)`` weighted mean partner density in Å^-3.
        species: element symbols of the partner atoms.
        n_frames: frames used.
    """

    r: np.ndarray
    edges: np.ndarray
    g: np.ndarray
    coordination: np.ndarray
    weight: np.ndarray
    density: np.ndarray
    species: tuple[str, ...]
    n_frames: int

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return int(self.g.shape[0])

    @property
    def label(self) -> str:
        """Partner species as text, e.g. ``"O"`` or ``"O+N"``."""
        return "+".join(self.species)

    def __repr__(self) -> str:
        peaks = self.r[np.argmax(self.g, axis=1)]
        return (f"StateRDF({self.n_states} states, {self.label} partners up to {self.edges[-1]:g} Å in {len(self.r)} "
                f"bins, {self.n_frames} frames; highest peak at {number_list(peaks)} Å)")


def _species_numbers(species: str | int | Sequence[str | int], source: str) -> list[int]:
    from ase.data import atomic_numbers

    items = [species] if isinstance(species, (str, int, np.integer)) else list(species)
    if not items:
        raise GdynetError("no species given for the RDF", source)
    out = []
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            z = int(item)
        elif isinstance(item, str) and item.strip().capitalize() in atomic_numbers:
            z = atomic_numbers[item.strip().capitalize()]
        else:
            raise GdynetError(f"unknown species {item!r} for the RDF (use element symbols or atomic numbers)",
                              source)
        out.append(z)
    return sorted(set(out))


def pool_rdfs(rdfs: Sequence[StateRDF]) -> StateRDF:
    """Pool RDFs of several trajectories (same bins, species and states) into one, exactly.

    The sums behind Eq. 12 add up: ``counts = g * density * weight * V_shell``, so
    ``g = sum_k g_k rho_k w_k / sum_k rho_k w_k`` and the coordination is the ``w``-weighted mean.
    """
    first = rdfs[0]
    if any(r.g.shape != first.g.shape or r.species != first.species or not np.allclose(r.edges, first.edges)
           for r in rdfs):
        raise GdynetError("RDFs to pool must share bins, species and number of states")
    w = np.stack([r.weight for r in rdfs])[:, :, None]          # (K, S, 1)
    dw = np.stack([r.density * r.weight for r in rdfs])[:, :, None]
    g = (np.stack([r.g for r in rdfs]) * dw).sum(0) / dw.sum(0)
    coordination = (np.stack([r.coordination for r in rdfs]) * w).sum(0) / w.sum(0)
    weight = w.sum(0)[:, 0]
    return StateRDF(r=first.r, edges=first.edges, g=g, coordination=coordination, weight=weight,
                    density=dw.sum(0)[:, 0] / weight, species=first.species,
                    n_frames=sum(r.n_frames for r in rdfs))


def state_rdf(traj: Trajectory | Sequence[Trajectory], chi: np.ndarray | Sequence[np.ndarray],
              species: str | int | Sequence[str | int], *, r_max: float = 8.0, n_bins: int = 160,
              stride: int = 1, chunk_frames: int | None = None, check_source: bool = True) -> StateRDF:
    """State-weighted RDF of the target sets to ``species`` (Eq. 12).

    Args:
        traj: trajectory with its target sets ``(n, k)``; positions may be a memory map (streamed).
            A list of trajectories (with a list of ``chi``) gives one pooled RDF (:func:`pool_rdfs`).
        chi: ``(F, n, S)`` state probabilities of every target set (rows sum to 1), or the
            :class:`~gdynet.base.states.StateProbabilities` of ``traj``.
        species: partner element(s): a symbol, an atomic number or a list of them (pooled).
        r_max: largest distance in Å (periodic images are included, so any value works).
            Along a non-periodic axis of ``traj.pbc`` no images are used (see the module docstring
            for the normalisation of a slab).
        n_bins: number of shells of width ``r_max / n_bins``.
        stride: use every ``stride``-th frame.
        chunk_frames: frames read at a time.
        check_source: refuse a :class:`~gdynet.base.states.StateProbabilities` computed from another
            trajectory (its ``trajectory_id``); False skips that check.

    Returns:
        :class:`StateRDF` with one curve per state.
    """
    import vesin

    trajs, chis = as_lists(traj, chi, check_source)
    if not isinstance(traj, Trajectory):
        return pool_rdfs([state_rdf(t, c, species, r_max=r_max, n_bins=n_bins, stride=stride,
                                    chunk_frames=chunk_frames) for t, c in zip(trajs, chis)])
    src = traj.source
    chi = chis[0]
    if not (np.isfinite(r_max) and r_max > 0):
        raise GdynetError(f"r_max must be a positive distance in Å, got {r_max!r}", src)
    if int(n_bins) < 1 or int(stride) < 1:
        raise GdynetError(f"n_bins and stride must be positive integers, got {n_bins!r} and {stride!r}", src)
    n_bins, stride = int(n_bins), int(stride)
    numbers = _species_numbers(species, src)
    partner_mask = np.isin(traj.numbers, numbers)
    partners = np.flatnonzero(partner_mask)
    if len(partners) == 0:
        from ase.data import chemical_symbols
        names = ", ".join(chemical_symbols[z] for z in numbers)
        raise GdynetError(f"no atoms of species {names} in the trajectory", src)
    targets = traj.targets
    n_ref, n_states = traj.n_targets, chi.shape[2]
    masses = target_masses(traj.numbers, targets)
    own_count = partner_mask[targets].sum(axis=1)  # (n,) own atoms of the partner species
    if np.any(own_count == len(partners)):
        raise GdynetError("every partner atom belongs to the target set itself; choose other species", src)
    # map (reference, partner atom) -> excluded, via a sorted key of own pairs
    own_pairs = np.sort(np.array([ref * traj.n_atoms + a for ref, row in enumerate(targets) for a in row
                                  if partner_mask[a]], dtype=np.int64))

    edges = np.linspace(0.0, r_max, n_bins + 1)
    counts = np.zeros((n_states, n_bins))
    weight = np.zeros(n_states)
    density_weight = np.zeros(n_states)
    calculator = vesin.NeighborList(cutoff=float(r_max), full_list=False)
    used = 0
    for start, block, cells in traj.iter_chunks(chunk_frames):
        first = (-start) % stride
        if first >= len(block):
            continue
        frames = slice(first, None, stride)
        block, cells = block[frames], cells[frames]
        probs = np.asarray(chi[start + first:start + len(block) * stride + first:stride], dtype=np.float64)
        centers = target_centers(block, cells, targets, masses, traj.pbc)
        for f in range(len(block)):
            cell = cells[f]
            ref, local, dist = reference_pairs(calculator, centers[f], np.asarray(block[f, partners], dtype=np.float64),
                                               cell, traj.pbc)
            atom = partners[local]
            if len(own_pairs):
                key = ref * traj.n_atoms + atom
                pos = np.clip(np.searchsorted(own_pairs, key), 0, len(own_pairs) - 1)
                keep = own_pairs[pos] != key
                ref, dist = ref[keep], dist[keep]
            bins = np.minimum((dist * (n_bins / r_max)).astype(np.int64), n_bins - 1)
            inside = dist < r_max
            per_ref = np.bincount(ref[inside] * n_bins + bins[inside], minlength=n_ref * n_bins)
            p = probs[f]  # (n, S)
            counts += p.T @ per_ref.reshape(n_ref, n_bins)
            volume = abs(np.linalg.det(cell))
            weight += p.sum(axis=0)
            density_weight += p.T @ ((len(partners) - own_count) / volume)
        used += len(block)
    if used == 0:
        raise GdynetError("no frames left after the stride", src)
    if np.any(weight <= 0):
        empty = [s for s in range(n_states) if weight[s] <= 0]
        raise GdynetError(f"state(s) {empty} have zero probability in every frame; no RDF for them", src)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = counts / (density_weight[:, None] * shell[None, :])
    coordination = np.cumsum(counts, axis=1) / weight[:, None]
    from ase.data import chemical_symbols
    return StateRDF(r=0.5 * (edges[1:] + edges[:-1]), edges=edges, g=g, coordination=coordination,
                    weight=weight, density=density_weight / weight,
                    species=tuple(chemical_symbols[z] for z in numbers), n_frames=used)
