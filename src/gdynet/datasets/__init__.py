"""Built-in datasets: the paper's Li-in-FCC toy system (:mod:`gdynet.datasets.toy`).

May import: ``gdynet.base``, ``gdynet.files``, ``gdynet.trajectory``, ``gdynet.graphs``, ``gdynet.koopman``, ``gdynet.analysis``.
"""
from .toy import (LiSPotential, ReferenceTimescale, ToyData, core_set_labels, reference_timescale, site_distances,
                  site_labels, toy_li_fcc, write_extxyz, write_npz)

__all__ = ["LiSPotential", "ReferenceTimescale", "ToyData", "core_set_labels", "reference_timescale",
           "site_distances", "site_labels", "toy_li_fcc", "write_extxyz", "write_npz"]
