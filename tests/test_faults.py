"""Faults of real MD work on a run folder (issue 19): each gives the right result or one line and exit 2,
never a result that looks fine and is wrong. One tiny fit is made once and copied for each case."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gdynet.cli import app
from gdynet.datasets.toy import toy_li_fcc, write_npz
from gdynet.base.errors import GdynetWarning

runner = CliRunner()
FIT = ["--dt", "0.1ps", "--epochs", "2", "--batch-size", "64", "--quiet", "--device", "cpu", "--analyze-on", "all",
       "--neighbors", "6", "--lags", "0.5ps,1ps"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}


def _toy(path: Path, seed: int) -> Path:
    return write_npz(toy_li_fcc(n_trajectories=1, n_frames=300, seed=seed).trajectories[0], path)


def _fit(traj: Path, out: Path, *extra: str):
    return runner.invoke(app, ["fit", str(traj), "--out", str(out), *FIT, *extra])


def _ok(result) -> None:
    assert result.exit_code == 0, result.output


def _one_line(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.startswith("error:") and len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _populations(out: Path) -> list[float]:
    return json.loads((out / "summary.json").read_text())["populations"]


def _outputs(out: Path) -> dict[str, str]:
    """Hash of every file of analyze's output set (figures/, report.md, summary.json)."""
    files = [out / "report.md", out / "summary.json", *sorted((out / "figures").iterdir())]
    return {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in files}


def _placeholder_savefig(self, fname, *args, **kwargs) -> None:
    Path(fname).write_bytes(b"figure of " + self.axes[0].get_title().encode() if self.axes else b"figure")


@pytest.fixture(scope="module")
def fast_figures():
    """Figures drawn but saved as placeholders (matplotlib's savefig is most of a tiny run's time;
    the figures themselves are tested in test_figures.py and test_pipeline.py)."""
    from matplotlib.figure import Figure

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", _placeholder_savefig)
        yield


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, fast_figures):
    folder = tmp_path_factory.mktemp("faults")
    traj = _toy(folder / "md.npz", seed=1)
    _ok(_fit(traj, folder / "run"))
    return traj, folder / "run"


@pytest.fixture
def run(fitted, tmp_path):
    """A copy of the fitted run folder and of its input (each test may damage both)."""
    traj, original = fitted
    shutil.copy(traj, tmp_path / "md.npz")
    shutil.copytree(original, tmp_path / "run")
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    record["paths"] = [str(tmp_path / "md.npz")]
    for entry in record.get("inputs", []):
        entry["path"] = str(tmp_path / "md.npz")
    (tmp_path / "run" / "run.json").write_text(json.dumps(record))
    return tmp_path / "md.npz", tmp_path / "run"


def test_sigkill_of_analyze_leaves_the_old_complete_set(run):
    traj, out = run
    before = _outputs(out)
    slow = ("import sys, time; import gdynet.report.figures as f; save = f.save_figure\n"
            "def slow(*a, **k):\n    time.sleep(0.3); return save(*a, **k)\n"
            "f.save_figure = slow; from gdynet.cli import app; sys.argv[0] = 'gdynet'; app()")
    start = time.time()
    process = subprocess.Popen([sys.executable, "-c", slow, "analyze", str(out), "--lags", "0.5ps,1ps,2ps"],
                               env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = start + 120
    while process.poll() is None and time.time() < deadline:          # kill once a new figure is written
        if any(p.stat().st_mtime > start for p in out.rglob("*.png")):
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert _outputs(out) == before                    # old figures, report and summary, none replaced
    _ok(runner.invoke(app, ["analyze", str(out), "--lags", "0.5ps,1ps,2ps"]))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["implied_timescales"]["lags_ps"] == pytest.approx([0.5, 1.0, 2.0])
    assert not [p for p in out.iterdir() if p.name.startswith(".analyze")]     # stage swept


def test_an_interrupted_swap_is_completed_by_the_next_command(run):
    """A kill between the commit marker and the last rename: the next command finishes the swap."""
    from gdynet.runs.outputs import COMMIT, recover
    from gdynet.runs.rundir import RunDir

    _, out = run
    stage = out / ".analyze-stage-1-dead"
    shutil.copytree(out / "figures", stage / "figures")
    (stage / "figures" / "new.png").write_bytes(b"png")
    (stage / "summary.json").write_text('{"new": true}')
    (out / COMMIT).write_text(json.dumps({"stage": stage.name}))
    recover(RunDir(out))
    assert (out / "figures" / "new.png").is_file() and json.loads((out / "summary.json").read_text()) == {"new": True}
    assert not stage.exists() and not (out / COMMIT).exists()


def test_a_second_process_on_the_same_folder_gets_one_line(run):
    traj, out = run
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; h = open(sys.argv[1], 'a'); "
                               "fcntl.flock(h, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                               str(out / ".gdynet.lock")], stdout=subprocess.PIPE, env=ENV)
    try:
        assert holder.stdout.readline().strip() == b"held"
        before = _outputs(out)
        _one_line(_fit(traj, out), "another gdynet process is using", str(out))
        _one_line(runner.invoke(app, ["analyze", str(out)]), "another gdynet process is using")
        _one_line(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(out.parent / "p.npy")]),
                  "another gdynet process is using")
        assert _outputs(out) == before and not (out.parent / "p.npy").exists()
    finally:
        holder.kill()
        holder.wait()
    _ok(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(out.parent / "p.npy")]))


