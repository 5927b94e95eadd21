"""The project's import graph: no cycles between modules or packages, and no import up the layers.

Every ``import`` statement of the three packages counts, wherever it sits (a
function-level import hides a cycle from Python, not from this test). Layers,
lowest first: a module may import its own layer and the ones below, never one
above. ``thermal_synth_ros`` and ``training`` sit above the whole core.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("thermal_synth_core", "thermal_synth_ros", "training")

#: The core's layers, lowest first; a name is a module or a sub-package of thermal_synth_core.
CORE_LAYERS: tuple[frozenset[str], ...] = (
    # foundations: errors, accepted names, files, terminal, AGC, time sync, image messages, metrics (also of
    # objects), bag reading
    frozenset(
        {
            "errors",
            "names",
            "argtypes",
            "fileio",
            "ui",
            "agc",
            "sync",
            "imagemsg",
            "metrics",
            "objects",
            "bagreader",
            "config",
        }
    ),
    frozenset({"align"}),  # geometry of a rig: transforms, fits on frame pairs
    frozenset({"camera", "modelfile", "data"}),  # camera models, the model file, datasets and prepare
    frozenset({"models"}),  # networks
    frozenset({"export", "train"}),
    frozenset({"infer"}),  # the Synthesizer and its backends
    frozenset({"eval"}),
    frozenset({"bench"}),
    frozenset({"cli", "__main__"}),
)
#: Whole packages above the core, lowest first.
TOP_LAYERS = ("thermal_synth_core", "training", "thermal_synth_ros")


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The project modules an import statement loads (the deepest one named)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join([*base, *([node.module] if node.module else [])])
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in MODULES else prefix for alias in node.names]
    for name in names:
        found = name
        while found and found not in MODULES:
            found = found.rpartition(".")[0]
        if found:
            yield found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in MODULES.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                deps.update(d for d in _imported(module, is_package, node) if d != module)
        graph[module] = deps
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, children_of_root in graph.items():
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(children_of_root)))]
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
                    work.append((child, iter(sorted(graph.get(child, ())))))
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


def _unit(module: str) -> str:
    """The layer unit of a module: the core's first-level module or sub-package, else the top package."""
    parts = module.split(".")
    return parts[1] if parts[0] == "thermal_synth_core" and len(parts) > 1 else parts[0]


def test_the_import_walker_sees_the_project() -> None:
    assert "thermal_synth_core.cli" in GRAPH
    assert "thermal_synth_core.errors" in GRAPH["thermal_synth_core.cli"]
    assert any(m.startswith("thermal_synth_core.") for m in GRAPH["thermal_synth_ros.node"])


def test_no_cycle_between_modules() -> None:
    assert _cycles(GRAPH) == []


def test_no_cycle_between_packages() -> None:
    units: dict[str, set[str]] = {}
    for module, deps in GRAPH.items():
        units.setdefault(_unit(module), set()).update(_unit(d) for d in deps if _unit(d) != _unit(module))
    assert _cycles(units) == []


def test_every_core_unit_has_a_layer() -> None:
    units = {_unit(m) for m in GRAPH if m.startswith("thermal_synth_core.")}
    layered = set().union(*CORE_LAYERS)
    assert units - layered == set(), "add the new module or package to CORE_LAYERS"
    assert layered - units == set(), "CORE_LAYERS names something that no longer exists"


def _layer(module: str) -> tuple[int, int]:
    top = module.split(".", maxsplit=1)[0]
    if top != "thermal_synth_core" or module == "thermal_synth_core":
        return TOP_LAYERS.index(top), 0
    unit = _unit(module)
    return 0, next(i for i, layer in enumerate(CORE_LAYERS) if unit in layer)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_goes_up_the_layers(package: str) -> None:
    upward = [
        f"{module} -> {dep}"
        for module, deps in sorted(GRAPH.items())
        if module.split(".")[0] == package
        for dep in sorted(deps)
        if _layer(dep) > _layer(module)
        # the plug-in API: the ROS 2 commands register themselves through cli.common
        and not (module.startswith("thermal_synth_ros.") and dep == "thermal_synth_core.cli.common")
    ]
    assert upward == []


def test_a_cycle_and_an_upward_import_would_be_seen() -> None:
    """The checks can fail: a planted cycle is found, and a planted upward import lands in a higher layer."""
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(planted) == [["a", "b", "c"]]
    assert _layer("thermal_synth_core.cli") > _layer("thermal_synth_core.data.prepare")
    assert _layer("thermal_synth_ros.node") > _layer("thermal_synth_core.cli")
