"""The package's import structure: no cycle, and the directions that must never be taken.

Imports are read from the source (every import, at module level or inside a function), so a
function-level import cannot hide a cycle.  Keras-freedom is checked on the module-level
imports, followed transitively: those are what loading a module costs.
"""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ecgcinc"
ROOT = PACKAGE.parent

# Modules that build, train, load or hold a model: the data and scoring layers never import them.
MODEL_CODE = {"models", "train", "predict", "inference", "framework", "model_folder", "feature_model", "fusion",
              "losses", "beat_branch", "baseline", "experiments", "decision", "calibration", "thresholds"}
NO_MODEL_CODE = ("records", "metrics", "classes", "evaluation", "outputs")
# Modules (and harness files) that start without Keras; the ONNX runtime's whole path (an exported
# folder classified, tests/test_onnx.py) among them.
NO_KERAS = ("evaluation", "cli", "__main__", "synth", "records", "metrics", "feature_model", "baseline",
            "onnx_network", "model_folder", "predict", "inference", "classify", "export")
NO_KERAS_FILES = ("evaluate_model.py",)


def _imports(path: Path, modules: set[str], module_level_only: bool) -> set[str]:
    """The package modules a file imports (relative or absolute), optionally only at module level."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if node.level == 1 and node.module and parts[0] in modules:
                found.add(parts[0])
            elif node.level == 1 and not node.module:
                found.update(a.name for a in node.names if a.name in modules)
            elif parts[0] == "ecgcinc":
                found.update([parts[1]] if len(parts) > 1 and parts[1] in modules else
                             [a.name for a in node.names if a.name in modules])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("ecgcinc.") and a.name.split(".")[1] in modules)
    return found


def import_graph(package: Path, module_level_only: bool = False) -> dict[str, set[str]]:
    """module -> the package modules it imports."""
    modules = {p.stem for p in package.glob("*.py")}
    return {m: _imports(package / f"{m}.py", modules, module_level_only) - {m} for m in modules}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root), on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child), on_stack.add(child)
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


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt), todo.append(nxt)
    return seen


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph(PACKAGE)) == []


def test_an_injected_cycle_is_found(tmp_path):
    copy = tmp_path / "ecgcinc"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    # records is at the bottom; a function-level import of the trainer closes a loop through it
    path = copy / "records.py"
    path.write_text(path.read_text() + "\n\ndef _late():\n    from .train import train  # noqa: F401\n")
    found = cycles(import_graph(copy))
    assert found and any({"records", "train"} <= set(component) for component in found)


@pytest.mark.parametrize("module", NO_MODEL_CODE)
def test_data_and_scoring_import_no_model_code(module):
    graph = import_graph(PACKAGE)
    assert reachable(graph, module) & MODEL_CODE == set()


@pytest.mark.parametrize("module", NO_KERAS)
def test_start_up_paths_do_not_load_keras(module):
    graph = import_graph(PACKAGE, module_level_only=True)
    assert "framework" not in reachable(graph, module) | {module}


@pytest.mark.parametrize("name", NO_KERAS_FILES)
def test_harness_files_that_start_without_keras(name):
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    graph = import_graph(PACKAGE, module_level_only=True)
    direct = _imports(ROOT / name, modules, module_level_only=True)
    assert "framework" not in set().union(direct, *(reachable(graph, m) for m in direct))


def test_keras_is_imported_only_through_framework():
    """Every module that needs Keras goes through framework.py (its quiet import)."""
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        first_keras = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and (
            (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "keras" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").split(".")[0] == "keras"))]
        if first_keras and path.stem != "framework":
            framework = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "framework"]
            assert framework and framework[0].lineno < first_keras[0].lineno, path.name
