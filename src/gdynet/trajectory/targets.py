"""Target selection: which atoms (or molecules) gdynet follows.

A target spec becomes an ``(n, k)`` int64 array of atom indices: ``n`` target sets of ``k`` atoms
(``k = 1`` for single atoms such as Li ions, ``k = 3`` for water molecules). Spellings accepted by
:func:`select_targets` (and by ``read_trajectory(targets=...)``):

=============================  ===============================================================
``"Li"``                       every atom of that element (``k = 1``)
``3``                          atom 3 (an int is an atom index, 0-based, as in ASE and MDAnalysis;
                               elements go by symbol. Until gdynet 0.4 a bare int was an atomic
                               number: where that reading would give other atoms, a FutureWarning
                               says so and names the symbol)
``[0, 4, 7]`` / ``"0,4,7"``    these atom indices (0-based, ``k = 1``)
``[[0, 1, 2], [3, 4, 5]]``     these target sets as given (``(n, k)``)
``"molecules:H2O"``            every whole molecule with that formula (element order free:
                               ``"molecules:OH2"`` is the same; TFSI is ``"molecules:C2F6NO4S2"``).
                               Molecules are the topology's residues when it has more than one,
                               else bonded fragments of frame 0 (covalent radii x 1.2, periodic).
``"residues:resname EC"``      the atoms of an MDAnalysis selection, grouped by residue (topology)
``"select:name OW"``           an MDAnalysis selection, evaluated on the first frame; the prefix
                               may be left out (``"name OW"``) for any string that is not one of
                               the above. Geometric ones (``"prop z > 20"``, ``"around 5 name Au"``,
                               ``"cyzone 10 5 -5 name Au"``) work on any format: without a topology
                               the frame becomes an in-memory Universe whose atom names, types and
                               elements are the element symbols (``"name Si and prop z < 40"``)
``{"select": "name OW"}``      the same as ``"select:name OW"``; likewise the keys ``molecules``,
                               ``residues``, ``element`` (a symbol or an atomic number) and ``indices``
=============================  ===============================================================

MDAnalysis treats the box as periodic along all three axes (``around``, ``sphzone``, ...); a cell
that is not in its orientation (``a`` along x, ``b`` in the xy plane) is not used at all, with a
warning. Positions are taken as stored in frame 0 (not wrapped): ``prop z`` is the file's z.

Alkali and alkaline-earth metals (Li, Na, Mg, ...) are ionic: they never join a bonded fragment
unless the formula asked for contains them, so Li+ near an anion does not hide the anion.
"""
from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from typing import Any, Mapping, Sequence, Union

import numpy as np

from ..base.errors import GdynetError, GdynetWarning, exception_summary
from .atoms import INDEX_LIST, is_element_symbol, to_atomic_number
from .universe import is_mdanalysis, mdanalysis_frame, quiet_mdanalysis

TargetSpec = Union[str, int, Sequence[int], Sequence[Sequence[int]], np.ndarray, Mapping[str, Any]]

#: bonded when distance < BOND_TOLERANCE * (covalent radius i + covalent radius j)
BOND_TOLERANCE = 1.2
#: alkali and alkaline-earth metals: treated as ions, never bonded into molecules
IONIC_NUMBERS = frozenset({3, 11, 19, 37, 55, 87, 4, 12, 20, 38, 56, 88})

#: LAMMPS atom styles -> the column names MDAnalysis' DATAParser understands
_LAMMPS_ATOM_STYLES = {"atomic": "id type x y z", "charge": "id type charge x y z",
                       "molecular": "id resid type x y z", "bond": "id resid type x y z",
                       "angle": "id resid type x y z", "full": "id resid type charge x y z"}
