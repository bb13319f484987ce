"""Second fault round (issue 24), the predict half and the intervals: a killed ``predict`` leaves a
temporary file that the next run removes (and only stale ones of that output), a structure compressed
or stretched beyond the training graphs' bond lengths gets a warning naming the share of atoms outside,
timescale and CK intervals from pieces too short to estimate pool them as population intervals do and
say so, and a run fitted on LAMMPS dumps labels extxyz and npz files without extra options."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import gdynet
from gdynet.base.errors import GdynetWarning
from gdynet.cli import app
from gdynet.trajectory import read_trajectory
from test_faults_round2 import ENV, _one_line

runner = CliRunner()
DATA = Path(__file__).parent / "data" / "v0.4"     # a 0.4 model fitted on LAMMPS dumps (--type-map 1=Li,2=S)


def _ok(result) -> None:
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def extxyz(tmp_path_factory) -> Path:
    """The fixture's 24 frames as extxyz, with their times (0.2 ps apart)."""
    from gdynet.trajectory.writers import write_extxyz

    path = tmp_path_factory.mktemp("xyz") / "frames.extxyz"
    return write_extxyz(read_trajectory(DATA / "frames.npz", dt="0.2ps"), path)


# ------------------------------------------------------------------ 1. a killed predict's temporary file
SLOW_PREDICT = textwrap.dedent("""
    import sys, time
    import ase.io
    write = ase.io.write
    def slow(handle, frames, **kw):          # one frame at a time, flushed: a half-written file to kill
        for atoms in frames:
            write(handle, atoms, **kw)
            handle.flush()
            time.sleep(0.1)
    ase.io.write = slow
    from gdynet.cli import app
    app(sys.argv[1:])
""")


def _temporaries(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.*.tmp"))


def test_a_killed_predict_leaves_a_temporary_file_that_the_next_run_removes(tmp_path, extxyz):
    out = tmp_path / "states.extxyz"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_PREDICT, "predict", str(DATA / "model.pt"), str(extxyz),
                             "-o", str(out), "--quiet", "--device", "cpu"], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(t.stat().st_size > 0 for t in _temporaries(out)):
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    time.sleep(0.3)                                          # a few frames written
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (stale,) = _temporaries(out)
    assert stale.stat().st_size > 0 and not out.exists()
    other = tmp_path / f".other.extxyz.{stale.name.split('.')[-2]}.tmp"    # another output's: not ours to delete
    other.write_text("x")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:                                                     # a temporary file of a predict still running
        running = tmp_path / f".{out.name}.{sleeper.pid}-{'a' * 12}.tmp"
        running.write_text("being written")
        _ok(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(extxyz), "-o", str(out), "--quiet",
                                "--device", "cpu"]))
        assert _temporaries(out) == [running] and other.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    from ase.io import read

    frames = read(out, ":")
    assert len(frames) == 24 and all(a.arrays["state"][a.numbers == 3].min() >= 0 for a in frames)
    np.testing.assert_allclose(np.stack([a.arrays["state_prob"][a.numbers == 3] for a in frames]),
                               np.load(DATA / "chi.npy"), atol=1e-4)
    running.unlink()                                         # its process is gone now: swept by the next write
    stale_npy = tmp_path / f".states.npy.{stale.name.split('.')[-2]}.tmp"
    stale_npy.write_bytes(b"\x93NUMPY half")
    _ok(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(extxyz), "-o", str(tmp_path / "states.npy"),
                            "--quiet", "--device", "cpu"]))
    assert not stale_npy.exists() and np.load(tmp_path / "states.npy").shape == (24, 1, 2)


