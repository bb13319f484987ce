"""The interactive report (``report.html``): one self-contained file, readable offline.

Every figure of ``report.md`` is redrawn with plotly from the numbers of ``summary.json`` (hover
for values); plotly.js is embedded once, with a small script (:mod:`.html_assets`) that draws the
figures, shows or hides a state in every figure and table at once (the state buttons, or a click
on a state in any legend), and draws the 3D view of :mod:`.structure_view` (target atoms coloured
by their most likely state, sized by its probability; other atoms grey by element; the cell edges;
a frame slider). Remarks and verdicts (lower bounds, CK test, invariance check, tied shells, seeds)
stand next to the figure they qualify. Nothing is fetched when the page opens.
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..files.writes import write_text
from .figures import state_color
from .html_assets import PAGE_CSS, PAGE_SCRIPT
from .markdown import _conduction_ci_line, _fmt
from .structure_view import StructureView

#: plotly settings shared by every figure: no logo, no link to an online editor
_CONFIG = {"displaylogo": False, "responsive": True}


def _num(values: Any) -> list[float | None]:
    """A list of floats, with None (JSON's infinite or unknown) kept as None (a gap in the plot)."""
    return [None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)
            for v in values]


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title, "font": {"size": 15}}, "template": "plotly_white",
            "margin": {"l": 60, "r": 20, "t": 50, "b": 50}, "hovermode": "closest", "height": 420, **extra}


def _state(s: int) -> dict[str, Any]:
    """Trace settings of a curve that belongs to state ``s`` (one legend entry for all its curves)."""
    return {"legendgroup": f"state {s}", "meta": {"state": s}, "line": {"color": state_color(s)},
            "marker": {"color": state_color(s)}}


