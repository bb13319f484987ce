"""Fingerprints of input files, so a run folder is bound to the contents it was made from.

``run.json`` keeps one per trajectory and topology file: size, modification time (ns) and a BLAKE2b
hash of the whole file when it is at most ``FULL_HASH_BYTES``, else of its head, tail and
``SAMPLES`` evenly spaced blocks (a few MiB read whatever the size). A file whose size or hash
differs is a different input; a large file with the same sampled content but another modification
time is taken as the same (a copy or ``touch``), with a warning that only samples were compared.
"""
from __future__ import annotations

import errno
import hashlib
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

from ..base.errors import GdynetError, GdynetWarning, exception_summary
from ..base.option_names import option

T = TypeVar("T")

#: files up to this size are hashed whole (about 0.1 s at BLAKE2b's ~0.6 GB/s)
FULL_HASH_BYTES = 64 * 2 ** 20
#: bytes hashed at the head and at the tail of a larger file, and per sample
BLOCK_BYTES = 2 ** 20
SAMPLES = 16


def file_fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"path", "size", "mtime_ns", "hash", "hashed": "full" | "sampled"}`` of the file ``path``."""
    path = Path(path)
    try:
        stat = path.stat()
        digest = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as handle:
            if stat.st_size <= FULL_HASH_BYTES:
                for block in iter(lambda: handle.read(BLOCK_BYTES), b""):
                    digest.update(block)
            else:
                step = (stat.st_size - BLOCK_BYTES) // (SAMPLES + 1)
                for offset in [0, *(step * k for k in range(1, SAMPLES + 1)), stat.st_size - BLOCK_BYTES]:
                    handle.seek(offset)
                    digest.update(handle.read(BLOCK_BYTES))
    except OSError as exc:
        raise GdynetError(f"cannot read input file ({exc.strerror or exc})", path) from None
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "hash": digest.hexdigest(), "hashed": "full" if stat.st_size <= FULL_HASH_BYTES else "sampled"}


def input_path(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute with its links followed; a one-line :class:`GdynetError` naming ``path``
    for a symbolic link loop (Python < 3.13 raises RuntimeError there, later ones OSError)."""
    try:
        return str(Path(path).expanduser().resolve())
    except (RuntimeError, OSError) as exc:
        loop = "loop" in str(exc).lower() or getattr(exc, "errno", None) == errno.ELOOP
        raise GdynetError("a symbolic link loop: the link never reaches a file" if loop else
                          f"cannot follow its symbolic links ({exception_summary(exc)})", path) from None


def distinct_inputs(train: Sequence[str], test: Sequence[str], prints: dict[str, dict[str, Any]]) -> None:
    """Refuse a training file given twice, or a test file that is also a training file, by content:
    ``prints`` (:func:`file_fingerprint` by resolved path) equal in size and hash are the same data,
    whatever their names (copies, links). A one-line :class:`GdynetError` naming both files."""
    seen: dict[tuple[int, str], tuple[str, str]] = {}
    for role, paths in (("training trajectory", train), (f"{option('test')} trajectory", test)):
        for path in paths:
            if path not in prints:
                continue
            key = (prints[path]["size"], prints[path]["hash"])
            if key in seen:
                first_role, first = seen[key]
                hint = ("give each trajectory once (a repeated one would count as another independent one)"
                        if role == first_role else "test data must be frames the network never trained on")
                if first == path:
                    what = f"{role} {path} is given twice" if role == first_role else \
                        f"{path} is both a {first_role} and a {role}"
                else:
                    what = f"{role} {path} has the same content as {first_role} {first}"
                raise GdynetError(f"{what} (names and links compared by content): {hint}")
            seen[key] = (role, path)


def read_unchanged(paths: Sequence[str | None], read: Callable[[], T]) -> tuple[T, list[dict[str, Any]]]:
    """``(read(), fingerprints)``: the inputs ``paths`` fingerprinted before and after ``read()``; a
    file that changed meanwhile (an MD run still writing it) is refused with one line, so the
    fingerprints recorded are those of the bytes read."""
    before = input_fingerprints(paths)
    result = read()
    for old, new in zip(before, input_fingerprints(p["path"] for p in before)):
        if (old["size"], old["hash"]) != (new["size"], new["hash"]):
            grew = f"size {old['size']} -> {new['size']} bytes" if old["size"] != new["size"] else "other content"
            raise GdynetError(f"changed while gdynet read it ({grew}): is it still being written? Wait until the "
                              "run has finished, or copy the file and use the copy", old["path"])
    return result, before


def input_fingerprints(paths: Iterable[str | os.PathLike[str] | None]) -> list[dict[str, Any]]:
    """Fingerprints of the existing files among ``paths`` (``None`` skipped, each file once)."""
    seen: dict[str, dict[str, Any]] = {}
    for path in paths:
        if path is not None and Path(path).is_file() and str(Path(path).resolve()) not in seen:
            seen[str(Path(path).resolve())] = file_fingerprint(path)
    return list(seen.values())


def changed_input(recorded: Iterable[dict[str, Any]]) -> str | None:
    """The first recorded input whose file now differs, as ``"<path> changed since ... (...)"``; None
    when all are the same. Files that no longer exist are left to the readers (they say so)."""
    for old in recorded:
        path = Path(old["path"])
        if not path.is_file():
            continue
        new = file_fingerprint(path)
        if new["size"] != old["size"]:
            return f"{path} changed since this run was made (size {old['size']} -> {new['size']} bytes)"
        if new["hash"] != old["hash"]:
            return f"{path} changed since this run was made (same size, other content)"
        if new["mtime_ns"] != old["mtime_ns"] and old["hashed"] == "sampled":
            warnings.warn(GdynetWarning(f"{path} was modified since this run was made; its size and sampled "
                                        "content are unchanged, so the run is used as it is"), stacklevel=2)
    return None


def require_same_inputs(record: dict[str, Any], run_root: str | os.PathLike[str], command: str) -> None:
    """Raise a one-line :class:`GdynetError` when an input recorded in ``record["inputs"]`` (run.json)
    changed; ``command`` is the gdynet command that would reuse the run (named in the message)."""
    change = changed_input(record.get("inputs", []))
    if change is not None:
        raise GdynetError(f"{change}; {command} refuses to reuse the weights and graphs of {run_root} — run "
                          "`gdynet fit ... --force` to start this run over, or fit into another --out")
