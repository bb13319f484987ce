"""Neighbour graphs of a whole trajectory, built once, kept on disk as memory-mapped ``.npy``.

An entry of the cache is a folder ``graphs-m{M}-{key}`` for a model of M neighbours per atom
(``--neighbors``), holding ``W = graph_width(M) = M + 2`` neighbours per atom (the smooth M-th shell
of :mod:`gdynet.graphs.shells`):

    indices.npy    (F, N, W) uint16   neighbour atom indices (periodic images included); int32 when
                                      N > 65,535 (``index_dtype``)
    distances.npy  (F, N, W) float32  distances in Å, each row nearest first
    numbers.npy    (N,) int64         atomic numbers
    targets.npy    (n, k) int64       target sets of the last trajectory that used the entry
    meta.json      sizes (``neighbors`` M and ``width`` W), dt_ps, source, fingerprint, code version,
                   CRC-32 checksums
    COMPLETE       marker written last

6 bytes per edge (10 when N > 65,535; see benchmarks/RESULTS.md for the measured alternatives:
16-bit distances, neighbour lists built per batch). ``key`` hashes ``Trajectory.fingerprint()``
(positions, cells, numbers, dt, pbc), M and the code version (which includes ``STORE_FORMAT``), so a
changed input or kernel never reuses a stale entry. A build writes into a hidden
``.graphs-...partial`` folder (one ``done/`` marker per finished chunk of frames) and is renamed
onto the entry only once complete: a killed build is resumed from its finished chunks, never
trusted. A lock file serialises concurrent builds of the same entry.

``meta.json`` holds a CRC-32 of every chunk of frames of both arrays (and of ``numbers.npy``),
checked when the store is opened (about 3 GB/s): a damaged entry (a zero-filled or truncated
file) is refused by :meth:`GraphStore.open` with one line naming the file, and rebuilt by
:func:`build_graphs` with a warning -- never read as data.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .. import __version__
from ..files.writes import save_npy, write_json
from ..files.cache_root import cache_root, entry_lock
from ..files.diskspace import open_memmap, require_free
from ..base.errors import GdynetError, GdynetWarning
from ..base.progress import frame_counter
from ..files.openfiles import load_npy, open_files_error
from ..files.pages import crc32_blocks, release
from ..trajectory.core import Trajectory
from .neighbors import KERNEL_VERSION, check_m, neighbors
from .shells import EXTRA_NEIGHBORS, graph_width

#: on-disk layout; 3: M + 2 neighbours per atom, M and W in meta.json; 2: uint16 indices when
#: N <= 65,535 (1: always int32)
STORE_FORMAT = 3
#: part of every cache key: a new package, kernel or store format never reuses (misreads) old graphs
CODE_VERSION = f"{__version__}+kernel{KERNEL_VERSION}+store{STORE_FORMAT}"
#: jobs smaller than this many atom-frames run in one process by default (pool start-up ~1 s)
SMALL_JOB = 2_000_000
#: atom-frames per chunk (a chunk is one unit of work, resume and progress)
CHUNK_ATOM_FRAMES = 200_000
_COMPLETE = "COMPLETE"


@dataclass(frozen=True, eq=False)
class GraphStore:
    """Read-only, memory-mapped neighbour graphs of one trajectory (see the module docstring).

    Attributes:
        path: the entry folder.
        indices: ``(F, N, W)`` memmap of neighbour atom indices, :func:`index_dtype` (uint16 or int32).
        distances: ``(F, N, W)`` float32 memmap of neighbour distances in Å, rows nearest first.
        numbers: ``(N,)`` int64 atomic numbers.
        targets: ``(n, k)`` int64 target sets.
        dt_ps: time between frames in ps.
        source: the trajectory's source.
    """

    path: Path
    indices: np.ndarray
    distances: np.ndarray
    numbers: np.ndarray
    targets: np.ndarray
    dt_ps: float
    source: str

    @property
    def n_frames(self) -> int:
        """Number of frames ``F``."""
        return int(self.indices.shape[0])

    @property
    def n_atoms(self) -> int:
        """Number of atoms ``N``."""
        return int(self.indices.shape[1])

    @property
    def width(self) -> int:
        """Neighbours stored per atom, ``W = M + EXTRA_NEIGHBORS``."""
        return int(self.indices.shape[2])

    @property
    def neighbors(self) -> int:
        """M, the neighbours per atom of the model these graphs are for (``--neighbors``)."""
        return self.width - EXTRA_NEIGHBORS

    def __repr__(self) -> str:
        return (f"GraphStore({self.n_frames} frames x {self.n_atoms} atoms x {self.width} neighbours "
                f"(M = {self.neighbors}), path={str(self.path)!r})")

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, verify: bool = True) -> "GraphStore":
        """Open a complete entry written by :func:`build_graphs` (arrays memory-mapped read-only);
        ``verify``: check its checksums first (:func:`verify_checksums`)."""
        path = Path(path)
        if not (path / _COMPLETE).is_file():
            problem = "is not a graph store" if not path.is_dir() else "is an incomplete graph store (interrupted build)"
            raise GdynetError(f"{problem}; rebuild it with build_graphs", path)
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            indices = load_npy(path / "indices.npy")        # small: in memory (no descriptor held)
            distances = load_npy(path / "distances.npy")
            numbers = np.load(path / "numbers.npy")
            targets = np.load(path / "targets.npy")
            shape = (meta["n_frames"], meta["n_atoms"], meta["width"])
            neighbors = meta["neighbors"]
        except (OSError, ValueError, KeyError) as exc:
            raise open_files_error(exc, path) or GdynetError(f"unreadable graph store ({exc!r}); rebuild it with "
                                                             "build_graphs", path) from None
        if graph_width(neighbors) != shape[2]:
            raise GdynetError(f"graph store of {neighbors} neighbours has width {shape[2]}, this version "
                              f"stores {graph_width(neighbors)}; rebuild it with build_graphs", path)
        if indices.shape != shape or distances.shape != shape or numbers.shape != shape[1:2]:
            raise GdynetError(f"graph store arrays do not match meta.json {shape}", path)
        if verify:
            verify_checksums(path, meta, {"indices.npy": indices, "distances.npy": distances, "numbers.npy": numbers})
        return cls(path=path, indices=indices, distances=distances, numbers=numbers.astype(np.int64),
                   targets=targets.astype(np.int64), dt_ps=float(meta["dt_ps"]), source=str(meta["source"]))


def checksums(arrays: dict[str, np.ndarray], chunk_frames: int) -> dict[str, list[int]]:
    """CRC-32 of every ``chunk_frames`` frames of each (F, N, m) array, of the whole of other arrays."""
    return {name: crc32_blocks(array, chunk_frames if array.ndim == 3 else max(len(array), 1))
            for name, array in arrays.items()}


def verify_checksums(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Raise a one-line :class:`GdynetError` naming the file (and frames) whose content does not match
    the checksums in ``meta`` (``meta.json`` of the store at ``path``)."""
    expected = meta.get("checksums")
    if not isinstance(expected, dict):
        raise GdynetError("graph store without checksums (an older gdynet wrote it); delete it to rebuild it", path)
    chunk = int(meta["chunk_frames"])
    for name, array in arrays.items():
        for k, (got, want) in enumerate(zip(checksums({name: array}, chunk)[name], expected.get(name, []))):
            if got != want:
                frames = f" (frames {k * chunk}–{min((k + 1) * chunk, len(array)) - 1})" if array.ndim == 3 else ""
                raise GdynetError(f"damaged graph store: content does not match its checksum{frames}; delete "
                                  "the entry or rerun to rebuild it", path / name)


