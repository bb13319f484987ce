"""The paper's toy finding, end to end: GDyNet recovers the tetrahedral/octahedral states and a
relaxation time that agrees with an independent estimate from the geometric site labels."""
from __future__ import annotations

import numpy as np
import pytest

from gdynet.datasets.toy import reference_timescale, toy_li_fcc, write_npz
from gdynet.pipeline.demo import state_agreement
from gdynet.pipeline.fit import FitOptions, fit
from gdynet.pipeline.inputs import ReadOptions


@pytest.fixture(scope="module")
def toy_fit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("science")
    toy = toy_li_fcc(n_trajectories=8, n_frames=3000, seed=3)
    paths = [write_npz(t, folder / f"toy_{i}.npz") for i, t in enumerate(toy.trajectories)]
    options = FitOptions(states=2, lag="2ps", epochs=3, batch_size=512, device="cpu", neighbors=12)  # the paper's toy M
    summary = fit(paths, folder / "run", ReadOptions(dt=0.1), options,
                  analysis={"lags": ["1ps", "2ps", "5ps"], "temperature_K": 64.0}, progress=False)
    chi = [np.load(folder / "run" / "chi" / f"traj_{i:03d}.npy") for i in range(len(paths))]
    return toy, summary, chi


def test_learned_states_are_the_site_types(toy_fit):
    toy, _, chi = toy_fit
    assert state_agreement(chi, toy.labels) >= 95.0


def test_timescale_matches_the_geometric_reference_and_is_flat(toy_fit):
    toy, summary, _ = toy_fit
    its = summary["implied_timescales"]
    reference = reference_timescale(toy, lags_ps=its["lags_ps"])
    learned = np.array([row[0] for row in its["timescales_ps"]])
    np.testing.assert_allclose(learned, reference.timescales_ps, rtol=0.2)
    assert learned.max() / learned.min() < 1.25                       # flat across lags 1-5 ps
    assert summary["ck_test"]["fraction_consistent"] >= 0.9


def test_populations_match_the_site_occupancy(toy_fit):
    """On the analysed (held-out) frames, the last 15 % of each trajectory; their 95 % interval also
    holds the occupancy of all frames."""
    from gdynet.pipeline.selection import held_out_segments

    toy, summary, _ = toy_fit
    assert summary["analysis_on"] == "test"
    segments = held_out_segments([len(l) for l in toy.labels], len(toy.labels), 20, (0.7, 0.15, 0.15))
    held_out = np.concatenate([toy.labels[k][a:b] for k, a, b in segments])
    occupancy = np.bincount(held_out, minlength=2) / len(held_out)
    order = np.argsort(summary["populations"])
    assert np.array(summary["populations"])[order] == pytest.approx(np.sort(occupancy), abs=0.05)
    everything = np.bincount(np.concatenate(toy.labels), minlength=2) / sum(len(l) for l in toy.labels)
    ci = summary["populations_ci"]
    assert np.all(np.array(ci["lower"])[order] <= np.sort(everything))
    assert np.all(np.sort(everything) <= np.array(ci["upper"])[order])
