"""Progress bars for long work (graph building, training, toy MD), on stderr via rich."""
from __future__ import annotations

from typing import Any


def progress_bar(*columns: Any, enabled: bool, transient: bool = False) -> Any:
    """A ``rich.progress.Progress`` with ``columns`` writing to stderr; silent when not ``enabled``.

    A disabled bar accepts the same calls (``add_task``, ``update``, ``advance``) and prints nothing,
    so callers never branch on whether progress is shown.
    """
    from rich.console import Console
    from rich.progress import Progress

    return Progress(*columns, console=Console(stderr=True), disable=not enabled, transient=transient)
