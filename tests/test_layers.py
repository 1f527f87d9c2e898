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

# The package's folders, lowest first: a module imports only from its own folder or a lower one.
# The modules at the package's top (the command line) stand above them all.
LAYERS = ("core", "io", "signals", "dataset", "networks", "decision", "serving", "training", "evidence")
TOP = len(LAYERS)

# Modules that build, train, load or hold a model: the data and scoring layers never import them.
MODEL_CODE = {"networks.models", "training.train", "serving.predict", "serving.inference", "networks.framework",
              "serving.model_folder", "decision.feature_model", "decision.fusion", "networks.losses",
              "networks.beat_branch", "evidence.baseline", "evidence.experiments", "decision.rule",
              "decision.calibration", "decision.thresholds"}
NO_MODEL_CODE = ("io.records", "core.metrics", "core.classes", "evidence.evaluation", "io.outputs")
# Modules (and harness files) that start without Keras; the ONNX runtime's whole path (an exported
# folder classified, tests/test_onnx.py) among them.
NO_KERAS = ("evidence.evaluation", "cli", "__main__", "signals.synth", "io.records", "core.metrics",
            "decision.feature_model", "evidence.baseline", "serving.onnx_network", "serving.model_folder",
            "serving.predict", "serving.inference", "serving.classify", "serving.export")
NO_KERAS_FILES = ("evaluate_model.py",)
FRAMEWORK = "networks.framework"


def module_names(package: Path) -> dict[str, Path]:
    """Every module of the package by its dotted name below `ecgcinc` (`io.records`, `cli`)."""
    return {".".join(p.relative_to(package).with_suffix("").parts): p
            for p in package.rglob("*.py") if "__pycache__" not in p.parts}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """A dotted name below the package as the module it names (a package names its __init__)."""
    if name in modules:
        return name
    if f"{name}.__init__" in modules:
        return f"{name}.__init__"
    return None


def _imports(path: Path, here: str, modules: dict[str, Path], module_level_only: bool) -> set[str]:
    """The package modules a file imports (relative or absolute), optionally only at module level.
    `here` is the file's own dotted name ("" for a file outside the package)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    package = here.split(".")[:-1]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            elif (node.module or "").split(".")[0] == "ecgcinc":
                base = []
            else:
                continue
            parts = [p for p in (node.module or "").split(".") if p]
            parts = parts[1:] if not node.level else parts
            target = ".".join(base + parts)
            for alias in node.names:
                sub = _resolve(f"{target}.{alias.name}" if target else alias.name, modules)
                found.add(sub or _resolve(target, modules) or ("__init__" if not target else None))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ecgcinc."):
                    found.add(_resolve(alias.name.split(".", 1)[1], modules))
    return found - {None}


def import_graph(package: Path, module_level_only: bool = False) -> dict[str, set[str]]:
    """module -> the package modules it imports (a subpackage's __init__ counts as a module)."""
    modules = module_names(package)
    return {m: _imports(path, m, modules, module_level_only) - {m} for m, path in modules.items()}


def layer(module: str) -> int:
    """The folder's place in LAYERS; the package's top-level modules above them all."""
    folder = module.split(".")[0]
    return LAYERS.index(folder) if "." in module else TOP


def imports_back_up(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where a module imports from a higher folder, or from a folder
    not in LAYERS."""
    return sorted((m, t) for m, targets in graph.items() for t in targets
                  if "." in t and t.split(".")[0] not in LAYERS or layer(t) > layer(m))


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


def test_every_folder_is_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(LAYERS)


def test_no_import_runs_back_up_a_folder():
    assert imports_back_up(import_graph(PACKAGE)) == []


def test_an_injected_cycle_is_found(tmp_path):
    copy = tmp_path / "ecgcinc"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    # records is at the bottom of io; a function-level import of the trainer closes a loop through it
    path = copy / "io" / "records.py"
    path.write_text(path.read_text() + "\n\ndef _late():\n    from ..training.train import train  # noqa: F401\n")
    found = cycles(import_graph(copy))
    assert found and any({"io.records", "training.train"} <= set(component) for component in found)


def test_importing_the_package_top_from_a_folder_is_an_import_back_up(tmp_path):
    copy = tmp_path / "ecgcinc"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    path = copy / "serving" / "card.py"
    path.write_text(path.read_text() + "\n\nfrom .. import __version__ as _top  # noqa: E402\n")
    assert ("serving.card", "__init__") in imports_back_up(import_graph(copy))


def test_an_injected_import_back_up_is_found(tmp_path):
    copy = tmp_path / "ecgcinc"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    # the scored classes (core) reaching up to the cache (dataset), even inside a function
    path = copy / "core" / "classes.py"
    path.write_text(path.read_text() + "\n\ndef _late():\n    from ..dataset import cache  # noqa: F401\n")
    assert imports_back_up(import_graph(copy)) == [("core.classes", "dataset.cache")]


@pytest.mark.parametrize("module", NO_MODEL_CODE)
def test_data_and_scoring_import_no_model_code(module):
    graph = import_graph(PACKAGE)
    assert reachable(graph, module) & MODEL_CODE == set()


@pytest.mark.parametrize("module", NO_KERAS)
def test_start_up_paths_do_not_load_keras(module):
    graph = import_graph(PACKAGE, module_level_only=True)
    assert FRAMEWORK not in reachable(graph, module) | {module}


@pytest.mark.parametrize("name", NO_KERAS_FILES)
def test_harness_files_that_start_without_keras(name):
    modules = module_names(PACKAGE)
    graph = import_graph(PACKAGE, module_level_only=True)
    direct = _imports(ROOT / name, "", modules, module_level_only=True)
    assert FRAMEWORK not in set().union(direct, *(reachable(graph, m) for m in direct))


def test_keras_is_imported_only_through_framework():
    """Every module that needs Keras goes through framework.py (its quiet import)."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        first_keras = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and (
            (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "keras" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").split(".")[0] == "keras"))]
        if first_keras and path.stem != "framework":
            framework = [n for n in tree.body if isinstance(n, ast.ImportFrom) and (n.module or "").endswith("framework")]
            assert framework and framework[0].lineno < first_keras[0].lineno, path.name


MAX_PUBLIC_LINES = 50


def long_public_functions(package: Path) -> list[str]:
    """Public functions and methods (no leading underscore) longer than MAX_PUBLIC_LINES lines."""
    found = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_PUBLIC_LINES:
                    found.append(f"{path.relative_to(package)}:{node.name} ({lines} lines)")
    return found


def test_no_public_function_is_longer_than_50_lines(tmp_path):
    assert long_public_functions(PACKAGE) == []
    (tmp_path / "long.py").write_text("def grown():\n" + "    x = 1\n" * MAX_PUBLIC_LINES)
    assert long_public_functions(tmp_path) == ["long.py:grown (51 lines)"]