def test_scratch_folders_of_killed_processes_are_removed_and_live_ones_kept(tmp_path, monkeypatch, extxyz):
    """transform's scratch folder (raw chi of a long trajectory) is named by its PID: one a killed
    predict left is removed by the next transform, one of a process still running is not."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"gdynet-transform-{int(done.stdout)}-x1y2z3"
    (stale / "raw.npy").parent.mkdir()
    (stale / "raw.npy").write_bytes(b"0" * 1000)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = tmp_path / f"gdynet-transform-{sleeper.pid}-a1b2c3"
        running.mkdir()
        gdynet.load(DATA / "model.pt").transform(read_trajectory(extxyz, targets="Li"), cache_dir=tmp_path / "c")
        assert not stale.exists() and running.is_dir()
        assert not [p for p in tmp_path.glob(f"gdynet-transform-{os.getpid()}-*")]    # its own: gone too
    finally:
        sleeper.kill()
        sleeper.wait()


# ------------------------------------------------------------------ 2. outside the training graphs' distances
def _scaled(path: Path, out: Path, factor: float) -> Path:
    frames = dict(np.load(path))
    frames["traj_coords"], frames["lattices"] = frames["traj_coords"] * factor, frames["lattices"] * factor
    np.savez(out, **frames)
    return out


def test_predict_warns_on_a_compressed_or_stretched_lattice(tmp_path):
    """The fit stores the training graphs' neighbour-distance range in the model; the same lattice
    x0.7 (every bond shorter than any seen) and x3 (beyond them and the Gaussian range) warn naming
    the share of atoms outside; the training data do not."""
    from gdynet.datasets.toy import toy_li_fcc, write_npz

    (train,) = toy_li_fcc(n_trajectories=1, n_frames=200, seed=5).trajectories
    model = gdynet.GDyNetEstimator(n_states=2, lag=2, neighbors=6, epochs=1, batch_size=16, device="cpu",
                                   progress=False).fit(train).fetch_model()
    low, high = model.distance_range
    assert 1.0 < low < high < model.cutoff                 # nearest and 6th neighbour distances (Å)
    model = gdynet.load(model.save(tmp_path / "model.pt"))
    assert model.distance_range == (low, high)
    npz = write_npz(train, tmp_path / "train.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GdynetWarning)
        model.transform(read_trajectory(npz, dt="0.1ps"), cache_dir=tmp_path / "c")
    for factor in (0.7, 3.0):
        scaled = read_trajectory(_scaled(npz, tmp_path / f"x{factor}.npz", factor), dt="0.1ps")
        with pytest.warns(GdynetWarning, match=r"^100% of the sampled atoms have neighbours closer or farther than "
                                               r"any in the training graphs .*extrapolated"):
            model.transform(scaled, cache_dir=tmp_path / "c")
    result = runner.invoke(app, ["predict", str(tmp_path / "model.pt"), str(tmp_path / "x0.7.npz"), "-o",
                                 str(tmp_path / "p.npy"), "--quiet", "--device", "cpu"])
    _ok(result)
    assert "100% of the sampled atoms have neighbours closer or farther" in result.output


def test_a_model_file_without_the_distance_range_keeps_the_gaussian_range_check(tmp_path):
    """0.4 model files predate the stored range: x0.7 passes (the Gaussian check cannot see it) and
    x3 still warns through the Gaussian range (test_faults), and both load and label."""
    model = gdynet.load(DATA / "model.pt")
    assert model.distance_range is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", GdynetWarning)
        chi = model.transform(read_trajectory(_scaled(DATA / "frames.npz", tmp_path / "x.npz", 0.7), dt="0.2ps"),
                              cache_dir=tmp_path / "c")
    assert chi.values.shape == (24, 1, 2)


# ------------------------------------------------------------------ 3. timescale and CK intervals from short pieces
def _chains(n: int, frames: int, seed: int = 0, flip: float = 0.1) -> list[np.ndarray]:
    """``n`` two-state Markov chains of one target (flip probability per frame), soft chi (0.9/0.1)."""
    rng = np.random.default_rng(seed)
    states = np.zeros((n, frames), dtype=int)
    states[:, 0] = rng.integers(0, 2, n)
    for f in range(1, frames):
        states[:, f] = np.where(rng.random(n) < flip, 1 - states[:, f - 1], states[:, f - 1])
    chi = np.where(states[..., None] == np.arange(2), 0.9, 0.1).astype(np.float32)
    return [c[:, None] for c in chi]


def test_timescale_and_ck_intervals_pool_pieces_too_short_to_estimate():
    """300 trajectories of 40 frames analysed on their last 6 (the held-out blocks): alone, each gives
    a K(τ) from 5 pairs and the timescale interval was [0.03, inf] ps around 0.44 ps; pooled as the
    population intervals are, it is finite and near the truth, and the notes say why."""
    from gdynet.koopman.analysis import koopman_analysis
    from gdynet.runs.analyze import interval_notes

    truth = -0.1 / np.log(1 - 2 * 0.1)                     # t1 of the chain at dt 0.1 ps: 0.448 ps
    held_out = [c[-6:] for c in _chains(300, 40)]
    result = koopman_analysis(held_out, 1, [1, 2, 3], 0.1, ck_steps=2, ci_from="trajectories")
    its, ck = result.its, result.ck
    assert its.n_blocks == 300 and np.all(its.n_used >= 10) and np.all(its.n_used < 300)
    assert np.all(np.isfinite(its.upper)) and np.all(its.lower > 0.5 * truth) and np.all(its.upper < 2 * truth)
    assert np.all(its.lower <= its.timescales_ps) and np.all(its.timescales_ps <= its.upper)
    for bound in (ck.estimated_lower, ck.predicted_lower):
        assert bound[1:].min() > -0.05
    for bound in (ck.estimated_upper, ck.predicted_upper):
        assert bound[1:].max() < 1.05
    assert np.all((ck.estimated_upper - ck.estimated_lower)[1:] < 0.2)
    note = its.note(1)
    assert note.startswith("300 of 300 trajectories have fewer than 50 lagged pairs (25 per state), too few to "
                           "estimate a Koopman matrix each: pooled into") and ck.note.startswith("300 of 300")
    summary = json.loads(json.dumps(result.summary()))     # strict JSON, as summary.json holds it
    assert summary["implied_timescales"]["notes"][0] == note and summary["ck_test"]["notes"][0] == ck.note
    assert summary["implied_timescales"]["n_used"] == its.n_used.tolist()
    text = interval_notes(summary["implied_timescales"]["lags_ps"], summary["implied_timescales"]["notes"])
    assert text.startswith(" (intervals at 0.1 ps: 300 of 300 trajectories") and text.count("pooled into") == 1
    assert text.endswith("; notes at 2 longer lags in summary.json)")
    long = koopman_analysis(_chains(5, 400, seed=1), 1, [1, 2], 0.1, ci_from="trajectories")
    assert long.its.notes == ("", "") and long.ck.note == "" and interval_notes([0.1, 0.2], long.its.notes) == ""


# ------------------------------------------------------------------ 4. a run fitted on dumps labels other formats
def test_a_model_fitted_on_dumps_labels_extxyz_and_npz_without_extra_options(tmp_path, extxyz):
    """The fit's --type-map and --timestep belong to its dumps: an extxyz (its own elements and times)
    and an npz (elements; the fit's frame spacing) are read without them."""
    for path in (extxyz, DATA / "frames.npz"):
        out = tmp_path / f"{path.stem}.npy"
        _ok(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(path), "-o", str(out), "--quiet",
                                "--device", "cpu"]))
        np.testing.assert_allclose(np.load(out), np.load(DATA / "chi.npy"), atol=1e-4)
    _one_line(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(extxyz), "-o", str(tmp_path / "p.npy"),
                                  "--type-map", "1=Li", "--quiet"]),
              "--type-map needs atom types", "leave out --type-map")