def test_scratch_files_are_unique_per_process():
    import inspect

    from gdynet.api import estimator
    from gdynet.runs import seeds

    assert "os.getpid()" in inspect.getsource(estimator.GDyNetEstimator.train_network)
    assert "os.getpid()" in inspect.getsource(seeds.seed_entries)


def test_a_replaced_input_is_refused_and_force_starts_over(run, tmp_path):
    traj, out = run
    _toy(tmp_path / "other.npz", seed=2)
    shutil.copy(tmp_path / "other.npz", traj)                      # same name, other frames
    before = _outputs(out)
    for result in (_fit(traj, out), runner.invoke(app, ["analyze", str(out)]),
                   runner.invoke(app, ["predict", str(out), str(traj), "-o", str(tmp_path / "p.npy")])):
        _one_line(result, "md.npz changed since this run was made", "--force")
    assert _outputs(out) == before
    _ok(_fit(traj, out, "--force"))
    _ok(_fit(tmp_path / "other.npz", tmp_path / "fresh"))
    assert _populations(out) == _populations(tmp_path / "fresh")
    record = json.loads((out / "run.json").read_text())
    assert record["inputs"][0]["hash"] == hashlib.blake2b(traj.read_bytes(), digest_size=16).hexdigest()


def test_fingerprints_see_content_not_times(tmp_path, monkeypatch):
    from gdynet.files import fingerprint

    path = tmp_path / "a.bin"
    path.write_bytes(bytes(range(256)) * 1000)
    recorded = [fingerprint.file_fingerprint(path)]
    os.utime(path, ns=(1, 1))                                      # touched or copied: the same input
    assert fingerprint.changed_input(recorded) is None
    data = bytearray(path.read_bytes())
    data[1234] ^= 1                                                # one flipped bit, same size
    path.write_bytes(bytes(data))
    assert "same size, other content" in fingerprint.changed_input(recorded)
    path.write_bytes(bytes(data) + b"x")
    assert "size 256000 -> 256001 bytes" in fingerprint.changed_input(recorded)
    monkeypatch.setattr(fingerprint, "FULL_HASH_BYTES", 1000)      # a "large" file: head, tail and samples
    monkeypatch.setattr(fingerprint, "BLOCK_BYTES", 100)
    big = [fingerprint.file_fingerprint(path)]
    assert big[0]["hashed"] == "sampled"
    os.utime(path, ns=(2, 2))
    with pytest.warns(GdynetWarning, match="sampled content are unchanged"):
        assert fingerprint.changed_input(big) is None


def _zero_distances(folder: Path) -> Path:
    (path,) = folder.glob("graphs-m*/distances.npy")
    data = np.load(path, mmap_mode="r+")
    data[:] = 0                                                    # header kept, every distance zero
    data.flush()
    return path


def test_a_zero_filled_graph_store_is_rebuilt_not_read(run):
    from gdynet.base.errors import GdynetError
    from gdynet.graphs.store import GraphStore

    traj, out = run
    before = _populations(out)
    damaged = _zero_distances(out / "graphs")
    with pytest.raises(GdynetError, match=r"distances\.npy: damaged graph store"):
        GraphStore.open(damaged.parent)
    result = _fit(traj, out)
    _ok(result)
    assert "damaged graph store" in result.output and "rebuilding it" in result.output
    assert _populations(out) == before
    assert GraphStore.open(damaged.parent).distances.min() > 0


