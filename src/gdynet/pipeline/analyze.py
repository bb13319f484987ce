"""``gdynet analyze``: Koopman model, implied timescales, CK test, state RDFs, conduction, report."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import atomic
from ..errors import GdynetError
from ..units import lag_to_frames
from .inputs import ReadOptions, read_all
from .rundir import RunDir, load_model

#: default lags for implied timescales, as multiples of the fit lag
DEFAULT_LAG_FACTORS = (0.25, 0.5, 1, 2, 4, 8)


def default_lags(lag: int, shortest: int) -> list[int]:
    """Lags (frames) around the fit lag that every analysis can afford: each < shortest / 3."""
    lags = sorted({max(1, round(lag * f)) for f in DEFAULT_LAG_FACTORS})
    return [x for x in lags if x < shortest / 3] or [lag]


def analyze(run_dir: str | Path, *, lags: Sequence[int | float | str] | None = None,
            charges: Sequence[float] | None = None, temperature_K: float | None = None,
            ck_steps: int = 5, figures: bool = True) -> dict[str, Any]:
    """Analyse the state probabilities of a finished fit; writes summary.json, figures and report.md.

    Returns the summary dict: lag_ps, timescales_ps (slowest first), populations, vamp2 scores,
    n_frames, n_targets and the implied-timescale, CK, RDF and conduction results.
    """
    from ..koopman.estimator import KoopmanEstimator
    from ..koopman.validation import ck_test, implied_timescales

    run = RunDir(Path(run_dir))
    run.require_model()
    record = run.read_run()
    _, meta = load_model(run.model)
    dt, lag = float(record["dt_ps"]), int(record["lag_frames"])
    chis = [np.load(run.chi(i), mmap_mode="r") for i in range(len(record["paths"]))]
    shortest = max(len(c) for c in chis)
    lag_list = default_lags(lag, shortest) if lags is None else sorted({lag_to_frames(x, dt, name="--lags") for x in lags})
    if max(lag_list) >= shortest:
        raise GdynetError(f"lag {max(lag_list) * dt:g} ps is not shorter than the longest trajectory "
                          f"({shortest * dt:g} ps)", run.root)
    koopman = KoopmanEstimator(lag, dt).fit(chis).fetch_model()
    its = implied_timescales(chis, lag_list, dt)
    steps = max(1, min(ck_steps, (shortest - 1) // lag - 1))
    ck = ck_test(chis, lag, steps, dt)
    trajs = read_all(record["paths"], ReadOptions.from_dict(record["read"]))
    structure = _state_rdfs(trajs, chis)
    conduction = _conduction(trajs, chis, lag, koopman, charges, temperature_K)

    summary: dict[str, Any] = {
        "model": meta["kind"],
        "lag_ps": lag * dt,
        "timescales_ps": [float(t) for t in koopman.timescales_ps],
        "populations": [float(p) for p in koopman.stationary],
        "vamp2": meta["vamp2"],
        "n_frames": int(sum(len(c) for c in chis)),
        "n_targets": int(sum(c.shape[1] for c in chis)),
        "n_trajectories": len(chis),
        "dt_ps": dt,
        "koopman_matrix": np.asarray(koopman.K).tolist(),
        "implied_timescales": {"lags_ps": its.lags_ps.tolist(), "timescales_ps": its.timescales_ps.tolist(),
                               "lower": its.lower.tolist(), "upper": its.upper.tolist()},
        "ck_test": {"lags_ps": ck.lags_ps.tolist(), "predicted": ck.predicted.tolist(),
                    "estimated": ck.estimated.tolist()},
        "conduction": conduction.to_dict() if conduction is not None else None,
        "inputs": {"paths": record["paths"], "read": record["read"], "fit": record["fit"]},
    }
    figure_paths = _figures(run, koopman, its, ck, structure, conduction) if figures else {}
    from ..report.markdown import write_report

    write_report(run.root, summary=summary, figures=figure_paths, inputs=summary["inputs"])
    atomic.write_json(run.summary, summary)
    return summary


def _state_rdfs(trajs, chis) -> dict[str, Any]:
    """State-weighted RDF of the targets to every element present (first trajectory's species)."""
    from ..analysis.rdf import state_rdf

    species = sorted(set(np.concatenate([t.numbers for t in trajs]).tolist()))
    return {z: state_rdf(trajs, chis, z) for z in species}


def _conduction(trajs, chis, lag, koopman, charges, temperature_K):
    from ..analysis.conduction import transition_conduction

    return transition_conduction(trajs, chis, lag, koopman=koopman, charges=charges, temperature_K=temperature_K)


def _figures(run: RunDir, koopman, its, ck, structure, conduction) -> dict[str, Path]:
    from ..report import figures as fig

    d = run.figures
    paths = {"implied_timescales": fig.plot_implied_timescales(its, d / "implied_timescales"),
             "ck_test": fig.plot_ck_test(ck, d / "ck_test"),
             "populations": fig.plot_populations(koopman, d / "populations")}
    for z, rdf in structure.items():
        paths[f"rdf_{z}"] = fig.plot_state_rdf(rdf, d / f"rdf_{z}")
    if conduction is not None:
        paths["transition_msd"] = fig.plot_transition_msd(conduction, d / "transition_msd")
        paths["conduction"] = fig.plot_conduction(conduction, d / "conduction")
    return {k: v[0] if isinstance(v, (list, tuple)) else v for k, v in paths.items()}
