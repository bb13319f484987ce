"""How long to train when the user does not say: batch size, epochs and patience from the data's size.

An epoch is one pass over the training pairs, so the number of gradient steps it holds, and what a
fixed number of epochs means, depends on the data: 12 toy trajectories of 8,000 frames with one target
each give 260 steps of 256 pairs per epoch, one interface trajectory of 150 frames with 1,350 targets
gives fewer than one. The network needs a number of *steps*, not epochs. The defaults are therefore set
in samples and steps and converted to pairs and epochs once the training data are known:

* ``batch_size``: enough frame pairs that a step holds about :data:`AUTO_BATCH_SAMPLES` samples (a
  sample is one target set of one pair), between 4 and 256 pairs, but no more than leaves
  :data:`MIN_STEPS_PER_EPOCH` steps per epoch (few frames of few targets: 270 training pairs of 16
  Li ions would otherwise be one step per epoch);
* ``epochs``: at least :data:`MIN_EPOCHS`, and enough for :data:`MIN_STEPS` steps;
* ``patience``: at least :data:`MIN_PATIENCE` epochs, and enough for :data:`PATIENCE_STEPS` steps.

Measured on the Cu interface example (1,353 targets, 105 training pairs at lag 2 ps, 4 pairs per step,
26 steps per epoch, issue 11): the validation VAMP-2 of a four-state model sat at 1.79 between steps
~400 and ~750 before the network found the solid/liquid process (2.08 at step 800, 2.37 at 1,300,
2.49 at 2,600); the old fixed defaults (30 epochs, patience 5, which the example used as 15 epochs)
stopped on that plateau; with 3,000 steps the best epoch was still the last but four, hence 5,000.
On the toy system every run converged within the first 100 steps, so the
step minimums cost it nothing but a longer wait for early stopping.

Whether the length was enough is judged afterwards from the validation curve
(:func:`training_convergence`): a run is *not converged* when the epoch limit stopped it with its
best validation score in the last :data:`BEST_TAIL` of the epochs (or after fewer than
:data:`MIN_JUDGE_EPOCHS` epochs), or when the best score of the last :data:`RISE_TAIL` of the epochs
beats the best before them by more than :data:`RISE_TOLERANCE` of the learned part of the score
(best − 1). Measured on the polymer electrolyte example (3 states, 16 Li, 8 steps per epoch,
issue 26): a seed stopped at 40 epochs with its best in epoch 40 (validation 2.026 / 2.042 / 2.101 /
2.146 at epochs 10 / 20 / 30 / 40) gained 0.01 more in 13 epochs and was flat from epoch ~60.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..base.errors import GdynetError

#: samples (target sets x pairs) per step that the automatic batch size aims at
AUTO_BATCH_SAMPLES = 4096
#: automatic batch size limits, frame pairs
MIN_BATCH, MAX_BATCH = 4, 256
#: the automatic batch size leaves at least this many steps per epoch (down to MIN_BATCH pairs)
MIN_STEPS_PER_EPOCH = 8
#: the automatic epoch limit gives at least this many steps ...
MIN_STEPS = 5000
#: ... and at least this many epochs
MIN_EPOCHS = 30
#: the automatic patience waits at least this many steps without a better validation score ...
PATIENCE_STEPS = 800
#: ... and at least this many epochs
MIN_PATIENCE = 5
#: a run stopped by the epoch limit with its best validation score in this last fraction of the
#: epochs (at least the last epoch) was still improving
BEST_TAIL = 0.1
#: the validation VAMP-2 must not rise over this last fraction of the epochs (at least one) ...
RISE_TAIL = 0.2
#: ... by more than this fraction of the learned part of the score (best - 1; VAMP-2 is 1 for a
#: constant output)
RISE_TOLERANCE = 0.01
#: fewer epochs than this, ended by the epoch limit, are too few to tell
MIN_JUDGE_EPOCHS = 5


@dataclass(frozen=True)
class Budget:
    """Resolved training lengths: ``batch_size`` (pairs per step), ``epochs``, ``patience``
    (epochs), ``steps_per_epoch``, and which of the three were chosen automatically (``auto``)."""

    batch_size: int
    epochs: int
    patience: int
    steps_per_epoch: int
    auto: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"batch_size": self.batch_size, "epochs": self.epochs, "patience": self.patience,
                "steps_per_epoch": self.steps_per_epoch, "auto": list(self.auto)}


def auto_batch_size(n_pairs: int, n_targets: int) -> int:
    """Frame pairs per step: about :data:`AUTO_BATCH_SAMPLES` samples, at least
    :data:`MIN_STEPS_PER_EPOCH` steps per epoch, within ``[MIN_BATCH, MAX_BATCH]``."""
    if n_targets < 1:
        raise GdynetError(f"need at least one target set, got {n_targets}")
    by_samples = math.ceil(AUTO_BATCH_SAMPLES / n_targets)
    return min(MAX_BATCH, max(MIN_BATCH, min(by_samples, n_pairs // MIN_STEPS_PER_EPOCH)))


def training_budget(n_pairs: int, n_targets: int, *, batch_size: int | None = None,
                    epochs: int | None = None, patience: int | None = None) -> Budget:
    """Fill in the lengths left as ``None`` from ``n_pairs`` training pairs of ``n_targets`` target
    sets each (see the module docstring); given values are kept as they are."""
    auto = tuple(name for name, value in (("batch_size", batch_size), ("epochs", epochs),
                                          ("patience", patience)) if value is None)
    batch = auto_batch_size(n_pairs, n_targets) if batch_size is None else int(batch_size)
    steps = max(1, n_pairs // batch)
    epochs = max(MIN_EPOCHS, math.ceil(MIN_STEPS / steps)) if epochs is None else int(epochs)
    wait = max(MIN_PATIENCE, math.ceil(PATIENCE_STEPS / steps)) if patience is None else int(patience)
    return Budget(batch_size=batch, epochs=epochs, patience=wait, steps_per_epoch=steps, auto=auto)


def training_convergence(history: Sequence[Mapping[str, Any]],
                         epoch_limit: int | None = None) -> tuple[bool, str | None]:
    """Whether training converged, from ``history`` (per epoch: ``epoch``, ``validation`` VAMP-2,
    ``collapse`` on an epoch the collapse guard undid; :class:`.trainer.TrainResult`) and the epoch
    limit it ran under (``None``: unknown, taken as reached). Returns ``(converged, reason)``;
    ``reason`` (None when converged) names the evidence and ``--epochs``. The rules are in the module
    docstring."""
    scores = [(int(h["epoch"]), float(h["validation"])) for h in history
              if not h.get("collapse") and h.get("validation") is not None and math.isfinite(h["validation"])]
    if not scores:
        return False, "training has not converged: no epoch has a validation score; refit with more --epochs"
    n = int(history[-1]["epoch"])
    at_limit = epoch_limit is None or n >= epoch_limit
    best_epoch, best = max(scores, key=lambda s: s[1])
    reasons = []
    if at_limit and n < MIN_JUDGE_EPOCHS:
        reasons.append(f"only {n} epoch{'s' * (n != 1)}, too few to tell")
    elif at_limit and best_epoch > n - max(1, math.floor(BEST_TAIL * n)):
        where = (f"the last of the {n} epochs allowed" if best_epoch == n else
                 f"epoch {best_epoch} of the {n} allowed (the last {BEST_TAIL:.0%})")
        reasons.append(f"the best validation VAMP-2 ({best:.4f}) came in {where}")
    tail = max(1, math.ceil(RISE_TAIL * n))
    before = [v for e, v in scores if e <= n - tail]
    after = [v for e, v in scores if e > n - tail]
    if before and after:
        rise = max(after) - max(before)
        if rise > RISE_TOLERANCE * max(best - 1.0, 0.0):
            reasons.append(f"the validation VAMP-2 still rose by {rise:.4f} ({max(before):.4f} -> {max(after):.4f}) "
                           f"over the last {tail} of {n} epochs")
    if not reasons:
        return True, None
    return False, (f"training has not converged: {'; '.join(reasons)}; refit with more --epochs "
                   f"(this run: {n})")
