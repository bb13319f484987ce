"""The Markdown report (``report.md``): inputs, numbers and figures of one gdynet analysis.

``summary`` is a plain dict (what the pipeline also writes as JSON). Recognised keys, all optional:

* ``"koopman"``: ``KoopmanModel.to_dict()`` (or the model itself): ``lag_ps``, ``lag_frames``,
  ``timescales_ps``, ``populations``, ``K``;
* ``"vamp2"``: VAMP-2 scores, e.g. ``{"train": 1.93, "validation": 1.91, "test": 1.90}``;
* ``"conduction"``: ``Conduction.summary()`` (or the ``Conduction`` itself);
* ``"rdf"``: ``{name: StateRDF}`` or ``{name: {"first_peak_A": [...], ...}}`` -- first-peak positions
  and coordination numbers per state are tabulated;
* ``"seeds"``: ``{"remark", "kept", "entries", "spread", "differences"}`` from
  :mod:`gdynet.runs.seeds` -- the verdict, each seed's numbers, the spread per state and process,
  and how each other seed differs from the kept one;
* anything else is listed under "Other results".
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..files.writes import write_text


def _fmt(value: Any, digits: int = 4) -> str:
    """A number or value as short text (``inf`` -> ``∞``, None/NaN -> ``–``)."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_fmt(v, digits) for v in np.asarray(value, dtype=object).ravel()) + "]"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _as_dict(value: Any) -> Any:
    for method in ("to_dict", "summary"):
        fn = getattr(value, method, None)
        if callable(fn):
            out = fn()
            if isinstance(out, Mapping):
                return out
    return value


def _koopman_section(k: Mapping[str, Any]) -> list[str]:
    lines = ["## Koopman model", ""]
    if "lag_ps" in k:
        frames = f" ({k['lag_frames']} frames)" if "lag_frames" in k else ""
        lines += [f"Lag time τ = {_fmt(k['lag_ps'])} ps{frames}.", ""]
    ts = k.get("timescales_ps")
    if ts is not None:
        lines += ["Relaxation timescales (Eq. 11), slowest first:", ""]
        lines += _table(["process", "timescale (ps)"], [[i + 1, t] for i, t in enumerate(ts)])
    pops = k.get("populations", k.get("stationary"))
    if pops is not None:
        lines += ["Stationary populations:", ""]
        lines += _table(["state", "population (%)"],
                        [[i, None if p is None else 100 * p] for i, p in enumerate(pops)])
    K = k.get("K")
    if K is not None:
        K = np.asarray(K, dtype=float)
        lines += ["Koopman matrix K(τ) (row i → column j):", ""]
        lines += _table(["from \\ to", *map(str, range(K.shape[1]))], [[i, *row] for i, row in enumerate(K)])
    return lines


#: what the pieces behind the conduction intervals are, by ``ci_from``
_CI_PIECES = {"trajectories": "independent trajectories", "targets": "random subsets of the target sets",
              "blocks": "contiguous time blocks"}


def _conduction_ci_line(c: Mapping[str, Any]) -> str:
    """Where the ± 95 % columns of the conduction table come from (or why they are empty)."""
    source = c["ci_from"]
    if c.get("ci_note"):
        return f"± 95 %: {c['ci_note']} (--ci-from {source})."
    return (f"± 95 %: confidence interval from {c.get('ci_blocks')} {source} ({_CI_PIECES.get(source, source)}, "
            f"--ci-from {source}): the spread of D_ij and % computed on each; – where a piece lacks the transition.")