def its_figure(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Implied timescales against the lag, 95 % bands, t = τ, lower-bound and unresolved flags."""
    its = summary["implied_timescales"]
    lags = _num(its["lags_ps"])
    ts = its["timescales_ps"]
    checks = summary.get("timescales_checks") or []
    traces: list[dict[str, Any]] = []
    for i in range(len(ts[0]) if ts else 0):
        color = state_color(i)
        bound = i < len(checks) and checks[i].get("lower_bound")
        name = f"t{i + 1} (process {i + 1})" + (" — lower bound" if bound else "")
        lower, upper = _num(row[i] for row in its["lower_ps"]), _num(row[i] for row in its["upper_ps"])
        known = [k for k in range(len(lags)) if lower[k] is not None and upper[k] is not None]
        if known:                                   # the band where both ends are finite
            band_x = [lags[k] for k in known]
            traces.append({"type": "scatter", "x": band_x + band_x[::-1], "fill": "toself",
                           "y": [upper[k] for k in known] + [lower[k] for k in known[::-1]],
                           "fillcolor": color, "opacity": 0.2, "line": {"width": 0}, "hoverinfo": "skip",
                           "legendgroup": f"p{i}", "showlegend": False})
        resolved = [r[i] for r in its.get("resolved") or [[True] * len(ts[0])] * len(lags)]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": name, "legendgroup": f"p{i}",
                       "x": lags, "y": _num(row[i] for row in ts), "customdata": list(zip(lower, upper)),
                       "line": {"color": color, "dash": "dot" if bound else "solid"},
                       "marker": {"color": color, "size": 8,
                                  "symbol": ["circle" if ok else "circle-open" for ok in resolved]},
                       "hovertemplate": f"τ = %{{x:.4g}} ps<br>t{i + 1} = %{{y:.4g}} ps"
                                        "<br>95 %: [%{customdata[0]:.4g}, %{customdata[1]:.4g}]<extra></extra>"})
        if bound:
            at = int(np.argmin(np.abs(np.array(lags) - summary["lag_ps"])))
            traces.append({"type": "scatter", "mode": "markers+text", "x": [lags[at]], "y": [ts[at][i]],
                           "text": ["lower bound"], "textposition": "top center", "showlegend": False,
                           "legendgroup": f"p{i}", "marker": {"symbol": "triangle-up", "size": 14, "color": color},
                           "hovertemplate": f"t{i + 1} at τ is a lower bound<extra></extra>"})
    labels = (summary.get("order_parameter") or {}).get("labels")
    if labels:
        name = summary["order_parameter"]["name"]
        for key, dash, what in (("timescales_ps", "dash", "labels"), ("core_timescales_ps", "dot", "labels, core sets")):
            traces.append({"type": "scatter", "mode": "lines+markers", "name": f"{name} {what}",
                           "x": _num(labels["lags_ps"]), "y": _num(labels[key]),
                           "line": {"color": "black", "dash": dash}, "marker": {"color": "black", "size": 6}})
    traces.append({"type": "scatter", "mode": "lines", "name": "t = τ (below: not resolved)", "x": lags, "y": lags,
                   "fill": "tozeroy", "fillcolor": "rgba(0,0,0,0.08)", "line": {"color": "black", "width": 1},
                   "hovertemplate": "t = τ = %{x:.4g} ps<extra></extra>"})
    xlog = len(lags) > 1 and max(lags) / max(min(lags), 1e-12) > 4
    return {"data": traces, "layout": _layout("Implied relaxation timescales", xaxis={
        "title": {"text": "lag time τ (ps)"}, "type": "log" if xlog else "linear"},
        yaxis={"title": {"text": "relaxation timescale (ps)"}, "type": "log"})}


def ck_figure(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Chapman–Kolmogorov grid: predicted K(τ)^n (line, band) and estimated K(nτ) (points, bars)."""
    ck = summary["ck_test"]
    lags = _num(ck["lags_ps"])
    pred, est = np.array(ck["predicted"], dtype=float), np.array(ck["estimated"], dtype=float)
    n = pred.shape[1]
    traces: list[dict[str, Any]] = []
    layout = _layout("Chapman–Kolmogorov test: P(state j at nτ | state i at 0)", height=max(360, 210 * n),
                     showlegend=True)
    gap = 0.06
    size = (1 - gap * (n - 1)) / n
    for i in range(n):
        for j in range(n):
            k = i * n + j + 1
            suffix = "" if k == 1 else str(k)
            axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
            low, up = ck.get("predicted_lower"), ck.get("predicted_upper")
            if low is not None and up is not None:
                lo = _num(np.array(low, dtype=float)[:, i, j]); hi = _num(np.array(up, dtype=float)[:, i, j])
                traces.append({"type": "scatter", **axes, "x": lags + lags[::-1], "y": hi + lo[::-1],
                               "fill": "toself", "fillcolor": "rgba(31,119,180,0.18)", "line": {"width": 0},
                               "hoverinfo": "skip", "showlegend": False, **_meta(i)})
            traces.append({"type": "scatter", "mode": "lines", **axes, "x": lags, "y": _num(pred[:, i, j]),
                           "name": "predicted K(τ)ⁿ", "legendgroup": "predicted", "showlegend": k == 1,
                           "line": {"color": "#1f77b4"}, "meta": {"state": i},
                           "hovertemplate": f"{i}→{j}, nτ = %{{x:.4g}} ps<br>predicted %{{y:.4f}}<extra></extra>"})
            elow, eup = ck.get("estimated_lower"), ck.get("estimated_upper")
            error = {}
            if elow is not None and eup is not None:
                e = est[:, i, j]
                error = {"error_y": {"type": "data", "symmetric": False, "color": "#d62728",
                                     "array": _num(np.array(eup, dtype=float)[:, i, j] - e),
                                     "arrayminus": _num(e - np.array(elow, dtype=float)[:, i, j])}}
            traces.append({"type": "scatter", "mode": "markers", **axes, "x": lags, "y": _num(est[:, i, j]),
                           "name": "estimated K(nτ)", "legendgroup": "estimated", "showlegend": k == 1,
                           "marker": {"color": "#d62728", "size": 6}, "meta": {"state": i}, **error,
                           "hovertemplate": f"{i}→{j}, nτ = %{{x:.4g}} ps<br>estimated %{{y:.4f}}<extra></extra>"})
            x0, y1 = j * (size + gap), 1 - i * (size + gap)
            layout[f"xaxis{suffix}"] = {"domain": [x0, x0 + size], "anchor": f"y{suffix}",
                                        "title": {"text": "nτ (ps)" if i == n - 1 else ""}}
            layout[f"yaxis{suffix}"] = {"domain": [y1 - size, y1], "anchor": f"x{suffix}", "range": [-0.05, 1.05],
                                        "title": {"text": f"{i}→{j}"}}
    return {"data": traces, "layout": layout}


def _meta(state: int) -> dict[str, Any]:
    return {"meta": {"state": state}}


def populations_figure(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Stationary populations (%) with their 95 % intervals, one bar (trace) per state."""
    pops = summary["populations"]
    ci = summary.get("populations_ci") or {}
    traces = []
    for s, p in enumerate(pops):
        lo = (ci.get("lower") or [None] * len(pops))[s]
        hi = (ci.get("upper") or [None] * len(pops))[s]
        error = {} if lo is None or hi is None else {"error_y": {
            "type": "data", "symmetric": False, "array": [100 * (hi - p)], "arrayminus": [100 * (p - lo)]}}
        traces.append({"type": "bar", "name": f"state {s}", "x": [f"state {s}"], "y": [100 * p], **_state(s),
                       **error, "customdata": [[_pct(lo), _pct(hi)]],
                       "hovertemplate": f"state {s}: %{{y:.3f}} %<br>95 %: [%{{customdata[0]}}, %{{customdata[1]}}]"
                                        "<extra></extra>"})
    what = f" ({ci.get('confidence', 0.95):.0%} CI from {ci.get('n_blocks')} {ci.get('from')})" if ci else ""
    return {"data": traces, "layout": _layout("Stationary populations" + what,
                                               yaxis={"title": {"text": "population (%)"}})}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.3f}"


def eigenvector_figure(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """Right Koopman eigenvectors (Fig. 3e): each process's component on every state."""
    vectors = (summary.get("koopman") or {}).get("eigenvectors")
    if not vectors or not vectors.get("right"):
        return None
    right = np.array(vectors["right"], dtype=float)            # (S-1, S): processes x states
    ts = summary["timescales_ps"]
    names = [f"process {p + 1} (t = {_fmt(ts[p], 3)} ps)" for p in range(right.shape[0])]
    traces = [{"type": "bar", "name": f"state {s}", "x": names, "y": right[:, s].tolist(), **_state(s),
               "hovertemplate": f"%{{x}}<br>state {s}: %{{y:.4f}}<extra></extra>"} for s in range(right.shape[1])]
    return {"data": traces, "layout": _layout("Koopman right eigenvectors (Fig. 3e)", barmode="group",
                                               yaxis={"title": {"text": "component"}})}


def learning_figure(history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """VAMP-2 of training and validation per epoch; collapsed epochs marked."""
    epochs = [h["epoch"] for h in history]
    traces = [{"type": "scatter", "mode": "lines+markers", "name": split, "x": epochs,
               "y": _num(h[split] for h in history), "hovertemplate": f"epoch %{{x}}<br>{split} %{{y:.4f}}<extra></extra>"}
              for split in ("train", "validation")]
    collapsed = [h for h in history if h.get("collapse")]
    if collapsed:
        traces.append({"type": "scatter", "mode": "markers", "name": "collapse (undone)",
                       "x": [h["epoch"] for h in collapsed], "y": _num(h["validation"] for h in collapsed),
                       "marker": {"symbol": "x", "size": 11, "color": "black"}})
    return {"data": traces, "layout": _layout("Learning curve", xaxis={"title": {"text": "epoch"}},
                                               yaxis={"title": {"text": "VAMP-2"}})}


def _panels(count: int, columns: int) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Axis layout of ``count`` panels in rows of ``columns``, and each panel's axis names."""
    columns = min(columns, count)
    rows = -(-count // columns)
    gap_x, gap_y = 0.08, 0.12
    width, height = (1 - gap_x * (columns - 1)) / columns, (1 - gap_y * (rows - 1)) / rows
    layout, axes = {}, []
    for k in range(count):
        r, c = divmod(k, columns)
        suffix = "" if k == 0 else str(k + 1)
        x0, y1 = c * (width + gap_x), 1 - r * (height + gap_y)
        layout[f"xaxis{suffix}"] = {"domain": [x0, x0 + width], "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"domain": [y1 - height, y1], "anchor": f"x{suffix}"}
        axes.append({"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})
    return {**layout, "height": max(380, 330 * rows)}, axes


def rdf_figure(rdfs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """State-weighted RDFs g_s(r) (Eq. 12), one panel per element pair, with the coordination number."""
    layout, axes = _panels(len(rdfs), 3)
    traces = []
    for k, (pair, rdf) in enumerate(rdfs.items()):
        for s, (g, n) in enumerate(zip(rdf["g"], rdf["coordination"])):
            traces.append({"type": "scatter", "mode": "lines", "name": f"state {s}", **axes[k], **_state(s),
                           "showlegend": k == 0, "x": rdf["r_A"], "y": g, "customdata": n,
                           "hovertemplate": f"{pair}, state {s}<br>r = %{{x:.2f}} Å<br>g = %{{y:.3f}}"
                                            "<br>neighbours within r: %{customdata:.2f}<extra></extra>"})
        suffix = "" if k == 0 else str(k + 1)
        layout[f"xaxis{suffix}"]["title"] = {"text": f"r (Å), {pair}"}
        layout[f"yaxis{suffix}"]["title"] = {"text": "g(r)"}
    return {"data": traces, "layout": {**_layout("State-weighted radial distribution functions (Eq. 12)"), **layout}}


def profile_figure(profile: Mapping[str, Any]) -> dict[str, Any]:
    """Density of each state's target sets along an axis."""
    edges = np.array(profile["edges_A"], dtype=float)
    centres = ((edges[1:] + edges[:-1]) / 2).tolist()
    density = np.array(profile["density"], dtype=float)
    traces = [{"type": "scatter", "mode": "lines", "name": f"state {s}", "x": centres, "y": d.tolist(),
               "line": {"shape": "hvh", "color": state_color(s)}, "legendgroup": f"state {s}", "meta": {"state": s},
               "fill": "tozeroy", "hovertemplate": f"state {s}<br>{profile['axis']} = %{{x:.2f}} Å<br>%{{y:.4g}} "
                                                   f"{profile.get('unit', '')}<extra></extra>"}
              for s, d in enumerate(density)]
    traces.append({"type": "scatter", "mode": "lines", "name": "all", "x": centres, "y": density.sum(axis=0).tolist(),
                   "line": {"shape": "hvh", "color": "black", "dash": "dash"}})
    return {"data": traces, "layout": _layout(f"State densities along {profile['axis']}", xaxis={
        "title": {"text": f"{profile['axis']} (Å)"}}, yaxis={"title": {"text": profile.get("unit", "density")}})}


def order_figure(order: Mapping[str, Any]) -> dict[str, Any]:
    """Distribution of the order parameter in each state, with the ordered/disordered threshold."""
    edges = np.array(order["edges"], dtype=float)
    centres = ((edges[1:] + edges[:-1]) / 2).tolist()
    traces = [{"type": "scatter", "mode": "lines", "name": f"state {s}", "x": centres, "y": d, **_state(s),
               "line": {"shape": "hvh", "color": state_color(s)},
               "hovertemplate": f"state {s}<br>{order['name']} = %{{x:.3f}}<br>density %{{y:.3g}}<extra></extra>"}
              for s, d in enumerate(order["density"])]
    layout = _layout(f"{order['name']} per state", xaxis={"title": {"text": order["name"]}},
                     yaxis={"title": {"text": "probability density"}})
    threshold = (order.get("labels") or {}).get("threshold")
    if threshold is not None:
        layout["shapes"] = [{"type": "line", "x0": threshold, "x1": threshold, "yref": "paper", "y0": 0, "y1": 1,
                             "line": {"color": "black", "dash": "dash"}}]
        layout["annotations"] = [{"x": threshold, "y": 1, "yref": "paper", "text": "ordered →", "showarrow": False,
                                  "xanchor": "left"}]
    return {"data": traces, "layout": layout}


def charge_figure(integral: Mapping[str, Any], shell_radii: Sequence[float] | None) -> dict[str, Any]:
    """Charge integral Q_s(r) of each state (Fig. 4c), with the first-shell radii used for z_s."""
    traces = [{"type": "scatter", "mode": "lines", "name": f"state {s}", "x": integral["r_A"], "y": q, **_state(s),
               "hovertemplate": f"state {s}<br>r = %{{x:.2f}} Å<br>Q = %{{y:.3f}} e<extra></extra>"}
              for s, q in enumerate(integral["Q"])]
    layout = _layout("Charge integral per state (Fig. 4c)", xaxis={"title": {"text": "r (Å)"}},
                     yaxis={"title": {"text": "charge within r (e)"}})
    if shell_radii:
        layout["shapes"] = [{"type": "line", "x0": r, "x1": r, "yref": "paper", "y0": 0, "y1": 1,
                             "line": {"color": state_color(s), "dash": "dot"}} for s, r in enumerate(shell_radii)]
    return {"data": traces, "layout": layout}


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], states: Sequence[Sequence[int]] | None = None,
           table_id: str = "") -> str:
    """An HTML table; ``states``: the states each row concerns (hidden with any of them)."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        attr = "" if states is None else f' data-states="{" ".join(map(str, states[k]))}"'
        body.append(f"<tr{attr}>" + "".join(f"<td>{_esc(_fmt(v) if not isinstance(v, str) else v)}</td>"
                                             for v in row) + "</tr>")
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def conduction_html(c: Mapping[str, Any]) -> str:
    """The conduction table (Eqs. 13–16) and the totals, rows hidden with their states."""
    rows = c.get("transitions", [])
    states = [[int(x) for x in r["transition"].split("->")] for r in rows]
    charged = c.get("charges_e") is not None
    if charged:
        table = _table(["i→j", "π_i", "K_ij(τ)", "z_ij (e)", "D_ij (Å²/ps)", "± 95 %", "D_ij (cm²/s)", "σ_ij (S/cm)",
                        "%", "± 95 %"],
                       [[r["transition"], r["pi_i"], r["K_ij"], r["z_ij"], r["D_A2_ps"], r.get("D_ci_A2_ps"),
                         r["D_cm2_s"], r["sigma_S_cm"], r["percent"], r.get("percent_ci")] for r in rows], states,
                       "conduction-table")
        totals = _table(["conductivity", "S/cm"], [
            ["Nernst–Einstein Σσ_ij", c.get("sigma_nernst_einstein_S_cm")],
            ["collective, self part", c.get("sigma_self_S_cm")],
            ["collective (Einstein)", c.get("sigma_collective_S_cm")],
            ["cross terms", c.get("sigma_cross_S_cm")]])
        head = (f"Koopman lag τ = {_fmt(c.get('lag_ps'))} ps, T = {_fmt(c.get('temperature_K'))} K, "
                f"V = {_fmt(c.get('volume_A3'))} Å³, state charges {_fmt(c.get('charges_e'))} e "
                f"({c.get('charges_source') or 'given'}); D fitted on t = {_fmt(c.get('fit_window_ps'))} ps.")
    else:
        table = _table(["i→j", "π_i", "K_ij(τ)", "D_ij (Å²/ps)", "± 95 %", "D_ij (cm²/s)"],
                       [[r["transition"], r["pi_i"], r["K_ij"], r["D_A2_ps"], r.get("D_ci_A2_ps"), r["D_cm2_s"]]
                        for r in rows], states, "conduction-table")
        totals = ""
        head = ("No charges were given (--charge, or a topology with partial charges): diffusion coefficients "
                f"only. Koopman lag τ = {_fmt(c.get('lag_ps'))} ps.")
    return f"<p>{_esc(head)}</p>{table}<p class='remark'>{_esc(_conduction_ci_line(c))}</p>{totals}"


def _remarks(lines: Sequence[str]) -> str:
    return "".join(f"<p class='remark'>{_esc(line)}</p>" for line in lines if line)


def _section(title: str, body: str, anchor: str) -> str:
    return f"<section id='{anchor}'><h2>{_esc(title)}</h2>{body}</section>"


def _figure_div(name: str) -> str:
    return f"<div class='figure' id='fig-{name}' data-figure='{name}'></div>"


def write_html_report(out_dir: str | Path, summary: Mapping[str, Any], *, inputs: Mapping[str, Any],
                      remarks: Mapping[str, Sequence[str]], view: StructureView | None,
                      view_note: str | None = None, full: bool = True,
                      title: str = "gdynet report") -> Path:
    """Write ``<out_dir>/report.html`` atomically and return its path.

    Args:
        out_dir: the folder (the run folder, or the stage of ``gdynet analyze``).
        summary: the dict of ``summary.json``; every number on the page comes from it.
        inputs: what the analysis used, shown as a table.
        remarks: sentences per section (``"top"``, ``"timescales"``, ``"ck"``, ``"populations"``,
            ``"eigenvectors"``, ``"training"``, ``"structure"``, ``"seeds"``), shown beside its figures.
        view: the 3D view's frames (:func:`.structure_view.structure_view`), or None with ``view_note``
            saying why there is none.
        full: draw the figures that grow with S (False above ``FIGURE_STATES`` states, as report.md).
        title: the page's heading.
    """
    from plotly.offline import get_plotlyjs

    figures: dict[str, dict[str, Any]] = {}
    parts = []
    lag_line = _headline_table(summary)
    parts.append(_section("Summary", lag_line + _remarks(remarks.get("top", ())), "summary"))
    if view is not None:
        notes = "".join(f"<li>{_esc(n)}</li>" for n in view.notes)
        parts.append(_section("The atoms, coloured by state", (
            "<div class='viewbar'><button id='play' type='button'>▶</button>"
            "<input type='range' id='frame' min='0' value='0' step='1'>"
            "<span id='frame-label'></span></div><div id='view3d' class='view'></div>"
            "<p class='remark'>Target atoms are coloured by their most likely state and sized by its probability; "
            "other atoms are grey (one shade per element); lines are the periodic cell. Drag to rotate, scroll to "
            "zoom, hover for an atom's index and probability.</p>" + (f"<ul class='remark'>{notes}</ul>" if notes else "")),
            "structure"))
    elif view_note:
        parts.append(_section("The atoms, coloured by state", _remarks([view_note]), "structure"))
    figures["timescales"] = its_figure(summary)
    parts.append(_section("Implied timescales", _figure_div("timescales") + _remarks(remarks.get("timescales", ())),
                          "timescales"))
    if full:
        figures["ck"] = ck_figure(summary)
        parts.append(_section("Chapman–Kolmogorov test", _figure_div("ck") + _remarks(remarks.get("ck", ())), "ck"))
    figures["populations"] = populations_figure(summary)
    parts.append(_section("Populations", _figure_div("populations") + _remarks(remarks.get("populations", ())),
                          "populations"))
    eig = eigenvector_figure(summary) if full else None
    if eig is not None:
        figures["eigenvectors"] = eig
        parts.append(_section("Koopman eigenvectors", _figure_div("eigenvectors")
                              + _remarks(remarks.get("eigenvectors", ())), "eigenvectors"))
    structure = []
    if full and summary.get("state_rdf"):
        figures["rdf"] = rdf_figure(summary["state_rdf"])
        structure.append(_figure_div("rdf"))
    if full and summary.get("profile"):
        figures["profile"] = profile_figure(summary["profile"])
        structure.append(_figure_div("profile"))
    if full and summary.get("order_parameter"):
        figures["order"] = order_figure(summary["order_parameter"])
        structure.append(_figure_div("order"))
    if full and summary.get("charge_integral"):
        radii = (summary.get("state_charges") or {}).get("shell_radius_A")
        figures["charge"] = charge_figure(summary["charge_integral"], radii)
        structure.append(_figure_div("charge"))
    if structure or remarks.get("structure"):
        parts.append(_section("What the states are", "".join(structure) + _remarks(remarks.get("structure", ())),
                              "states"))
    if summary.get("conduction"):
        parts.append(_section("Conduction (Eqs. 13–16)", conduction_html(summary["conduction"]), "conduction"))
    if summary.get("history"):
        figures["learning"] = learning_figure(summary["history"])
        parts.append(_section("Training", _figure_div("learning") + _remarks(remarks.get("training", ())),
                              "training"))
    if remarks.get("seeds"):
        parts.append(_section("Seeds", _seeds_html(summary) + _remarks(remarks["seeds"]), "seeds"))
    parts.append(_section("Inputs", _table(["input", "value"], [[k, str(v)] for k, v in inputs.items()]), "inputs"))
    n_states = len(summary["populations"])
    buttons = "".join(f"<label class='state' style='--c:{state_color(s)}'><input type='checkbox' checked "
                      f"data-state='{s}'><span>state {s}</span></label>" for s in range(n_states))
    payload = {"figures": figures, "config": _CONFIG, "colors": [state_color(s) for s in range(n_states)],
               "view": None if view is None else view.to_dict()}
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    nav = "".join(f"<a href='#{a}'>{_esc(t)}</a>" for a, t in (
        ("summary", "summary"), ("structure", "3D view"), ("timescales", "timescales"), ("ck", "CK test"),
        ("populations", "populations"), ("eigenvectors", "eigenvectors"), ("states", "states"),
        ("conduction", "conduction"), ("training", "training"), ("inputs", "inputs")))
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_esc(title)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{PAGE_CSS}</style>"
            f"<script>{get_plotlyjs()}</script></head><body><header><h1>{_esc(title)}</h1>"
            f"<nav>{nav}</nav><div class='states'>Show states: {buttons}</div></header><main>{''.join(parts)}</main>"
            f"<script type='application/json' id='gdynet-data'>{data}</script><script>{PAGE_SCRIPT}</script>"
            "</body></html>")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_text(out / "report.html", page)


def _headline_table(summary: Mapping[str, Any]) -> str:
    """Lag, timescales (with their flags), populations with intervals, VAMP-2, data size."""
    checks = summary.get("timescales_checks") or [{}] * len(summary["timescales_ps"])
    resolved = summary.get("timescales_resolved") or [True] * len(summary["timescales_ps"])
    ts = ", ".join(("∞" if t is None else f"{t:.4g} ps") + ("" if ok else " (lower bound)" if c.get("lower_bound")
                                                            else " (not resolved)")
                   for t, ok, c in zip(summary["timescales_ps"], resolved, checks))
    ci = summary.get("populations_ci") or {}
    pops = summary["populations"]
    lower, upper = ci.get("lower") or [None] * len(pops), ci.get("upper") or [None] * len(pops)
    populations = ", ".join(f"state {s}: {100 * p:.2f} %" + ("" if lo is None or hi is None else
                                                              f" [{100 * lo:.2f}, {100 * hi:.2f}]")
                            for s, (p, lo, hi) in enumerate(zip(pops, lower, upper)))
    vamp = summary.get("vamp2") or {}
    rows = [["lag τ", f"{summary['lag_ps']:g} ps"], ["timescales", ts], ["populations (95 % CI)", populations],
            ["VAMP-2 train / validation / test", " / ".join(_fmt(vamp.get(k)) for k in ("train", "validation", "test"))],
            ["data", f"{summary.get('n_frames')} frames, {summary.get('n_targets')} target sets; analysed: "
                     f"{summary.get('analysis_data', summary.get('analysis_on'))}"]]
    return _table(["", ""], rows, table_id="headline")


def _seeds_html(summary: Mapping[str, Any]) -> str:
    """Each seed's score, agreement with the kept seed, timescales and populations."""
    rows = [[e["seed"], e["vamp2_validation"], f"{100 * e['match']:.1f} %", e["timescales_ps"],
             [100 * p for p in e["populations"]]] for e in summary.get("seeds") or []]
    return _table(["seed", "validation VAMP-2", "states agree with the kept seed", "timescales (ps)",
                   "populations (%)"], rows)
