"""``gdynet analyze``: Koopman model, implied timescales, CK test, state RDFs, conduction, report."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..files import writes
from ..files.writes import json_safe
from ..base.errors import GdynetError
from ..base.option_names import option
from ..trajectory.core import Trajectory
from ..base.units import check_lags, lag_to_frames
from ..trajectory.read_options import ReadOptions, read_all
from ..api.limits import FIGURE_STATES, figure_note
from .outputs import staged_outputs
from ..api.model_file import load_model
from .lock import run_lock
from .rundir import RunDir
from .selection import select_frames, split_fractions

#: default lags for implied timescales, as multiples of the fit lag
DEFAULT_LAG_FACTORS = (0.25, 0.5, 1, 2, 4, 8)
#: at most this many frames (per trajectory) go into a state RDF; more are strided away
RDF_FRAMES = 4000


def default_lags(lag: int, longest: int) -> list[int]:
    """Lags (frames) around the fit lag that the data can afford: each below ``longest / 5``."""
    lags = sorted({max(1, round(lag * f)) for f in DEFAULT_LAG_FACTORS})
    return [x for x in lags if x < longest / 5] or [lag]


def analyze(run_dir: str | Path, *, lags: Sequence[int | str] | None = None,
            charges: Sequence[float] | None = None, temperature_K: float | None = None,
            ck_steps: int = 5, rdf_r_max: float = 8.0,
            trajectories: Sequence[Trajectory] | None = None, analyze_on: str | None = None,
            ci_from: str | None = None, coarse: int | None = None, profile: str | None = None,
            order_parameter: str | None = None, shell_radius: float | None = None) -> dict[str, Any]:
    """Analyse the state probabilities of a finished fit; writes summary.json, figures, report.md and report.html.

    Args:
        run_dir: folder written by ``gdynet fit``.
        lags: lags for the implied timescales (frames, or times such as ``"2ps"``); default: the fit
            lag times 0.25 ... 8, as far as the data allow.
        charges: charge of each state in e for the conduction analysis. Default: from the
            trajectories' partial charges when they have them (own charge + first-shell charge of
            each state, :mod:`gdynet.analysis.charge`); otherwise no conductivity, only ``D_ij``.
        temperature_K: temperature in K; without it absolute conductivities are not computed
            (percentages and diffusion coefficients are). ``charges`` and ``temperature_K``
            default to the values given to ``fit``.
        ck_steps: multiples of the lag in the Chapman-Kolmogorov test.
        rdf_r_max: largest distance of the state RDFs in Å.
        trajectories: the run's trajectories when the caller has them already (``fit`` does:
            training ones, then ``--test`` ones); default: read again with the options in run.json.
        analyze_on: ``"test"``: only frames the network was not trained on (the ``--test``
            trajectories, else the test block of each trajectory; :mod:`.selection`), as in the
            paper; ``"all"``: every frame. Default: as given to ``fit``, else ``"test"``.
        ci_from: where the 95 % intervals of timescales, CK test, populations and conduction come from:
            ``"trajectories"``, ``"targets"`` (5 random subsets of the target sets), ``"blocks"``
            (5 time blocks) or ``"auto"`` (:func:`gdynet.koopman.covariance.confidence_blocks`).
            Default: as given to ``fit``, else ``"auto"``.
        coarse: lump the states into this many metastable sets by PCCA+ (:mod:`gdynet.koopman.pcca`).
        profile: axis (x/y/z/a/b/c) for the state density profile and a snapshot figure.
        order_parameter: Steinhardt order parameter per state, ``"q6"``, ``"q3"`` or ``"q6:3.4"``
            (cut-off in Å; default cut-off: first minimum of the target-all-atom RDF).
        shell_radius: first-shell radius in Å for the state charges from partial charges
            (default: first minimum of each state's RDF).
        ``profile``, ``order_parameter`` and ``shell_radius`` also default to the values given to ``fit``.

    Returns:
        The dict written to ``summary.json``: ``lag_ps``, ``timescales_ps`` (slowest first),
        ``populations``, ``vamp2`` (train/validation/test), ``n_frames``, ``n_targets``, and the
        Koopman, implied-timescale, CK-test, RDF and conduction results; ``state_charges``
        (``charges_e``, ``source`` "topology" or "--charge", ``shell_radius_A``; None without charges),
        ``charge_integral`` (with partial charges), ``profile`` and ``order_parameter`` (when asked for;
        with ``labels``, the structure labels over time of :mod:`gdynet.analysis.order_labels`);
        ``timescales_markovian`` and ``timescales_checks`` (which timescales are lower bounds and why,
        :func:`gdynet.koopman.validation.check_timescales`); ``seeds``, ``seeds_agreement``, ``robust``,
        ``seeds_spread`` and ``seeds_remark`` (whether ``--seeds`` agree, :mod:`.seeds`; None with one seed).

    figures/, report.md, report.html and summary.json are written as one set (:mod:`.outputs`): a kill leaves the
    old ones or the new ones. Refused when an input file changed since the fit (:mod:`gdynet.files.fingerprint`).
    """
    if lags is not None:
        check_lags(lags, name=option("lags"))
    run = RunDir(Path(run_dir))
    run.require_model()
    with run_lock(run.root), staged_outputs(run) as out:
        return _analyze(run, out, lags=lags, charges=charges, temperature_K=temperature_K, ck_steps=ck_steps,
                        rdf_r_max=rdf_r_max, trajectories=trajectories, analyze_on=analyze_on, ci_from=ci_from,
                        coarse=coarse, profile=profile, order_parameter=order_parameter,
                        shell_radius=shell_radius)


def _analyze(run: RunDir, out: RunDir, *, lags: Sequence[int | str] | None,
             charges: Sequence[float] | None, temperature_K: float | None, ck_steps: int, rdf_r_max: float,
             trajectories: Sequence[Trajectory] | None, analyze_on: str | None, ci_from: str | None,
             coarse: int | None, profile: str | None, order_parameter: str | None,
             shell_radius: float | None) -> dict[str, Any]:
    """:func:`analyze` of the run in ``run``, its figures, report and summary written into ``out``."""
    from ..files.fingerprint import require_same_inputs
    from ..koopman.analysis import koopman_analysis

    record = run.read_run()
    if trajectories is None:                   # fit passes the trajectories it has just read and checked
        require_same_inputs(record, run.root, "analyze")
    network, meta = load_model(run.model)
    dt, lag = float(record["dt_ps"]), int(record["lag_frames"])
    from .analysis_options import check_analysis

    check_analysis({"lags": lags, "charges": charges, "temperature_K": temperature_K, "ck_steps": ck_steps,
                    "rdf_r_max": rdf_r_max, "analyze_on": analyze_on, "ci_from": ci_from, "coarse": coarse,
                    "profile": profile, "order_parameter": order_parameter, "shell_radius": shell_radius},
                   dt, n_states=int(meta["n_states"]))
    given = record.get("analysis", {})
    charges = given.get("charges") if charges is None else charges
    temperature_K = given.get("temperature_K") if temperature_K is None else temperature_K
    profile = given.get("profile") if profile is None else profile
    order_parameter = given.get("order_parameter") if order_parameter is None else order_parameter
    shell_radius = given.get("shell_radius") if shell_radius is None else shell_radius
    from .materials import check_options, structure_analyses
    from .seeds import seeds_robustness

    check_options(profile, order_parameter, shell_radius)
    analyze_on = (given.get("analyze_on") or "test") if analyze_on is None else analyze_on
    ci_from = (given.get("ci_from") or "auto") if ci_from is None else ci_from
    paths = list(record["paths"]) + list(record.get("test_paths", []))
    chis = [run.load_chi(i) for i in range(len(paths))]
    lag_list = None if lags is None else sorted({lag_to_frames(x, dt, name="--lags") for x in lags})
    n_frames, n_series = sum(len(c) for c in chis), sum(c.shape[1] for c in chis)
    selection = select_frames([len(c) for c in chis], n_train=len(record["paths"]), lag=lag,
                              split=split_fractions(record["fit"].get("split")), analyze_on=analyze_on,
                              largest_lag=None if lag_list is None else max(lag_list))
    if trajectories is None:
        trajectories = read_all(paths, ReadOptions.from_dict(record["read"]))
        require_same_inputs(record, run.root, "analyze")      # again: nothing changed while it was read
    trajs = list(trajectories)
    left_out = {"frames_dropped": sum(t.frames_dropped for t in trajs),  # restart overlaps, repeated frames
                "truncated_tail": sum(t.truncated_tail for t in trajs)}  # bytes of cut-off last frames
    trajs = [_frames(trajs[k], start, stop) for k, start, stop in selection.segments]
    chis = [chis[k][start:stop] for k, start, stop in selection.segments]
    longest = selection.longest
    lag_list = default_lags(lag, longest) if lag_list is None else lag_list
    if max(lag_list) >= longest - 1:
        raise GdynetError(f"lag {max(lag_list) * dt:g} ps is not shorter than the longest trajectory "
                          f"({longest * dt:g} ps)", run.root)
    if charges is not None and len(charges) == 1:
        charges = list(charges) * chis[0].shape[2]
    if charges is not None and len(charges) != chis[0].shape[2]:
        raise GdynetError(f"{option('charges')} needs one value or one per state ({chis[0].shape[2]}), got {len(charges)}")

    result = koopman_analysis(chis, lag, lag_list, dt, ck_steps=ck_steps, ci_from=ci_from, coarse=coarse,
                              source=str(run.root))
    koopman = result.model
    stride = max(1, max(t.n_frames for t in trajs) // RDF_FRAMES)
    species = sorted(set(np.concatenate([t.numbers for t in trajs]).tolist()))
    rdfs = {}
    centre = _target_label(trajs)
    for z in species:
        try:
            rdfs[f"{centre}–{_symbol(z)}"] = _state_rdf(trajs, chis, z, rdf_r_max, stride)
        except GdynetError:  # e.g. the only atoms of this element are the targets themselves
            continue
    structure = structure_analyses(trajs, chis, out.figures, profile=profile, order_parameter=order_parameter,
                                   shell_radius=shell_radius, charges=charges, timescales=result.its,
                                   lag_ps=lag * dt, figures=koopman.n_states <= FIGURE_STATES)
    charged = structure.charges is not None
    conduction = _conduction(trajs, chis, lag, koopman, structure.charges.charges_e if charged else None,
                             temperature_K, ci_from)

    koopman_summary = result.summary()
    from .symmetry import symmetry_checks

    checks, check_lines = symmetry_checks(network, meta["kind"], trajs)
    summary: dict[str, Any] = {
        "model": meta["kind"],
        "lag_ps": lag * dt,
        "timescales_ps": koopman_summary.pop("timescales_ps"),
        "populations": koopman_summary.pop("populations"),
        "vamp2": json_safe(meta["vamp2"]),
        "n_frames": int(n_frames),
        "n_targets": int(n_series),
        "n_trajectories": len(paths),
        "analysis_on": selection.analysis_on,
        "select_on": record["read"].get("select_on", "each"),
        "analysis_data": selection.note,
        "n_frames_analysed": int(sum(len(c) for c in chis)),
        "dt_ps": dt,
        "dt_source": "; ".join(sorted({t.dt_source for t in trajs})),  # e.g. "dump TIMESTEP x --timestep"
        **left_out,
        **koopman_summary,
        "conduction": None if conduction is None else json_safe(
            {**conduction.summary(charged=charged), "charges_source": structure.charges.source if charged else None}),
        **structure.summary,
        "history": meta.get("history"), "training": meta.get("training"),
        "seeds": meta.get("seeds"), **checks,
        **seeds_robustness(meta.get("seeds"), meta.get("seed")),
        "state_rdf": {pair: rdf_curves(rdf) for pair, rdf in rdfs.items()},
    }
    summary["states_supported"], summary["states_remark"] = supported_states(summary["populations"])
    inputs = {"trajectories": ", ".join(record["paths"]),
              "test trajectories": ", ".join(record.get("test_paths", [])) or "none",
              "frames analysed": selection.note, **{k: v for k, v in record["read"].items() if v},
              **record["fit"], "lag (frames)": lag, "dt (ps)": dt,
              "charges (e)": structure.headlines["state charges"], "temperature (K)": temperature_K or "not given"}
    for key in ("epochs", "patience", "batch_size"):
        if inputs.get(key) is None and summary["training"]:
            inputs[key] = f"automatic: {summary['training'][key]}"
    figures = {**_figures(out, result, rdfs, conduction, charged, structure.summary.get("order_parameter")),
               **structure.figures}
    if summary["history"]:
        from ..report.figures import save_learning_curve

        figures["Learning curve"] = save_learning_curve(summary["history"], out.figures / "learning_curve")
    from ..report.markdown import write_report

    numbers = {"koopman": summary["koopman"], "vamp2": summary["vamp2"], "conduction": summary["conduction"],
               "rdf": rdfs, **_headlines(summary), **result.text(), **structure.headlines,
               **_training_lines(summary), "seeds": _seeds_report(summary, meta.get("seed")),
               **check_lines}
    if figure_note(koopman.n_states):
        numbers["figures"] = figure_note(koopman.n_states)
    write_report(out.root, summary=numbers, figures=figures, inputs=inputs,
                 title=f"gdynet report: {meta['kind']} with {koopman.n_states} states")
    write_run_html(out.root, summary, record, trajs, chis)
    writes.write_json(out.summary, summary)
    return summary


def rdf_curves(rdf: Any) -> dict[str, Any]:
    """summary.json ``state_rdf`` entry of a :class:`~gdynet.analysis.rdf.StateRDF`: bin centres ``r_A``
    (Å), ``g`` and the running ``coordination`` per state, to 6 significant digits."""
    def short(values: np.ndarray) -> list[Any]:
        return [float(f"{v:.6g}") for v in values] if values.ndim == 1 else [short(v) for v in values]

    return {"r_A": short(np.asarray(rdf.r)), "g": short(np.asarray(rdf.g)),
            "coordination": short(np.asarray(rdf.coordination))}


def _frames(traj: Trajectory, start: int, stop: int) -> Trajectory:
    """Frames ``[start, stop)`` of ``traj`` (the trajectory itself when that is all of it)."""
    return traj if (start, stop) == (0, traj.n_frames) else traj[start:stop]


#: a state with less of the stationary population than this is not supported by the data
MIN_POPULATION = 0.01


def supported_states(populations: Sequence[float]) -> tuple[int, str | None]:
    """How many states hold at least :data:`MIN_POPULATION` of the stationary population, and a
    plain remark when that is fewer than were fitted (None otherwise)."""
    pops = np.asarray(populations, dtype=float)
    small = np.flatnonzero(~(pops >= MIN_POPULATION))
    n = int(len(pops) - len(small))
    if not len(small):
        return n, None
    states = ", ".join(f"{i} ({100 * pops[i]:.2g} %)" for i in small)
    return n, (f"state(s) {states} hold less than {MIN_POPULATION:.0%} of the population: these data support "
               f"{n} states; refit with --states {max(2, n)}")


def _headlines(summary: dict[str, Any]) -> dict[str, str]:
    """Short text lines for the report: data size, implied timescales with CIs, CK verdict."""
    its, ck = summary["implied_timescales"], summary["ck_test"]

    def ps(v: Any) -> str:
        return "∞" if v is None else f"{v:.3g}"

    rows = [f"τ={lag:g}: " + ", ".join(f"{ps(t)} [{ps(lo)}, {ps(hi)}]" for t, lo, hi in zip(ts, low, up))
            for lag, ts, low, up in zip(its["lags_ps"], its["timescales_ps"], its["lower_ps"], its["upper_ps"])]
    remark = {"states": summary["states_remark"]} if summary.get("states_remark") else {}
    return {**remark, "data": f"{summary['n_frames']} frames in {summary['n_trajectories']} trajectories, "
                    f"{summary['n_targets']} target time series, dt = {summary['dt_ps']:g} ps; analysed: "
                    f"{summary['analysis_data']}",
            f"implied timescales (ps, {its['confidence']:.0%} CI from {its['n_blocks']} {its['ci_from']})":
                "; ".join(rows),
            "Chapman-Kolmogorov test": f"max |K(τ)^n - K(nτ)| = {ck['max_error']:.3g}; " + (
                "too few blocks for intervals" if ck["fraction_consistent"] is None else
                f"{ck['fraction_consistent']:.0%} of the entries have overlapping {ck['confidence']:.0%} "
                f"intervals (n = 1..{len(ck['lags_ps']) - 1})")}


def _training_lines(summary: dict[str, Any]) -> dict[str, str]:
    """Report lines on training: best epoch, collapses undone, the budget used."""
    lines = {}
    history = summary.get("history") or []
    if history:
        best = max(history, key=lambda h: -np.inf if h["validation"] is None or h.get("collapse") else h["validation"])
        collapses = sum(1 for h in history if h.get("collapse"))
        lines["training"] = (f"{len(history)} epochs, best validation VAMP-2 {best['validation']:.4f} in epoch "
                             f"{best['epoch']}; " + (f"{collapses} collapse(s) undone by restoring the best weights "
                                                     "at a lower learning rate" if collapses else "no collapse"))
        budget = summary.get("training")
        if budget:
            auto = f" ({', '.join(budget['auto'])} automatic)" if budget["auto"] else ""
            lines["training"] += (f"; {budget['steps_per_epoch']} steps of {budget['batch_size']} frame pairs per "
                                  f"epoch, at most {budget['epochs']} epochs, patience {budget['patience']}{auto}")
    return lines


def _seeds_report(summary: dict[str, Any], kept: int | None) -> dict[str, Any] | None:
    """The report's seeds section (:func:`gdynet.report.markdown._seeds_section`); None with one seed."""
    from .seeds import kept_seed, seed_differences

    entries = summary.get("seeds") or []
    if len(entries) < 2 or summary.get("seeds_spread") is None:
        return None
    kept = kept_seed(entries, kept)
    return {"remark": summary["seeds_remark"], "robust": summary["robust"], "kept": kept, "entries": entries,
            "spread": summary["seeds_spread"], "differences": seed_differences(entries, kept)}


def _target_label(trajs) -> str:
    """The target sets' formula ("Li", "H2O") when they all have the same composition, else "target"."""
    from ase.formula import Formula

    formulas = {Formula.from_list([_symbol(int(z)) for z in t.numbers[row]]).format("hill")
                for t in trajs for row in t.targets}
    return formulas.pop() if len(formulas) == 1 else "target"


def _symbol(z: int) -> str:
    from ase.data import chemical_symbols

    return chemical_symbols[z]


def _state_rdf(trajs, chis, z: int, r_max: float, stride: int):
    from ..analysis.rdf import state_rdf

    return state_rdf(trajs, chis, z, r_max=r_max, stride=stride)


def _conduction(trajs, chis, lag, koopman, charges, temperature_K, ci_from: str):
    """Transition-resolved conduction when every trajectory has the same target sets (else None); its
    intervals come from the same pieces (``ci_from``) as the Koopman ones."""
    from ..analysis.conduction import transition_conduction

    if len({t.n_targets for t in trajs}) > 1:
        return None
    return transition_conduction(trajs, chis, lag, koopman=koopman, charges=charges, temperature_K=temperature_K,
                                 ci_from=ci_from)


def _figures(run: RunDir, result, rdfs, conduction, charged: bool, order: dict[str, Any] | None) -> dict[str, Path]:
    from ..report import figures as fig

    d, koopman, populations = run.figures, result.model, result.populations
    labels = (order or {}).get("labels")
    references = [] if labels is None else [
        (f"{order['name']} labels", labels["lags_ps"], labels["timescales_ps"]),
        (f"{order['name']} labels, core sets", labels["lags_ps"], labels["core_timescales_ps"])]
    bars = np.nan_to_num(np.stack([populations.populations - populations.lower,
                                   populations.upper - populations.populations]))
    paths = {"Implied timescales": fig.save_implied_timescales(result.its, d / "implied_timescales",
                                                               references=references),
             "Stationary populations": fig.save_populations(
                 koopman.stationary, d / "populations", errors=bars,
                 title=f"State populations ({populations.confidence:.0%} CI from {populations.ci_from})")}
    if koopman.n_states > FIGURE_STATES:                 # figures that grow with S: see .limits
        return paths
    paths["Chapman-Kolmogorov test"] = fig.save_ck_test(result.ck, d / "ck_test")
    paths["Koopman eigenvectors"] = fig.save_eigenvectors(koopman, d / "eigenvectors")
    if rdfs:
        paths["State-weighted RDFs"] = fig.save_state_rdf(rdfs, d / "state_rdf")
    if conduction is not None:
        paths["Transition-resolved MSD"] = fig.save_transition_msd(conduction, d / "transition_msd")
        if charged:                                   # without charges there is no conductivity to show
            paths["Conduction contributions"] = fig.save_conduction(conduction, d / "conduction")
    return paths


def html_inputs(record: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The page's inputs table, from run.json and summary.json."""
    charges = summary.get("state_charges") or {}
    given = record.get("analysis", {})
    return {"trajectories": ", ".join(record["paths"]),
            "test trajectories": ", ".join(record.get("test_paths", [])) or "none",
            "frames analysed": summary.get("analysis_data"),
            **{k: v for k, v in record["read"].items() if v}, **record["fit"],
            "lag (frames)": record["lag_frames"], "dt (ps)": record["dt_ps"],
            "charges (e)": charges.get("charges_e", "none") if charges else "none",
            "temperature (K)": given.get("temperature_K") or "not given"}


def html_remarks(summary: Mapping[str, Any]) -> dict[str, list[str]]:
    """The sentences beside each part of the page (the same verdicts as report.md), from summary.json."""
    from ..koopman.processes import describe_process
    from .seeds import kept_seed, seed_differences
    from .symmetry import invariance_line, shell_line

    heads = _headlines(dict(summary))
    its_line = next(f"{k}: {v}" for k, v in heads.items() if k.startswith("implied timescales"))
    checks = summary.get("timescales_checks") or []
    reasons = [c["reason"] for c in checks if c.get("reason")]
    markovian = summary.get("timescales_markovian")
    top = [summary.get("states_remark"), summary.get("seeds_remark") and f"seeds: {summary['seeds_remark']}",
           figure_note(len(summary["populations"]))]
    if summary.get("invariance_check"):
        top.append("invariance check: " + invariance_line(summary["invariance_check"]))
    graph = summary.get("graph") or {}
    if graph.get("shell_closing_neighbors") is not None:
        top.append("neighbour shells: " + shell_line(graph))
    if summary.get("frames_dropped") or summary.get("truncated_tail"):
        top.append(f"left out while reading: {summary.get('frames_dropped', 0)} repeated frames, "
                   f"{summary.get('truncated_tail', 0)} bytes of a cut-off last frame")
    timescales = [its_line, *reasons, "lower bound: a timescale that keeps rising with the lag or exceeds half the "
                  "analysed time (dotted line, triangle); open circles: not resolved at that lag"]
    if markovian is not None:
        timescales.append("the timescales are " + ("flat with the lag (Markovian)" if markovian else
                                                   "still rising with the lag: not Markovian at τ"))
    right = np.array(((summary.get("koopman") or {}).get("eigenvectors") or {}).get("right") or [], dtype=float)
    processes = [describe_process(i + 1, np.inf if t is None else t, right[i], c.get("resolved", True),
                                  c.get("lower_bound", False))
                 for i, (t, c) in enumerate(zip(summary["timescales_ps"], checks)) if i < len(right)]
    structure = []
    order = summary.get("order_parameter") or {}
    if order.get("labels"):
        labels = order["labels"]
        structure.append(f"{order['name']} labels (threshold {labels['threshold']:.3g}): ordered fraction per state "
                         + ", ".join(f"{s}: {100 * f:.0f} %" for s, f in enumerate(labels["ordered_fraction"]))
                         + f"; the most likely state agrees with the label on {100 * labels['agreement']:.0f} % of "
                           "target-frames")
    charges = summary.get("state_charges")
    if charges:
        structure.append(f"state charges {', '.join(f'{q:.3g}' for q in charges['charges_e'])} e ({charges['source']})")
    seeds = []
    entries = summary.get("seeds") or []
    if len(entries) > 1 and summary.get("seeds_remark"):
        seeds = [summary["seeds_remark"], *seed_differences(entries, kept_seed(entries, None))]
    return {"top": [line for line in top if line], "timescales": timescales,
            "ck": [heads["Chapman-Kolmogorov test"]],
            "populations": [line for line in (summary.get("states_remark"),) if line],
            "eigenvectors": processes, "training": list(_training_lines(dict(summary)).values()),
            "structure": structure, "seeds": seeds}


def write_run_html(out_dir: Path, summary: Mapping[str, Any], record: Mapping[str, Any],
                   trajs: Sequence[Any] | None, chis: Sequence[np.ndarray] | None,
                   view_note: str | None = None) -> Path:
    """``out_dir/report.html`` for a run: ``trajs``/``chis`` are the analysed pieces (None: no 3D view,
    ``view_note`` says why)."""
    from ..report.html import write_html_report
    from ..report.structure_view import structure_view

    view = None if trajs is None else structure_view(trajs, chis)
    n_states = len(summary["populations"])
    return write_html_report(out_dir, summary, inputs=html_inputs(record, summary), remarks=html_remarks(summary),
                             view=view, view_note=view_note, full=n_states <= FIGURE_STATES,
                             title=f"gdynet report: {summary.get('model', 'gdynet')} with {n_states} states")
