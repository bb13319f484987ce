"""examples/tutorial.ipynb runs top to bottom (smaller data than a user's run: the parameters cell is
replaced, as papermill would), so the tutorial cannot rot; it teaches the job (issue 23: targets, the lag
from implied timescales, lower-bound timescales, the CK test, populations with intervals), leaves no
temporary folder behind, and its figures lay out (no panel squashed)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "tutorial.ipynb"
#: appended to the notebook: the size of every axes of every figure it made, in figure fractions
LAYOUT = """import json as _json
from matplotlib.figure import Figure as _Figure
print("LAYOUT", _json.dumps({name: [[a.get_position().width, a.get_position().height] for a in value.axes
                                    if a.get_visible() and a.axison]
                             for name, value in list(globals().items()) if isinstance(value, _Figure)}))"""


def test_the_tutorial_notebook_runs(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source = "n_trajectories = 3\nn_frames = 600\nepochs = 1"
    notebook.cells.append(nbformat.v4.new_code_cell(LAYOUT))
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "StateProbabilities(600 frames x 1 target sets x 2 states, dt=0.1 ps" in text
    assert "GDyNetModel(gdynet, 2 states, lag 10 frames = 1 ps, M=12" in text
    assert "slowest relaxation time at 1 ps" in text and "first Li–S peak per state" in text
    assert "target atoms: [0] = ['Li']" in text                                      # choosing targets
    assert "τ = 4 ps: t1 =" in text and "ImpliedTimescales(4 lags" in text          # choosing the lag
    assert re.search(r"process 1: (resolved|t1 = .*(lower bound|shorter than the lag))", text)   # reading the verdict
    assert "KoopmanModel(2 states, lag 1 ps = 10 frames from 59.9 ps of data" in text
    assert "CKTest(" in text and "entries within the intervals" in text             # the CK test
    assert re.search(r"state 0: [\d.]+ % \[[\d.]+, [\d.]+\]", text)                 # populations with intervals
    removed = re.search(r"removed (\S+): True", text)
    assert removed and not Path(removed.group(1)).exists()                           # no temporary folder left
    assert any(o.get("data", {}).get("image/png") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    layout = json.loads(text.split("LAYOUT ", 1)[1].splitlines()[0])
    assert {"fig", "checks"} <= set(layout)
    for name, sizes in layout.items():                                                # nothing squashed
        assert sizes and min(w for w, _ in sizes) > 0.04 and min(h for _, h in sizes) > 0.1, (name, sizes)
    assert min(w for w, _ in layout["fig"]) > 0.15                                   # the 1x3 row: ~0.25 each
