"""Time units: everything inside gdynet is in picoseconds (ps) and Ångström (Å)."""
from __future__ import annotations

import math
import numbers
import re

import numpy as np

from .errors import GdynetError

_TO_PS = {"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6, "µs": 1e6}
_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Zµ]*)\s*$")


def parse_time(value: float | int | str, *, name: str = "time") -> float:
    """Convert ``value`` to picoseconds.

    Accepts a number (already in ps) or a string with a unit: ``"0.1ps"``, ``"100fs"``, ``"2 ns"``.
    A string needs its unit (``"0.1"`` is refused, as ``lag="10"`` is: one rule for every time).
    Raises :class:`GdynetError` for anything else, or for a non-positive time.
    """
    if isinstance(value, bool):
        raise GdynetError(f"{name} must be a time such as 0.1ps or 100fs, got {value!r}")
    if isinstance(value, numbers.Real):  # int, float and NumPy scalars
        ps = float(value)
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if not match:
            raise GdynetError(f"{name} must be a time such as 0.1ps, 100fs or 2 ns, got {value!r}")
        number, unit = match.groups()
        if not unit:
            raise GdynetError(f"{name} {value!r} has no unit: write {number}ps (or {number}fs), or the number "
                              f"{number} (ps) without quotes")
        unit = unit.lower()
        if unit not in _TO_PS:
            raise GdynetError(f"{name}: unknown time unit {unit!r} in {value!r} (use fs, ps, ns or us)")
        ps = float(number) * _TO_PS[unit]
    else:
        raise GdynetError(f"{name} must be a number (ps) or a string with a unit, got {type(value).__name__}")
    if not math.isfinite(ps) or ps <= 0:
        raise GdynetError(f"{name} must be a positive time, got {value!r}")
    return ps


def lag_to_frames(lag: int | str, dt_ps: float, *, name: str = "lag") -> int:
    """Convert a lag to a whole number of frames: the one rule for lags everywhere.

    An integer (``int`` or a NumPy integer) is a number of frames; a string with a unit (``"2ps"``,
    ``"500fs"``) is a time, converted with the frame spacing ``dt_ps`` and rounded to the nearest
    frame (it must be a multiple of ``dt_ps`` within 1 %). A float or a bare number in a string
    (``10.0``, ``"10"``) is ambiguous and an error that shows both ways to write it.
    """
    check_lag(lag, name=name)
    if isinstance(lag, numbers.Integral):
        return int(lag)
    ps = parse_time(lag, name=name)
    frames = round(ps / dt_ps)
    if frames < 1 or abs(frames * dt_ps - ps) > 0.01 * ps:
        raise GdynetError(f"{name} {lag!r} is not a whole number of frames of {dt_ps:g} ps")
    return int(frames)


def check_lag(lag: object, *, name: str = "lag") -> None:
    """Raise :class:`GdynetError` unless ``lag`` is a positive int (frames) or a time with a unit.

    The one check of the lag rule: every public ``lag=`` goes through it before anything else
    (``lags=`` through :func:`check_lags`), so a float or a bare number string is refused with the
    same line everywhere (tests/test_lag_rule.py finds them all by signature)."""
    if isinstance(lag, numbers.Integral) and not isinstance(lag, (bool, np.bool_)):
        if lag < 1:
            raise GdynetError(f"{name} must be at least 1 frame, got {lag}")
        return
    match = _PATTERN.match(lag) if isinstance(lag, str) else None
    if match is None or not match.group(2):
        raise GdynetError(f"{name} must be a whole number of frames (an int, e.g. 10) or a time with a unit "
                          f"(e.g. \"2ps\" or \"500fs\"), got {lag!r}")
    parse_time(lag, name=name)


def check_lags(lags: object, *, name: str = "lags") -> None:
    """Raise :class:`GdynetError` unless ``lags`` is a sequence of lags that each pass
    :func:`check_lag` (a single lag or a string is not a list of lags)."""
    if isinstance(lags, (str, bytes)) or not hasattr(lags, "__iter__"):
        raise GdynetError(f"{name} must be a list of lags (ints for frames or times with a unit, e.g. [1, 2, 5] or "
                          f"[\"1ps\", \"2ps\"]), got {lags!r}")
    for lag in lags:  # type: ignore[attr-defined]
        check_lag(lag, name=name)


def frames_to_ps(frames: int | np.ndarray, dt_ps: float) -> float | np.ndarray:
    """``frames · dt_ps`` in ps rounded to 12 significant digits, so 3 frames of 0.1 ps are 0.3 ps (not
    0.30000000000000004); an array gives an array."""
    value = np.asarray(frames, dtype=np.float64) * float(dt_ps)
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = np.where(value > 0, 11 - np.floor(np.log10(np.abs(np.where(value > 0, value, 1.0)))), 0)
    rounded = np.array([round(float(v), int(d)) for v, d in zip(value.ravel(), digits.ravel())]).reshape(value.shape)
    return float(rounded) if rounded.ndim == 0 else rounded
