"""The style sheet and the script of ``report.html`` (:mod:`.html`), kept apart from the Python.

The script reads the page's JSON (``#gdynet-data``): draws every figure with plotly, keeps one
shown/hidden flag per state that the state buttons and a click on a state's legend entry in any
figure change everywhere (figures, the conduction table, the 3D view), and draws the 3D view:
it decodes a frame's packed coordinates and state probabilities and redraws the atoms when the
slider moves. ``window.gdynetReady`` turns true when everything is drawn (the browser test waits
for it); ``window.gdynetView`` exposes the 3D view's element and frame setter.
"""

PAGE_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid #ddd;padding:6px 18px}
h1{font-size:20px;margin:4px 0}h2{font-size:17px;margin:6px 0 8px}
nav a{margin-right:12px;font-size:13px;color:#1f5fa8;text-decoration:none}
.states{margin-top:4px;font-size:13px}
.state{display:inline-flex;align-items:center;margin-right:10px;cursor:pointer}
.state span{border-left:14px solid var(--c);padding-left:5px}
main{max-width:1200px;margin:0 auto;padding:8px 18px 40px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:10px 14px;margin:14px 0}
.figure{width:100%;min-height:360px}
.view{width:100%;height:620px}
.viewbar{display:flex;align-items:center;gap:10px;font-size:13px}
.viewbar input[type=range]{flex:1}
.remark{font-size:13px;color:#444;margin:6px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f3f3f3}
tr.hidden{display:none}
#headline td:first-child{font-weight:600}
"""

PAGE_SCRIPT = r"""
(function () {
  'use strict';
  const D = JSON.parse(document.getElementById('gdynet-data').textContent);
  const shown = D.colors.map(() => true);
  const plots = [];
  const GREYS = ['#8c8c8c', '#b8b8b8', '#5f5f5f', '#cfcfcf', '#787878', '#a3a3a3'];
  const SYMBOLS = ['X','H','He','Li','Be','B','C','N','O','F','Ne','Na','Mg','Al','Si','P','S','Cl','Ar','K','Ca',
    'Sc','Ti','V','Cr','Mn','Fe','Co','Ni','Cu','Zn','Ga','Ge','As','Se','Br','Kr','Rb','Sr','Y','Zr','Nb','Mo',
    'Tc','Ru','Rh','Pd','Ag','Cd','In','Sn','Sb','Te','I','Xe','Cs','Ba','La','Ce','Pr','Nd','Pm','Sm','Eu','Gd',
    'Tb','Dy','Ho','Er','Tm','Yb','Lu','Hf','Ta','W','Re','Os','Ir','Pt','Au','Hg','Tl','Pb','Bi','Po','At','Rn'];

  function bytes(text) {
    const bin = atob(text); const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function symbol(z) { return SYMBOLS[z] || ('Z' + z); }

  function applyStates(gd) {
    const idx = [], vis = [];
    gd.data.forEach(function (t, i) {
      if (t.meta && t.meta.state !== undefined) { idx.push(i); vis.push(shown[t.meta.state] ? true : 'legendonly'); }
    });
    if (idx.length) return Plotly.restyle(gd, {visible: vis}, idx);
  }
  function setState(s, on) {
    shown[s] = on;
    document.querySelectorAll('input[data-state="' + s + '"]').forEach(function (b) { b.checked = on; });
    plots.forEach(applyStates);
    document.querySelectorAll('tr[data-states]').forEach(function (row) {
      const hide = row.dataset.states.split(' ').some(function (k) { return !shown[+k]; });
      row.classList.toggle('hidden', hide);
    });
    if (view) view.draw();
  }
  function legendClick(ev) {
    const t = ev.data[ev.curveNumber];
    if (t.meta && t.meta.state !== undefined) { setState(t.meta.state, !shown[t.meta.state]); return false; }
    return true;
  }

  // ---------------------------------------------------------------- the 3D view
  let view = null;
  function makeView(V) {
    const el = document.getElementById('view3d');
    const slider = document.getElementById('frame');
    const label = document.getElementById('frame-label');
    const S = V.n_states;
    const systems = V.systems.map(function (s) {
      const numbers = bytes(s.numbers), kind = new Int32Array(bytes(s.kind).buffer);
      const elements = [];
      for (let a = 0; a < numbers.length; a++) if (kind[a] < 0 && elements.indexOf(numbers[a]) < 0) elements.push(numbers[a]);
      return {numbers: numbers, ids: new Int32Array(bytes(s.ids).buffer), kind: kind, name: s.name, elements: elements};
    });
    const allElements = Array.from(new Set(systems.flatMap(function (s) { return s.elements; })))
      .sort(function (a, b) { return a - b; });
    const hasTarget = {};
    systems.forEach(function (s) { for (let a = 0; a < s.kind.length; a++) if (s.kind[a] >= 0) hasTarget[s.numbers[a]] = true; });
    let current = 0;
    slider.max = String(V.frames.length - 1);

    function cellLines(c) {
      const o = [0, 0, 0], a = c[0], b = c[1], d = c[2];
      function add(p, q) { return [p[0] + q[0], p[1] + q[1], p[2] + q[2]]; }
      const ab = add(a, b), ad = add(a, d), bd = add(b, d), abd = add(ab, d);
      const edges = [[o, a], [o, b], [o, d], [a, ab], [a, ad], [b, ab], [b, bd], [d, ad], [d, bd], [ab, abd], [ad, abd], [bd, abd]];
      const x = [], y = [], z = [];
      edges.forEach(function (e) { x.push(e[0][0], e[1][0], null); y.push(e[0][1], e[1][1], null); z.push(e[0][2], e[1][2], null); });
      return {type: 'scatter3d', mode: 'lines', x: x, y: y, z: z, name: 'cell', hoverinfo: 'skip',
              line: {color: '#444', width: 2}};
    }

    function traces(i) {
      const fr = V.frames[i], sys = systems[fr.sys];
      const q = new Uint16Array(bytes(fr.xyz).buffer), chi = bytes(fr.chi);
      const n = sys.numbers.length;
      const other = {}; allElements.forEach(function (z) { other[z] = {x: [], y: [], z: [], text: []}; });
      const tx = [], ty = [], tz = [], color = [], size = [], text = [];
      for (let a = 0; a < n; a++) {
        const x = fr.lo[0] + q[3 * a] * fr.step[0], y = fr.lo[1] + q[3 * a + 1] * fr.step[1], zz = fr.lo[2] + q[3 * a + 2] * fr.step[2];
        const k = sys.kind[a];
        if (k < 0) {
          const b = other[sys.numbers[a]]; b.x.push(x); b.y.push(y); b.z.push(zz); b.text.push(symbol(sys.numbers[a]) + ' atom ' + sys.ids[a]);
          continue;
        }
        let best = 0;
        for (let s = 1; s < S; s++) if (chi[k * S + s] > chi[k * S + best]) best = s;
        if (!shown[best]) continue;
        const p = chi[k * S + best] / 255;
        tx.push(x); ty.push(y); tz.push(zz); color.push(D.colors[best]); size.push(4 + 8 * p);
        text.push(symbol(sys.numbers[a]) + ' atom ' + sys.ids[a] + ': state ' + best + ' (p = ' + p.toFixed(2) + ')');
      }
      const out = allElements.map(function (z, e) {
        const b = other[z];
        return {type: 'scatter3d', mode: 'markers', name: symbol(z) + (hasTarget[z] ? ' (not a target)' : ''),
                x: b.x, y: b.y, z: b.z, text: b.text, hoverinfo: 'text',
                marker: {color: GREYS[e % GREYS.length], size: n > 5000 ? 2 : 4, opacity: 0.6}};
      });
      out.push({type: 'scatter3d', mode: 'markers', name: 'targets', x: tx, y: ty, z: tz, text: text, hoverinfo: 'text',
                showlegend: false, marker: {color: color, size: size, opacity: 1, line: {width: 0}}});
      out.push(cellLines(fr.cell));
      for (let s = 0; s < S; s++) {
        out.push({type: 'scatter3d', mode: 'markers', name: 'state ' + s, x: [null], y: [null], z: [null],
                  legendgroup: 'state ' + s, meta: {state: s}, visible: shown[s] ? true : 'legendonly',
                  marker: {color: D.colors[s], size: 8}, hoverinfo: 'skip'});
      }
      label.textContent = 'frame ' + (i + 1) + ' of ' + V.frames.length + ': ' + sys.name + ', t = ' +
        fr.time_ps.toFixed(3) + ' ps (frame ' + fr.frame + ' of the analysed piece)';
      return out;
    }
    const layout = {margin: {l: 0, r: 0, t: 10, b: 0}, uirevision: 'keep', showlegend: true,
                    legend: {itemsizing: 'constant'},
                    scene: {aspectmode: 'data', xaxis: {title: {text: 'x (Å)'}}, yaxis: {title: {text: 'y (Å)'}},
                            zaxis: {title: {text: 'z (Å)'}}}};
    const v = {
      el: el,
      targetTrace: allElements.length,
      draw: function () { return Plotly.react(el, traces(current), layout, D.config); },
      setFrame: function (i) { current = i; slider.value = String(i); return v.draw(); }
    };
    slider.addEventListener('input', function () { current = +slider.value; v.draw(); });
    let timer = null;
    document.getElementById('play').addEventListener('click', function (ev) {
      if (timer) { clearInterval(timer); timer = null; ev.target.textContent = '▶'; return; }
      ev.target.textContent = '❚❚';
      timer = setInterval(function () { v.setFrame((current + 1) % V.frames.length); }, 400);
    });
    return v;
  }

  const jobs = [];
  document.querySelectorAll('[data-figure]').forEach(function (div) {
    const fig = D.figures[div.dataset.figure];
    jobs.push(Plotly.newPlot(div, fig.data, fig.layout, D.config).then(function (gd) {
      plots.push(gd); gd.on('plotly_legendclick', legendClick); return gd;
    }));
  });
  if (D.view && D.view.frames.length) {
    view = makeView(D.view);
    jobs.push(view.draw().then(function (gd) { plots.push(gd); gd.on('plotly_legendclick', legendClick); }));
  }
  document.querySelectorAll('input[data-state]').forEach(function (box) {
    box.addEventListener('change', function () { setState(+box.dataset.state, box.checked); });
  });
  window.gdynetView = view;
  Promise.all(jobs).then(function () { window.gdynetReady = true; });
})();
"""