def index_dtype(n_atoms: int) -> type:
    """Narrowest stored index type: uint16 up to 65,535 atoms (2 bytes per edge), else int32."""
    return np.uint16 if n_atoms <= np.iinfo(np.uint16).max else np.int32


def default_cache_dir() -> Path:
    """``$GDYNET_CACHE/graphs`` if set, else ``~/.cache/gdynet/graphs``."""
    return cache_root("graphs")


def build_graphs(traj: Trajectory, neighbors: int = 12, cache_dir: str | os.PathLike[str] | None = None, *,
                 workers: int | None = None, progress: bool = True) -> GraphStore:
    """The ``graph_width(neighbors) = M + 2`` nearest periodic neighbours of every atom in every frame,
    cached on disk: the graphs of a model of M neighbours per atom (:mod:`gdynet.graphs.shells`).

    Args:
        traj: the trajectory.
        neighbors: M, neighbours per atom of the model (see :func:`gdynet.graphs.neighbors.neighbors`).
        cache_dir: folder of cache entries (default :func:`default_cache_dir`).
        workers: processes building chunks of frames in parallel; ``None`` picks 1 for jobs
            under ``SMALL_JOB`` atom-frames, else the available cores.
        progress: show a progress bar (only when stderr is a terminal).

    Returns:
        The :class:`GraphStore`, reused without recomputation when a complete entry for the same
        trajectory content, ``neighbors`` and code version exists (its targets and source are updated
        to ``traj``'s).
    """
    check_m(neighbors)
    if not any(traj.pbc) and graph_width(neighbors) >= traj.n_atoms:
        raise GdynetError(f"{neighbors} neighbours asked for, but with no periodic axis the graphs need "
                          f"{graph_width(neighbors)} (M + {EXTRA_NEIGHBORS}) of the {traj.n_atoms - 1} neighbours "
                          f"each atom has; use --neighbors {traj.n_atoms - 1 - EXTRA_NEIGHBORS} or less", traj.source)
    root = cache_root("graphs", cache_dir)
    key = hashlib.blake2b(f"{traj.fingerprint()}|{neighbors}|{CODE_VERSION}".encode(), digest_size=10).hexdigest()
    final = root / f"graphs-m{neighbors}-{key}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        with entry_lock(root / f".{final.name}.lock", waiting=f"{final}: another process is building these graphs; waiting for it"):
            store = _reuse(final)
            if store is None:
                _build(traj, neighbors, final, workers, progress)
                store = GraphStore.open(final, verify=False)    # its checksums were just computed from it
            return _with_labels(store, traj)
    except OSError as exc:  # a read-only cache folder (lock file), a full disk, ...
        raise open_files_error(exc, root) or GdynetError(f"cannot write the graph cache ({exc.strerror or exc}); pass "
                                                         "cache_dir= or set GDYNET_CACHE to a writable folder",
                                                         root) from None


