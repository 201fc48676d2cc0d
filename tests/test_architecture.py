"""The package's shape: no import cycles, views never import views, and only the request
helper (``orders/visitor.py``) asks whether the visitor is a guest or a customer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import shop

ROOT = Path(shop.__file__).parent
#: Modules that hold routes (HTML pages or JSON endpoints).
VIEW_MODULES = re.compile(
    r"(views|api|account)$|^shop\.admin\.(audit|jobs|orders|pricing|product_sheets|products|users)$"
)


def _modules() -> dict[str, ast.Module]:
    """``{dotted name: parsed module}`` for every module of the package."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The package modules ``name`` imports, at any depth of its code."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shop"):
            candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        # ``from shop.orders import bp`` imports the package, ``... import views`` the module.
        for c in candidates:
            if c in known and c != name:
                out.add(c)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, tree, known) for name, tree in modules.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen, todo = set(), list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules that reach themselves, grouped by the set of modules on their cycle."""
    reach = {m: _reachable(graph, m) for m in graph}
    groups = {frozenset(n for n in reach[m] if m in reach[n]) | {m} for m in graph if m in reach[m]}
    return sorted(sorted(g) for g in groups)


def test_no_import_cycles():
    # A package's __init__ importing its own submodule is how blueprints are declared;
    # every other cycle is a layering mistake.
    graph = _graph()
    cycles = [c for c in _cycles(graph) if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]
    assert cycles == []


def test_views_never_import_views():
    graph = _graph()
    view_imports = [
        (m, t)
        for m, targets in graph.items()
        if VIEW_MODULES.search(m)
        for t in targets
        if VIEW_MODULES.search(t)
    ]
    assert view_imports == []


def test_only_the_request_helper_asks_who_is_shopping():
    cart_and_checkout = [
        "orders/cart.py",
        "orders/cart_lines.py",
        "orders/checkout.py",
        "orders/views.py",
        "orders/checkout_views.py",
        "orders/api.py",
    ]
    asking = re.compile(r"is_authenticated|is_anonymous|\bguest_|_guest\b|session\[")
    offenders = [
        f"{name}:{number}"
        for name in cart_and_checkout
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1)
        if asking.search(line)
    ]
    assert offenders == []


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert _cycles(graph) == [["a", "b", "c"], ["e"]]
