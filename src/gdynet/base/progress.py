"""Progress bars for long work (graph building, training, toy MD), on stderr via rich."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator


def progress_bar(*columns: Any, enabled: bool, transient: bool = False) -> Any:
    """A ``rich.progress.Progress`` with ``columns`` writing to stderr; silent when not ``enabled``.

    A disabled bar accepts the same calls (``add_task``, ``update``, ``advance``) and prints nothing,
    so callers never branch on whether progress is shown.
    """
    from rich.console import Console
    from rich.progress import Progress

    return Progress(*columns, console=Console(stderr=True), disable=not enabled, transient=transient)


@contextmanager
def frame_counter(name: str, total: int, *, enabled: bool, completed: int = 0) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n_frames)`` of a transient bar named ``name`` counting frames up to ``total``;
    shown when ``enabled`` and stderr is a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    with progress_bar(TextColumn(name), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      enabled=enabled and sys.stderr.isatty(), transient=True) as bar:
        task = bar.add_task(name, total=total, completed=completed)
        yield lambda n: bar.advance(task, n)