def _reuse(final: Path) -> GraphStore | None:
    """The complete, intact entry ``final``, or None (absent, interrupted, or damaged: with a warning)."""
    if not (final / _COMPLETE).is_file():
        return None
    try:
        return GraphStore.open(final)
    except GdynetError as exc:
        warnings.warn(GdynetWarning(f"{exc.args[0].split('; ')[0]}; rebuilding it"), stacklevel=3)
        return None


def _with_labels(store: GraphStore, traj: Trajectory) -> GraphStore:
    """Record ``traj``'s targets and source in the entry when they differ (same graphs).

    Called under the entry's lock; the store returned carries ``traj``'s labels itself, so a later
    relabelling of the shared entry by another run does not change it.
    """
    if np.array_equal(store.targets, traj.targets) and store.source == traj.source:
        return store
    save_npy(store.path / "targets.npy", traj.targets)
    meta = json.loads((store.path / "meta.json").read_text(encoding="utf-8"))
    write_json(store.path / "meta.json", {**meta, "source": traj.source})
    return replace(store, targets=traj.targets.astype(np.int64), source=traj.source)


def _build(traj: Trajectory, neighbors: int, final: Path, workers: int | None, progress: bool) -> None:
    """Fill (or resume) ``.{final.name}.partial``, then rename it onto ``final``."""
    partial = final.parent / f".{final.name}.partial"
    n_frames, n_atoms = traj.n_frames, traj.n_atoms
    chunk = max(1, CHUNK_ATOM_FRAMES // n_atoms)
    width = graph_width(neighbors)
    spec = {"n_frames": n_frames, "n_atoms": n_atoms, "neighbors": neighbors, "width": width,
            "chunk_frames": chunk, "fingerprint": traj.fingerprint(), "code_version": CODE_VERSION}
    if not _resumable(partial, spec):
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "done").mkdir(parents=True)
        require_free(partial, n_frames * n_atoms * width * (np.dtype(index_dtype(n_atoms)).itemsize + 4),
                     "the neighbour graphs")
        for name, dtype in (("indices.npy", index_dtype(n_atoms)), ("distances.npy", np.float32)):
            open_memmap(partial / name, dtype, (n_frames, n_atoms, width)).flush()
        (partial / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    starts = [s for s in range(0, n_frames, chunk) if not (partial / "done" / str(s)).exists()]
    if workers is None:
        workers = 1 if n_frames * n_atoms < SMALL_JOB else len(os.sched_getaffinity(0))
    workers = max(1, min(int(workers), len(starts)))
    with frame_counter("graphs", n_frames, enabled=progress,
                       completed=n_frames - sum(min(chunk, n_frames - s) for s in starts)) as advance:
        if workers == 1:
            for start in starts:
                stop = min(start + chunk, n_frames)
                _write_chunk(partial, start, traj.positions[start:stop], traj.cells[start:stop], width, traj.pbc)
                release(traj.positions)
                (partial / "done" / str(start)).touch()
                advance(stop - start)
        else:
            _run_pool(traj, partial, starts, chunk, width, workers, advance)
    np.save(partial / "numbers.npy", traj.numbers)
    np.save(partial / "targets.npy", traj.targets)
    arrays = {name: np.load(partial / name, mmap_mode="r") for name in ("indices.npy", "distances.npy")}
    meta = {**spec, "dt_ps": traj.dt_ps, "source": traj.source,
            "checksums": checksums({**arrays, "numbers.npy": np.asarray(traj.numbers)}, chunk)}
    del arrays
    (partial / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    (partial / _COMPLETE).touch()
    shutil.rmtree(final, ignore_errors=True)  # a stale incomplete entry, never a complete one
    os.replace(partial, final)


def _resumable(partial: Path, spec: dict) -> bool:
    """Whether ``partial`` is an interrupted build of exactly ``spec``."""
    try:
        return json.loads((partial / "spec.json").read_text(encoding="utf-8")) == spec
    except (OSError, ValueError):
        return False


def _write_chunk(partial: Path, start: int, positions: np.ndarray, cells: np.ndarray, width: int,
                 pbc: tuple[bool, bool, bool]) -> None:
    """The ``width`` nearest neighbours of frames ``start:start+len(positions)`` written into the memmaps
    of ``partial``."""
    idx, dist = neighbors(np.asarray(positions), cells, width, pbc)
    stop = start + len(idx)
    for name, values in (("indices.npy", idx), ("distances.npy", dist)):
        out = np.load(partial / name, mmap_mode="r+")
        out[start:stop] = values
        out.flush()
        del out


def _run_pool(traj: Trajectory, partial: Path, starts: list[int], chunk: int, width: int, workers: int,
              advance) -> None:
    """Chunks on a pool of ``workers`` processes, at most ``2 * workers`` in flight (bounded memory).

    The workers are forked: unlike ``spawn`` they do not re-run the user's ``__main__`` script (no
    ``if __name__ == "__main__"`` guard needed), and they only touch numpy and scipy.
    """
    pending: dict[Future, int] = {}
    todo = iter(starts)
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        try:
            while True:
                while len(pending) < 2 * workers and (start := next(todo, None)) is not None:
                    stop = min(start + chunk, traj.n_frames)
                    future = pool.submit(_write_chunk, partial, start, np.array(traj.positions[start:stop]),
                                         traj.cells[start:stop], width, traj.pbc)
                    release(traj.positions)
                    pending[future] = start
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    start = pending.pop(future)
                    future.result()
                    (partial / "done" / str(start)).touch()
                    advance(min(chunk, traj.n_frames - start))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