#: ``topology_format`` names of a LAMMPS data file
LAMMPS_TOPOLOGY_FORMATS = ("DATA", "LAMMPS", "LAMMPS-DATA")
def select_targets(system: Any, spec: TargetSpec, *,
                   positions: np.ndarray | None = None, cell: np.ndarray | None = None,
                   topology: Any = None, source: str | os.PathLike[str] | None = None,
                   keep: np.ndarray | None = None, pbc: Any = None) -> np.ndarray:
    """Turn a target spec into target sets (spellings in the module docstring).

    Args:
        system: a :class:`Trajectory` (gives numbers, frame 0 and the source), an MDAnalysis
            ``Universe``/``AtomGroup`` (its atoms and current frame; also the topology), or ``(N,)``
            atomic numbers.
        spec: the target spec: an element symbol ("Li"), an atom index or indices (ints, 0-based, the
            file's numbering), a selection, "molecules:..." (module docstring).
        positions: ``(N, 3)`` Å of one frame, for ``molecules:`` without a topology (default: frame 0
            of ``system``).
        cell: ``(3, 3)`` Å, rows are lattice vectors (default: cell of frame 0 of ``system``).
        topology: MDAnalysis ``Universe``/``AtomGroup`` or topology file, for selections and residues.
        source: name for error messages (default: the trajectory's source).
        keep: ``(N,)`` bool, the atoms that stay (massless particles and ``exclude`` are left out):
            selections, residues and molecules ignore the others. Indices are those of all ``N``
            atoms, the file's numbering.
        pbc: periodicity per cell vector for the bonds of ``molecules:`` (default: the trajectory's,
            else periodic along all three).

    Returns:
        ``(n, k)`` int64 atom indices; rows sorted by their first atom, each row ascending.

    Raises:
        GdynetError: unknown element, empty selection, index out of range, duplicate atoms,
            molecules of unequal size, a selection without topology.
    """
    if is_mdanalysis(system):
        system, own_topology, own_keep = mdanalysis_frame(system, source)
        topology = own_topology if topology is None else topology
        keep = own_keep if keep is None else keep
    numbers, src = _numbers_and_source(system, source)
    if positions is None and hasattr(system, "positions"):
        positions = np.asarray(system.positions[0])
    if cell is None and hasattr(system, "cells"):
        cell = np.asarray(system.cells[0])
    if pbc is None:
        pbc = getattr(system, "pbc", (True, True, True))
    universe = _universe(topology, len(numbers), src)
    kept = np.ones(len(numbers), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)

    if isinstance(spec, Mapping):
        spec = _from_mapping(spec, src)
    if isinstance(spec, bool) or spec is None:
        raise GdynetError(f"targets must be an element symbol ('Li'), atom indices (ints, 0-based) or a selection, "
                          f"got {spec!r}", src)
    if isinstance(spec, (int, np.integer)):
        return _by_index(numbers, int(spec), src)
    if isinstance(spec, str):
        text = spec.strip()
        head, _, rest = text.partition(":")
        if head.strip().lower() == "molecules" and rest.strip():
            return _molecules(numbers, rest.strip(), positions, cell, universe, src, kept, pbc)
        if head.strip().lower() == "residues" and rest.strip():
            return _residues(_select(universe, rest.strip(), src, kept), rest.strip(), src)
        if head.strip().lower() == "select" and rest.strip():
            return _select_in_frame(universe, rest.strip(), numbers, positions, cell, src, kept)
        if INDEX_LIST.match(text):
            return _by_indices([int(i) for i in text.split(",") if i.strip()], len(numbers), src)
        if is_element_symbol(text):
            return _by_element(numbers, to_atomic_number(text, src), src)
        if universe is None and re.fullmatch(r"[A-Za-z]{1,3}", text):
            raise GdynetError(f"unknown element {text!r} in targets (element symbols are case-sensitive, "
                              "e.g. 'Li', 'Cl')", src)
        return _select_in_frame(universe, text, numbers, positions, cell, src, kept)
    return _by_indices(spec, len(numbers), src)


def needs_coordinates(spec: TargetSpec, topology: Any = None) -> bool:
    """True when ``spec`` needs a frame's positions and cell: ``molecules:`` (bonds), and an MDAnalysis
    selection without a ``topology`` (evaluated on an in-memory copy of the first frame)."""
    if isinstance(spec, Mapping):
        return set(spec) == {"molecules"} or (set(spec) == {"select"} and topology is None)
    if not isinstance(spec, str):
        return False
    text = spec.strip()
    head, _, rest = text.partition(":")
    head = head.strip().lower()
    if head in ("molecules", "residues", "select") and rest.strip():
        return head == "molecules" or (head == "select" and topology is None)
    return topology is None and not (INDEX_LIST.match(text) or is_element_symbol(text)
                                     or re.fullmatch(r"[A-Za-z]{1,3}", text))


