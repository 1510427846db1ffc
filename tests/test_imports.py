"""The import graph of codegen_lib: no cycle, and no module takes another module's private name.

Every ``import`` / ``from ... import`` in every module is read with ``ast``, wherever it stands
(module level or inside a function: a lazy import still ties two modules together). Imports under
``if TYPE_CHECKING:`` are left out: they never run. An edge goes from the importing module to the
module it names; ``from package import submodule`` goes to the submodule.

A name is private when it starts with ``_`` (dunders such as ``__version__`` are public). A private
*module* (``viz/_common.py``) may be imported by the modules of its own package only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "codegen_lib"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    skip.update(id(n) for n in ast.walk(child))
    return skip


def import_graph(root: Path = ROOT, package: str = PACKAGE):
    """``(modules, edges, private_imports)`` of ``package`` under ``root``.

    ``edges``: ``{module: {(imported module, line)}}``; ``private_imports``: ``[(module, line, what)]``.
    """
    files = sorted((root / package).rglob("*.py"))
    modules = {_module_name(p, root): p for p in files}
    edges: dict[str, set[tuple[str, int]]] = {m: set() for m in modules}
    private: list[tuple[str, int, str]] = []
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = _type_checking_nodes(tree)
        is_pkg = path.name == "__init__.py"
        here = mod if is_pkg else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets: list[tuple[str, str | None]] = []  # (module, name imported from it or None)
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [(base, a.name) for a in node.names]
            for target, name in targets:
                if not (target == package or target.startswith(package + ".")):
                    continue
                if name is not None and f"{target}.{name}" in modules:  # from package import submodule
                    target, name = f"{target}.{name}", None
                if target not in modules:
                    continue
                if target != mod:
                    edges[mod].add((target, node.lineno))
                if name is not None and _private(name) and target != mod:
                    private.append((mod, node.lineno, f"{name} from {target}"))
                hidden = [p for p in target.split(".") if _private(p)]
                if hidden:
                    owner = target.rpartition(".")[0]  # the package the private module belongs to
                    if not (mod == owner or mod.startswith(owner + ".")):
                        private.append((mod, node.lineno, f"private module {target}"))
    return modules, edges, private


def find_cycle(edges: dict[str, set[tuple[str, int]]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None."""
    graph = {m: sorted({t for t, _ in targets}) for m, targets in edges.items()}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in graph.get(m, ()):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_the_graph_sees_every_module_and_lazy_imports():
    modules, edges, _ = import_graph()
    assert {"codegen_lib.corpora", "codegen_lib.corpora.mix", "codegen_lib.data", "codegen_lib.io"} <= set(modules)
    # data.real_prompts imports hub inside the function: a function-level import is an edge too
    assert "codegen_lib.hub" in {t for t, _ in edges["codegen_lib.data"]}


def test_no_import_cycle():
    _, edges, _ = import_graph()
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_private_name_crosses_a_module():
    _, _, private = import_graph()
    assert not private, "\n".join(f"{m}:{line} imports {what}" for m, line, what in private)


def test_mix_sits_above_the_sources():
    _, edges, _ = import_graph()
    targets = {t for t, _ in edges["codegen_lib.corpora.mix"]}
    assert "codegen_lib.corpora" not in targets and "codegen_lib.data" not in targets
    assert {"codegen_lib.corpora.xlcost", "codegen_lib.corpora.mbpp"} <= targets


# The checker itself: a small package with a cycle through a lazy import, and a private import.
@pytest.fixture()
def toy(tmp_path):
    pkg = tmp_path / "codegen_lib"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from codegen_lib.b import g\n\ndef f():\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    from codegen_lib import c\n    return c\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from codegen_lib.a import f\n_x = 1\n")
    (pkg / "sub" / "__init__.py").write_text("from ._inner import helper\n")
    (pkg / "sub" / "_inner.py").write_text("def helper():\n    return 1\n")
    return tmp_path


def test_checker_finds_a_cycle_through_a_function_level_import(toy):
    _, edges, private = import_graph(toy)
    assert find_cycle(edges) is None and private == []  # TYPE_CHECKING and package-internal are fine
    (toy / "codegen_lib" / "c.py").write_text("def h():\n    from codegen_lib.a import f\n    return f\n")
    _, edges, _ = import_graph(toy)
    assert find_cycle(edges) == ["codegen_lib.a", "codegen_lib.b", "codegen_lib.c", "codegen_lib.a"]


def test_checker_finds_private_imports(toy):
    (toy / "codegen_lib" / "d.py").write_text(
        "from codegen_lib.c import _x\nfrom codegen_lib.sub._inner import helper\n")
    _, _, private = import_graph(toy)
    assert sorted(what for _, _, what in private) == [
        "_x from codegen_lib.c", "private module codegen_lib.sub._inner"]


def test_the_package_map_lists_every_module():
    """``codegen_lib.__doc__`` names every module (and every corpus module) in its map."""
    import re

    import codegen_lib

    words = set()  # the names a map line starts with: "train   07   ..." or "xlcost, xlcost_tokens   ..."
    for line in codegen_lib.__doc__.splitlines():
        head = re.split(r"\s{2,}", line.strip())[0]
        if line.startswith("    ") and re.fullmatch(r"[a-z_]+/?(, [a-z_]+)*", head):
            words.update(head.split(", "))
    modules, _, _ = import_graph()
    missing = []
    for mod in modules:
        parts = mod.split(".")[1:]
        if not parts or parts[-1].startswith("_"):
            continue  # the package itself, __main__, private modules
        if len(parts) == 1:
            name = parts[0] + ("/" if (ROOT / PACKAGE / parts[0]).is_dir() else "")
        elif parts[0] == "corpora":
            name = parts[-1]
        else:
            continue  # viz/ is listed as a folder
        if name not in words:
            missing.append(mod)
    assert not missing, f"not in codegen_lib/__init__.py's map: {missing}"
