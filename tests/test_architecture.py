"""The shape of the package (issue 22, ARCHITECTURE.md): regular packages that say what they hold and
what they may import, the layer contracts of pyproject.toml (import-linter), no import cycle between
modules counting imports inside functions, and a saved model applied without the training package."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "gdynet"
FIXTURES = Path(__file__).resolve().parent / "data" / "v0.4"


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) of every module under src/gdynet."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph() -> dict[str, set[str]]:
    """Edges ``module -> imported module`` from every ``import`` statement of src/gdynet (at any depth:
    inside functions and ``if TYPE_CHECKING`` too). ``from X import a`` counts as importing X and, when
    X.a is a module, X.a as well (the stricter reading)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module or ""
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_counting_imports_inside_functions():
    graph = import_graph()
    assert sum(map(len, graph.values())) > 300          # the graph really holds the package's imports
    assert "gdynet.network.forward" in graph["gdynet.network.chi"]                     # a module-level import
    assert "gdynet.runs.model_run" in graph["gdynet.commands.analyze"]                 # one inside a function
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]   # the finder finds one


def test_every_folder_is_a_package_that_says_what_it_holds_and_may_import():
    folders = {p.parent for p in PACKAGE.rglob("*.py")}
    assert {f.name for f in folders} >= {"gdynet", "api", "base", "files", "network", "runs", "commands"}
    for folder in folders:
        init = folder / "__init__.py"
        assert init.is_file(), f"{folder} has Python files but no __init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init} has no docstring"
        if folder != PACKAGE and folder.name != "model":                # the root lists them all; model is a shim
            assert "may import" in doc.lower(), f"{init}: the docstring does not say which packages it may import"


def test_layer_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts, checked by import-linter's own command."""
    pytest.importorskip("importlinter")
    command = shutil.which("lint-imports") or pytest.skip("lint-imports not on PATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([command, "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_python_api_package():
    import gdynet
    import gdynet.api as api

    assert set(api.__all__) == {"GDyNetEstimator", "GDyNetModel", "StateProbabilities", "load"}
    assert api.__doc__ and all(getattr(api, name) is getattr(gdynet, name) for name in api.__all__)


def test_loading_a_model_and_transforming_never_imports_training(tmp_path):
    """In a fresh process, gdynet.load(model.pt) + transform(traj) of a model file written by gdynet 0.4
    leaves no gdynet.training module loaded, and gives bitwise the χ gdynet 0.4 gave."""
    script = (
        "import sys, numpy as np, gdynet\n"
        f"model = gdynet.load({str(FIXTURES / 'model.pt')!r})\n"
        f"traj = gdynet.read_trajectory({str(FIXTURES / 'frames.npz')!r}, dt='0.2ps')\n"
        f"np.save({str(tmp_path / 'chi.npy')!r}, model.transform(traj).values)\n"
        "print(sorted(m for m in sys.modules if m.startswith('gdynet.training')))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    np.testing.assert_array_equal(np.load(tmp_path / "chi.npy"), np.load(FIXTURES / "chi.npy"))


def test_gdynet_model_is_a_deprecated_alias_of_gdynet_network():
    script = ("import warnings, gdynet.network as n\n"
              "with warnings.catch_warnings(record=True) as caught:\n"
              "    warnings.simplefilter('always')\n"
              "    import gdynet.model as m\n"
              "    from gdynet.model.gdynet import GDyNet\n"
              "assert m.GDyNet is n.GDyNet is GDyNet and m.GlobalVAMPNet is n.GlobalVAMPNet\n"
              "print([str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)])\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "gdynet.network" in result.stdout