def element_counts(numbers: np.ndarray) -> dict[str, int]:
    """``{symbol: count}`` of the atoms, in order of atomic number."""
    from ase.data import chemical_symbols

    values, counts = np.unique(np.asarray(numbers), return_counts=True)
    return {chemical_symbols[int(z)]: int(c) for z, c in zip(values, counts)}


# ------------------------------------------------------------------ simple specs
def _numbers_and_source(system: Any, source: Any) -> tuple[np.ndarray, str | None]:
    if hasattr(system, "numbers"):
        numbers = np.asarray(system.numbers)
        source = source if source is not None else getattr(system, "source", None)
    else:
        numbers = np.asarray(system)
    if numbers.ndim != 1 or not np.issubdtype(numbers.dtype, np.integer):
        raise GdynetError(f"atomic numbers must be a 1-D integer array, got shape {numbers.shape}", source)
    return numbers, None if source is None else str(source)


def _from_mapping(spec: Mapping, src: str | None) -> Any:
    """``{"select": "name OW"}`` -> ``"select:name OW"`` (one key: select, molecules, residues,
    element, indices)."""
    if len(spec) != 1:
        raise GdynetError(f"a targets mapping needs exactly one key, got {sorted(spec)}", src)
    (key, value), = spec.items()
    if key in ("select", "molecules", "residues") and isinstance(value, str):
        return f"{key}:{value}"
    if key == "element":
        from ase.data import chemical_symbols

        return chemical_symbols[to_atomic_number(value, src)]
    if key == "indices":
        return value
    raise GdynetError(f"unknown targets mapping {dict(spec)!r}; keys: select, molecules, residues, element, "
                      "indices", src)


def _by_element(numbers: np.ndarray, z: int, src: str | None) -> np.ndarray:
    from ase.data import chemical_symbols

    found = np.flatnonzero(numbers == z)
    if found.size == 0:
        present = ", ".join(f"{s} x{n}" for s, n in element_counts(numbers).items())
        raise GdynetError(f"no {chemical_symbols[z]} atoms to use as targets (atoms present: {present})", src)
    return found.astype(np.int64)[:, None]


def _by_index(numbers: np.ndarray, index: int, src: str | None) -> np.ndarray:
    """``targets=<int>``: atom ``index`` (0-based). Until gdynet 0.4 an int was an atomic number: where
    that reading would give other atoms (an element of that number is present), a FutureWarning says
    so, or the error of an index out of range names the element's symbol."""
    from ase.data import chemical_symbols

    old = np.flatnonzero(numbers == index) if 1 <= index <= 118 else np.zeros(0, np.int64)
    if old.size and not (old.size == 1 and old[0] == index):
        symbol = chemical_symbols[index]
        if not 0 <= index < len(numbers):
            raise GdynetError(f"targets={index}: an int is an atom index (0-based), and atoms are 0..{len(numbers) - 1}; "
                              f"for the {old.size} {symbol} atoms (atomic number {index}) pass targets={symbol!r}", src)
        warnings.warn(f"{src or 'targets'}: targets={index} is atom {index} (an int is an atom index, 0-based); until "
                      f"gdynet 0.4 it meant atomic number {index}, the {old.size} {symbol} atoms: for those pass "
                      f"targets={symbol!r}", FutureWarning, stacklevel=2)
    return _by_indices([index], len(numbers), src)


def _by_indices(spec: Any, n_atoms: int, src: str | None) -> np.ndarray:
    try:
        index = np.asarray(spec)
    except ValueError:  # ragged nested lists
        raise GdynetError("target sets (molecules) have unequal sizes; every set needs the same number "
                          "of atoms", src) from None
    if index.dtype == object:
        raise GdynetError("target sets (molecules) have unequal sizes; every set needs the same number "
                          "of atoms", src)
    if index.size == 0:
        raise GdynetError("the target index list is empty", src)
    if not np.issubdtype(index.dtype, np.integer) or index.ndim not in (1, 2):
        raise GdynetError(f"targets must be integer atom indices (n,) or (n, k), got {index.dtype} with shape "
                          f"{index.shape}", src)
    if index.min() < 0 or index.max() >= n_atoms:
        bad = int(index.min()) if index.min() < 0 else int(index.max())
        raise GdynetError(f"target index {bad} is out of range (atoms are 0..{n_atoms - 1})", src)
    if len(np.unique(index)) != index.size:
        values, counts = np.unique(index, return_counts=True)
        raise GdynetError(f"atom {int(values[counts > 1][0])} appears more than once in targets", src)
    return index.astype(np.int64).reshape(len(index), -1)


