"""Second fault round (issue 24), the reading, fitting and analysis half: inputs that change while
they are read, a --test file that is a training file, --dt against the file's own times, npz atomic
numbers and coordinate types, population intervals from pieces too short for a stationary vector,
dumps whose atoms change or are reordered, TOML values and encodings, symlink loops, hundreds of
trajectories under a low open-file limit, and uneven frame times. Each was exit 0 over wrong data or
a traceback before; each is now the right result or one line and exit 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gdynet import GdynetError, read_trajectory
from gdynet.cli import app
from gdynet.datasets.toy import toy_li_fcc, write_npz
from gdynet.trajectory.read_options import ReadOptions, read_all
from test_readers_md import _dump

runner = CliRunner()
FIT = ["--dt", "0.1ps", "--epochs", "1", "--batch-size", "16", "--quiet", "--device", "cpu", "--neighbors", "4",
       "--lag", "2"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}


def _one_line(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.startswith("error:") and len(message.splitlines()) == 1 and "Traceback" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.fixture(scope="module")
def toys(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("toys")
    data = toy_li_fcc(n_trajectories=2, n_frames=60, seed=3).trajectories
    return [write_npz(t, folder / f"md{i}.npz") for i, t in enumerate(data)]


def _extxyz(path: Path, times_fs: list[float]) -> Path:
    from ase import Atoms
    from ase.io import write
    from ase.units import fs

    rng = np.random.default_rng(0)
    frames = []
    for t in times_fs:
        atoms = Atoms("Li4S4", positions=rng.random((8, 3)) * 6, cell=[6, 6, 6], pbc=True)
        atoms.info["time"] = t * fs
        frames.append(atoms)
    write(path, frames, format="extxyz")
    return path


# ------------------------------------------------------------------ 1. an input that grows while read
def test_a_file_that_grows_while_fit_reads_it_is_refused(toys, tmp_path, monkeypatch):
    """The fingerprint recorded must be of the bytes read: a file changed meanwhile is refused."""
    import gdynet.runs.fit as fit_module

    growing = tmp_path / "growing.npz"
    growing.write_bytes(toys[0].read_bytes())
    real = fit_module.read_all

    def read_then_grow(paths, options):
        trajs = real(paths, options)
        with open(growing, "ab") as handle:          # the MD run appends while gdynet reads
            handle.write(b"\0" * 4096)
        return trajs

    monkeypatch.setattr(fit_module, "read_all", read_then_grow)
    result = runner.invoke(app, ["fit", str(growing), "--out", str(tmp_path / "run"), *FIT])
    _one_line(result, "growing.npz: changed while gdynet read it", "still being written")
    assert not (tmp_path / "run" / "run.json").exists()


def test_a_file_that_grows_while_analyze_reads_it_is_refused(tmp_path, monkeypatch):
    import gdynet.runs.analyze as analyze_module

    path = write_npz(toy_li_fcc(n_trajectories=1, n_frames=300, seed=4).trajectories[0], tmp_path / "md.npz")
    out = tmp_path / "run"
    result = runner.invoke(app, ["fit", str(path), "--out", str(out), *FIT, "--analyze-on", "all"])
    assert result.exit_code == 0, result.output
    recorded = json.loads((out / "run.json").read_text())["inputs"][0]
    assert recorded["size"] == path.stat().st_size                     # the bytes read
    real = analyze_module.read_all

    def read_then_grow(paths, options):
        trajs = real(paths, options)
        with open(path, "ab") as handle:
            handle.write(b"\0" * 4096)
        return trajs

    monkeypatch.setattr(analyze_module, "read_all", read_then_grow)
    _one_line(runner.invoke(app, ["analyze", str(out)]), "md.npz changed since this run was made",
              "analyze refuses")


# ------------------------------------------------------------------ 2. --test naming a training file
@pytest.mark.parametrize("how", ["same", "copy", "link"])
def test_a_test_file_that_is_a_training_file_is_refused(toys, tmp_path, how):
    other = {"same": toys[0], "copy": tmp_path / "copy.npz", "link": tmp_path / "link.npz"}[how]
    if how == "copy":
        other.write_bytes(toys[0].read_bytes())
    elif how == "link":
        other.symlink_to(toys[0])
    result = runner.invoke(app, ["fit", str(toys[0]), "--test", str(other), "--out", str(tmp_path / "run"), *FIT])
    _one_line(result, "test data must be frames the network never trained on")
    result = runner.invoke(app, ["fit", str(toys[0]), str(other), "--out", str(tmp_path / "run"), *FIT])
    _one_line(result, "give each trajectory once")
    assert not (tmp_path / "run").exists()


def test_the_estimator_refuses_the_same_frames_twice():
    import gdynet

    trajs = toy_li_fcc(n_trajectories=2, n_frames=60, seed=0).trajectories
    estimator = gdynet.GDyNetEstimator(n_states=2, lag=2, neighbors=4, epochs=1, progress=False)
    with pytest.raises(GdynetError, match=r"test trajectory 0 \(.*\) holds the same frames as training trajectory 0 "
                                          r"\(.*\): test data must be frames the network never trained on"):
        estimator.fit(trajs[0], test=trajs[0])
    with pytest.raises(GdynetError, match=r"training trajectory 1 .* holds the same frames as training trajectory 0 "
                                          r".*: give each trajectory once"):
        estimator.fit([trajs[0], trajs[0]])


# ------------------------------------------------------------------ 3. --dt against the file's times
def test_dt_that_disagrees_with_the_frame_times_is_an_error_unless_overridden(tmp_path):
    path = _extxyz(tmp_path / "md.extxyz", [0, 10, 20, 30, 40, 50])          # 10 fs frames
    result = runner.invoke(app, ["fit", str(path), "--target", "Li", "--dt", "20fs", "--out", str(tmp_path / "r"),
                                 "--quiet"])
    _one_line(result, "--dt 0.02 ps disagrees with the file's frame times, 0.01 ps apart (frames 0 and 1",
              "--dt-override")
    with pytest.raises(GdynetError, match=r"add dt_override=True if they are wrong"):
        read_trajectory(path, targets="Li", dt="20fs")
    assert read_trajectory(path, targets="Li", dt="10fs").dt_ps == pytest.approx(0.01)       # agreeing: fine
    overridden = read_all([path], ReadOptions(dt="20fs", dt_override=True, targets="Li"))[0]
    assert overridden.dt_ps == pytest.approx(0.02) and "overriding the file's times" in overridden.dt_source
    result = runner.invoke(app, ["fit", str(path), "--target", "Li", "--dt", "20fs", "--dt-override", "--lag", "100",
                                 "--out", str(tmp_path / "r"), "--quiet"])
    _one_line(result, "too few for lag 100")                               # read with --dt: 0.02 ps frames
    with pytest.raises(GdynetError, match="dt_override replaces the file's frame times by dt, and no dt is given"):
        read_trajectory(path, targets="Li", dt_override=True)
    help_text = " ".join(runner.invoke(app, ["fit", "--help"], terminal_width=200).output.split())
    assert "--dt-override" in help_text and "must agree with it" in help_text
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "--dt-override" in readme and "dt_override=True" in readme


# ------------------------------------------------------------------ 4. npz atomic numbers and types
@pytest.mark.parametrize("change, message", [
    (lambda d: d["atom_types"].__setitem__(0, -1), "atom_types must be atomic numbers 1-118: atom 0 has -1"),
    (lambda d: d["atom_types"].__setitem__(1, 200), "atom_types must be atomic numbers 1-118: atom 1 has 200"),
    (lambda d: d.__setitem__("traj_coords", d["traj_coords"] > 1), "traj_coords must hold real numbers (Å), got dtype bool"),
    (lambda d: d.__setitem__("traj_coords", d["traj_coords"].astype(str)), "traj_coords must hold real numbers"),
    (lambda d: d.__setitem__("traj_coords", d["traj_coords"] + 1j), "got dtype complex128"),
    (lambda d: d.__setitem__("lattices", d["lattices"] + 0j), "lattices must hold real numbers"),
])
def test_npz_atomic_numbers_and_coordinate_types_are_checked(toys, tmp_path, change, message):
    data = {k: v.copy() for k, v in np.load(toys[0]).items()}
    data["traj_coords"] = data["traj_coords"].astype(np.float64)
    change(data)
    path = tmp_path / "bad.npz"
    np.savez(path, **data)
    _one_line(runner.invoke(app, ["fit", str(path), "--out", str(tmp_path / "run"), *FIT]), message)


# ------------------------------------------------------------------ 5. intervals from short pieces
def test_population_intervals_never_use_pieces_too_short_for_a_stationary_vector():
    """300 trajectories of 6 analysed frames (one target, lag 2: 4 pairs each): alone their
    stationary vectors reach -45 and +46; pooled into pieces of >= 25 pairs per state they are
    probability vectors, and the interval lies within [0, 1] around the estimate."""
    from gdynet.koopman.validation import MIN_PAIRS_PER_STATE, population_intervals

    rng = np.random.default_rng(1)
    chis = [rng.dirichlet(np.ones(2) * 5, size=(6, 1)).astype(np.float32) for _ in range(300)]
    result = population_intervals(chis, 2, 0.1, ci_from="trajectories")
    pieces = result.block_populations
    assert result.n_blocks == 300 and 2 <= result.n_used == len(pieces) <= 300 * 4 // (2 * MIN_PAIRS_PER_STATE)
    assert np.all((pieces >= -0.01) & (pieces <= 1.01))
    assert np.all(result.lower <= result.populations) and np.all(result.populations <= result.upper)
    assert result.upper.max() - result.lower.min() < 0.2
    summary = result.to_dict()
    assert "300 of 300 trajectories have fewer than 50 lagged pairs" in summary["note"] and "pooled into" in summary["note"]
    few = population_intervals(chis[:10], 2, 0.1, ci_from="trajectories").to_dict()     # 40 pairs in all
    assert few["lower"] == [None, None] and few["n_used"] == 0 and "no interval" in few["note"]
    long = [rng.dirichlet(np.ones(2) * 5, size=(200, 1)).astype(np.float32) for _ in range(5)]
    assert population_intervals(long, 2, 0.1, ci_from="trajectories").note == ""        # nothing to say


# ------------------------------------------------------------------ 6. dumps whose atoms change; TOML
#: six atoms (types 1, 2, 1, 2, 1, 2) in the 10 x 12 x 14 box of ``_dump``; Li atoms 0 and 4 half a cell apart
SITES = np.array([[1.0, 1.0, 0.0], [3.0, 2.0, 1.0], [2.0, 9.0, 3.0], [7.0, 3.0, 9.0], [5.5, 6.5, 7.0], [8.0, 8.0, 4.0]])


def _frames(orders: list[list[int]], ids: list[int] | None) -> str:
    """A dump whose frame f lists the atoms in ``orders[f]`` (each moving 0.01 Å per frame along x),
    with an id column of ``ids`` (per atom) unless None."""
    text = []
    for frame, order in enumerate(orders):
        rows = [("" if ids is None else f"{ids[i]} ") + f"{1 + i % 2} {SITES[i, 0] + 0.01 * frame} {SITES[i, 1]} "
                f"{SITES[i, 2]}" for i in order]
        text.append(_dump([10 * frame], rows=lambda f, rows=rows: rows,
                          columns="type x y z" if ids is None else "id type x y z"))
    return "".join(text)


READ = dict(dt="10fs", type_map="1=Li,2=S", targets="Li")


def test_dump_atom_ids_are_followed_and_a_new_id_set_is_refused(tmp_path):
    plain, shuffled = tmp_path / "plain.lammpstrj", tmp_path / "shuffled.lammpstrj"
    ids = [1, 2, 3, 4, 5, 6]
    plain.write_text(_frames([list(range(6))] * 3, ids))
    shuffled.write_text(_frames([[0, 1, 2, 3, 4, 5], [4, 2, 0, 5, 3, 1], [5, 4, 3, 2, 1, 0]], ids))
    np.testing.assert_array_equal(read_trajectory(shuffled, **READ).positions, read_trajectory(plain, **READ).positions)
    renumbered = tmp_path / "renumbered.lammpstrj"
    renumbered.write_text(_frames([list(range(6))], ids) + _frames([list(range(6))], [1, 2, 3, 4, 5, 7]))
    with pytest.raises(GdynetError, match=r"frame 1 has 1 atom ids frame 0 does not have \(e.g. 7; id 6 is gone\)"):
        read_trajectory(renumbered, **READ)


def test_a_dump_without_ids_whose_atoms_are_reordered_is_refused(tmp_path):
    path = tmp_path / "noid.lammpstrj"
    path.write_text(_frames([[0, 1, 2, 3, 4, 5], [4, 1, 2, 3, 0, 5]], None))     # Li atoms 0 and 4 swapped
    with pytest.raises(GdynetError, match=r"2 of 6 atoms move by more than a third of the cell between frames 0 "
                                          r"and 1: the dump has no id column") as info:
        read_trajectory(path, **READ)
    assert "dump_modify sort id" in str(info.value) and "\n" not in str(info.value)
    path.write_text(_frames([list(range(6))] * 3, None))
    assert read_trajectory(path, **READ).n_frames == 3                      # in order: read as before


def test_toml_bool_for_a_number_and_a_non_utf8_config_are_one_line(toys, tmp_path):
    config = tmp_path / "fit.toml"
    config.write_text("epochs = true\n")
    _one_line(runner.invoke(app, ["fit", str(toys[0]), "--out", str(tmp_path / "r"), "--config", str(config)]),
              "epochs = true: --epochs is not a true/false option")
    config.write_bytes("lr = 0.001 # caf\u00e9\n".encode("latin-1"))
    _one_line(runner.invoke(app, ["fit", str(toys[0]), "--out", str(tmp_path / "r"), "--config", str(config)]),
              "cannot read the --config file (UnicodeDecodeError")


# ------------------------------------------------------------------ 7. a symlink loop
@pytest.mark.parametrize("command", ["fit", "scan", "test"])
def test_a_symlink_loop_is_one_line(toys, tmp_path, command):
    loop = tmp_path / "loop.npz"
    loop.symlink_to(loop)
    args = {"fit": ["fit", str(loop)], "scan": ["scan", str(loop)], "test": ["fit", str(toys[0]), "--test", str(loop)]}
    result = runner.invoke(app, [*args[command], "--out", str(tmp_path / "r"), "--dt", "0.1ps", "--quiet"])
    _one_line(result, "loop.npz: a symbolic link loop")


# ------------------------------------------------------------------ 8. open files
@pytest.mark.slow
def test_300_trajectories_fit_and_analyze_under_256_open_files(tmp_path):
    """Graph stores, raw and calibrated chi of small trajectories are held in memory, not mapped (a map
    holds a descriptor): 300 trajectories work under ``ulimit -n 256``; out of descriptors anyway, the
    advice is to raise the limit (not GDYNET_CACHE, not rerunning fit). About 25 s on 2 cores."""
    folder = tmp_path / "md"
    folder.mkdir()
    for i, traj in enumerate(toy_li_fcc(n_trajectories=300, n_frames=40, seed=0).trajectories):
        write_npz(traj, folder / f"t{i:03d}.npz")
    script = textwrap.dedent("""
        import resource, sys
        limit, budget = int(sys.argv[1]), int(sys.argv[2])
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        import gdynet.files.openfiles
        gdynet.files.openfiles.BUDGET_BYTES = budget
        from gdynet.cli import app
        app(sys.argv[3:], prog_name="gdynet")
    """)
    out = tmp_path / "run"
    files = sorted(str(p) for p in folder.iterdir())

    def gdynet(limit: int, budget: int, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", script, str(limit), str(budget), *args], env=ENV,
                              capture_output=True, text=True, timeout=300)

    fit = gdynet(256, 2 ** 30, "fit", *files, "--out", str(out), *FIT)
    assert fit.returncode == 0, fit.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_targets"] == 300 and summary["populations_ci"]["n_blocks"] == 300
    assert "pooled into" in summary["populations_ci"]["note"]                  # 6-frame test blocks
    analyze = gdynet(256, 2 ** 30, "analyze", str(out))
    assert analyze.returncode == 0, analyze.stderr[-2000:]
    mapped = gdynet(64, 0, "analyze", str(out))                                 # everything mapped: too many
    assert mapped.returncode == 2 and "Traceback" not in mapped.stderr, mapped.stderr[-2000:]
    line = mapped.stderr.strip().splitlines()[-1]
    assert "too many open files (this process may open 64): raise the limit" in line
    assert "GDYNET_CACHE" not in line and "gdynet fit" not in line


# ------------------------------------------------------------------ 9. uneven frame times
@pytest.mark.parametrize("times, usual, odd", [([0, 10, 20, 30, 50, 60], "0.01 ps between frames 0 and 1",
                                                "0.02 ps between frames 3 and 4"),
                                               ([0, 20, 30, 40, 50], "0.01 ps between frames 1 and 2",
                                                "0.02 ps between frames 0 and 1")])
def test_uneven_frame_times_name_the_pair_where_it_happens(tmp_path, times, usual, odd):
    path = _extxyz(tmp_path / "uneven.extxyz", times)
    with pytest.raises(GdynetError) as info:
        read_trajectory(path, targets="Li")
    message = str(info.value)
    assert f"({usual}, {odd}; 1 of {len(times) - 1} spacings differ" in message and "\n" not in message
