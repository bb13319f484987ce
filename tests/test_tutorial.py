"""examples/tutorial.ipynb runs top to bottom (smaller data than a user's run: the parameters cell is
replaced, as papermill would), so the tutorial cannot rot."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "tutorial.ipynb"


def test_the_tutorial_notebook_runs(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source = "n_trajectories = 3\nn_frames = 600\nepochs = 1"
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "StateProbabilities(600 frames x 1 target sets x 2 states, dt=0.1 ps" in text
    assert "GDyNetModel(gdynet, 2 states, lag 10 frames = 1 ps, M=12" in text
    assert "slowest relaxation time at 1 ps" in text and "first Li–S peak per state" in text
    assert any(o.get("data", {}).get("image/png") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