def _conduction_section(c: Mapping[str, Any]) -> list[str]:
    lines = ["## Conduction (Eqs. 13–16)", ""]
    if c.get("charges_e") is None:                 # Conduction.summary(charged=False)
        lines += ["No charges were given (`--charge`, or a topology with partial charges), so no "
                  f"conductivity is computed. Koopman lag τ = {_fmt(c.get('lag_ps'))} ps; D fitted on t = "
                  f"{_fmt(c.get('fit_window_ps'))} ps.", ""]
        lines += _table(["i→j", "π_i", "K_ij(τ)", "D_ij (Å²/ps)", "± 95 %", "D_ij (cm²/s)"],
                        [[r["transition"], r["pi_i"], r["K_ij"], r["D_A2_ps"], r.get("D_ci_A2_ps"), r["D_cm2_s"]]
                         for r in c.get("transitions", [])])
        return lines + [_conduction_ci_line(c), ""]
    source = {"topology": "from the topology's partial charges (own charge + first-shell charge)",
              "--charge": "given with --charge"}.get(c.get("charges_source"), "")
    lines += [f"Koopman lag τ = {_fmt(c.get('lag_ps'))} ps, T = {_fmt(c.get('temperature_K'))} K, "
              f"V = {_fmt(c.get('volume_A3'))} Å³, N = {_fmt(c.get('n_targets'))} target sets, "
              f"state charges {_fmt(c.get('charges_e'))} e {source}; D fitted on t = "
              f"{_fmt(c.get('fit_window_ps'))} ps.", ""]
    rows = c.get("transitions", [])
    if rows:
        lines += _table(["i→j", "π_i", "K_ij(τ)", "z_ij (e)", "D_ij (Å²/ps)", "± 95 %", "D_ij (cm²/s)",
                         "σ_ij (S/cm)", "%", "± 95 %"],
                        [[r["transition"], r["pi_i"], r["K_ij"], r["z_ij"], r["D_A2_ps"], r.get("D_ci_A2_ps"),
                          r["D_cm2_s"], r["sigma_S_cm"], r["percent"], r.get("percent_ci")] for r in rows])
        lines += [_conduction_ci_line(c), ""]
    lines += _table(["conductivity", "S/cm", "what it is"], [
        ["Nernst–Einstein Σσ_ij", c.get("sigma_nernst_einstein_S_cm"),
         "Eq. 15 summed: independent target sets, cluster charges z_ij²"],
        ["collective, self part", c.get("sigma_self_S_cm"),
         "e²/(6VkT)·d/dt Σ_l⟨z̄_l²|Δr_l|²⟩ at τ (no cross terms)"],
        ["collective (Einstein)", c.get("sigma_collective_S_cm"),
         "e²/(6VkT)·d/dt ⟨|Σ_l z̄_l Δr_l|²⟩ at τ (with cross terms; target sets only, no counter-ions)"],
        ["cross terms", c.get("sigma_cross_S_cm"), "collective − self part"]])
    lines += ["The Nernst–Einstein sum leaves out the displacement carried by transitions while K(τ) still "
              "grows, so it falls short of the self part when ions move by hopping between states and τ is "
              "short compared with the slowest relaxation time; the gap closes for τ ≫ t₁.", ""]
    return lines


def _rdf_section(rdfs: Mapping[str, Any]) -> list[str]:
    lines = ["## State-weighted RDFs (Eq. 12)", ""]
    rows = []
    for name, rdf in rdfs.items():
        if hasattr(rdf, "g"):
            g = np.asarray(rdf.g)
            for s in range(g.shape[0]):
                peak = int(np.argmax(g[s]))
                rows.append([name, s, rdf.r[peak], g[s, peak], rdf.coordination[s, peak]])
        elif isinstance(rdf, Mapping):
            rows.append([name, "–", rdf.get("first_peak_A"), rdf.get("peak_height"), rdf.get("coordination")])
    lines += _table(["pair", "state", "highest peak r (Å)", "g(r) at peak", "coordination up to peak"], rows)
    return lines


def _range(spread: Mapping[str, Any], i: int, scale: float = 1.0, digits: int = 3) -> str:
    """``"min – max"`` of column ``i`` of a seeds spread (``{"min", "max", ...}``), times ``scale``."""
    low, high = spread["min"][i], spread["max"][i]
    if low is None and high is None:
        return "–"
    low, high = (None if v is None else scale * v for v in (low, high))
    return f"{_fmt(low, digits)} – {_fmt(high, digits)}"