def test_a_dump_error_advises_the_type_map_option_predict_accepts(tmp_path):
    """A dump with a type the fit's map lacks: the error names --type-map, and predict takes it."""
    traj = read_trajectory(DATA / "frames.npz", dt="0.2ps")
    cell = np.diag(np.asarray(traj.cells[0]))
    types = np.where(np.asarray(traj.numbers) == 3, 1, 2)
    types[-1] = 3                                          # one S atom of a type the fit never named
    lines = []
    for frame, positions in enumerate(np.asarray(traj.positions)):
        lines += ["ITEM: TIMESTEP", str(200 * frame), "ITEM: NUMBER OF ATOMS", str(traj.n_atoms),
                  "ITEM: BOX BOUNDS pp pp pp", *(f"0 {float(length)!r}" for length in cell), "ITEM: ATOMS id type x y z"]
        lines += [f"{i + 1} {t} " + " ".join(repr(float(v)) for v in xyz) for i, (t, xyz) in enumerate(zip(types, positions))]
    dump = tmp_path / "new.lammpstrj"
    dump.write_text("\n".join(lines) + "\n")
    out = tmp_path / "p.npy"
    _one_line(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(dump), "-o", str(out), "--quiet"]),
              "cannot tell the element of atoms (types 3)", "--type-map 1=Li,2=S,3=?")
    _ok(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(dump), "-o", str(out), "--type-map",
                            "1=Li,2=S,3=S", "--quiet", "--device", "cpu"]))
    np.testing.assert_allclose(np.load(out), np.load(DATA / "chi.npy"), atol=1e-4)


