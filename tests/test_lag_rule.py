"""Issue 26 item 3: every public ``lag=`` / ``lags=`` goes through the one lag rule
(:func:`gdynet.base.units.check_lag`): an int is frames, a string with a unit is a time, and a float or a bare
number string is refused with a line that shows both ways.

The callables are found by signature, walking ``gdynet.__all__`` (functions, classes' ``__init__`` and
public methods, the public names of its sub-packages, and classes whose instances are defaults of their
parameters, e.g. ``fit``'s ``FitOptions``), so a new public lag argument that bypasses the check fails here.
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Iterator

import numpy as np
import pytest

import gdynet
from gdynet import GdynetError
from gdynet.koopman.estimator import KoopmanEstimator
from gdynet.trajectory.core import Trajectory

LAG_NAMES = ("lag", "lags")
BOTH_WAYS = r'whole number of frames \(an int, e.g. 10\) or a time with a unit \(e.g. "2ps" or "500fs"\)'
#: found today; the walk must find at least these (a public lag argument that disappears is a change to review)
KNOWN = {"TrainConfig.__init__", "KoopmanEstimator.__init__", "KoopmanModel.__init__", "KoopmanModel.from_moments",
         "implied_timescales", "ck_test", "population_intervals", "transition_conduction", "GDyNetEstimator.__init__",
         "FitOptions.__init__", "analyze"}


def _is_gdynet(obj: Any) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "gdynet"


def _lag_callables() -> Iterator[tuple[str, Callable[..., Any], str]]:
    """(qualified name, callable, lag parameter) for every public callable reachable from gdynet.__all__."""
    seen: set[int] = set()
    todo: list[tuple[str, Any]] = []
    for name in gdynet.__all__:
        obj = getattr(gdynet, name)
        if inspect.ismodule(obj):
            todo += [(n, getattr(obj, n)) for n in getattr(obj, "__all__", [n for n in dir(obj) if n[0] != "_"])]
        else:
            todo.append((name, obj))
    while todo:
        name, obj = todo.pop()
        if id(obj) in seen or not callable(obj) or not _is_gdynet(obj):
            continue
        seen.add(id(obj))
        members = ([(f"{obj.__name__}.{m}", f) for m, f in inspect.getmembers(obj)
                    if (m == "__init__" or m[0] != "_") and callable(f) and not inspect.isclass(f)]
                   if inspect.isclass(obj) else [(name, obj)])
        for qualified, function in members:
            try:
                parameters = inspect.signature(function).parameters
            except (TypeError, ValueError):
                continue
            for p in parameters.values():                      # classes whose instances are defaults: reachable
                if _is_gdynet(type(p.default)) and not isinstance(p.default, (str, int, float, tuple)):
                    todo.append((type(p.default).__name__, type(p.default)))
            for lag_name in LAG_NAMES:
                if lag_name in parameters:
                    yield qualified, function, lag_name


@pytest.fixture(scope="module")
def dummies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Callable[[], Any]]:
    """Minimal valid values of the other required parameters, by name."""
    rng = np.random.default_rng(0)
    states = rng.integers(0, 2, size=(60, 3))
    chi = np.eye(2)[states].astype(np.float32)                   # 60 frames, 3 target sets, 2 states
    model = KoopmanEstimator(1, 0.1).fit(chi).fetch_model()
    traj = Trajectory(positions=rng.random((60, 4, 3)) * 5, cells=np.broadcast_to(5 * np.eye(3), (60, 3, 3)).copy(),
                      numbers=np.array([3, 3, 3, 16]), dt_ps=0.1, targets=np.arange(3)[:, None])
    fields = {f.name: (lambda n=f.name: getattr(model, n)) for f in dataclasses.fields(model)}
    return {**fields, "chi": lambda: chi, "dt_ps": lambda: 0.1, "n_steps": lambda: 2, "traj": lambda: traj,
            "temperature_K": lambda: 300.0, "run_dir": lambda: tmp_path_factory.mktemp("run")}


def _call(function: Callable[..., Any], lag_name: str, value: Any, dummies: dict[str, Callable[[], Any]]) -> Any:
    kwargs = {}
    for p in inspect.signature(function).parameters.values():
        if p.name in ("self", "cls") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == lag_name:
            continue
        if p.default is p.empty:
            assert p.name in dummies, f"add a dummy value for {p.name!r} (needed by {function.__qualname__})"
            kwargs[p.name] = dummies[p.name]()
    target = function
    if inspect.isfunction(function) and function.__name__ == "__init__":
        target = getattr(gdynet, function.__qualname__.split(".")[0], None) or _owner(function)
    return target(**kwargs, **{lag_name: value})


def _owner(function: Callable[..., Any]) -> type:
    module = inspect.getmodule(function)
    return getattr(module, function.__qualname__.split(".")[0])


def test_the_walk_finds_every_known_public_lag_argument():
    found = {name for name, _, _ in _lag_callables()}
    assert KNOWN <= found, f"not found: {sorted(KNOWN - found)}"


@pytest.mark.parametrize("bad", [10.0, "10", np.float64(10.0), "10.0"])
def test_every_public_lag_argument_refuses_a_float_or_a_bare_number_showing_both_ways(bad, dummies):
    checked = []
    for name, function, lag_name in _lag_callables():
        value = [bad] if lag_name == "lags" else bad
        with pytest.raises((GdynetError, ValueError), match=BOTH_WAYS) as caught:
            _call(function, lag_name, value, dummies)
        assert "\n" not in str(caught.value), f"{name}: the error is one line"
        checked.append(name)
    assert KNOWN <= set(checked)


def test_set_params_and_a_lag_list_that_is_not_a_list_follow_the_rule_too():
    from gdynet.koopman.validation import implied_timescales

    with pytest.raises(GdynetError, match=BOTH_WAYS):
        gdynet.GDyNetEstimator().set_params(lag=10.0)
    with pytest.raises(GdynetError, match=r'must be a list of lags .*\[1, 2, 5\] or \["1ps", "2ps"\]'):
        implied_timescales(np.zeros((5, 1, 2)), "10ps", 0.1)
    assert KoopmanEstimator(10, 0.1).lag == KoopmanEstimator("1ps", 0.1).lag == 10   # both ways still work
    assert KoopmanEstimator("1ps").lag is None and gdynet.TrainConfig(lag="2ps").lag == "2ps"
