"""MDAnalysis objects in: is this a ``Universe``/``AtomGroup``, its current frame for target
selection, the atoms of a group with their elements and charges, and MDAnalysis without its
deprecation chatter (used by :mod:`.targets`, :mod:`.ecosystem` and :mod:`.readers`)."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..base.errors import GdynetError
from .atoms import AtomChoice, AtomFacts, choose_atoms, facts_from_universe
from .frames import parse_type_map


def is_mdanalysis(obj: Any) -> bool:
    """True for an MDAnalysis ``Universe`` or ``AtomGroup``."""
    return type(obj).__module__.startswith("MDAnalysis") and hasattr(obj, "universe") and hasattr(obj, "atoms")


@contextmanager
def quiet_mdanalysis() -> Iterator[None]:
    """Silence the (Pending)DeprecationWarnings MDAnalysis 2.x emits on every read about 3.0, and its
    UserWarnings about what it guessed or defaulted (missing elements, "no dt, set to 1.0 ps"):
    gdynet never uses a guessed value silently and says itself what it could not resolve.

    MDAnalysis is imported first: its import puts its own "show DeprecationWarnings once" filter in
    front of the filters, which inside this block would win over the ones set here.
    """
    import MDAnalysis  # noqa: F401

    with warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning, UserWarning):
            warnings.filterwarnings("ignore", category=category, module="MDAnalysis")
        yield


def mdanalysis_frame(atoms: Any, source: str | None = None) -> tuple[Any, Any, np.ndarray]:
    """The current frame of a ``Universe``/``AtomGroup`` for :func:`select_targets`: ``(frame, topology,
    keep)``, ``frame`` having ``numbers``, ``positions`` ``(1, N, 3)`` Å, ``cells`` (when it has a box)
    and ``source``; ``topology`` a Universe of exactly these atoms; ``keep`` the atoms with mass."""
    from types import SimpleNamespace

    from MDAnalysis.lib.mdamath import triclinic_vectors

    src = source or mdanalysis_source(atoms)
    with quiet_mdanalysis():
        group, topology, choice = group_atoms(atoms, None, None, src)
    frame = SimpleNamespace(numbers=choice.numbers, positions=group.positions[None].astype(np.float64), source=src)
    dims = atoms.universe.trajectory.ts.dimensions
    if dims is not None and np.all(np.asarray(dims[:3]) > 0):
        frame.cells = triclinic_vectors(dims)[None]
    return frame, topology, choice.keep


def mdanalysis_source(atoms: Any) -> str:
    filename = getattr(atoms.universe.trajectory, "filename", None)
    return str(filename) if isinstance(filename, (str, Path)) else "<MDAnalysis Universe>"


def group_atoms(atoms: Any, type_map: Any, exclude: Any, src: str) -> tuple[Any, Any, AtomChoice]:
    """``(group, topology, choice)``: the group's atoms, a Universe of exactly them (the universe itself
    for all its atoms in order, else a merged copy) and their elements, kept atoms and charges."""
    import MDAnalysis as mda

    universe, group = atoms.universe, atoms.atoms
    whole = group.n_atoms == universe.atoms.n_atoms and np.array_equal(group.indices, np.arange(group.n_atoms))
    if not whole and len(np.unique(group.indices)) != group.n_atoms:
        raise GdynetError("the AtomGroup holds an atom more than once", src)
    facts = facts_from_universe(universe)
    if not whole:
        facts = AtomFacts(**{name: None if value is None else value[group.indices]
                             for name, value in vars(facts).items()})
    topology = universe if whole else mda.Merge(group)
    choice = choose_atoms(facts, group.n_atoms, type_map=parse_type_map(type_map, src),
                          exclude=exclude, universe=topology, source=src)
    return group, topology, choice
