"""Which frames of a file to keep when its MD step numbers go back: a restarted run appended to it.

A LAMMPS run restarted from a restart file written at step 2000, with its dump appended to the
file of the first run (``dump_modify append yes``), gives TIMESTEPs ``0 ... 2990`` then ``2000 ...
3990``: the frames 2000-2990 of the first run were overwritten in spirit by the second, and users
expect the second run's frames. The same rule makes a frame written twice (the same TIMESTEP
again) count once: the later copy is kept. Steps that are all equal carry no time and are left
alone (the caller decides whether they can be used).
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

#: overlaps named one by one in the warning; more are counted
NAMED_OVERLAPS = 3


@dataclass(frozen=True)
class Overlap:
    """At frame ``at`` (counted from 0 in the file) the step goes back to ``step``; the ``n_frames``
    earlier frames of steps ``first_step .. last_step`` are replaced by the later ones."""

    at: int
    step: int
    first_step: int
    last_step: int
    n_frames: int

    def describe(self, word: str = "step") -> str:
        """One clause, calling the step numbers ``word`` (e.g. ``"TIMESTEP"``)."""
        if self.n_frames == 1 and self.first_step == self.step == self.last_step:
            return f"frame {self.at} repeats {word} {self.step} (the later copy is kept)"
        return (f"the {word} goes back from {self.last_step} to {self.step} at frame {self.at} (a restarted run "
                f"appended to the file): its frames replace the {self.n_frames} earlier frames of {word} "
                f"{self.first_step}-{self.last_step}")


def resolve(steps: np.ndarray) -> tuple[np.ndarray, list[Overlap]]:
    """``(kept, overlaps)``: the numbers of the frames to keep (increasing; their steps strictly
    increase) and where later frames replaced earlier ones. Where a step goes back to or below one
    already kept, the kept frames from that step on are dropped."""
    steps = np.asarray(steps)
    everything = np.arange(len(steps))
    if len(steps) < 2 or np.all(np.diff(steps) > 0) or np.all(steps == steps[0]):
        return everything, []
    kept: list[int] = []
    kept_steps: list[int] = []
    overlaps: list[Overlap] = []
    for number, step in enumerate(steps.tolist()):
        if kept_steps and kept_steps[-1] >= step:
            first = bisect_left(kept_steps, step)
            overlaps.append(Overlap(number, step, kept_steps[first], kept_steps[-1], len(kept) - first))
            del kept[first:], kept_steps[first:]
        kept.append(number)
        kept_steps.append(step)
    return np.asarray(kept, dtype=np.int64), overlaps


def warning_text(overlaps: list[Overlap], word: str) -> str:
    """One sentence naming the overlaps (the first :data:`NAMED_OVERLAPS` of them) and the frames dropped."""
    dropped = sum(o.n_frames for o in overlaps)
    named = "; ".join(o.describe(word) for o in overlaps[:NAMED_OVERLAPS])
    more = len(overlaps) - NAMED_OVERLAPS
    return (f"{dropped} frame{'s' * (dropped != 1)} dropped where the {word} goes back or repeats: "
            f"{named}" + (f"; and {more} more" if more > 0 else ""))
