"""The package's layers (README "Layout"): imports only go down, never round in a circle, and no
import of the package's own modules hides inside a function (the command line excepted: it
imports a sub-command's modules when that sub-command runs, so every command starts fast)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kpi_transforms"
# layer -> the layers it may import (itself included)
ALLOWED = {
    "core": {"core"},
    "warehouse": {"core", "warehouse"},
    "sources": {"core", "sources"},
    "facts": {"core", "facts"},
    "quality": {"core", "quality"},
    "metrics": {"core", "facts", "metrics"},
    "present": {"core", "metrics", "present"},
    "extract": {"core", "warehouse", "sources", "extract"},
    "pipeline": {"core", "warehouse", "sources", "facts", "quality", "metrics", "present", "extract", "pipeline"},
    "demo": {"core", "warehouse", "pipeline", "present", "demo"},
    "cli": {"core", "warehouse", "sources", "facts", "quality", "metrics", "present", "extract", "pipeline", "demo", "cli"},
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported package module, line, inside a function) for every import of kpi_transforms."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)}
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name == "kpi_transforms" or name.startswith("kpi_transforms."):
                out.append((name, node.lineno, id(node) in inner))
    return out


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_layer():
    layers = {_layer(m) for m in _modules()} - {"__init__"}
    assert layers <= set(ALLOWED), sorted(layers - set(ALLOWED))


def test_imports_only_go_down():
    modules = _modules()
    wrong = []
    for module, path in modules.items():
        layer = _layer(module)
        for name, line, _inner in _imports(path):
            target = _resolve(name, modules)
            if target in (None, module, "kpi_transforms"):
                continue
            if _layer(target) not in ALLOWED.get(layer, set()):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({layer}) imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for name, _line, _inner in _imports(path):
            target = _resolve(name, modules)
            if target not in (None, module, "kpi_transforms"):
                edges[module].add(target)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                cycles.append(sorted(scc))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_no_package_import_hides_in_a_function():
    modules = _modules()
    hidden = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for module, path in modules.items() if _layer(module) != "cli"
        for name, line, inner in _imports(path) if inner
    ]
    assert not hidden, "\n".join(hidden)


def test_a_cycle_is_detected(tmp_path):
    """The cycle check itself can fail: two modules importing each other are reported."""
    pkg = tmp_path / "kpi_transforms" / "core"
    pkg.mkdir(parents=True)
    (tmp_path / "kpi_transforms" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from kpi_transforms.core.b import x\n")
    (pkg / "b.py").write_text("from kpi_transforms.core.a import y\n")
    globals()["PACKAGE"] = tmp_path / "kpi_transforms"
    try:
        try:
            test_no_import_cycle()
        except AssertionError as exc:
            assert "kpi_transforms.core.a" in str(exc) and "kpi_transforms.core.b" in str(exc)
        else:
            raise AssertionError("the cycle was not reported")
    finally:
        globals()["PACKAGE"] = Path(__file__).resolve().parents[1] / "kpi_transforms"
