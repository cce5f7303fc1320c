"""The layering rule, read from the source: which module may import which.

Floors, bottom up (docs/architecture.md): the foundation, the store, the pure analysis core,
the services that join analysis to a workspace, then beside them the generator stage (which
sees only the foundation and the store), the workflows above both, and the surfaces (CLI,
app, reports) on top. Each module imports only from its own floor or those below; a core
module that no floor names fails the test, so a new module is placed on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("curator", "generators", "app", "reports")

FOUNDATION = ("curator.errors", "curator.fileio", "curator.hashing", "curator.paths",
              "curator.schema", "curator.results", "curator.images", "curator.validation",
              "curator.version", "curator.executors", "curator.requests", "curator.splits",
              "curator.query")
STORE = ("curator", "curator.store", "curator.ingest", "curator.doctor")
# The pure analysis core: computes on arrays and frames; never opens a workspace.
ANALYSIS = ("curator.neighbors", "curator.stats", "curator.strata", "curator.select",
            "curator.gap", "curator.balance", "curator.bias", "curator.coverage",
            "curator.label_quality", "curator.oversample", "curator.oversample_imblearn",
            "curator.generative", "curator.experiments", "curator.ratio_plan",
            "curator.provenance", "curator.embed.base", "curator.embed.pixels",
            "curator.embed.attributes", "curator.embed.cnn", "curator.embed.precomputed",
            "curator.embed.registry", "curator.tuning")
# Analysis joined to a workspace: read vectors and rows, save subsets, indices, exports.
SERVICES = ("curator.embed", "curator.embed.engine", "curator.embed.map2d", "curator.embed.store",
            "curator.index_store", "curator.subsets", "curator.manifest", "curator.export",
            "curator.explore")
FLOORS = {"foundation": FOUNDATION, "store": STORE, "analysis": ANALYSIS,
          "services": SERVICES}
MAY_IMPORT = {"foundation": ("foundation",), "store": ("foundation", "store"),
              "analysis": ("foundation", "analysis"),
              "services": ("foundation", "store", "analysis", "services")}
SURFACE_ONLY = ("typer", "streamlit", "rich", "pyrender", "generators", "app", "reports")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str | None = None) -> set[str]:
    """Every module a file imports (module level or inside functions), absolute names;
    ``from X import y`` counts as ``X`` and ``X.y``."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = absolute(node, package)
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def within(module: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def floor_of(module: str) -> str | None:
    """The floor of a core module: the longest prefix that names it wins."""
    best, found = -1, None
    for floor, prefixes in FLOORS.items():
        for p in prefixes:
            if within(module, (p,)) and len(p) > best:
                best, found = len(p), floor
    return found


def is_core(path: Path) -> bool:
    name = module_name(path)
    return not (within(name, ("curator.workflows", "curator.cli")) or name == "curator.__main__")


def violations(paths: list[Path], bad: Callable[[str, str], bool]) -> list[str]:
    """``file imports module`` for each import where ``bad(importer, imported)``."""
    return [f"{path.relative_to(ROOT)} imports {mod}" for path in paths
            for mod in sorted(imports_of(path)) if bad(module_name(path), mod)]


def test_every_core_module_has_a_floor():
    assert [module_name(p) for p in sources("curator")
            if is_core(p) and floor_of(module_name(p)) is None] == []


def test_each_floor_imports_only_from_itself_and_below():
    core = [p for p in sources("curator") if is_core(p)]

    def bad(importer: str, mod: str) -> bool:
        if not within(mod, ("curator",)):
            return False
        target = floor_of(mod)
        if target is None:  # workflows, the CLI, or a module no floor names
            return True
        return target not in MAY_IMPORT[floor_of(importer)]
    assert violations(core, bad) == []


def test_core_imports_no_generator_workflow_or_surface():
    core = [p for p in sources("curator") if is_core(p)]

    def bad(_: str, mod: str) -> bool:
        return within(mod, SURFACE_ONLY + ("curator.workflows", "curator.cli"))
    assert violations(core, bad) == []


def test_generators_use_only_the_foundation_and_the_store():
    def bad(_: str, mod: str) -> bool:
        if within(mod, ("curator",)):
            return floor_of(mod) not in ("foundation", "store") or mod == "curator"
        return within(mod, ("app", "reports"))
    assert violations(sources("generators"), bad) == []


def test_workflows_are_not_imported_from_below():
    below = sources("generators") + [p for p in sources("curator") if is_core(p)]
    assert violations(below, lambda _, mod: within(mod, ("curator.workflows",))) == []


@pytest.mark.parametrize("package", ["app", "reports"])
def test_surfaces_do_not_import_the_cli(package):
    def bad(_: str, mod: str) -> bool:
        return within(mod, ("curator.cli",)) or (package == "reports" and within(mod, ("app",)))
    assert violations(sources(package), bad) == []


def private_imports(path: Path, name: str | None = None) -> list[str]:
    """``_private`` names imported from another of our modules (absolute or relative)."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            mod = absolute(node, package)
            if mod.split(".")[0] in PACKAGES and mod != name:
                found += [f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
                          f"{mod}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_private_names_imported_across_modules():
    assert [f for path in sources(*PACKAGES) for f in private_imports(path)] == []


def test_no_core_module_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in sources("curator")
            if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}


# -- the checker itself: planted faults are found ------------------------------------------
def _planted(tmp_path: Path, text: str, name: str) -> list[str]:
    probe = tmp_path / "probe.py"
    probe.write_text(text)
    importer_floor = floor_of(name)
    out = []
    for mod in sorted(imports_of(probe, name)):
        target = floor_of(mod) if within(mod, ("curator",)) else "third-party"
        if target is None or (target != "third-party" and importer_floor is not None
                              and target not in MAY_IMPORT[importer_floor]):
            out.append(mod)
    return out


@pytest.mark.parametrize(("name", "text", "found"), [
    ("curator.gap.probe", "from curator.embed import load_embedding\n",
     ["curator.embed", "curator.embed.load_embedding"]),
    ("curator.store", "from curator.gap import kid\n", ["curator.gap", "curator.gap.kid"]),
    ("curator.validation", "import curator.store\n", ["curator.store"]),
    ("curator.select.probe", "def f():\n    from curator.workflows import fill\n",
     ["curator.workflows", "curator.workflows.fill"]),
    ("curator.neighbors", "from curator.subsets import save_subset\n",
     ["curator.subsets", "curator.subsets.save_subset"]),
])
def test_upward_imports_are_found(tmp_path, name, text, found):
    assert _planted(tmp_path, text, name) == found


def test_relative_private_imports_are_found(tmp_path):
    probe = tmp_path / "coverage.py"
    probe.write_text("from .mix import _near_anchors\nfrom . import _helper\n")
    assert [f.split(": ")[1] for f in private_imports(probe, "curator.select.coverage")] == [
        "curator.select.mix._near_anchors", "curator.select._helper"]
