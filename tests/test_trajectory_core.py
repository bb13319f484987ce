import numpy as np
import pytest

from gdynet import GdynetError, Trajectory, parse_time
from gdynet.base.units import lag_to_frames


def _traj(**kw):
    args = dict(positions=np.random.default_rng(0).random((4, 5, 3)) * 6.5, cells=np.eye(3) * 6.5,
                numbers=np.array([3, 16, 16, 16, 16]), dt_ps=0.1, targets=np.array([0]), source="toy.npz")
    args.update(kw)
    return Trajectory(**args)


def test_basic_properties_and_slicing():
    t = _traj()
    assert (t.n_frames, t.n_atoms, t.n_targets, t.target_size) == (4, 5, 1, 1)
    assert t.cells.shape == (4, 3, 3)
    sub = t[::2]
    assert sub.n_frames == 2 and sub.dt_ps == pytest.approx(0.2)
    assert t.symbols[:2] == ["Li", "S"]
    np.testing.assert_allclose(t.volumes(), 6.5**3)


def test_fingerprint_changes_with_content():
    a, b = _traj(), _traj()
    assert a.fingerprint() == b.fingerprint()
    pos = a.positions.copy()
    pos[2, 3, 1] += 1e-3
    assert _traj(positions=pos).fingerprint() != a.fingerprint()


@pytest.mark.parametrize("kw, message", [
    (dict(positions=np.zeros((4, 5, 2))), "shape"),
    (dict(numbers=np.array([3, 16])), "numbers"),
    (dict(cells=np.zeros((3, 3))), "singular cell"),
    (dict(cells=np.eye(3)[None].repeat(2, 0)), "cells must have shape"),
    (dict(dt_ps=-1.0), "positive"),
    (dict(targets=np.array([7])), "out of range"),
])
def test_bad_input_is_one_clear_line(kw, message):
    with pytest.raises(GdynetError, match=message) as info:
        _traj(**kw)
    assert str(info.value).startswith("toy.npz: ") and "\n" not in str(info.value)


def test_nan_frame_is_named():
    pos = np.random.default_rng(0).random((4, 5, 3))
    pos[2, 1, 0] = np.nan
    with pytest.raises(GdynetError, match="frame 2"):
        _traj(positions=pos)


@pytest.mark.parametrize("text, ps", [("0.1ps", 0.1), ("100fs", 0.1), ("2 ns", 2000.0), (0.5, 0.5), (3, 3.0)])
def test_parse_time(text, ps):
    assert parse_time(text) == pytest.approx(ps)


@pytest.mark.parametrize("bad", ["fast", "1 parsec", "-1ps", 0, True, "3", "0.1"])   # a string needs its unit
def test_parse_time_rejects(bad):
    with pytest.raises(GdynetError):
        parse_time(bad)


def test_lag_to_frames():
    assert lag_to_frames("1ps", 0.1) == 10
    assert lag_to_frames(3, 0.1) == 3
    with pytest.raises(GdynetError, match="whole number"):
        lag_to_frames("0.15ps", 0.1)


def test_exception_summary_is_one_line_even_for_empty_messages():
    from gdynet.base.errors import exception_summary

    assert exception_summary(KeyError()) == "KeyError"
    assert exception_summary(ValueError("bad header\n  at byte 12")) == "ValueError: bad header"
    assert exception_summary(OSError("x" * 500)) == "OSError: " + "x" * 200


def test_replace_never_reuses_a_stale_fingerprint():
    from dataclasses import replace

    a = _traj()
    old = a.fingerprint()
    assert replace(a, dt_ps=0.2).fingerprint() != old
    assert replace(a, positions=a.positions + 1.0).fingerprint() != old
    assert a[::2].fingerprint() != old and a.with_targets([1]).fingerprint() == old


def test_numpy_scalars_are_numbers_and_numpy_integers_are_frames():
    for lag in np.arange(1, 4):  # np.int64: frames, as a plain int would be
        assert lag_to_frames(lag, 0.1) == int(lag) and type(lag_to_frames(lag, 0.1)) is int
    for ambiguous in (np.float64(0.3), 10.0, "10", " 2.5 "):  # a float or a bare number: say both ways
        with pytest.raises(GdynetError, match=r'whole number of frames \(an int, e.g. 10\) or a time with a unit'):
            lag_to_frames(ambiguous, 0.1)
    assert lag_to_frames("500fs", 0.1) == 5 and lag_to_frames("0.3 ps", 0.1) == 3
    assert parse_time(np.float32(0.5)) == pytest.approx(0.5) and parse_time(np.int64(2)) == 2.0
    for bad in (np.bool_(True), np.int64(0)):
        with pytest.raises(GdynetError):
            lag_to_frames(bad, 0.1)


def test_atomic_writes_get_the_usual_permissions_and_leave_no_temporary(tmp_path):
    import os

    from gdynet.files import writes as atomic

    umask = os.umask(0o022)
    try:
        written = atomic.write_json(tmp_path / "run.json", {"a": 1})
        atomic.save_npy(tmp_path / "x.npy", np.arange(3))
    finally:
        os.umask(umask)
    assert oct(written.stat().st_mode & 0o777) == oct(0o644)  # not mkstemp's 0o600
    assert oct((tmp_path / "x.npy").stat().st_mode & 0o777) == oct(0o644)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "x.npy"]
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(tmp_path / "run.json") as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "x.npy"]
    assert (tmp_path / "run.json").read_text().startswith("{")
