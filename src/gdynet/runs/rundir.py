"""The layout of a run folder (``gdynet fit --out DIR``).

::

    DIR/run.json          inputs of the run: trajectory files, read options, fit options
    DIR/model.pt          best model + everything needed to apply it (:mod:`gdynet.api.model_file`)
    DIR/summary.json      headline numbers (lag, timescales, populations, VAMP-2 scores, sizes)
    DIR/report.md         figures with their numbers
    DIR/figures/          PNG + SVG figures
    DIR/chi/              state probabilities chi (frames, targets, S) per trajectory, .npy
    DIR/graphs/           cached neighbour graphs (memory-mapped)
    DIR/checkpoints/      training checkpoints (a killed run resumes from here)
    DIR/.gdynet.lock      held by the one gdynet process writing the folder (:func:`gdynet.runs.lock.run_lock`)

One process writes a run folder at a time (:mod:`.lock`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..api.model_file import MODEL_FILE, RUN_FILE, SUMMARY_FILE, model_in_folder
from ..base.errors import GdynetError, exception_summary


#: run.json ``fit`` keys of gdynet 0.4 -> the estimator's names that FitOptions now uses
OLD_FIT_KEYS = {"states": "n_states", "n_conv": "conv_layers"}


def fit_record(fit: dict[str, Any]) -> dict[str, Any]:
    """A run.json ``fit`` record with gdynet 0.4's keys (``states``, ``n_conv``) renamed to the
    estimator's (``n_states``, ``conv_layers``), in the order FitOptions lists them."""
    return {OLD_FIT_KEYS.get(k, k): v for k, v in fit.items()}


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run folder."""

    root: Path

    @property
    def run_json(self) -> Path:
        return self.root / RUN_FILE

    @property
    def model(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

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
        """The inputs recorded by ``fit``; a clear error when DIR holds no run or run.json is damaged."""
        if not self.run_json.is_file():
            raise GdynetError(f"not a gdynet run folder (no {RUN_FILE}); run `gdynet fit ... --out DIR` first",
                              self.root)
        try:
            record = json.loads(self.run_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GdynetError(f"unreadable run.json ({exception_summary(exc)}); re-run `gdynet fit ... --force` "
                              "to start this run over", self.run_json) from None
        if not isinstance(record, dict):
            raise GdynetError("run.json does not describe a gdynet run; re-run `gdynet fit ... --force` to "
                              "start this run over", self.run_json)
        if isinstance(record.get("fit"), dict):
            record["fit"] = fit_record(record["fit"])          # a run folder written by gdynet 0.4
        return record

    def load_chi(self, index: int) -> np.ndarray:
        """:meth:`chi` memory-mapped read-only; a one-line error when it is missing, truncated or damaged."""
        path = self.chi(index)
        from ..files.openfiles import load_npy, open_files_error

        try:
            chi = load_npy(path)                      # small: in memory (no descriptor held)
        except (OSError, ValueError) as exc:
            raise open_files_error(exc, path) or GdynetError(f"unreadable state probabilities ({exception_summary(exc)}); re-run the same "
                              "`gdynet fit` command to rewrite them", path) from None
        if chi.ndim != 3 or chi.dtype != np.float32:
            raise GdynetError(f"state probabilities of shape {chi.shape} and type {chi.dtype}, not (frames, "
                              "targets, S) float32; re-run the same `gdynet fit` command to rewrite them", path)
        return chi

    def require_model(self) -> None:
        """Raise a clear error when the folder has no trained model."""
        self.read_run()
        model_in_folder(self.root)

