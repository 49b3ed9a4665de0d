"""`import dgnb` stays light: heavy parts load on first use."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["matplotlib", "ipywidgets", "pydub", "pandas", "numpy", "websockets", "anywidget", "dgnb.local"]


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_dgnb_and_make_a_client_loads_nothing_heavy():
    mods = loaded_after("import dgnb\ndg = dgnb.Client(api_key='k', url='http://127.0.0.1:9')\ndg.listen")
    assert not [m for m in HEAVY if m in mods]
    assert "httpx" in mods  # made on the client's construction, not on import


def test_plain_import_does_not_even_load_httpx():
    assert "httpx" not in loaded_after("import dgnb")


def _type_only_lines(path) -> set[int]:
    """Line numbers of the imports under ``if TYPE_CHECKING:`` in one source file."""
    import ast

    lines = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            lines |= {n.lineno for body in node.body for n in ast.walk(body) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def test_no_import_circle():
    """No two modules need each other at run time. Imports for type checking do not count, nor the
    one allowed lazy upward import (an object drawing itself, listed in pyproject's import-linter
    ignore_imports)."""
    import tomllib
    from pathlib import Path

    import grimp

    root = Path(__file__).resolve().parents[1]
    allowed = set()
    for contract in tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]:
        allowed |= {tuple(x.strip() for x in line.split("->")) for line in contract.get("ignore_imports", [])}
    graph = grimp.build_graph("dgnb", include_external_packages=False)
    type_only = {}

    def runtime(importer: str, imported: str) -> bool:
        if (importer, imported) in allowed:
            return False
        if importer not in type_only:
            module = root / (importer.replace(".", "/") + ".py")
            type_only[importer] = _type_only_lines(module if module.exists() else module.with_suffix("") / "__init__.py")
        details = graph.get_import_details(importer=importer, imported=imported)
        return any(d["line_number"] not in type_only[importer] for d in details)

    edges = {m: {n for n in graph.find_modules_directly_imported_by(m) if runtime(m, n)} for m in graph.modules}
    # Tarjan's strongly connected components: every one must be a single module
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert not circles, circles
