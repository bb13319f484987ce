"""Who writes a run folder: one process at a time.

``fit`` and ``analyze`` hold an exclusive ``flock`` on ``DIR/.gdynet.lock`` (:func:`run_lock`),
``predict`` a shared one; a second process exits with one line instead of interleaving its files with
the first one's. :func:`claim` decides whether ``fit`` may take a folder (empty, the same run to
resume, or ``--force``) and sweeps the scratch files of killed processes.
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..base.errors import GdynetError
from ..base.option_names import option
from ..files.diskspace import disk_error
from ..files.fingerprint import require_same_inputs
from ..files.writes import live_temporary
from .outputs import recover
from .rundir import RunDir

LOCK_NAME = ".gdynet.lock"
#: scratch files of a killed process, swept when the next writer takes the lock (see :func:`claim`)
SCRATCH = ("chi/.raw_*", "chi/.seed_*", "chi/.*.tmp", ".*.tmp")
#: run folders this process holds the lock of (fit -> train -> analyze take it in turn)
_HELD: set[str] = set()


@contextmanager
def run_lock(root: Path, *, create: bool = False, shared: bool = False) -> Iterator[bool]:
    """Hold the lock of the run folder ``root`` (exclusive; ``shared`` for readers such as ``predict``).

    ``create``: make the folder first. Yields whether this call created it. A second process gets
    one line, "another gdynet process is using DIR"; calls nested in one process (``fit`` ->
    ``train`` -> ``analyze``) pass through, as do torchrun ranks other than 0 (rank 0 writes). A
    reader in a folder it cannot write proceeds without a lock (no writer can be there either).
    """
    root = Path(root)
    key = str(root.resolve())
    if key in _HELD or not _main_rank():
        yield False
        return
    created = False
    if create:
        if root.exists() and not root.is_dir():
            raise GdynetError(f"{option('out')} must be a folder, but a file of that name exists", root)
        created = not root.exists()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, root) from None
    try:
        handle = open(root / LOCK_NAME, "a")
    except OSError as exc:
        if shared and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            yield created
            return
        raise GdynetError(f"cannot write in the run folder ({exc.strerror}); gdynet writes its results there: "
                          "fix its permissions or copy it to a writable place", root) from None
    with handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GdynetError(f"another gdynet process is using {root}; wait until it has finished, or "
                              "choose another folder") from None
        _HELD.add(key)
        try:
            yield created
        finally:
            _HELD.discard(key)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _main_rank() -> bool:
    """False in torchrun processes other than rank 0 (they neither lock nor delete anything)."""
    return int(os.environ.get("RANK", "0") or 0) == 0


@contextmanager
def writing_run(root: Path) -> Iterator[None]:
    """:func:`run_lock` for ``fit``: creates the folder, and removes it again when this call created it
    and a :class:`GdynetError` (a user mistake) ends the run before a model was saved (a trained
    model is kept: ``gdynet analyze`` can still be run with other options)."""
    with run_lock(root, create=True) as created:
        try:
            yield
        except GdynetError:
            if created and not RunDir(root).model.exists():
                shutil.rmtree(root, ignore_errors=True)
            raise


def claim(run: RunDir, record: dict[str, Any], same: Sequence[str], force: bool) -> None:
    """Check that ``fit`` may write ``record``'s run into ``run`` (called under :func:`run_lock`).

    An empty folder is taken; a folder with the same run (``record``'s ``same`` entries equal, the
    input files unchanged, :mod:`gdynet.files.fingerprint`) is resumed; any other run is refused, or with
    ``force`` deleted to start over. A non-empty folder without run.json is never touched.
    Scratch files of killed processes are swept (both only by torchrun's rank 0).
    """
    if run.run_json.exists():
        if force:
            for entry in run.root.iterdir() if _main_rank() else ():
                if entry.name != LOCK_NAME:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            return
        previous = run.read_run()
        if {k: previous.get(k, [] if k == "test_paths" else None) for k in same} != {k: record[k] for k in same}:
            raise GdynetError("this folder holds a different run (other inputs or options); choose another "
                              f"{option('out')}, or pass {option('force')} to start over", run.root)
        require_same_inputs(previous, run.root, "fit")
    elif any(entry.name != LOCK_NAME for entry in run.root.iterdir()):
        raise GdynetError(f"output folder exists and is not empty; choose another {option('out')}", run.root)
    if _main_rank():
        sweep_scratch(run)


def sweep_scratch(run: RunDir) -> None:
    """Delete the scratch files (:data:`SCRATCH`) a killed process left in ``run`` (under the lock),
    after completing an interrupted swap of ``analyze``'s outputs (:func:`.outputs.recover`)."""
    recover(run)
    for pattern in SCRATCH:
        for path in run.root.glob(pattern):
            if live_temporary(path):                # e.g. torchrun's rank 1 writing run.json right now
                continue
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)