# ------------------------------------------------------------------ topology (MDAnalysis)
def _universe(topology: Any, n_atoms: int, src: str | None) -> Any:
    """An MDAnalysis Universe (or AtomGroup's universe) from ``topology``; ``None`` when none given."""
    if topology is None:
        return None
    universe = getattr(topology, "universe", None)
    if universe is None:
        universe = load_topology(topology, source=src)
    if universe.atoms.n_atoms != n_atoms:
        raise GdynetError(f"topology has {universe.atoms.n_atoms} atoms but the trajectory has {n_atoms}", src)
    return universe


def load_topology(topology: str | os.PathLike[str], topology_format: str | None = None, *,
                  source: str | os.PathLike[str] | None = None) -> Any:
    """An MDAnalysis Universe of a topology file alone (PDB, GRO, PSF, TPR, PRMTOP, LAMMPS data, ...)."""
    import MDAnalysis as mda

    try:
        with quiet_mdanalysis():
            return mda.Universe(os.fspath(topology), **topology_kwargs(topology, topology_format))
    except Exception as exc:  # unreadable topology file
        raise GdynetError(f"cannot read topology {topology}: {exception_summary(exc)}", source) from exc


def is_lammps_data(path: str | os.PathLike[str]) -> bool:
    """True for the names LAMMPS data files go by: ``*.data``, ``*.lmp``, ``data.*`` (also compressed)."""
    from .compressed import stem_name

    name = stem_name(path).lower()
    return name.endswith((".data", ".lmp")) or name.startswith("data.")


def topology_kwargs(topology: str | os.PathLike[str], topology_format: str | None = None) -> dict[str, str]:
    """MDAnalysis reader options of a topology: ``topology_format`` (given, or ``DATA`` for a LAMMPS
    data file by its name) and the ``atom_style`` of a LAMMPS data file, taken from its
    ``Atoms # style`` comment (MDAnalysis itself assumes *full* or *molecular*)."""
    from .compressed import open_text

    if topology_format is not None and topology_format.strip().upper() not in LAMMPS_TOPOLOGY_FORMATS:
        return {"topology_format": topology_format.strip().upper()}
    if topology_format is None and not is_lammps_data(topology):
        return {}
    kwargs = {"topology_format": "DATA"}
    with open_text(topology) as fh:
        for line in fh:
            match = re.match(r"\s*Atoms\s*#\s*(\w+)", line)
            if match:
                style = _LAMMPS_ATOM_STYLES.get(match.group(1).lower())
                if style:
                    kwargs["atom_style"] = style
                break
    return kwargs


def _select(universe: Any, selection: str, src: str | None, keep: np.ndarray, hint: str = "") -> Any:
    if universe is None:
        raise GdynetError(f"the MDAnalysis selection {selection!r} needs topology=", src)
    try:
        with quiet_mdanalysis():
            group = universe.select_atoms(selection)
    except Exception as exc:  # SelectionError, ValueError, ...
        raise GdynetError(f"invalid MDAnalysis selection {selection!r}: {exception_summary(exc)}{hint}",
                          src) from exc
    group = group[keep[group.indices]]
    if group.n_atoms == 0:
        raise GdynetError(f"selection {selection!r} matches no atoms in the first frame{hint}", src)
    return group


def _select_in_frame(universe: Any, selection: str, numbers: np.ndarray, positions: np.ndarray | None,
                     cell: np.ndarray | None, src: str | None, keep: np.ndarray) -> np.ndarray:
    """``(n, 1)`` atoms of an MDAnalysis selection evaluated on the frame ``positions``/``cell``.

    With a ``universe`` (topology) and no ``positions``: on its current frame. Otherwise on an
    in-memory copy of the frame (:func:`frame_universe`), so a geometric selection (``prop z > 20``,
    ``around 5 name Au``) sees the first frame of the trajectory, whatever its format.
    """
    if positions is None:
        if universe is None:
            raise GdynetError(f"the MDAnalysis selection {selection!r} needs a frame's positions or topology=", src)
        frame = universe
    else:
        frame = frame_universe(numbers, positions, cell, universe, src)
    hint = "" if universe is not None else (
        " (without a topology atom names, types and elements are the element symbols: "
        f"{', '.join(element_counts(numbers))})")
    return _select(frame, selection, src, keep, hint).indices.astype(np.int64)[:, None]


