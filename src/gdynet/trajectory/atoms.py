"""What each atom of a file is: its element, whether gdynet keeps it, its partial charge.

Elements are resolved atom by atom, the first rule that gives an element winning:

1. ``type_map`` (atom type -> element; the topology's atom names when it has no stated types): it
   decides every atom whose type it lists, whatever the file says;
2. an element column (LAMMPS dump ``element``) or the topology's elements (PDB, TPR, ...);
3. the mass stated by the file or the topology (LAMMPS data ``Masses``, PSF, PRMTOP, dump ``mass``):
   the element of the nearest standard atomic weight, within :data:`MASS_TOLERANCE` amu;
4. the atom name: an element symbol as written (``Ar``, ``Cl``), else MDAnalysis' guess from the
   name (``CA`` -> C, ``OW`` -> O).

Atoms that no rule resolves make the read fail with the ``--type-map`` that would fix it, unless
they are left out. Left out are massless particles (virtual sites such as TIP4P's ``MW``: mass 0
stated by the file or topology, or MDAnalysis' type ``DUMMY``, which it gives to such names) and
the atoms of ``exclude``. Guessed topology attributes (MDAnalysis guesses types and masses from
names) are never taken for stated ones.

Partial charges (e) are those the topology (LAMMPS data ``full``/``charge``, PSF, TPR, PRMTOP), a
dump's ``q`` column or an ASE frame's initial charges (extxyz ``initial_charges``) state. A massless particle's charge is moved onto the heaviest kept atom of its
residue (TIP4P's M charge onto the O), so molecules keep their total charge; without residues it is
lost, with a warning. Atoms left out by ``exclude`` take their charges with them.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, fields, replace
from typing import Any, Sequence

import numpy as np

from ..base.errors import GdynetError, GdynetWarning, exception_summary
from ..base.option_names import option

#: a stated mass is the element of the nearest standard atomic weight when it is this close (amu)
MASS_TOLERANCE = 0.5


@dataclass(frozen=True)
class AtomFacts:
    """Per-atom facts a file or topology states, ``None`` where it states nothing.

    Attributes:
        types: atom types as written (LAMMPS types ``"1"``, force-field types), the keys of ``type_map``.
        elements: element symbols as written (``""`` where unknown).
        masses: masses in amu (NaN where unknown).
        names: atom names.
        residues: residue (molecule) index of each atom.
        charges: partial charges in e.
        virtual: True for massless particles (virtual sites).
    """

    types: np.ndarray | None = None
    elements: np.ndarray | None = None
    masses: np.ndarray | None = None
    names: np.ndarray | None = None
    residues: np.ndarray | None = None
    charges: np.ndarray | None = None
    virtual: np.ndarray | None = None

    def filled_from(self, other: "AtomFacts | None") -> "AtomFacts":
        """These facts, with the ones this source lacks taken from ``other`` (e.g. a topology)."""
        if other is None:
            return self
        return replace(self, **{f.name: getattr(other, f.name) for f in fields(self)
                                if getattr(self, f.name) is None})


@dataclass(frozen=True)
class AtomChoice:
    """The outcome: ``numbers`` ``(N,)`` atomic numbers in the file's numbering (0 for atoms left
    out), ``keep`` ``(N,)`` bool, ``charges`` ``(N,)`` e or ``None``."""

    numbers: np.ndarray
    keep: np.ndarray
    charges: np.ndarray | None

    @property
    def kept_numbers(self) -> np.ndarray:
        return self.numbers[self.keep]

    @property
    def kept_charges(self) -> np.ndarray | None:
        return None if self.charges is None else self.charges[self.keep]

    @property
    def all_kept(self) -> bool:
        return bool(self.keep.all())


def facts_from_numbers(numbers: np.ndarray) -> AtomFacts:
    """Facts of a file that stores atomic numbers (ASE formats, npz); 0 (ASE's ``X``) is unknown."""
    from ase.data import chemical_symbols

    return AtomFacts(elements=np.array(["" if z == 0 else chemical_symbols[int(z)] for z in numbers]))


def facts_from_atoms(atoms: Any) -> AtomFacts:
    """Facts of an ``ase.Atoms`` frame: its atomic numbers and, when set, its initial charges (e)."""
    charges = atoms.get_initial_charges() if atoms.has("initial_charges") else None
    return replace(facts_from_numbers(atoms.numbers), charges=charges)


def facts_from_universe(universe: Any) -> AtomFacts:
    """Facts an MDAnalysis topology states (guessed types and masses are left out)."""
    atoms, topology = universe.atoms, universe._topology

    def stated(name: str) -> np.ndarray | None:
        attr = getattr(topology, name, None)
        if attr is None or getattr(attr, "is_guessed", False):
            return None
        return np.asarray(getattr(atoms, name))

    types, masses = stated("types"), stated("masses")
    guessed_types = np.asarray(atoms.types).astype(str) if hasattr(atoms, "types") and types is None else None
    virtual = np.zeros(atoms.n_atoms, dtype=bool)
    if masses is not None:
        virtual |= masses.astype(np.float64) == 0
    if guessed_types is not None:
        virtual |= guessed_types == "DUMMY"
    elements = stated("elements")
    charges = stated("charges")
    return AtomFacts(types=None if types is None else types.astype(str),
                     elements=None if elements is None else elements.astype(str),
                     masses=None if masses is None else masses.astype(np.float64),
                     names=np.asarray(atoms.names).astype(str) if hasattr(atoms, "names") else None,
                     residues=np.asarray(atoms.resindices) if universe.residues.n_residues > 1 else None,
                     charges=None if charges is None else charges.astype(np.float64), virtual=virtual)


def choose_atoms(facts: AtomFacts, n_atoms: int, *, type_map: dict[str, int] | None = None,
                 exclude: Any = None, universe: Any = None, source: str | None = None) -> AtomChoice:
    """Elements, kept atoms and charges of ``n_atoms`` atoms (rules in the module docstring).

    Args:
        facts: what the file and topology state.
        type_map: atom type (or name) label -> atomic number.
        exclude: atoms to leave out: indices (``[0, 5]``, ``"0,5"``, file numbering), elements
            (``"Na,Cl"``) or an MDAnalysis selection string (needs ``universe``).
        universe: the MDAnalysis topology, for ``exclude`` selections.

    Raises:
        GdynetError: an atom that is kept has no element (the message shows the ``--type-map`` that
            fixes it), a type_map without types, a bad ``exclude``, or no atoms at all.
    """
    if n_atoms < 1:
        raise GdynetError("the file's first frame has no atoms; gdynet needs the same atoms in every frame", source)
    numbers = _resolve_elements(facts, n_atoms, type_map, source)
    virtual = facts.virtual if facts.virtual is not None else _massless(facts, n_atoms)
    excluded = _excluded(exclude, numbers, universe, n_atoms, source)
    keep = ~virtual & ~excluded
    if not keep.any():
        raise GdynetError("every atom is left out (massless or --exclude)", source)
    if virtual.any():
        names = _labels(facts, virtual)
        prefix = f"{source}: " if source else ""
        warnings.warn(f"{prefix}left out {int(virtual.sum())} massless particles (virtual sites{names}); "
                      "gdynet uses only atoms with mass", GdynetWarning, stacklevel=3)
    unresolved = keep & (numbers < 0)
    if unresolved.any():
        raise GdynetError(_unresolved_message(facts, numbers, unresolved, type_map), source)
    numbers = np.where(keep, numbers, 0)
    charges = None if facts.charges is None else _move_charges(facts, virtual, keep, source)
    return AtomChoice(numbers.astype(np.int64), keep, charges)


def _move_charges(facts: AtomFacts, virtual: np.ndarray, keep: np.ndarray, source: str | None) -> np.ndarray:
    """Charges with each charged massless particle's charge added to the heaviest kept atom of its residue."""
    charges = np.asarray(facts.charges, dtype=np.float64).copy()
    moving = np.flatnonzero(virtual & (charges != 0))
    if moving.size == 0:
        return charges
    if facts.residues is None:
        lost = float(np.abs(charges[moving]).sum())
    else:
        residue = np.unique(np.asarray(facts.residues), return_inverse=True)[1].ravel()
        weight = facts.masses if facts.masses is not None else np.ones(len(charges))
        kept = np.flatnonzero(keep)
        kept = kept[np.lexsort((-weight[kept], residue[kept]))]        # heaviest first within each residue
        first = np.r_[True, residue[kept][1:] != residue[kept][:-1]]
        host = np.full(residue.max() + 1, -1)
        host[residue[kept][first]] = kept[first]
        target = host[residue[moving]]
        np.add.at(charges, target[target >= 0], charges[moving[target >= 0]])
        lost = float(np.abs(charges[moving[target < 0]]).sum())
    if lost:
        prefix = f"{source}: " if source else ""
        warnings.warn(f"{prefix}massless particles without a residue to join carry {lost:g} e of charge, which "
                      "is left out with them", GdynetWarning, stacklevel=4)
    return charges


def remap_targets(targets: np.ndarray, keep: np.ndarray, source: str | None) -> np.ndarray:
    """Target sets in the file's numbering -> numbering of the kept atoms."""
    if keep.all():
        return targets
    dropped = targets[~keep[targets]]
    if dropped.size:
        raise GdynetError(f"target atom {int(dropped[0])} is left out (massless or --exclude)", source)
    new_index = np.cumsum(keep) - 1
    return new_index[targets]


def parse_pbc(value: Any, source: str | None = None) -> tuple[bool, bool, bool] | None:
    """``--pbc``: ``"1,1,0"``, ``"xy"``, ``"none"``, ``"xyz"``, ``True``, or three bools -> 3 bools."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return (bool(value),) * 3
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("none", "no", "false", "off", ""):
            return (False, False, False)
        if text in ("all", "yes", "true", "on"):
            return (True, True, True)
        if re.fullmatch(r"[xyz]{1,3}", text) and len(set(text)) == len(text):
            return tuple(axis in text for axis in "xyz")  # type: ignore[return-value]
        items = [t.strip() for t in text.split(",")]
        flags = {"1": True, "t": True, "true": True, "p": True, "0": False, "f": False, "false": False}
        if len(items) == 3 and all(t in flags for t in items):
            return tuple(flags[t] for t in items)  # type: ignore[return-value]
    elif isinstance(value, Sequence) and len(value) == 3 and all(isinstance(v, (bool, np.bool_, int)) for v in value):
        return tuple(bool(v) for v in value)  # type: ignore[return-value]
    raise GdynetError(f"pbc must name the periodic cell vectors, e.g. 'xyz', 'xy', '1,1,0' or 'none'; got {value!r}",
                      source)


# ------------------------------------------------------------------ elements
def _resolve_elements(facts: AtomFacts, n_atoms: int, type_map: dict[str, int] | None,
                      source: str | None) -> np.ndarray:
    """Atomic number of each atom, -1 where no rule gives one."""
    numbers = np.full(n_atoms, -1, dtype=np.int64)
    if type_map is not None:
        keys = facts.types if facts.types is not None else facts.names
        if keys is None:
            raise GdynetError(f"{option('type_map')} needs atom types, but this file has no type column or topology "
                              f"types (its atoms' elements come from the file); leave out {option('type_map')}",
                              source)
        numbers = _fill(numbers, keys, lambda k: type_map.get(str(k).strip(), -1))
    if facts.elements is not None:
        numbers = _fill(numbers, facts.elements, _symbol_number)
    if facts.masses is not None:
        numbers = _fill(numbers, facts.masses, _mass_number)
    if facts.names is not None:
        numbers = _fill(numbers, facts.names, _name_number)
    return numbers


def _fill(numbers: np.ndarray, values: np.ndarray, rule) -> np.ndarray:
    """Apply ``rule`` (value -> Z or -1) to the unresolved atoms, once per distinct value."""
    todo = numbers < 0
    if not todo.any():
        return numbers
    distinct, inverse = np.unique(np.asarray(values)[todo], return_inverse=True)
    found = np.array([rule(v) for v in distinct], dtype=np.int64)
    numbers = numbers.copy()
    numbers[todo] = found[inverse.ravel()]
    return numbers


def _symbol_number(text: Any) -> int:
    from ase.data import atomic_numbers

    symbol = str(text).strip().capitalize()
    return atomic_numbers[symbol] if symbol in atomic_numbers and symbol != "X" else -1


def _mass_number(mass: Any) -> int:
    from ase.data import atomic_masses

    mass = float(mass)
    if not np.isfinite(mass) or mass <= 0:
        return -1
    z = int(np.argmin(np.abs(atomic_masses[1:] - mass))) + 1
    return z if abs(atomic_masses[z] - mass) <= MASS_TOLERANCE else -1


def _name_number(name: Any) -> int:
    from ase.data import atomic_numbers

    text = str(name).strip()
    if text in atomic_numbers and text != "X":
        return atomic_numbers[text]
    try:
        from MDAnalysis.guesser.default_guesser import DefaultGuesser  # MDAnalysis >= 2.8

        guess = DefaultGuesser(None).guess_atom_element(text)
    except Exception:  # older MDAnalysis, or nothing to guess from
        return -1
    return _symbol_number(guess)


def _massless(facts: AtomFacts, n_atoms: int) -> np.ndarray:
    if facts.masses is None:
        return np.zeros(n_atoms, dtype=bool)
    return facts.masses == 0


def _excluded(exclude: Any, numbers: np.ndarray, universe: Any, n_atoms: int, source: str | None) -> np.ndarray:
    mask = np.zeros(n_atoms, dtype=bool)
    if exclude is None:
        return mask
    if isinstance(exclude, str) and INDEX_LIST.match(exclude):
        exclude = [int(i) for i in exclude.split(",") if i.strip()]
    if isinstance(exclude, str):
        tokens = [t.strip() for t in exclude.split(",") if t.strip()]
        zs = [_symbol_number(t) if t[:1].isupper() else -1 for t in tokens]
        if tokens and all(z > 0 for z in zs):
            return np.isin(numbers, zs)
        if universe is None:
            raise GdynetError(f"exclude {exclude!r} is neither elements ('Na,Cl') nor atom indices ('0,5'); "
                              "MDAnalysis selections need a topology", source)
        try:
            group = universe.select_atoms(exclude)
        except Exception as exc:
            raise GdynetError(f"invalid --exclude selection {exclude!r}: {exception_summary(exc)}", source) from exc
        mask[group.indices] = True
        return mask
    index = np.asarray(exclude)
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
        raise GdynetError(f"exclude must be atom indices, elements or a selection, got {exclude!r}", source)
    if index.size and (index.min() < 0 or index.max() >= n_atoms):
        raise GdynetError(f"exclude index {int(index.max())} is out of range (atoms are 0..{n_atoms - 1})", source)
    mask[index] = True
    return mask


def _labels(facts: AtomFacts, mask: np.ndarray, limit: int = 5) -> str:
    """``": names MW"`` for the atoms of ``mask`` (types when there are no names)."""
    for what, values in (("names", facts.names), ("types", facts.types)):
        if values is not None:
            found = sorted({str(v) for v in np.asarray(values)[mask]})
            return f": {what} {', '.join(found[:limit])}"
    return ""


def _natural(label: str) -> tuple:
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def _unresolved_message(facts: AtomFacts, numbers: np.ndarray, unresolved: np.ndarray,
                        type_map: dict[str, int] | None) -> str:
    """Which types and names have no element, and the ``--type-map`` that would fix it: the pairs
    given so far plus ``label=?`` for each unresolved type (or name)."""
    from ase.data import chemical_symbols

    keys = facts.types if facts.types is not None else facts.names
    parts = []
    if facts.types is not None:
        parts.append("types " + ", ".join(sorted({str(t) for t in facts.types[unresolved]}, key=_natural)[:10]))
    if facts.names is not None:
        parts.append("names " + ", ".join(sorted({str(n) for n in facts.names[unresolved]})[:10]))
    if facts.elements is not None:
        written = sorted({str(e) for e in facts.elements[unresolved] if str(e).strip()})
        if written:
            parts.append("element column " + ", ".join(written[:10]))
    what = "; ".join(parts) or f"{int(unresolved.sum())} atoms"
    head = f"cannot tell the element of atoms ({what})"
    if keys is None:
        return f"{head}; this file states no atom types to map"
    given = [f"{k}={chemical_symbols[z]}" for k, z in (type_map or {}).items()]
    missing = [f"{k}=?" for k in sorted({str(k) for k in np.asarray(keys)[unresolved]}, key=_natural)]
    return f"{head}; pass --type-map (type_map=) with their elements: --type-map {','.join(given + missing)}"


#: a comma-separated list of atom indices, "0,4,7"
INDEX_LIST = re.compile(r"^\s*\d+(\s*,\s*\d+)*\s*,?\s*$")


def to_atomic_number(value: str | int, source: str | os.PathLike[str] | None = None) -> int:
    """Atomic number of an element symbol (``"Li"``) or of an int in 1..118."""
    from ase.data import atomic_numbers

    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if 1 <= int(value) <= 118:
            return int(value)
        raise GdynetError(f"unknown atomic number {value} (must be 1..118)", source)
    text = str(value).strip()
    if is_element_symbol(text):
        return atomic_numbers[text]
    raise GdynetError(f"unknown element {value!r} (element symbols are case-sensitive, e.g. 'Li', 'Cl')", source)


def is_element_symbol(text: str) -> bool:
    from ase.data import atomic_numbers

    return text in atomic_numbers and text != "X"
