"""Koopman analysis of state probabilities χ: K(τ) (Eq. 2), relaxation timescales (Eq. 11),
implied timescales over lags and the Chapman–Kolmogorov test (Eq. 6), with confidence intervals."""
from .estimator import KoopmanEstimator, KoopmanModel
from .validation import CKTest, ImpliedTimescales, ck_test, implied_timescales

__all__ = ["KoopmanEstimator", "KoopmanModel", "ImpliedTimescales", "CKTest", "implied_timescales", "ck_test"]
