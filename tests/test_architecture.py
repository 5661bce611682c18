"""The shape of the code, checked (ARCHITECTURE.md): imports point down the
layers, nothing calls another object's private methods, modules fit in a head."""

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "aekit"
# top to bottom; a module imports from its own layer (without cycles) or below
LAYERS = [
    {"cli"},
    {"demo"},
    {"report"},
    {"estimators"},
    {"training", "metrics"},
    {"models", "data"},
    {"io", "distributed", "indexing", "errors", "version"},
]
FACADES = {"aekit", "aekit.__main__"}  # the package itself imports everything it offers
MAX_LINES = 450


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def layer(name: str) -> int:
    top = name.split(".")[1]
    return next(i for i, group in enumerate(LAYERS) if top in group)


def imports(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """(the aekit module imported, line, whether inside a function)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if base == "aekit" or base.startswith("aekit."):
                    for alias in child.names:
                        sub = f"{base}.{alias.name}"
                        found.append((sub if sub in modules() else base, child.lineno, inner))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("aekit"):
                        found.append((alias.name, child.lineno, inner))
            visit(child, inner)

    visit(tree, False)
    return found


def test_imports_point_down_the_layers_without_cycles():
    graph = {}
    for name, path in modules().items():
        if name in FACADES:
            continue
        graph[name] = set()
        for target, line, in_function in imports(name, path):
            if target in FACADES or target == name:
                continue
            where = f"{path.relative_to(SRC.parent)}:{line} imports {target}"
            assert layer(target) >= layer(name), f"upward: {where}"
            assert not in_function or name.startswith("aekit.cli"), f"inside a function: {where}"
            graph[name].add(target)
    done, active = set(), []

    def walk(node):  # depth first, a cycle is a node met again on the active path
        if node in active:
            raise AssertionError("import cycle: " + " -> ".join([*active, node]))
        if node in done:
            return
        active.append(node)
        for nxt in graph.get(node, ()):
            if nxt.rpartition(".")[0] != node:  # a package importing its own modules
                walk(nxt)
        active.pop()
        done.add(node)

    for node in graph:
        walk(node)


def test_no_module_imports_another_modules_private_names():
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or "aekit" in (node.module or "")):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not [p for p in private if p != "__version__"], (name, private)


# the one private function of another library aekit calls, with its reason: torch's
# fused Adam kernel (what torch.optim.Adam(fused=True) runs), called once a step with
# one step count for every parameter (aekit.training.adam; tests/test_adam.py holds
# it to torch.optim.Adam's weights, to the bit)
FOREIGN_PRIVATE = {("torch", "_fused_adam_")}


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: p.name)
def test_no_call_to_another_objects_private_method(path):
    calls = re.compile(r"([A-Za-z_][A-Za-z_0-9]*(?:\(\))?|\))\.(_[a-z][a-z_0-9]*)\(")
    for i, line in enumerate(path.read_text().splitlines(), 1):
        for m in calls.finditer(line):
            if m.groups() in FOREIGN_PRIVATE:
                continue
            assert m.group(1) in ("self", "cls", "super()"), f"{path.name}:{i}: {line.strip()}"


def test_modules_fit_in_a_head():
    long = {
        p.name: n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long
