"""The shortfall of the Nernst-Einstein sum (Eq. 15) against the exact lattice-hopper result."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet import Trajectory
from gdynet.analysis.conduction import SIGMA_UNIT, transition_conduction


def _cubic_hopper(rng, frames=3000, n=200, dt=0.1, rate=0.5, a=2.0, box=20):
    """Targets hopping on a simple-cubic lattice (spacing ``a`` Å) at ``rate`` hops/ps in total, in
    a periodic cell of ``box`` sites (even, so site parity is periodic); chi = parity of the site."""
    hops = rng.poisson(rate * dt, size=(frames - 1, n))
    steps = np.zeros((frames - 1, n, 3), dtype=np.int64)
    for h in range(1, hops.max() + 1):
        t, l = np.nonzero(hops >= h)
        np.add.at(steps, (t, l, rng.integers(0, 3, len(t))), rng.choice([-1, 1], len(t)))
    sites = np.concatenate([rng.integers(0, box, (1, n, 3)), steps]).cumsum(axis=0)
    parity = sites.sum(axis=2) % 2
    chi = np.stack([parity == 0, parity == 1], axis=-1).astype(float)
    cell = np.eye(3) * a * box
    traj = Trajectory(positions=(sites % box) * a, cells=cell, numbers=np.full(n, 3), dt_ps=dt,
                      targets=np.arange(n)[:, None])
    return traj, chi


def test_nernst_einstein_shortfall_matches_the_parity_hopper():
    """sigma_NE / sigma = 1 - 4 lam / (e^(4 lam) - 1), lam = hop rate x tau (module docstring)."""
    traj, chi = _cubic_hopper(np.random.default_rng(0))
    for lag in (2, 5, 10):                     # lam = 0.1, 0.25, 0.5
        res = transition_conduction(traj, chi, lag, temperature_K=300.0, charges=[1.0, 1.0])
        lam = 0.5 * lag * 0.1
        exact = 1 - 4 * lam / np.expm1(4 * lam)
        assert res.sigma_ne / res.sigma_self == pytest.approx(exact, abs=0.03), lag
        # the Einstein self part is the hopper's true conductivity: D = rate a^2 / 6 = 1/3 Å^2/ps
        true = SIGMA_UNIT * 200 * (0.5 * 2.0 ** 2 / 6) / (traj.volumes()[0] * 300.0)
        assert res.sigma_self == pytest.approx(true, rel=0.05)
    uncharged = res.summary(charged=False)
    assert uncharged["charges_e"] is None and "sigma_S_cm" not in uncharged["transitions"][0]
    assert "sigma_nernst_einstein_S_cm" not in uncharged
