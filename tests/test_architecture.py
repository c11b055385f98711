"""The layers of docs/architecture.md, held by the code's own imports: the pure core never
imports Streamlit, the Streamlit layer or the measurement tools; the app never imports the
measurement tools; and no module imports, at load time, one that imports it back."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SOURCES = sorted(
    [
        ROOT / "app.py",
        *(ROOT / "pages").glob("*.py"),
        *(ROOT / "deepviz").rglob("*.py"),
        *(ROOT / "measure").rglob("*.py"),
    ]
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, at_load_only: bool = False) -> set[str]:
    """The modules `path` imports; with `at_load_only`, only those imported when it loads (not
    inside a function, nor only for type checkers)."""
    tree = ast.parse(path.read_text())
    found = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if at_load_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if at_load_only and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return found


def layer(name: str) -> str:
    if name == "app" or name.startswith("pages"):
        return "pages"
    if under(name, "deepviz.ui"):
        return "ui"
    if under(name, "measure"):
        return "measure"
    return "cli" if name == "deepviz.cli" else "core"


def under(imported: str, prefix: str) -> bool:
    return imported == prefix or imported.startswith(prefix + ".")


MODULES = {module_name(path): path for path in SOURCES}
NOT_FROM = {
    # layer: what it may never import
    "core": ("streamlit", "deepviz.ui", "measure", "pages", "app"),
    "cli": ("streamlit", "deepviz.ui", "pages", "app"),
    "ui": ("measure", "pages", "app"),
    "pages": ("measure", "pages", "app"),
    "measure": ("deepviz.ui", "pages", "app"),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_from_the_layers_below_it(name):
    wrong = sorted(
        imported for imported in imports(MODULES[name]) for banned in NOT_FROM[layer(name)] if under(imported, banned)
    )
    assert not wrong, f"{name} ({layer(name)}) imports {wrong}"


def test_the_cli_imports_the_measurement_tools_only_when_asked_for_them():
    assert not [name for name in imports(MODULES["deepviz.cli"], at_load_only=True) if under(name, "measure")]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph` (module -> modules it imports), one per back edge of a walk."""
    found, state = [], {}  # state: "open" while a module's imports are walked, then "done"

    def walk(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for nxt in sorted(graph[name]):
            if state.get(nxt) == "open":
                found.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*trail, nxt])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    return found


def test_no_module_imports_one_that_imports_it_back():
    graph = {
        name: {imported for imported in imports(path, at_load_only=True) if imported in MODULES and imported != name}
        for name, path in MODULES.items()
    }
    assert cycles(graph) == []
    assert cycles(graph | {"deepviz.config": {"deepviz.ui.shell"}})  # the check can fail


def test_the_rules_see_every_layer():
    # A rule that matched nothing would pass whatever the code did.
    assert {layer(name) for name in MODULES} == set(NOT_FROM)
    assert "streamlit" in imports(MODULES["deepviz.ui.session"])
    assert any(under(name, "measure") for name in imports(MODULES["deepviz.cli"]))
