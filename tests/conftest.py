"""Test-wide settings: caches go to a temporary folder, never to the user's ~/.cache; and
``GDYNET_TEST_DATA_SEED`` (an int, default 0) shifts every seed of the toy data (issue 27: the
known-answer tests must hold on other data, e.g. ``GDYNET_TEST_DATA_SEED=1000 pytest tests/test_trust.py``)."""
from __future__ import annotations

import functools
import os

import pytest

import gdynet.datasets.toy as _toy

DATA_SEED_SHIFT = int(os.environ.get("GDYNET_TEST_DATA_SEED", "0"))
if DATA_SEED_SHIFT:
    _generate = _toy.toy_li_fcc

    @functools.wraps(_generate)
    def _shifted(*args, seed: int = 0, **kwargs):
        return _generate(*args, seed=seed + DATA_SEED_SHIFT, **kwargs)

    _toy.toy_li_fcc = _shifted            # before the test modules import it


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = os.environ.get("GDYNET_CACHE")
    os.environ["GDYNET_CACHE"] = str(tmp_path_factory.mktemp("gdynet-cache"))
    yield
    if old is None:
        os.environ.pop("GDYNET_CACHE", None)
    else:
        os.environ["GDYNET_CACHE"] = old


@pytest.fixture(scope="session")
def toy_fit(tmp_path_factory):
    """``toy_fit(name, options, n_trajectories=, n_frames=, seed=, n_test=0)``: writes the Li-in-FCC-S toy as
    ``toy_<i>.npz`` files in a new temporary folder, runs ``gdynet fit`` on them (the last ``n_test`` files
    as ``--test``) with ``--dt 0.1ps --out <folder>/run`` and ``options``, asserts that it succeeded, and
    returns ``(run folder, npz paths)``."""
    from typer.testing import CliRunner

    from gdynet.cli import app

    def fit(name: str, options: list[str], *, n_trajectories: int, n_frames: int, seed: int, n_test: int = 0):
        folder = tmp_path_factory.mktemp(name)
        toy = _toy.toy_li_fcc(n_trajectories=n_trajectories, n_frames=n_frames, seed=seed)
        paths = [str(_toy.write_npz(t, folder / f"toy_{i}.npz")) for i, t in enumerate(toy.trajectories)]
        train, test = paths[:len(paths) - n_test], paths[len(paths) - n_test:]
        out = folder / "run"
        result = CliRunner().invoke(app, ["fit", *train, *(["--test", *test] if test else []), "--dt", "0.1ps",
                                          "--out", str(out), *options])
        assert result.exit_code == 0, result.output
        return out, paths

    return fit
