"""The package's shape: worker processes load no web stack, and no module of `service` imports itself back."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_STACK = ("strawberry", "starlette", "uvicorn", "graphql")
WORKER_ENTRY_POINTS = ("service.projection.process", "service.projection.bulk_judge", "service.projection.rebuild")


@pytest.mark.parametrize("module", WORKER_ENTRY_POINTS)
def test_a_worker_process_entry_point_imports_no_web_stack(module: str) -> None:
    """A spawned worker imports its entry point's module afresh: it must not pay for the API."""
    probe = (
        f"import sys, {module}\n"
        f"print(sorted({{name.split('.')[0] for name in sys.modules}} & set({WEB_STACK!r})))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", f"importing {module} loads {loaded.stdout.strip()}"


def imports_of(path: Path, package: str) -> set[str]:
    """Every `service` module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(package))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if module_path(submodule).exists() else node.module)
    return found


def module_path(name: str) -> Path:
    path = ROOT.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_of_service_imports_itself_back() -> None:
    graph = {module_name(path): imports_of(path, "service") for path in (ROOT / "service").rglob("*.py")}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for imported in sorted(graph.get(module, ())):
            if imported in trail:
                cycles.append(" -> ".join([*trail[trail.index(imported):], imported]))
            elif imported not in done:
                visit(imported, [*trail, imported])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert not cycles, f"import cycles: {cycles}"


def test_only_the_composition_root_and_the_cli_import_the_composition_root() -> None:
    importers = sorted(
        module_name(path) for path in (ROOT / "service").rglob("*.py")
        if "service.bootstrap" in imports_of(path, "service")
    )
    assert importers == ["service.cli"]
