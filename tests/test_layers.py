"""The layering rule, read from the source: which package may import which.

Floors, bottom up: the foundation (errors, files, hashing, schema, results, images,
executors), the store, the pure analysis core, the generator stage, the workflows, and the
surfaces (CLI, app, reports). Each imports only from floors below it (docs/architecture.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("curator", "generators", "app", "reports")

# What generators/ may use of the core: infrastructure, never analysis or workflows.
GENERATOR_ALLOWED = {
    "curator.errors", "curator.fileio", "curator.hashing", "curator.paths", "curator.schema",
    "curator.results", "curator.images", "curator.executors", "curator.store",
    "curator.requests", "curator.validation", "curator.version",
}
# The pure analysis core: computes on arrays and frames, no workspace I/O.
ANALYSIS = ("curator.neighbors", "curator.stats", "curator.strata", "curator.select",
            "curator.gap", "curator.balance", "curator.bias", "curator.coverage",
            "curator.label_quality", "curator.oversample", "curator.oversample_imblearn",
            "curator.generative",
            "curator.experiments", "curator.ratio_plan", "curator.requests",
            "curator.provenance")
WORKSPACE_IO = ("curator.store", "curator.embed.store", "curator.subsets", "curator.manifest")
SURFACE_ONLY = ("typer", "streamlit", "rich")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions, absolute names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def within(module: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def is_core(path: Path) -> bool:
    name = module_name(path)
    return not (within(name, ("curator.workflows",)) or name.startswith("curator.cli"))


def violations(paths: list[Path], bad: callable) -> list[str]:  # type: ignore[valid-type]
    return [f"{path.relative_to(ROOT)} imports {mod}"
            for path in paths for mod in sorted(imports_of(path)) if bad(mod)]


def test_generators_use_only_the_core_infrastructure():
    def bad(mod: str) -> bool:
        if within(mod, ("curator",)) and mod != "curator":
            return not within(mod, GENERATOR_ALLOWED)
        return within(mod, ("app", "reports")) or mod == "curator"
    assert violations(sources("generators"), bad) == []


def test_core_imports_no_generator_workflow_or_surface():
    core = [p for p in sources("curator") if is_core(p)]

    def bad(mod: str) -> bool:
        return (within(mod, ("generators", "app", "reports", "curator.workflows", "pyrender")
                       + SURFACE_ONLY) or mod.startswith("curator.cli"))
    assert violations(core, bad) == []


def test_analysis_modules_do_no_workspace_io():
    analysis = [p for p in sources("curator") if within(module_name(p), ANALYSIS)]
    assert len(analysis) >= len(ANALYSIS) - 1  # the list names real modules
    assert violations(analysis, lambda mod: within(mod, WORKSPACE_IO)) == []


def test_workflows_are_not_imported_from_below():
    below = sources("generators") + [p for p in sources("curator") if is_core(p)]
    assert violations(below, lambda mod: within(mod, ("curator.workflows",))) == []


@pytest.mark.parametrize("package", ["app", "reports"])
def test_surfaces_do_not_import_the_cli(package):
    def bad(mod: str) -> bool:
        return mod.startswith("curator.cli") or (package == "reports" and within(mod, ("app",)))
    assert violations(sources(package), bad) == []


def test_no_private_names_imported_across_modules():
    found = []
    for path in sources(*PACKAGES):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                    and node.module.split(".")[0] in PACKAGES:
                found += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                          for a in node.names if a.name.startswith("_")
                          and not a.name.startswith("__")]
    assert found == []


def test_no_core_module_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in sources("curator")
            if (n := len(p.read_text().splitlines())) > 520}
    assert long == {}


def test_rules_see_real_violations(tmp_path):
    """The checker itself: a planted upward import is found."""
    planted = ROOT / "generators" / "_planted_layer_probe.py"
    planted.write_text("from curator.neighbors import NeighborIndex\n")
    try:
        found = violations([planted], lambda mod: within(mod, ("curator.neighbors",)))
    finally:
        planted.unlink()
    assert found == ["generators/_planted_layer_probe.py imports curator.neighbors",
                     "generators/_planted_layer_probe.py imports curator.neighbors.NeighborIndex"]
