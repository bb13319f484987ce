"""The layout of a run folder (``gdynet fit --out DIR``) and the saved model file.

::

    DIR/run.json          inputs of the run: trajectory files, read options, fit options
    DIR/model.pt          best model + everything needed to apply it (see :func:`save_model`)
    DIR/summary.json      headline numbers (lag, timescales, populations, VAMP-2 scores, sizes)
    DIR/report.md         figures with their numbers
    DIR/figures/          PNG + SVG figures
    DIR/chi/              state probabilities chi (frames, targets, S) per trajectory, .npy
    DIR/graphs/           cached neighbour graphs (memory-mapped)
    DIR/checkpoints/      training checkpoints (a killed run resumes from here)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import atomic
from ..errors import GdynetError, exception_summary

MODEL_FORMAT = "gdynet-model/1"


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run folder."""

    root: Path

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def model(self) -> Path:
        return self.root / "model.pt"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def graphs(self) -> Path:
        return self.root / "graphs"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def chi(self, index: int) -> Path:
        """State probabilities of trajectory ``index``, shape (frames, targets, S)."""
        return self.root / "chi" / f"traj_{index:03d}.npy"

    def targets(self, index: int) -> Path:
        """Atom indices (file numbering) of the target sets of trajectory ``index``, shape (targets, k)."""
        return self.root / "chi" / f"targets_{index:03d}.npy"

    def read_run(self) -> dict[str, Any]:
        """The inputs recorded by ``fit``; a clear error when DIR holds no run."""
        if not self.run_json.is_file():
            raise GdynetError("not a gdynet run folder (no run.json); run `gdynet fit ... --out DIR` first",
                              self.root)
        return json.loads(self.run_json.read_text())

    def require_model(self) -> None:
        """Raise a clear error when the folder has no trained model."""
        self.read_run()
        if not self.model.is_file():
            raise GdynetError("no trained model here (model.pt missing); the fit did not finish — "
                              "re-run the same `gdynet fit` command to resume", self.root)


def save_model(path: Path, *, kind: str, model: Any, meta: dict[str, Any]) -> None:
    """Save ``model`` (a GDyNet or GlobalVAMPNet) with its config and run metadata, atomically."""
    import torch

    payload = {"format": MODEL_FORMAT, "kind": kind, "config": dict(model.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": meta}
    atomic.atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_model(path: Path, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """Load a model saved by :func:`save_model`; returns ``(model in eval mode, meta)``."""
    import torch

    from ..model.gdynet import GDyNet
    from ..model.vampnet import GlobalVAMPNet

    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise GdynetError("model file not found", path) from None
    except Exception as exc:  # corrupt or foreign file
        raise GdynetError(f"cannot read model file ({exception_summary(exc)})", path) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise GdynetError("not a gdynet model file", path)
    cls = {"gdynet": GDyNet, "vampnet": GlobalVAMPNet}[payload["kind"]]
    config = dict(payload["config"])
    if payload["kind"] == "gdynet":  # files written before the model recorded its M (issue 18)
        config.setdefault("neighbors", payload["meta"]["neighbors"])
    model = cls(**config)
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), {"kind": payload["kind"], **payload["meta"]}