def frame_universe(numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray | None, topology: Any = None,
                   source: str | None = None) -> Any:
    """An in-memory MDAnalysis Universe of one frame, for selections on any trajectory format.

    Args:
        numbers: ``(N,)`` atomic numbers.
        positions: ``(N, 3)`` Å, used as stored (not wrapped).
        cell: ``(3, 3)`` Å, rows are lattice vectors, or ``None`` (no box). MDAnalysis wants ``a``
            along x and ``b`` in the xy plane; another orientation gives no box, with a warning.
        topology: an MDAnalysis Universe whose atoms (names, residues, ...) are copied; default: one
            residue whose atoms are named, typed and elemented by their element symbols.
        source: name for messages.

    Returns:
        A Universe with one frame (``MemoryReader``) and box dimensions from ``cell``.
    """
    import MDAnalysis as mda
    from ase.data import atomic_masses, chemical_symbols
    from MDAnalysis.coordinates.memory import MemoryReader
    from MDAnalysis.lib.mdamath import triclinic_box, triclinic_vectors

    positions = np.asarray(positions, dtype=np.float32)
    dimensions = None
    if cell is not None:
        cell = np.asarray(cell, dtype=np.float64)
        dimensions = triclinic_box(*cell)
        if not np.allclose(triclinic_vectors(dimensions), cell, atol=1e-3):
            prefix = f"{source}: " if source else ""
            warnings.warn(f"{prefix}the cell is not in MDAnalysis' orientation (a along x, b in the xy plane); "
                          "selections see no periodic box", GdynetWarning, stacklevel=3)
            dimensions = None
    with quiet_mdanalysis():
        if topology is not None:
            universe = mda.Merge(topology.atoms)
        else:
            universe = mda.Universe.empty(len(numbers), trajectory=False)
            symbols = np.array([chemical_symbols[int(z)] for z in numbers], dtype=object)
            for name in ("names", "types", "elements"):
                universe.add_TopologyAttr(name, symbols)
            universe.add_TopologyAttr("masses", np.asarray(atomic_masses)[np.asarray(numbers)])
            universe.add_TopologyAttr("resids", [1])
            universe.add_TopologyAttr("resnames", ["SYS"])
        universe.load_new(positions[None], format=MemoryReader, dimensions=dimensions)
    return universe


def _residues(group: Any, selection: str, src: str | None) -> np.ndarray:
    """Selected atoms grouped by residue: ``(n_residues, k)``; every residue must give ``k`` atoms."""
    sets = [group.indices[group.resindices == r] for r in np.unique(group.resindices)]
    return _equal_sets(sets, f"residues of {selection!r}", src)


def _equal_sets(sets: list[np.ndarray], what: str, src: str | None) -> np.ndarray:
    sizes = sorted({len(s) for s in sets})
    if len(sizes) > 1:
        raise GdynetError(f"molecules of unequal size: {what} have {sizes[0]} to {sizes[-1]} atoms; "
                          "every target set needs the same number of atoms", src)
    rows = np.sort(np.array(sets, dtype=np.int64), axis=1)
    return rows[np.argsort(rows[:, 0])]


