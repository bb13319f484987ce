"""``gdynet fit --seeds N``: how far N trained initialisations agree (summary.json ``seeds``,
``seeds_agreement``, ``robust``, ``seeds_spread``).

Each seed's network labels every frame; its calibrated states are matched to the best seed's by the
permutation that maximises agreement (Hungarian assignment on the overlap of the most probable
states), and the entry reports its validation VAMP-2, its Koopman timescales and populations (in the
best seed's state order), and ``match``: the fraction of all target-frames whose most probable state
equals the best seed's after that permutation (1 = the same states everywhere).

What each state *is* is compared on :data:`DESCRIBE_FRAMES` frames spread over every trajectory (the
same frames for every seed): ``coordination``, per element, the state-weighted mean number of its
atoms within the first shell of a target (radius ``shell_radius_A``: the first minimum of the
targets' RDF to all atoms pooled over the trajectories, :func:`gdynet.analysis.order.default_cutoff`;
Eq. 12 integrated to there), and with ``--order-parameter`` ``order_parameter_mean``, the
state-weighted mean Steinhardt q_l. Everything streams through memory maps, one trajectory at a time.

:func:`seeds_robustness` turns the entries into the verdict: *not robust* when some seed's states
agree with the kept seed's on fewer than :data:`MIN_AGREEMENT` of the target-frames, or when the
slowest timescale varies over the seeds by more than :data:`MAX_T1_SPREAD` ((max − min) / min).
The kept model is always the best by validation VAMP-2.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..files.writes import json_safe
from ..analysis.matching import best_match, confusion
from ..base.errors import GdynetError
from ..files.openfiles import load_npy
from ..network.chi import CHI_CHUNK_FRAMES, calibration_sample, predict_raw, remove, write_calibrated

#: frames per trajectory (evenly strided) on which each seed's states are described
DESCRIBE_FRAMES = 200
#: probability added to every state before the description (a state absent from one trajectory has no
#: RDF there); states holding less than EMPTY_STATE of the sampled target-frames, or fewer than
#: MIN_STATE_FRAMES of them (probability-weighted), are not described: a site the data visit only in a
#: boundary crossing or two (the toy's Li in a tetrahedral site for 2 of 400 frames counts 7 S) has no
#: meaningful coordination
FLOOR = 1e-9
EMPTY_STATE = 1e-4
MIN_STATE_FRAMES = 10.0
#: seeds whose matched states agree with the kept seed's on fewer target-frames than this are not robust
MIN_AGREEMENT = 0.9
#: the slowest timescale may vary over the seeds by at most this fraction ((max - min) / min)
MAX_T1_SPREAD = 0.25


def seed_entry(seed: int, validation: float, chi: Sequence[np.ndarray], reference: Sequence[np.ndarray],
               lag: int, dt_ps: float) -> tuple[dict[str, Any], np.ndarray]:
    """One summary.json ``seeds`` entry for the calibrated ``chi`` of a seed (states in reference order),
    and ``order`` (``order[j]``: the seed's state matched to reference state j)."""
    from ..koopman.estimator import KoopmanEstimator

    order, match = best_match(state_confusion(chi, reference))
    koopman = KoopmanEstimator(lag, dt_ps).fit(list(chi)).fetch_model()
    return json_safe({"seed": int(seed), "vamp2_validation": validation, "timescales_ps": koopman.timescales_ps,
                      "populations": np.asarray(koopman.stationary)[order], "match": match}), order


def _stride(n_frames: int) -> int:
    return max(1, n_frames // DESCRIBE_FRAMES)


def seed_entries(trained: Sequence[tuple[int, Any, float]], best: int, sources: Sequence[Any],
                 best_chi: Sequence[np.ndarray], scratch: Path, n_states: int, lag: int, dt_ps: float,
                 device: str, trajectories: Sequence[Any] = (),
                 order_parameter: str | None = None) -> list[dict[str, Any]]:
    """Entries for every ``(seed, model, validation VAMP-2)`` in ``trained``; ``best`` indexes the kept one,
    whose calibrated chi (``best_chi``, one array per trajectory) is the reference. With the
    ``trajectories`` (one per source) each entry also describes its states (:func:`describe_states`)."""
    from ..network.calibration import calibration_matrix

    entries, samples = [], []
    for k, (seed, model, validation) in enumerate(trained):
        if k == best:
            entry, order = seed_entry(seed, validation, best_chi, best_chi, lag, dt_ps)
            entries.append(entry)
            samples.append([np.asarray(c[::_stride(len(c))])[..., order] for c in best_chi])
            continue
        raw_paths = [scratch / f".seed_{seed}_raw_{i:03d}.{os.getpid()}.npy" for i in range(len(sources))]
        paths = [scratch / f".seed_{seed}_{i:03d}.{os.getpid()}.npy" for i in range(len(sources))]
        raws = [predict_raw(model, s, n_states, p, device) for s, p in zip(sources, raw_paths)]
        A = calibration_matrix(calibration_sample(raws))
        chi = [load_npy(write_calibrated(r, A, p)) for r, p in zip(raws, paths)]
        del raws
        entry, order = seed_entry(seed, validation, chi, best_chi, lag, dt_ps)
        entries.append(entry)
        samples.append([np.asarray(c[::_stride(len(c))])[..., order] for c in chi])
        del chi
        for path in (*raw_paths, *paths):
            remove(path)
    if len(trajectories):
        strided = [t[::_stride(t.n_frames)] for t in trajectories]
        for entry, described in zip(entries, describe_states(strided, samples, order_parameter)):
            entry.update(described)
    return entries


def describe_states(trajs: Sequence[Any], chis: Sequence[Sequence[np.ndarray]],
                    order_parameter: str | None = None) -> list[dict[str, Any]]:
    """Per seed, what its states are (module docstring): ``{"shell_radius_A", "coordination":
    {element: [per state]}, "order_parameter_mean": [per state] or None}``.

    ``trajs``: the (strided) trajectories; ``chis[k][i]``: seed k's chi of trajectory i on the same
    frames, states in the kept seed's order. One neighbour search serves every seed: the seeds' chi
    are put side by side as ``K·S`` states (scaled by 1/K, so every row still sums to 1; the
    state-weighted means do not change; every entry gets :data:`FLOOR` first, so a state that one
    trajectory never visits leaves no empty curve). A state with less than :data:`EMPTY_STATE` of the
    sampled target-frames, or fewer than :data:`MIN_STATE_FRAMES` of them, gets None (too rarely visited
    in these frames to describe). The shell radius comes from all the trajectories' frames pooled; data
    without a first-shell minimum get no coordination (``shell_radius_A`` None), nor an order parameter
    unless its cut-off was given.
    """
    from ase.data import chemical_symbols

    from ..analysis.order import default_cutoff, target_order
    from ..analysis.rdf import state_rdf
    from .materials import parse_order_parameter

    n_seeds, n_states = len(chis), chis[0][0].shape[-1]
    side = [np.concatenate([c[i] for c in chis], axis=-1).astype(np.float64) for i in range(len(trajs))]
    weight = sum(c.sum(axis=(0, 1)) for c in side)
    sampled = sum(c.shape[0] * c.shape[1] for c in side)
    empty = ((weight < EMPTY_STATE * sampled) | (weight < MIN_STATE_FRAMES)).reshape(n_seeds, n_states)
    side = [(c + FLOOR) / (n_seeds + c.shape[-1] * FLOOR) for c in side]
    try:
        radius: float | None = default_cutoff(trajs)
    except GdynetError:
        radius = None
    coordination: dict[str, np.ndarray] = {}
    if radius is not None:
        for z in sorted(set(np.concatenate([t.numbers for t in trajs]).tolist())):
            try:
                rdf = state_rdf(trajs, side, z, r_max=radius, n_bins=1)
            except GdynetError:           # e.g. the only atoms of this element are the targets themselves
                continue
            values = rdf.coordination[:, 0].reshape(n_seeds, n_states)
            coordination[chemical_symbols[z]] = np.where(empty, np.nan, values)
    q_mean = None
    parsed = parse_order_parameter(order_parameter)
    if parsed is not None and (parsed[2] or radius):     # the order parameter's cut-off, as in the analysis
        l, average, cutoff = parsed
        q = [target_order(t, l, cutoff or radius, average) for t in trajs]
        ok = [np.isfinite(x) for x in q]
        weight = sum(np.einsum("fn,fns->s", m.astype(np.float64), c) for m, c in zip(ok, side))
        total = sum(np.einsum("fn,fns->s", np.where(m, x, 0.0), c) for m, x, c in zip(ok, q, side))
        with np.errstate(invalid="ignore", divide="ignore"):
            q_mean = np.where(empty, np.nan, (total / weight).reshape(n_seeds, n_states))
    return [json_safe({"shell_radius_A": radius, "coordination": {e: v[k] for e, v in coordination.items()},
                       "order_parameter_mean": None if q_mean is None else q_mean[k]}) for k in range(n_seeds)]


def _spread(values: Any) -> dict[str, Any]:
    """min, max and (max − min) / |min| over the seeds (axis 0) that know each column (None: none does)."""
    import warnings

    x = np.asarray([[np.nan if v is None else v for v in row] for row in values], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)           # a column no seed knows: NaN, as wanted
        low, high = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
        relative = np.where(low != 0, (high - low) / np.abs(low), np.nan)
    return json_safe({"min": low, "max": high, "relative": relative})


def kept_seed(entries: Sequence[dict[str, Any]], kept: int | None = None) -> int:
    """``kept`` when given, else the seed of the entry with the best validation VAMP-2."""
    if kept is not None:
        return int(kept)
    return int(max(entries, key=lambda e: -np.inf if e["vamp2_validation"] is None else e["vamp2_validation"])["seed"])


def seeds_robustness(entries: Sequence[dict[str, Any]] | None, kept: int | None = None) -> dict[str, Any]:
    """summary.json ``seeds_agreement`` (the lowest matched agreement of a seed with the kept one),
    ``robust`` (module docstring; None with fewer than two seeds), ``seeds_spread`` (per state:
    populations, coordination per element, mean order parameter; per process: timescales; each
    ``{"min", "max", "relative"}`` over the seeds) and ``seeds_remark`` (one sentence: the verdict and why).
    ``kept``: the kept seed (default: the entry with the best validation VAMP-2)."""
    if not entries or len(entries) < 2:
        return {"seeds_agreement": None, "robust": None, "seeds_spread": None, "seeds_remark": None}
    kept = kept_seed(entries, kept)
    agreement = float(min(e["match"] for e in entries))
    spread: dict[str, Any] = {"populations": _spread([e["populations"] for e in entries]),
                              "timescales_ps": _spread([[np.inf if t is None else t for t in e["timescales_ps"]]
                                                        for e in entries])}
    elements = sorted(set.intersection(*(set(e.get("coordination") or {}) for e in entries)))
    if elements:
        spread["coordination"] = {z: _spread([e["coordination"][z] for e in entries]) for z in elements}
    if all(e.get("order_parameter_mean") is not None for e in entries):
        spread["order_parameter_mean"] = _spread([e["order_parameter_mean"] for e in entries])
    t1 = spread["timescales_ps"]
    t1_rel = t1["relative"][0] if t1["relative"] else None
    t1_known = bool(t1["min"]) and t1["min"][0] is not None
    problems = []
    if agreement < MIN_AGREEMENT:
        worst = min(entries, key=lambda e: e["match"])
        problems.append(f"seed {worst['seed']}'s states agree with the kept seed {kept}'s on only {agreement:.1%} "
                        f"of target-frames (< {MIN_AGREEMENT:.0%})")
    if t1_known and (t1_rel is None or t1_rel > MAX_T1_SPREAD):
        high = "∞" if t1["max"][0] is None else f"{t1['max'][0]:.3g} ps"
        problems.append(f"t1 ranges from {t1['min'][0]:.3g} to {high} over the seeds "
                        f"({'unbounded' if t1_rel is None else f'+{t1_rel:.0%}'} > {MAX_T1_SPREAD:.0%})")
    robust = not problems
    if robust:
        remark = (f"robust: the {len(entries)} seeds' states agree on at least {agreement:.1%} of target-frames "
                  f"(>= {MIN_AGREEMENT:.0%})" + (f" and t1 varies by {t1_rel:.0%} (<= {MAX_T1_SPREAD:.0%})"
                                                  if t1_known and t1_rel is not None else ""))
    else:
        remark = "not robust: " + "; ".join(problems)
    return json_safe({"seeds_agreement": agreement, "robust": robust, "seeds_spread": spread, "seeds_remark": remark})


def seed_differences(entries: Sequence[dict[str, Any]], kept: int) -> list[str]:
    """One sentence per seed other than ``kept``: how its states and timescales differ from the kept seed's."""
    reference = next(e for e in entries if e["seed"] == kept)
    lines = []
    for e in entries:
        if e["seed"] == kept:
            continue
        parts = [f"states agree on {e['match']:.1%} of target-frames"]
        for i, (t, t0) in enumerate(zip(e["timescales_ps"], reference["timescales_ps"])):
            if t is not None and t0:
                parts.append(f"t{i + 1} {t:.3g} ps ({t / t0 - 1:+.0%})")
        dp = np.abs(np.subtract(e["populations"], reference["populations"]))
        s = int(np.argmax(dp))
        parts.append(f"largest population change: state {s} {100 * e['populations'][s]:.1f} % "
                     f"(kept {100 * reference['populations'][s]:.1f} %)")
        for z, values in (e.get("coordination") or {}).items():
            base = (reference.get("coordination") or {}).get(z)
            if base is None:
                continue
            d = np.abs(np.subtract(np.asarray(values, dtype=float), np.asarray(base, dtype=float)))
            if np.all(np.isnan(d)):
                continue
            s = int(np.nanargmax(d))
            parts.append(f"{z} neighbours of state {s} {values[s]:.2f} (kept {base[s]:.2f})")
        q, q0 = e.get("order_parameter_mean"), reference.get("order_parameter_mean")
        if q is not None and q0 is not None:
            d = np.abs(np.subtract(np.asarray(q, dtype=float), np.asarray(q0, dtype=float)))
            if not np.all(np.isnan(d)):
                s = int(np.nanargmax(d))
                parts.append(f"mean order parameter of state {s} {q[s]:.3f} (kept {q0[s]:.3f})")
        lines.append(f"seed {e['seed']} (validation VAMP-2 {e['vamp2_validation']:.4f}): " + "; ".join(parts))
    return lines


def state_confusion(chi: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> np.ndarray:
    """(S, S) counts of target-frames with argmax state i in ``chi`` and j in ``reference`` (streamed)."""
    n_states = chi[0].shape[-1]
    joint = np.zeros((n_states, n_states), dtype=np.int64)
    for a, b in zip(chi, reference):
        for start in range(0, a.shape[0], CHI_CHUNK_FRAMES):
            joint += confusion(np.asarray(a[start:start + CHI_CHUNK_FRAMES]).argmax(-1),
                               np.asarray(b[start:start + CHI_CHUNK_FRAMES]).argmax(-1), n_states, n_states)
    return joint
