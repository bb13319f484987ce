"""Which frames ``gdynet analyze`` uses: held-out data, as in the paper, or every frame.

The paper trains on some data and analyses data the network never saw. ``analyze_on="test"``
selects

* the test trajectories (``gdynet fit ... --test FILE``), used whole, when the run has any;
* otherwise the chronological test block of every trajectory (the last ``split[2]`` fraction of its
  frames, exactly the frames :func:`gdynet.training.data.split_frames` kept out of training).

``analyze_on="all"`` uses every frame of every trajectory. When the held-out frames are too short
for the analysis (the longest held-out piece must span :data:`MIN_LAGS` fit lags and exceed the
largest lag asked for), the analysis falls back to every frame with a :class:`GdynetWarning` and
says so in ``note`` (never silently).

A selection is a list of segments ``(trajectory, start, stop)``; the analysis slices each
trajectory and its state probabilities ``chi`` to ``[start, stop)`` and treats every segment as one
trajectory, so everything downstream (Koopman model, timescales, CK test, RDFs, conduction) is
held-out automatically.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

from ..base.errors import GdynetError, GdynetWarning
from ..base.option_names import option

ANALYZE_ON = ("test", "all")
#: the longest held-out segment must hold at least this many fit lags (Koopman model + CK test n ≤ 2)
MIN_LAGS = 3


@dataclass(frozen=True)
class Selection:
    """Frames to analyse.

    Attributes:
        segments: ``(trajectory index, start frame, stop frame)`` pieces, each analysed as a trajectory.
        analysis_on: ``"test"`` (held-out frames only) or ``"all"``.
        note: one sentence saying which frames were used (and why, after a fall-back).
    """

    segments: list[tuple[int, int, int]]
    analysis_on: str
    note: str

    @property
    def longest(self) -> int:
        """Frames in the longest segment."""
        return max(stop - start for _, start, stop in self.segments)


def split_fractions(value: Any) -> tuple[float, float, float]:
    """The train/validation/test fractions recorded for a fit (a sequence or ``"0.7,0.15,0.15"``)."""
    from ..training.trainer import TrainConfig

    if value is None:
        return tuple(TrainConfig.split)
    if isinstance(value, str):
        value = value.split(",")
    try:
        fractions = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise GdynetError(f"split fractions must be three numbers, got {value!r}", "run.json") from None
    if len(fractions) != 3:
        raise GdynetError(f"split fractions must be three numbers, got {value!r}", "run.json")
    return fractions


def held_out_segments(lengths: Sequence[int], n_train: int, lag: int,
                      split: Sequence[float]) -> list[tuple[int, int, int]]:
    """Held-out pieces: trajectories ``n_train, ...`` whole if there are any, else the test blocks.

    ``lengths``: frames of every trajectory, training ones first (``n_train`` of them) then the test
    trajectories. The test blocks are those of :func:`gdynet.training.data.split_frames`.
    """
    from ..training.data import split_frames

    if len(lengths) > n_train:
        return [(k, 0, int(n)) for k, n in enumerate(lengths) if k >= n_train]
    out = []
    for k, n in enumerate(lengths):
        start, stop = split_frames(int(n), lag, split)["test"]
        if stop > start:
            out.append((k, start, stop))
    return out


def select_frames(lengths: Sequence[int], *, n_train: int, lag: int, split: Sequence[float],
                  analyze_on: str, largest_lag: int | None = None) -> Selection:
    """The frames to analyse (module docstring); warns and uses every frame when held-out data are too short.

    Args:
        lengths: frames per trajectory (training trajectories first, then ``--test`` ones).
        n_train: number of training trajectories.
        lag: the fit lag τ in frames.
        split: train/validation/test fractions of the fit.
        analyze_on: ``"test"`` or ``"all"``.
        largest_lag: the largest lag (frames) the analysis will use, if already known.
    """
    if analyze_on not in ANALYZE_ON:
        raise GdynetError(f"{option('analyze_on')} must be test or all, got {analyze_on!r}")
    every = Selection([(k, 0, int(n)) for k, n in enumerate(lengths)], "all",
                      f"all {sum(lengths)} frames of {len(lengths)} trajectories (training data included)")
    if analyze_on == "all":
        return every
    segments = held_out_segments(lengths, n_train, lag, split)
    need = max(MIN_LAGS * lag, (largest_lag or 0) + 2)
    longest = max((stop - start for _, start, stop in segments), default=0)
    what = ("the test trajectories" if len(lengths) > n_train else
            f"the test blocks (last {split[2] / sum(split):.0%} of each trajectory)")
    if not segments:
        reason = "the fit kept no frames out of training (test fraction 0 and no --test trajectories)"
    elif longest < need:
        reason = (f"{what} are too short for the analysis: the longest has {longest} frames, "
                  f"{need} needed (at least {MIN_LAGS} lags of {lag} frames and every analysis lag)")
    if not segments or longest < need:
        warnings.warn(f"{reason}; analysing all frames instead, training data included "
                      "(give longer --test trajectories, or --analyze-on all to silence this)",
                      GdynetWarning, stacklevel=2)
        return Selection(every.segments, "all", f"{every.note}; held-out data too short: {reason}")
    frames = sum(stop - start for _, start, stop in segments)
    return Selection(segments, "test", f"held-out data only: {what}, {frames} frames in "
                                       f"{len(segments)} piece{'s' if len(segments) > 1 else ''} never used in training")
