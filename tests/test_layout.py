"""The layout: three layers with arrows only downward, diffusion_proofs -> montecarlo -> proofs.

The import graph is built with ``ast`` from every module of the three packages, imports inside functions
included and relative imports resolved. It fails on an upward import (proofs importing montecarlo,
diffusion_proofs or torch; montecarlo importing diffusion_proofs) and on any circular import between
modules. The checker is itself tested on a synthetic package that has both faults.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("proofs", "montecarlo", "diffusion_proofs")
#: layer of each package: an import may only go to the same layer or a lower one
LAYERS = {"proofs": 0, "montecarlo": 1, "diffusion_proofs": 2}
#: third-party packages a layer must not import (proofs is pure SymPy)
FORBIDDEN = {"proofs": {"torch", "diffusers", "matplotlib"}}
MAIN_ALLOWED = {"diffusion_proofs/__main__.py"}


def modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """{dotted module name: file} for every .py file of ``packages`` under ``root``."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module ``name`` imports (anywhere in the file, functions included): a known module when the
    import names one (the longest known prefix, ``from pkg import submodule`` included), else the imported
    top-level name. Imports under ``if TYPE_CHECKING:`` are skipped: they never run."""
    package = name if _is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str):
        parts = target.split(".")
        for k in range(len(parts), 0, -1):
            if ".".join(parts[:k]) in known:
                found.add(".".join(parts[:k]))
                return
        found.add(parts[0])

    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _type_checking(block.test)
                 for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                add(sub if sub in known else source)
    found.discard(name)  # `from . import x` inside pkg/__init__ resolves to pkg.x, never to itself
    return found


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports(name, path, known) for name, path in known.items()}


def upward_imports(graph: dict[str, set[str]], layers=LAYERS, forbidden=FORBIDDEN) -> list[str]:
    bad = []
    for source, targets in sorted(graph.items()):
        top = source.split(".")[0]
        for target in sorted(targets):
            dest = target.split(".")[0]
            if dest in layers and layers[dest] > layers[top]:
                bad.append(f"{source} imports {target} (layer {dest} is above {top})")
            if dest in forbidden.get(top, ()):
                bad.append(f"{source} imports {target} ({top} must not load {dest})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def main_blocks(root: Path, packages=PACKAGES) -> list[str]:
    """Files with an ``if __name__ == "__main__":`` block."""
    found = []
    for name, path in modules(root, packages).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "__name__" \
                    and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.comparators):
                found.append(path.relative_to(root).as_posix())
                break
    return found


# ----- the project ---------------------------------------------------------------------------------------
def test_the_three_packages_exist_with_modules():
    graph = import_graph(ROOT)
    for package in PACKAGES:
        assert package in graph and sum(m.startswith(package + ".") for m in graph) >= 3, package


def test_no_upward_import():
    assert upward_imports(import_graph(ROOT)) == []


def test_no_circular_import_between_modules():
    assert cycles(import_graph(ROOT)) == []


def test_import_proofs_loads_neither_torch_nor_montecarlo():
    code = ("import sys, json, proofs; print(json.dumps(sorted(m for m in ('torch', 'montecarlo', 'diffusion_proofs', "
            "'diffusers', 'matplotlib') if m in sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_no_main_blocks_except_the_one_entry_point():
    assert set(main_blocks(ROOT)) <= MAIN_ALLOWED
    assert (ROOT / "diffusion_proofs" / "__main__.py").is_file()


# ----- the checker catches what it must ------------------------------------------------------------------
def _write(root: Path, files: dict[str, str]):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_checker_finds_cycles_upward_imports_and_main_blocks(tmp_path):
    _write(tmp_path, {
        "proofs/__init__.py": "",
        "proofs/a.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from .c import Hint       # never runs: no edge
            def f():
                from .b import g          # inside a function, relative
                return g
        """,
        "proofs/c.py": "from .a import f\n",
        "proofs/b.py": """
            from proofs import a          # `from package import module`: a cycle a <-> b
            def g():
                import torch              # a pure-SymPy layer loading torch
                from montecarlo.x import y  # upward
        """,
        "proofs/sub/__init__.py": "from ..a import f\n",
        "montecarlo/__init__.py": "",
        "montecarlo/x.py": """
            import proofs.sub
            y = 1
            if __name__ == "__main__":
                print(y)
        """,
        "montecarlo/z.py": "from diffusion_proofs import cli\n",
        "diffusion_proofs/__init__.py": "",
        "diffusion_proofs/cli.py": "from montecarlo import x\nfrom . import helpers\n",
        "diffusion_proofs/helpers.py": "from .cli import main\n",
        "diffusion_proofs/__main__.py": "if __name__ == '__main__':\n    pass\n",
    })
    graph = import_graph(tmp_path)
    assert graph["proofs.a"] == {"typing", "proofs.b"} and "proofs.a" in graph["proofs.b"]
    assert graph["proofs.sub"] == {"proofs.a"} and graph["diffusion_proofs.cli"] == {"montecarlo.x",
                                                                                     "diffusion_proofs.helpers"}
    assert cycles(graph) == [["diffusion_proofs.cli", "diffusion_proofs.helpers"],
                             ["montecarlo.x", "proofs.a", "proofs.b", "proofs.sub"]]  # b -> x -> sub -> a -> b
    bad = upward_imports(graph)
    assert any("proofs.b imports torch" in b for b in bad)
    assert any("proofs.b imports montecarlo.x" in b for b in bad)
    assert any("montecarlo.z imports diffusion_proofs.cli" in b for b in bad)
    assert not any(b.startswith("diffusion_proofs") for b in bad)  # downward is fine
    assert set(main_blocks(tmp_path)) == {"montecarlo/x.py", "diffusion_proofs/__main__.py"}


def test_the_checker_passes_a_clean_layout(tmp_path):
    _write(tmp_path, {
        "proofs/__init__.py": "from .a import f\n",
        "proofs/a.py": "import sympy\ndef f():\n    return sympy.S.One\n",
        "montecarlo/__init__.py": "",
        "montecarlo/x.py": "import torch\nfrom proofs import f\n",
        "diffusion_proofs/__init__.py": "",
        "diffusion_proofs/cli.py": "def main():\n    from montecarlo.x import f\n    return f\n",
    })
    graph = import_graph(tmp_path)
    assert cycles(graph) == [] and upward_imports(graph) == [] and main_blocks(tmp_path) == []
