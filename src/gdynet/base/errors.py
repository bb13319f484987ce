"""The one exception class users see.

Every mistake a user can make (bad path, wrong shape, NaN coordinates, unknown target, lag longer
than the data, ...) raises :class:`GdynetError` with a one-line message that names the file (when
there is one) and the problem. The CLI prints ``error: <message>`` and exits with status 2.
"""
from __future__ import annotations

from os import PathLike


class GdynetError(ValueError):
    """A user-facing error whose ``str`` is one line: ``"<source>: <problem>"``."""

    def __init__(self, message: str, source: str | PathLike[str] | None = None) -> None:
        text = " ".join(str(message).split())  # guarantee one line
        if source is not None:
            text = f"{source}: {text}"
        super().__init__(text)
        self.source = None if source is None else str(source)


def exception_summary(exc: BaseException, limit: int = 200) -> str:
    """``"<ExceptionType>: <first line of its message>"`` (at most ``limit`` characters of it), for
    wrapping a library's exception into a one-line :class:`GdynetError`."""
    lines = str(exc).strip().splitlines()
    detail = lines[0][:limit] if lines else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class GdynetWarning(UserWarning):
    """Something the user should know but that does not stop the run (the CLI prints ``warning: ...``)."""