# ------------------------------------------------------------------ molecules
def _molecules(numbers: np.ndarray, formula: str, positions: np.ndarray | None, cell: np.ndarray | None,
               universe: Any, src: str | None, kept: np.ndarray, pbc: Any = (True, True, True)) -> np.ndarray:
    """Every molecule whose element counts equal ``formula`` (atoms not ``kept`` left out): residues,
    else bonded fragments."""
    from ase.formula import Formula

    try:
        wanted = Counter({s: n for s, n in Formula(formula).count().items() if n})
    except Exception:  # ase raises ValueError for malformed formulas
        raise GdynetError(f"molecules:{formula}: not a chemical formula (e.g. molecules:H2O)", src) from None
    if not wanted or not all(is_element_symbol(s) for s in wanted):
        raise GdynetError(f"molecules:{formula}: not a chemical formula (e.g. molecules:H2O)", src)
    if universe is not None and universe.residues.n_residues > 1:
        groups = [res.atoms.indices[kept[res.atoms.indices]] for res in universe.residues]
        groups = [g for g in groups if g.size]
        how = "residues of the topology"
    else:
        if positions is None or cell is None:
            raise GdynetError("molecules: needs positions and a cell (or a topology) to find bonds", src)
        bond = np.array([z not in IONIC_NUMBERS for z in numbers])
        for symbol in wanted:
            bond |= numbers == to_atomic_number(symbol)
        groups = bonded_fragments(numbers, positions, cell, include=bond & kept, source=src, pbc=pbc)
        groups = [g for g in groups if kept[g].all()]
        how = "bonded fragments of frame 0"
    from ase.data import chemical_symbols

    found = Counter()
    matches = []
    for group in groups:
        counts = Counter(chemical_symbols[int(z)] for z in numbers[group])
        if counts == wanted:
            matches.append(np.asarray(group))
        found[Formula.from_list([chemical_symbols[int(z)] for z in numbers[group]]).format("hill")] += 1
    if not matches:
        common = ", ".join(f"{f} x{n}" for f, n in found.most_common(5))
        raise GdynetError(f"no {formula} molecules among the {how} (found: {common})", src)
    _warn_near_misses(groups, numbers, wanted, formula, how, src)
    return _equal_sets(matches, f"molecules:{formula}", src)


def _warn_near_misses(groups: list, numbers: np.ndarray, wanted: Counter, formula: str, how: str,
                      src: str | None) -> None:
    """Warn about groups whose composition is a whole multiple of the formula (two or more molecules
    bonded into one group, e.g. overlapping waters as H4O2): they are left out of the targets."""
    from ase.data import chemical_symbols
    from ase.formula import Formula

    merged = Counter()
    for group in groups:
        symbols = [chemical_symbols[int(z)] for z in numbers[group]]
        counts = Counter(symbols)
        ratio = counts[next(iter(wanted))] // wanted[next(iter(wanted))]
        if ratio >= 2 and counts == Counter({s: n * ratio for s, n in wanted.items()}):
            merged[Formula.from_list(symbols).format("hill")] += 1
    if merged:
        listed = ", ".join(f"{f} x{n}" for f, n in merged.most_common(4))
        prefix = f"{src}: " if src else ""
        warnings.warn(f"{prefix}molecules:{formula}: {sum(merged.values())} {how} hold several {formula} "
                      f"molecules bonded together and are left out ({listed}); molecules may overlap in "
                      "frame 0", GdynetWarning, stacklevel=2)


def bonded_fragments(numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray, *,
                     include: np.ndarray | None = None, source: str | None = None,
                     pbc: Any = (True, True, True)) -> list[np.ndarray]:
    """Connected groups of covalently bonded atoms in one frame.

    Atoms ``i, j`` are bonded when ``|r_ij| < BOND_TOLERANCE * (R_i + R_j)`` with ``R`` the covalent
    radii (``ase.data.covalent_radii``) and ``r_ij`` the minimum-image vector along the periodic
    cell vectors (``pbc``, 3 bools). Atoms with ``include[i] == False`` form fragments of their own.

    Args:
        numbers: ``(N,)`` atomic numbers.
        positions: ``(N, 3)`` Å.
        cell: ``(3, 3)`` Å, rows are lattice vectors.
        include: ``(N,)`` bool, atoms allowed to bond (default: all).

    Returns:
        One ascending index array per fragment, ordered by first atom.
    """
    from ase import Atoms
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    positions = np.asarray(positions, dtype=np.float64)
    if not np.all(np.isfinite(positions)):
        raise GdynetError("NaN or infinite coordinates in frame 0", source)
    n_atoms = len(numbers)
    radii = BOND_TOLERANCE * covalent_radii[np.asarray(numbers)]
    atoms = Atoms(numbers=numbers, positions=positions, cell=np.asarray(cell, dtype=np.float64),
                  pbc=[bool(p) for p in pbc])
    i, j = neighbor_list("ij", atoms, radii, self_interaction=False)
    if include is not None:
        bonded = include[i] & include[j]
        i, j = i[bonded], j[bonded]
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n_atoms, n_atoms))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)
    return sorted((np.sort(g) for g in groups), key=lambda g: int(g[0]))