# ------------------------------------------------------------------ 5. variants found by the fresh cases
def test_predict_refuses_an_input_that_changed_while_read_and_outputs_it_cannot_write(tmp_path, monkeypatch, extxyz):
    """An MD run still appending to the file: the states would label fewer frames than the file holds;
    an output that is a folder, or in a folder that cannot be made, is one line (no traceback)."""
    import gdynet.runs.predict as predict_module

    growing = tmp_path / "growing.extxyz"
    growing.write_bytes(extxyz.read_bytes())
    real = predict_module.read_for

    def read_then_grow(*args, **kwargs):
        traj = real(*args, **kwargs)
        with open(growing, "a") as handle:
            handle.write(extxyz.read_text().split("\n", 7)[0] + "\n")
        return traj

    monkeypatch.setattr(predict_module, "read_for", read_then_grow)
    _one_line(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(growing), "-o", str(tmp_path / "p.npy"),
                                  "--quiet"]), "growing.extxyz: changed while gdynet read it", "still being written")
    assert not (tmp_path / "p.npy").exists()
    monkeypatch.undo()
    (tmp_path / "d.npy").mkdir()
    _one_line(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(extxyz), "-o", str(tmp_path / "d.npy")]),
              "d.npy: is a folder")
    blocker = tmp_path / "file"
    blocker.write_text("")
    _one_line(runner.invoke(app, ["predict", str(DATA / "model.pt"), str(extxyz), "-o", str(blocker / "p.extxyz"),
                                  "--quiet"]), "p.extxyz: cannot write the state probabilities here")
    (tmp_path / "loop1.pt").symlink_to(tmp_path / "loop2.pt")
    (tmp_path / "loop2.pt").symlink_to(tmp_path / "loop1.pt")
    _one_line(runner.invoke(app, ["predict", str(tmp_path / "loop1.pt"), str(extxyz), "-o", str(tmp_path / "p.npy")]),
              "loop1.pt: cannot read model file")
    run = tmp_path / "run"                                   # a run folder whose model.pt is a folder
    (run / "model.pt").mkdir(parents=True)
    (run / "run.json").write_text((DATA / "run.json").read_text())
    _one_line(runner.invoke(app, ["predict", str(run), str(extxyz), "-o", str(tmp_path / "p.npy")]),
              "model.pt here is not a file")


def test_a_planted_distance_range_and_an_output_among_the_runs_own_files_are_refused(tmp_path, extxyz):
    import shutil

    import torch

    from gdynet.api.model_file import model_checksum

    payload = torch.load(DATA / "model.pt", weights_only=True)
    payload["meta"]["distance_range_A"] = "abc"             # a consistent checksum: not damage, a foreign file
    payload["checksum"] = model_checksum(payload)
    torch.save(payload, tmp_path / "planted.pt")
    _one_line(runner.invoke(app, ["predict", str(tmp_path / "planted.pt"), str(extxyz), "-o", str(tmp_path / "p.npy")]),
              "meta.distance_range_A is not two distances")
    run = tmp_path / "run"
    (run / "chi").mkdir(parents=True)
    for name in ("model.pt", "run.json"):
        shutil.copy(DATA / name, run / name)
    _one_line(runner.invoke(app, ["predict", str(run), str(extxyz), "-o", str(run / "chi" / "traj_000.npy")]),
              "whose files the run reuses")
    assert not (run / "chi" / "traj_000.npy").exists()
