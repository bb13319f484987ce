"""Koopman analysis of state probabilities χ: K(τ) (Eq. 2), relaxation timescales (Eq. 11),
implied timescales over lags and the Chapman–Kolmogorov test (Eq. 6), population intervals, with
confidence intervals from trajectories, target subsets or time blocks; what each process exchanges
(eigenvectors, :mod:`.processes`) and PCCA+ lumping into metastable sets (:mod:`.pcca`).

May import: ``gdynet.base``, ``gdynet.files``.
"""
from .estimator import KoopmanEstimator, KoopmanModel
from .pcca import CoarseModel, coarse_grain
from .validation import (CKTest, ImpliedTimescales, PopulationIntervals, ck_test, implied_timescales,
                         population_intervals)

__all__ = ["KoopmanEstimator", "KoopmanModel", "ImpliedTimescales", "CKTest", "PopulationIntervals",
           "CoarseModel", "implied_timescales", "ck_test", "population_intervals", "coarse_grain"]
