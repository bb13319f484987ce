"""How an error names an option: the keyword argument from Python, the flag on the command line.

Checks write ``f"{option('n_states')} must be at least 2"``: from Python the message says
``n_states must be ...``; inside the ``gdynet`` CLI (which runs its commands under
:func:`cli_names`) it says ``--states must be ...``.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

#: keyword arguments whose CLI flag is not simply ``--`` + the keyword with ``-`` for ``_``
FLAGS = {"n_states": "--states", "temperature_K": "--temperature", "charges": "--charge",
         "targets": "--target", "axis": "--profile", "n_sets": "--coarse",
         "trajectories": "TRAJ", "architecture": "--model"}

_IN_CLI: contextvars.ContextVar[bool] = contextvars.ContextVar("gdynet_in_cli", default=False)
def option(keyword: str) -> str:
    """``keyword`` as the user wrote it: itself from Python, its flag in the CLI."""
    if not _IN_CLI.get():
        return keyword
    return FLAGS.get(keyword, "--" + keyword.replace("_", "-"))


@contextmanager
def cli_names() -> Iterator[None]:
    """Inside this block, :func:`option` gives CLI flags."""
    token = _IN_CLI.set(True)
    try:
        yield
    finally:
        _IN_CLI.reset(token)
