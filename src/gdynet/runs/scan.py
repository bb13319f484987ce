"""``gdynet scan``: choose the number of states S and the lag τ from a few fits.

With ``--seeds N`` every fit trains N initialisations (the best by validation VAMP-2 is kept) and each
result carries ``seeds_agreement`` and ``robust`` of that fit (:func:`gdynet.runs.seeds.seeds_robustness`;
None with one seed).

Cost: one fit per S, at one lag (the middle of ``lags``), in ``DIR/states_S_lag_L`` (L in frames; a
``gdynet fit`` run folder without the analysis: resumable, and ``gdynet analyze`` completes it). Features learned at one lag describe the slow processes
at neighbouring lags too, so the implied timescales, the held-out VAMP-2 and the CK test at every
lag in ``lags`` are computed from that fit's state probabilities chi, without training again. A
second fit at a longer lag is made only when the timescales of the first have not levelled off by
the fit lag (then the Markovian lag lies beyond it and features trained there are needed).

Rules (written into ``scan.json`` ``recommended.rule``):

* τ for a given S: the smallest lag from which the slowest implied timescale changes by less than
  ``PLATEAU_TOLERANCE`` (relative) at every longer lag (the plateau of Fig. 2 of the paper);
  the longest lag when there is none.
* S: starting from the smallest S, S + 1 is preferred to S only when (i) its held-out VAMP-2 at its τ
  grows by more than ``MIN_VAMP2_GAIN`` (each resolved extra process adds s^2 = exp(-2τ/t) to the
  score), (ii) its fastest timescale (the process the extra state adds) is resolved: longer than τ
  and shorter than the longest trajectory, and (iii) its CK test passes (at least
  ``CK_PASS_FRACTION`` of the entries have overlapping 95 % intervals; unknown counts as passing).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..files import writes
from ..files.writes import json_safe
from ..base.errors import GdynetError
from ..base.option_names import option
from ..base.units import lag_to_frames
from .fit import FitOptions, train
from ..trajectory.read_options import ReadOptions, read_all
from ..api.model_file import load_model
from .rundir import RunDir

PLATEAU_TOLERANCE = 0.1
MIN_VAMP2_GAIN = 0.05
CK_PASS_FRACTION = 0.9
CK_STEPS = 4


def scan(paths: Sequence[str | Path], out_dir: str | Path, read: ReadOptions, options: FitOptions, *,
         states: Sequence[int], lags: Sequence[int | float | str], progress: bool = True) -> dict[str, Any]:
    """Fit every S in ``states``, evaluate every lag in ``lags``; write and return ``DIR/scan.json``."""
    states = sorted(set(int(s) for s in states))
    if not states or states[0] < 2:
        raise GdynetError(f"{option('states')} must list numbers of states >= 2, e.g. 2,3,4; got {states}")
    if options.split[2] <= 0:
        raise GdynetError("scan scores held-out data: --split needs a test fraction > 0, e.g. 0.7,0.15,0.15")
    from ..files.fingerprint import input_path

    trajs = read_all([input_path(p) for p in paths], read)
    dt = trajs[0].dt_ps
    frames = sorted({lag_to_frames(x, dt, name="--lags") for x in lags})
    if not frames:
        raise GdynetError(f"{option('lags')} must list at least one lag, e.g. 0.5ps,1ps,2ps")
    longest = max(t.n_frames for t in trajs)
    out = Path(out_dir)
    fit_lag = frames[len(frames) // 2]
    results, by_states, taus = [], {}, {}
    for n in states:
        entries = _fit_and_evaluate(paths, out, read, options, n, fit_lag, frames, dt, longest, len(trajs),
                                    progress)
        tau = plateau_lag(entries)
        if tau > fit_lag:                              # not Markovian at the fit lag: train at tau too
            refit = _fit_and_evaluate(paths, out, read, options, n, tau, [tau], dt, longest, len(trajs), progress)
            entries = [e for e in entries if e["lag_frames"] != tau] + refit
        by_states[n], taus[n] = sorted(entries, key=lambda e: e["lag_frames"]), tau
        results += by_states[n]
    recommended = recommend(by_states, taus, longest * dt)
    chosen = next(e for e in by_states[recommended["states"]] if e["lag_frames"] == taus[recommended["states"]])
    recommended.update(robust=chosen["robust"], seeds_agreement=chosen["seeds_agreement"],
                       seeds_remark=chosen["seeds_remark"])
    summary = json_safe({"results": results, "recommended": recommended, "dt_ps": dt,
                         "fit_lag_ps": fit_lag * dt, "n_frames_longest": longest})
    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(out, summary["results"])
    _report(out, summary, figures, paths)
    writes.write_json(out / "scan.json", summary)
    return summary


def _fit_and_evaluate(paths: Sequence[Any], out: Path, read: ReadOptions, options: FitOptions, n: int,
                      fit_lag: int, frames: Sequence[int], dt: float, longest: int, n_trajs: int,
                      progress: bool) -> list[dict[str, Any]]:
    """Fit S = ``n`` at ``fit_lag`` frames (run folder ``out/states_S_lag_L``), evaluate its chi at every lag."""
    from ..koopman.estimator import KoopmanEstimator
    from ..koopman.validation import ck_test

    from .seeds import seeds_robustness

    folder = out / f"states_{n}_lag_{fit_lag}"
    train(paths, folder, read, replace(options, n_states=n, lag=fit_lag), progress=progress)
    run = RunDir(folder)
    chis = [run.load_chi(i) for i in range(n_trajs)]
    meta = load_model(run.model)[1]
    seeds = seeds_robustness(meta.get("seeds"), meta.get("seed"))      # None with one seed
    entries = []
    for lag in frames:
        koopman = KoopmanEstimator(lag, dt).fit(chis).fetch_model()
        steps = max(1, min(CK_STEPS, (longest - 1) // lag - 1))
        ck = ck_test(chis, lag, steps, dt).to_dict()
        fraction = ck["fraction_consistent"]
        entries.append({"states": n, "lag_ps": lag * dt, "lag_frames": lag, "fit_lag_ps": fit_lag * dt,
                        "vamp2": held_out_vamp2(chis, lag, options.split),
                        "timescales_ps": np.asarray(koopman.timescales_ps, dtype=float),
                        "ck": {"fraction_consistent": fraction,
                               "passed": None if fraction is None else bool(fraction >= CK_PASS_FRACTION)},
                        "seeds_agreement": seeds["seeds_agreement"], "robust": seeds["robust"],
                        "seeds_remark": seeds["seeds_remark"]})
    return entries


def held_out_vamp2(chis: Sequence[np.ndarray], lag: int, split: Sequence[float]) -> float:
    """VAMP-2 of the features ``chis`` at ``lag`` frames on the test time block of every trajectory."""
    import torch

    from ..training.data import split_frames
    from ..training.vamp import vamp_moments, vamp_score_from_moments

    total = None
    for chi in chis:
        start, stop = split_frames(chi.shape[0], 1, split)["test"]
        block = torch.from_numpy(np.asarray(chi[start:stop], dtype=np.float64))
        if block.shape[0] - lag < 2:
            continue
        m = vamp_moments(block[:-lag], block[lag:])
        total = m if total is None else total + m
    return float("nan") if total is None else float(vamp_score_from_moments(total))


def plateau_lag(entries: Sequence[dict[str, Any]]) -> int:
    """Smallest lag (frames) from which the slowest timescale stays within ``PLATEAU_TOLERANCE``."""
    ordered = sorted(entries, key=lambda e: e["lag_frames"])
    slowest = [e["timescales_ps"][0] if len(e["timescales_ps"]) else np.nan for e in ordered]
    for i, t in enumerate(slowest):
        later = np.asarray(slowest[i:], dtype=float)
        if np.isfinite(t) and np.all(np.abs(later - t) <= PLATEAU_TOLERANCE * abs(t)):
            return ordered[i]["lag_frames"]
    return ordered[-1]["lag_frames"]


def recommend(by_states: dict[int, list[dict[str, Any]]], taus: dict[int, int], duration_ps: float) -> dict[str, Any]:
    """The S rule of the module docstring. ``by_states[S]``: S's entries at every lag; ``taus[S]``: its
    plateau lag (frames). S and S + 1 are compared at the longer of their two plateau lags (VAMP-2
    falls with the lag, so scores at different lags are not comparable)."""
    def at(n: int, lag: int) -> dict[str, Any]:
        return next(e for e in by_states[n] if e["lag_frames"] == lag)

    counts = sorted(by_states)
    best, why = counts[0], []
    for n in counts[1:]:
        lag = max(taus[best], taus[n])
        prev, cur = at(best, lag), at(n, lag)
        gain = cur["vamp2"] - prev["vamp2"]
        fastest = float(cur["timescales_ps"][-1]) if len(cur["timescales_ps"]) else np.nan
        resolved = bool(np.isfinite(fastest) and cur["lag_ps"] < fastest < duration_ps)
        ck_ok = cur["ck"]["passed"] is not False
        if gain > MIN_VAMP2_GAIN and resolved and ck_ok:
            best = n
            continue
        why.append(f"S={n} not better than S={best}: held-out VAMP-2 gain {gain:.3f} "
                   f"({'>' if gain > MIN_VAMP2_GAIN else '<='} {MIN_VAMP2_GAIN}), its fastest timescale "
                   f"{fastest:.3g} ps {'resolved' if resolved else 'not resolved'} (τ = {cur['lag_ps']:g} ps, "
                   f"data {duration_ps:g} ps), CK {'passed' if ck_ok else 'failed'}")
        break
    rule = (f"τ: smallest lag from which the slowest implied timescale stays within {PLATEAU_TOLERANCE:.0%}; "
            f"S: add a state only while held-out VAMP-2 grows by more than {MIN_VAMP2_GAIN} and the new "
            f"state's timescale is resolved (τ < t < data length) and the CK test passes "
            f"(>= {CK_PASS_FRACTION:.0%} of entries consistent)")
    return {"states": best, "lag_ps": at(best, taus[best])["lag_ps"], "rule": rule, "reason": "; ".join(why)}


def _figures(out: Path, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Held-out VAMP-2 and slowest implied timescale against the lag, one line per S."""
    from matplotlib.figure import Figure

    from ..report.figures import save_figure, state_color

    fig = Figure(figsize=(8, 3.2))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for k, n in enumerate(sorted({e["states"] for e in results})):
        rows = sorted((e for e in results if e["states"] == n), key=lambda e: e["lag_ps"])
        x = [e["lag_ps"] for e in rows]
        left.plot(x, [e["vamp2"] for e in rows], "o-", color=state_color(k), label=f"S = {n}")
        right.plot(x, [np.nan if not e["timescales_ps"] or e["timescales_ps"][0] is None else e["timescales_ps"][0]
                       for e in rows], "o-",
                   color=state_color(k), label=f"S = {n}")
    left.set(xlabel="lag τ (ps)", ylabel="held-out VAMP-2", title="VAMP-2 on test blocks")
    right.set(xlabel="lag τ (ps)", ylabel="slowest timescale (ps)", title="Implied timescale t₁")
    left.legend(fontsize=8)
    return {"Scan": save_figure(fig, out / "figures" / "scan")}


def _report(out: Path, summary: dict[str, Any], figures: dict[str, Any], paths: Sequence[Any]) -> None:
    from ..report.markdown import write_report

    rec = summary["recommended"]
    numbers = {"recommended": f"S = {rec['states']}, τ = {rec['lag_ps']:g} ps", "rule": rec["rule"]}
    if rec["reason"]:
        numbers["why not more states"] = rec["reason"]
    for e in summary["results"]:
        ts = ", ".join("∞" if t is None else f"{t:.3g}" for t in e["timescales_ps"])
        ck = e["ck"]["fraction_consistent"]
        numbers[f"S={e['states']}, τ={e['lag_ps']:g} ps"] = (
            f"VAMP-2 {e['vamp2']:.3f}; timescales {ts} ps; CK "
            + ("n/a" if ck is None else f"{ck:.0%} consistent") + f" (fitted at τ={e['fit_lag_ps']:g} ps)"
            + (f"; seeds {e['seeds_remark']}" if e.get("seeds_remark") else ""))
    write_report(out, summary=numbers, figures=figures,
                 inputs={"trajectories": ", ".join(str(p) for p in paths)}, title="gdynet scan: S and τ")
