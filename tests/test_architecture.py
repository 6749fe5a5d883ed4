"""The package's layers import downward only: no circle in the graph of project imports.

Every module of src/clinical_mpt is parsed with `ast`; an edge A -> B is an `import` or `from ... import`
that runs when A is imported (at module level, in a class body, a `try` or an `if`), so imports inside
functions (deferred heavy dependencies) and under `if TYPE_CHECKING:` are left out. A second check adds
the imports inside functions: a function-local import defers a heavy dependency, it may not hide a circle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = "clinical_mpt"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

ROOT = SRC.parents[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_time_imports(tree: ast.Module):
    """The Import / ImportFrom nodes that run when the module is imported."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and _type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        stack.extend(ast.iter_child_nodes(node))


def all_imports(tree: ast.Module):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def targets(node, name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules an import node of module `name` (file `path`) loads."""
    if isinstance(node, ast.Import):
        found = {alias.name for alias in node.names}
    else:
        if node.level:
            package = name if path.name == "__init__.py" else name.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        found = {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return {m for m in found if m in known}


def import_graph(import_nodes=import_time_imports) -> dict[str, set[str]]:
    known = modules()
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = set().union(*[targets(n, name, path, set(known)) for n in import_nodes(tree)]) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle [a, b, ..., a] of `graph`, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in sorted(graph):
        if state.get(root):
            continue
        path, iters = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_cycle_finder_finds_a_circle_and_only_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_inside_functions_and_type_checking_blocks_are_not_edges():
    tree = ast.parse("import os\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import json\n"
                     "def f():\n    import re\nclass C:\n    import sys\ntry:\n    import csv\nexcept ImportError:\n    pass\n")
    names = {alias.name for node in import_time_imports(tree) for alias in node.names}
    assert names == {"os", "TYPE_CHECKING", "sys", "csv"}


@pytest.mark.parametrize("import_nodes", [import_time_imports, all_imports], ids=["module level", "with deferred"])
def test_the_package_has_no_import_circles(import_nodes):
    graph = import_graph(import_nodes)
    assert f"{PACKAGE}.decoding" in graph and graph[f"{PACKAGE}.sharding"]  # the graph really is the package's
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_leaf_modules_import_nothing_of_the_project():
    """hf_compat (version shims) and distributed (collectives) sit at the bottom: not even a deferred import."""
    graph = import_graph(all_imports)
    for leaf in ("hf_compat", "distributed", "errors"):
        assert graph[f"{PACKAGE}.{leaf}"] == set(), f"{leaf} imports {sorted(graph[f'{PACKAGE}.{leaf}'])}"


def test_evaluation_and_serving_decode_with_the_one_decoder():
    graph = import_graph()
    decoder = f"{PACKAGE}.decoding"
    for user in ("predict", "serve.engine"):
        assert decoder in graph[f"{PACKAGE}.{user}"], f"{user} does not decode with {decoder}"
    assert f"{PACKAGE}.generate" not in graph and f"{PACKAGE}.serve.decode" not in graph


def test_protocol_and_method_table_do_not_import_torch():
    code = ("import sys\nimport clinical_mpt.protocol, clinical_mpt.methods.table, clinical_mpt.config\n"
            "import clinical_mpt.recipes.plan, clinical_mpt.recipes.adapt, clinical_mpt.recipes.evaluate\n"
            "print('TORCH' if 'torch' in sys.modules else 'LIGHT')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "LIGHT", proc.stderr[-2000:]