def _seeds_section(seeds: Mapping[str, Any]) -> list[str]:
    """Seeds: the robustness verdict, each seed's numbers, the spread over seeds, and the differences."""
    entries, spread, kept = seeds["entries"], seeds["spread"], seeds["kept"]
    lines = [f"## {len(entries)} seeds: do the initialisations agree?", "",
             f"The kept model is seed {kept} (best validation VAMP-2). States of the other seeds are matched to "
             "its states (Hungarian assignment on the overlap of the most probable states); "
             + ("**" + seeds["remark"] + "**." if not seeds.get("robust") else seeds["remark"] + "."), ""]
    elements = sorted(spread.get("coordination") or {})
    radius = entries[0].get("shell_radius_A")
    q = "order_parameter_mean" in spread
    described = [f"the neighbours of each element within {_fmt(radius, 3)} Å (the first shell)"] * bool(elements) \
        + ["the mean order parameter"] * q
    lines += ["Each seed's timescales and populations come from its own Koopman model at τ on all frames (training "
              "frames included, so they can differ from the headline numbers above)"
              + (f"; its states are described by {' and '.join(described)} on a few hundred frames per trajectory"
                 if described else "") + ".", ""]
    lines += _table(["seed", "validation VAMP-2", "states agree with the kept seed", "timescales (ps)",
                     "populations (%)", *(f"{z} within {_fmt(radius, 3)} Å" for z in elements),
                     *(["mean order parameter"] if q else [])],
                    [[f"{e['seed']} (kept)" if e["seed"] == kept else e["seed"], f"{e['vamp2_validation']:.4f}",
                      f"{100 * e['match']:.1f} %", e["timescales_ps"], [100 * p for p in e["populations"]],
                      *(e["coordination"][z] for z in elements), *([e["order_parameter_mean"]] if q else [])]
                     for e in entries])
    pops = spread["populations"]
    lines += ["Spread over the seeds (min – max) per state:", ""]
    lines += _table(["state", "population (%)", *(f"{z} neighbours" for z in elements),
                     *(["mean order parameter"] if q else [])],
                    [[s, _range(pops, s, 100), *(_range(spread["coordination"][z], s) for z in elements),
                      *([_range(spread["order_parameter_mean"], s)] if q else [])] for s in range(len(pops["min"]))])
    ts = spread["timescales_ps"]
    lines += _table(["process", "timescale min – max (ps)", "relative spread"],
                    [[i + 1, _range(ts, i), "–" if r is None else f"{r:.0%}"] for i, r in enumerate(ts["relative"])])
    if seeds.get("differences"):
        lines += ["How the other seeds differ from the kept one:", ""]
        lines += [f"- {line}" for line in seeds["differences"]] + [""]
    return lines


def write_report(out_dir: str | os.PathLike[str], *, summary: Mapping[str, Any],
                 figures: Mapping[str, Any], inputs: Mapping[str, Any],
                 title: str = "gdynet analysis report") -> Path:
    """Write ``<out_dir>/report.md`` atomically and return its path.

    Args:
        out_dir: report folder (created if needed); figure links are made relative to it.
        summary: the numbers (see the module docstring for the recognised keys).
        figures: ``name -> path`` of each figure's PNG, or ``name -> (png, svg)`` as returned by the
            plotting functions; shown in the given order.
        inputs: what the analysis used (trajectory paths, targets, lag, temperature, ...), listed as a table.
        title: first heading.

    Returns:
        Path of ``report.md``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", ""]
    lines += ["## Inputs", ""]
    lines += _table(["input", "value"], [[key, value] for key, value in inputs.items()])
    handled = {"koopman", "vamp2", "conduction", "rdf", "seeds"}
    vamp = summary.get("vamp2")
    if vamp:
        lines += ["## VAMP-2 scores", "", "Higher is better; the maximum is the number of states.", ""]
        lines += _table(["split", "VAMP-2"], list(vamp.items()) if isinstance(vamp, Mapping) else [["all", vamp]])
    if summary.get("koopman") is not None:
        lines += _koopman_section(_as_dict(summary["koopman"]))
    if summary.get("rdf"):
        lines += _rdf_section(summary["rdf"])
    if summary.get("conduction") is not None:
        lines += _conduction_section(_as_dict(summary["conduction"]))
    if summary.get("seeds"):
        lines += _seeds_section(summary["seeds"])
    other = {k: v for k, v in summary.items() if k not in handled}
    if other:
        lines += ["## Other results", ""]
        lines += _table(["quantity", "value"],
                        [[k, v if not isinstance(v, Mapping) else json.dumps(v, default=str)]
                         for k, v in other.items()])
    if figures:
        lines += ["## Figures", ""]
        for name, paths in figures.items():
            files = [Path(p) for p in (paths if isinstance(paths, (list, tuple)) else [paths])]
            png = next((p for p in files if p.suffix == ".png"), files[0])
            rel = Path(os.path.relpath(png.resolve(), out_dir.resolve())).as_posix()
            lines += [f"### {name}", "", f"![{name}]({rel})", ""]
            svgs = [p for p in files if p.suffix == ".svg"]
            if svgs:
                svg_rel = Path(os.path.relpath(svgs[0].resolve(), out_dir.resolve())).as_posix()
                lines += [f"Vector version: [{svgs[0].name}]({svg_rel})", ""]
    return write_text(out_dir / "report.md", "\n".join(lines).rstrip() + "\n")