def test_a_zero_filled_shared_cache_does_not_change_predict(run, tmp_path, monkeypatch):
    traj, out = run
    monkeypatch.setenv("GDYNET_CACHE", str(tmp_path / "cache"))
    _ok(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(tmp_path / "a.npy")]))
    _zero_distances(tmp_path / "cache" / "graphs")
    result = runner.invoke(app, ["predict", str(out), str(traj), "-o", str(tmp_path / "b.npy")])
    _ok(result)
    assert "rebuilding it" in result.output
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_folders_chmod(run, tmp_path):
    traj, out = run
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    out.chmod(0o555)
    try:
        _one_line(_fit(traj, locked / "run"), "ro", "writable")
        _one_line(runner.invoke(app, ["analyze", str(out)]), "cannot write in the run folder")
        _ok(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(tmp_path / "p.npy")]))
    finally:
        locked.chmod(0o755)
        out.chmod(0o755)


def test_read_only_folders(run, tmp_path, monkeypatch):
    """The same refusals as the chmod test, with the permission errors simulated (tests run as root)."""
    import builtins
    import pathlib

    traj, out = run
    denied = OSError(errno.EACCES, "Permission denied")
    real_mkdir, real_open = pathlib.Path.mkdir, builtins.open

    def mkdir(self, *args, **kwargs):
        if "ro" in self.parts:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if str(file).endswith(".gdynet.lock") or (str(file).startswith(str(out)) and set(mode) & set("wax+")):
            raise PermissionError(denied.errno, denied.strerror, str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    _one_line(_fit(traj, tmp_path / "ro" / "run"), "writable folder")
    monkeypatch.setattr(builtins, "open", open_)
    _one_line(runner.invoke(app, ["analyze", str(out)]), "cannot write in the run folder", str(out))
    _ok(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(tmp_path / "p.npy")]))   # reads only
    _one_line(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(out / "p.npy")]), "writable folder")


def test_a_corrupt_run_json_is_one_line(run):
    traj, out = run
    (out / "run.json").write_text('{"paths": ["md.npz"], "read"')
    _one_line(runner.invoke(app, ["analyze", str(out)]), "run.json", "unreadable", "--force")
    _one_line(_fit(traj, out), "run.json", "--force")


def test_a_truncated_chi_file_is_one_line(run):
    _, out = run
    chi = out / "chi" / "traj_000.npy"
    chi.write_bytes(chi.read_bytes()[:-100])
    _one_line(runner.invoke(app, ["analyze", str(out)]), "traj_000.npy", "re-run the same `gdynet fit`")


def test_a_corrupt_checkpoint_is_one_line(run):
    traj, out = run
    (out / "checkpoints" / "last.pt").write_bytes(b"\0" * 1000)
    _one_line(_fit(traj, out), "last.pt", "cannot read checkpoint")


