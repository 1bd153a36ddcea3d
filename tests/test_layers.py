"""The import layers: bot -> storage -> rules -> scanners, one way, and no import circle anywhere.

Parsed from the source (function-level imports included), so a lazy import inside a function cannot hide an
edge. Imports only type checkers see (``if TYPE_CHECKING:``) count too, for layers and for circles alike: a
type-only loop is still two modules that cannot be understood, or moved, one without the other."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"scanners": 0, "rules": 1, "storage": 2, "bot": 3}
NAMESPACE = "skywarden."


def _modules(root: Path) -> dict[str, Path]:
    mods = {}
    for top in LAYERS:
        for path in (root / top).rglob("*.py"):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                hidden.update(id(n) for n in ast.walk(child))
    return hidden


def import_graph(root: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(every import edge, the edges that run) between first-party modules under ``root``."""
    mods = _modules(root)
    every: dict[str, set[str]] = defaultdict(set)
    runtime: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        hidden = _type_checking_nodes(tree)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                target = target.removeprefix(NAMESPACE)
                if target in mods and target != name:
                    every[name].add(target)
                    if id(node) not in hidden:
                        runtime[name].add(target)
    return every, runtime


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if LAYERS[b.split(".")[0]] > LAYERS[a.split(".")[0]])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    nodes = sorted(set(graph) | {t for targets in graph.values() for t in targets})
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
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


def _describe(graph: dict[str, set[str]], component: list[str]) -> str:
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "circle: " + "; ".join(edges)


def test_no_module_imports_a_higher_layer() -> None:
    every, _ = import_graph(ROOT)
    assert upward_imports(every) == [], "upward imports (bot -> storage -> rules -> scanners only)"


def test_no_import_circle() -> None:
    every, _ = import_graph(ROOT)
    assert [_describe(every, c) for c in cycles(every)] == []


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for top in LAYERS:
        (root / top).mkdir(exist_ok=True)


@pytest.mark.parametrize("style", ["module level", "inside a function", "skywarden namespace"])
def test_the_checks_catch_an_upward_import_and_a_circle(tmp_path: Path, style: str) -> None:
    prefix = NAMESPACE if style == "skywarden namespace" else ""
    indent = "def f():\n    " if style == "inside a function" else ""
    _write(tmp_path, {
        "scanners/__init__.py": "",
        "scanners/low.py": f"{indent}from {prefix}rules import alpha\n",
        "rules/__init__.py": "",
        "rules/alpha.py": f"{indent}from {prefix}rules.beta import load\n",
        "rules/beta.py": f"{indent}import {prefix}rules.alpha\n",
    })
    every, runtime = import_graph(tmp_path)
    assert upward_imports(every) == ["scanners.low -> rules", "scanners.low -> rules.alpha"]
    assert cycles(runtime) == [["rules.alpha", "rules.beta"]]


def test_a_type_checking_import_counts_for_layers_and_circles(tmp_path: Path) -> None:
    _write(tmp_path, {
        "scanners/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.b import B\n",
        "bot/b.py": "from scanners.a import A\n",
    })
    every, runtime = import_graph(tmp_path)
    assert upward_imports(every) == ["scanners.a -> bot.b"]
    assert cycles(every) == [["bot.b", "scanners.a"]]
    assert cycles(runtime) == []  # only the type checker would ever see this loop


def third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_bot_core_uses_neither_slack_nor_click() -> None:
    """bot/core/ is what the Slack app, the console and the CLI share: none of their libraries belongs there."""
    offenders = {str(path.relative_to(ROOT)): sorted(third_party_imports(path) & {"slack_sdk", "slack_bolt", "click"})
                 for path in sorted((ROOT / "bot" / "core").rglob("*.py"))}
    assert {name: libs for name, libs in offenders.items() if libs} == {}
    assert third_party_imports(ROOT / "bot" / "slack" / "app.py") >= {"slack_bolt"}  # the check sees them


_SQL_CALLS = {"execute", "executemany", "executescript", "query"}


def sql_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SQL_CALLS]


def test_storage_owns_the_sql() -> None:
    """The bot asks storage/ (functions named after what they read or write), it never writes SQL itself."""
    assert [call for path in sorted((ROOT / "bot").rglob("*.py")) for call in sql_calls(path)] == []
    assert sql_calls(ROOT / "storage" / "finding_views.py")  # the check sees them


COMPONENTS = ("bot.core.", "bot.slack.posting", "bot.slack.remediation", "bot.slack.charts", "bot.slack.guards",
              "bot.slack.routing", "bot.slack.blocks")


def test_services_is_a_container_built_in_one_place() -> None:
    """bot/wiring.py builds every component and the ``Services`` that holds them; ``Services`` builds nothing, and
    the components never import it (each was handed what it uses)."""
    every, _ = import_graph(ROOT)
    assert sorted(m for m, targets in every.items() if "bot.services" in targets and m.startswith(COMPONENTS)) == []
    assert {t for t in every["bot.services"] if t.startswith("bot.")} <= {
        t for t in every["bot.services"] if t.startswith(("bot.core.", "bot.slack.charts"))}
    tree = ast.parse((ROOT / "bot" / "services.py").read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "__post_init__"]
    builders = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "bot").rglob("*.py")
                      for node in ast.walk(ast.parse(path.read_text()))
                      if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Services")
    assert builders == ["bot/wiring.py"]
