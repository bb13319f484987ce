"""Plain-English lists for report sentences: "state 2", "states 0, 1 and 3"."""
from __future__ import annotations

from typing import Sequence


def join_words(words: Sequence[str]) -> str:
    """``["a"]`` -> ``"a"``; ``["a", "b", "c"]`` -> ``"a, b and c"``."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def state_list(states: Sequence[int]) -> str:
    """``[2]`` -> ``"state 2"``; ``[0, 1, 3]`` -> ``"states 0, 1 and 3"``."""
    names = [str(int(s)) for s in states]
    return ("state " if len(names) == 1 else "states ") + join_words(names)


def number_list(values: Sequence[float], fmt: str = ".3g", limit: int = 6) -> str:
    """Numbers for a one-line ``repr``: ``"0.5, 0.3, 0.2"``; more than ``limit`` show the first ones
    and the count, ``"1, 2, 3, 4, 5, … (9 values)"``; infinite ones as ``∞``."""
    items = [float(v) for v in values]
    shown = items if len(items) <= limit else items[:limit - 1]
    text = ", ".join("∞" if v == float("inf") else format(v, fmt) for v in shown)
    return text + (f", … ({len(items)} values)" if len(items) > limit else "")