class _Payload:
    """A pickled object that, when unpickled, creates the folder ``marker`` (stands for any code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_payload_in_a_checkpoint_or_model_file_never_runs(run, tmp_path):
    """Issue 24: a planted checkpoints/last.pt or model.pt is refused with one line, its code never run."""
    import torch

    import gdynet
    from gdynet.base.errors import GdynetError

    traj, out = run
    marker = tmp_path / "pwned"
    torch.save({"signature": _Payload(marker)}, out / "checkpoints" / "last.pt")
    _one_line(_fit(traj, out), "last.pt", "could run code")
    model = out / "model.pt"
    torch.save({"format": "gdynet-model/1", "kind": "gdynet", "meta": _Payload(marker)}, model)
    _one_line(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(tmp_path / "p.npy")]),
              "model.pt", "could run code")
    _one_line(runner.invoke(app, ["predict", str(model), str(traj), "-o", str(tmp_path / "p.npy")]),
              "model.pt", "could run code")
    with pytest.raises(GdynetError, match="could run code"):
        gdynet.load(model)
    assert not marker.exists()
    assert not (tmp_path / "p.npy").exists()


def _rewrite_model(model: Path, change, checksum: bool) -> None:
    """Apply ``change`` to the first floating-point weight of ``model``; with ``checksum``, store a
    checksum of the changed contents (so only the finite check can catch it)."""
    import torch

    from gdynet.api.model_file import model_checksum

    payload = torch.load(model, weights_only=True)
    name = next(k for k, v in payload["state_dict"].items() if v.is_floating_point())
    payload["state_dict"][name] = change(payload["state_dict"][name].clone())
    if checksum:
        payload["checksum"] = model_checksum(payload)
    torch.save(payload, model)


def _flip_bit(tensor):
    """``tensor`` (float32) with one low mantissa bit of its first entry flipped, in place."""
    import torch

    tensor.view(-1).view(torch.int32)[0] ^= 1 << 3
    return tensor


def test_a_bit_flipped_or_nan_model_file_is_one_line(run, tmp_path):
    import gdynet
    from gdynet.base.errors import GdynetError

    traj, out = run
    model = out / "model.pt"
    original = model.read_bytes()
    _rewrite_model(model, _flip_bit, checksum=False)
    _one_line(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(tmp_path / "p.npy")]),
              "model.pt", "checksum")
    model.write_bytes(original)
    _rewrite_model(model, lambda t: t.fill_(float("nan")), checksum=True)
    _one_line(runner.invoke(app, ["predict", str(out), str(traj), "-o", str(tmp_path / "p.npy")]),
              "model.pt", "not finite")
    with pytest.raises(GdynetError, match="not finite"):
        gdynet.load(model)
    data = bytearray(original)                     # a flipped byte in the file itself: one line too
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(GdynetError, match="model.pt"):
        gdynet.load(model)
    assert not (tmp_path / "p.npy").exists()


def test_a_gdynet_0_4_model_file_still_loads():
    """Files written before the checksum (gdynet 0.4) load, with the same state probabilities."""
    import gdynet
    from gdynet.trajectory import read_trajectory

    data = Path(__file__).parent / "data" / "v0.4"
    model = gdynet.load(data / "model.pt")
    chi = model.transform(read_trajectory(data / "frames.npz", dt="0.2ps")).values
    np.testing.assert_allclose(chi, np.load(data / "chi.npy"), atol=1e-5)


def test_predict_output_equal_to_an_input_is_refused(run, tmp_path):
    """Issue 24: ``-o`` naming the trajectory (directly or through a link) is one line, the input untouched."""
    from gdynet.trajectory import read_trajectory
    from gdynet.trajectory.writers import write_extxyz

    traj, out = run
    xyz = tmp_path / "md.extxyz"
    write_extxyz(read_trajectory(traj, dt="0.1ps"), xyz)
    before = xyz.read_bytes()
    (tmp_path / "link.extxyz").symlink_to(xyz)
    os.link(xyz, tmp_path / "hard.extxyz")
    for output in (xyz, tmp_path / "link.extxyz", tmp_path / "hard.extxyz"):
        _one_line(runner.invoke(app, ["predict", str(out), str(xyz), "-o", str(output)]),
                  "is also an input", str(output))
    assert xyz.read_bytes() == before


def test_too_many_states_are_refused_before_training(run, tmp_path):
    traj, _ = run
    _one_line(_fit(traj, tmp_path / "s100", "--states", "100"), "--states 100", "support")
    assert not (tmp_path / "s100").exists()
    from gdynet.base.errors import GdynetError
    from gdynet.api.limits import check_states
    with pytest.raises(GdynetError, match="more than 20.*pass force"):
        check_states(21, [_FakeTraj(100, 10_000)], 10, 0.7)
    check_states(21, [_FakeTraj(100, 10_000)], 10, 0.7, force=True)


class _FakeTraj:
    def __init__(self, n_targets: int, n_frames: int) -> None:
        self.n_targets, self.n_frames = n_targets, n_frames


def test_figures_growing_with_states_are_bounded(run, monkeypatch):
    _, out = run
    import gdynet.runs.analyze as analyze
    import gdynet.api.limits as limits

    monkeypatch.setattr(analyze, "FIGURE_STATES", 1)
    monkeypatch.setattr(limits, "FIGURE_STATES", 1)
    _ok(runner.invoke(app, ["analyze", str(out)]))
    drawn = {p.stem for p in (out / "figures").glob("*.png")}
    assert drawn == {"implied_timescales", "populations", "learning_curve"}
    assert "drawn only up to 1 states" in (out / "report.md").read_text()


def test_a_full_disk_is_one_line(run, tmp_path, monkeypatch):
    traj, _ = run

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    _one_line(_fit(traj, tmp_path / "full"), "disk is full", "graphs-m6")
    import torch

    monkeypatch.undo()
    from gdynet.training import checkpoint

    def failing_save(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:783] . PytorchStreamWriter failed writing file")

    monkeypatch.setattr(torch, "save", failing_save)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10, 10, 0))
    from gdynet.base.errors import GdynetError

    with pytest.raises(GdynetError, match="ckpt.pt: the disk is full"):
        checkpoint.save(tmp_path / "ckpt.pt", {"x": 1})


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
def test_a_really_full_disk_is_one_line(run, tmp_path):
    """--out on a 64 KiB tmpfs in a user namespace: no room for the graphs."""
    traj, _ = run
    mount = tmp_path / "small"
    mount.mkdir()
    script = (f"mount -t tmpfs -o size=64k none {mount} && exec {sys.executable} -m gdynet fit {traj} "
              f"--out {mount / 'run'} " + " ".join(FIT))
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not available")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=ENV,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "disk" in lines[0], result.stderr


def test_predict_type_map_replaces_the_fits(tmp_path):
    """Issue 24: ``predict --type-map`` reads a LAMMPS dump whose atom types differ from the fit's (the
    0.4 model was fitted with 1=Li,2=S; this dump numbers them the other way round)."""
    from gdynet.trajectory import read_trajectory

    data = Path(__file__).parent / "data" / "v0.4"
    traj = read_trajectory(data / "frames.npz", dt="0.2ps")
    cell = np.asarray(traj.cells[0])
    assert np.allclose(cell, np.diag(np.diag(cell)))                   # orthogonal: plain dump bounds
    types = np.where(np.asarray(traj.numbers) == 3, 2, 1)              # Li -> 2, S -> 1
    lines = []
    for frame, positions in enumerate(np.asarray(traj.positions)):
        lines += ["ITEM: TIMESTEP", str(200 * frame), "ITEM: NUMBER OF ATOMS", str(traj.n_atoms),
                  "ITEM: BOX BOUNDS pp pp pp", *(f"0 {float(length)!r}" for length in np.diag(cell)), "ITEM: ATOMS id type x y z"]
        lines += [f"{i + 1} {t} " + " ".join(repr(float(v)) for v in xyz) for i, (t, xyz) in enumerate(zip(types, positions))]
    dump = tmp_path / "swapped.lammpstrj"
    dump.write_text("\n".join(lines) + "\n")
    out = tmp_path / "p.npy"
    _ok(runner.invoke(app, ["predict", str(data / "model.pt"), str(dump), "-o", str(out), "--dt", "0.2ps",
                            "--type-map", "1=S,2=Li", "--quiet", "--device", "cpu"]))
    np.testing.assert_allclose(np.load(out), np.load(data / "chi.npy"), atol=1e-4)
    _ok(runner.invoke(app, ["predict", str(data / "model.pt"), str(dump), "-o", str(out), "--dt", "0.2ps",
                            "--quiet", "--device", "cpu"]))      # the fit's map: the S atoms become the targets
    assert np.load(out).shape != np.load(data / "chi.npy").shape


def test_transform_warns_when_new_data_lies_beyond_the_gaussian_range(tmp_path):
    """Issue 24: fit's Gaussian-range check also runs on data given to a trained model (predict,
    transform): the toy stretched 3x puts the M-th neighbours beyond the 7 Å cutoff."""
    import gdynet
    from gdynet.trajectory import read_trajectory

    data = Path(__file__).parent / "data" / "v0.4"
    frames = dict(np.load(data / "frames.npz"))
    model = gdynet.load(data / "model.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GdynetWarning)               # the training-like data: no warning
        model.transform(read_trajectory(data / "frames.npz", dt="0.2ps"), cache_dir=tmp_path / "c")
    frames["traj_coords"], frames["lattices"] = frames["traj_coords"] * 3, frames["lattices"] * 3
    np.savez(tmp_path / "loose.npz", **frames)
    with pytest.warns(GdynetWarning, match=r"beyond the Gaussian range \(7 Å\).*extrapolated"):
        model.transform(read_trajectory(tmp_path / "loose.npz", dt="0.2ps"), cache_dir=tmp_path / "c")


def test_the_run_folder_sweep_keeps_a_live_writers_temporary_file(tmp_path):
    """torchrun's rank 1 writes run.json while rank 0 sweeps the folder's scratch files: the sweep must
    leave a temporary file whose process runs (seen failing in CI as a FileNotFoundError on rename)."""
    import subprocess
    import sys

    from gdynet.runs.lock import sweep_scratch
    from gdynet.runs.rundir import RunDir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    live = tmp_path / f".run.json.{os.getpid()}-0123456789ab.tmp"
    gone = [tmp_path / f".run.json.{dead}-0123456789ab.tmp", tmp_path / ".old-style.tmp"]
    for path in (live, *gone):
        path.write_text("{}")
    sweep_scratch(RunDir(tmp_path))
    assert live.exists() and not any(path.exists() for path in gone)
