"""``gdynet analyze`` writes its outputs as one set: figures/, report.md, report.html and summary.json.

They are made in a hidden stage folder ``DIR/.analyze-stage-<id>`` (same layout) and then swapped in:
a marker ``DIR/.analyze-commit.json`` naming the stage is written atomically, the outputs are renamed
into place (figures/, report.md, report.html, then summary.json), and the marker is removed. A kill
before the marker leaves the old set (the stage is swept later); a kill after it is completed by
the next gdynet command on the folder (:func:`recover`), so readers see the old complete set or the
new complete set, never figures of one analysis with the summary of another.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..files import writes
from .rundir import RunDir

STAGE_PREFIX = ".analyze-stage-"
COMMIT = ".analyze-commit.json"
#: the outputs of one analysis, in the order they are swapped in (summary.json, read first by tools, last)
OUTPUTS = ("figures", "report.md", "report.html", "summary.json")


@contextmanager
def staged_outputs(run: RunDir) -> Iterator[RunDir]:
    """Yield a :class:`RunDir` of a fresh stage folder to write the outputs into; on success swap them
    into ``run`` together (call under :func:`gdynet.runs.lock.run_lock`)."""
    recover(run)
    stage = run.root / f"{STAGE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        yield RunDir(stage)
        writes.write_json(run.root / COMMIT, {"stage": stage.name})
        _swap(run, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def recover(run: RunDir) -> None:
    """Finish a swap that a killed process began (marker present), then delete stale stage folders."""
    marker = run.root / COMMIT
    try:
        stage = run.root / json.loads(marker.read_text(encoding="utf-8"))["stage"]
    except (OSError, ValueError, KeyError, TypeError):
        stage = None
    if stage is not None and stage.is_dir():
        _swap(run, stage)
    marker.unlink(missing_ok=True)
    for old in run.root.glob(f"{STAGE_PREFIX}*"):
        shutil.rmtree(old, ignore_errors=True)


def _swap(run: RunDir, stage: Path) -> None:
    """Move the outputs found in ``stage`` onto ``run``'s (repeatable after a kill), then drop the marker."""
    for name in OUTPUTS:
        new, old = stage / name, run.root / name
        if not new.exists():
            continue
        if new.is_dir():
            if old.exists():
                retired = stage / f".old-{name}"
                shutil.rmtree(retired, ignore_errors=True)
                os.replace(old, retired)
            os.replace(new, old)
        else:
            os.replace(new, old)
    (run.root / COMMIT).unlink(missing_ok=True)
