"""Issue 18: on the demo's toy (Li in frozen FCC S, M = 12 as the paper), GDyNet with automatic training
lengths finds the two site kinds and the tet <-> oct timescale for every one of 3 seeds. Before the
smooth shell weights a long fit could learn "which octahedral site" (a process that does not exist).

Size (measured, 2-core machine shared with other jobs): 3 x 300 ps of training data, 300 ps held out;
epochs and patience automatic (at least 800 steps of patience, as in issue 11), 32 pairs per step so a
step is cheap: about 70 s per seed when the machine is quiet (auto batch of 256 pairs: about 300 s).
Seeds 0-2 gave 99.53 / 99.43 / 99.43 % site agreement and t1 = 13.13 / 12.92 / 13.05 ps against the
geometric 13.57 ps. With 200 ps per trajectory t1 fell 12 % short (too close to the 15 % bound)."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet.datasets.toy import reference_timescale, toy_li_fcc, write_npz
from gdynet.koopman.estimator import KoopmanEstimator
from gdynet.analysis.matching import agreement_percent
from gdynet.runs.fit import FitOptions, train
from gdynet.trajectory.read_options import ReadOptions
from gdynet.runs.rundir import RunDir

LAG_PS = 2.0


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy-seeds")
    toy = toy_li_fcc(n_trajectories=4, n_frames=3000, seed=0, progress=False)
    paths = [write_npz(t, folder / f"toy_{i}.npz") for i, t in enumerate(toy.trajectories)]
    runs = []
    for seed in range(3):
        options = FitOptions(n_states=2, lag=f"{LAG_PS}ps", neighbors=12, seed=seed, device="cpu", batch_size=32)
        train(paths[:3], folder / f"seed{seed}", ReadOptions(dt=toy.trajectories[0].dt_ps), options,
              test_paths=paths[3:], progress=False)
        runs.append(np.load(RunDir(folder / f"seed{seed}").chi(3)))
    return toy, runs


@pytest.mark.slow
def test_every_seed_finds_the_sites_and_the_geometric_timescale(toy_runs):
    toy, runs = toy_runs
    held_out = toy.trajectories[3]
    reference = reference_timescale([held_out], lags_ps=[LAG_PS]).timescale_ps
    for seed, chi in enumerate(runs):
        agreement = agreement_percent([chi], [toy.labels[3]])
        t1 = KoopmanEstimator(f"{LAG_PS}ps", held_out.dt_ps).fit([chi]).fetch_model().timescales_ps[0]
        print(f"seed {seed}: agreement {agreement:.2f} %, t1 {t1:.2f} ps, geometric {reference:.2f} ps")
        assert agreement >= 99.0, seed
        assert t1 == pytest.approx(reference, rel=0.15), seed
