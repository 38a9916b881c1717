"""No import of Vigil's own modules inside a function (issue 21).

An import moved into a function body to dodge an import cycle is still a cycle: the modules
still depend on each other, only the failure moved from start-up to the first call. So every
import of `app...` or `vigil_agent...` (and every relative import) in app/ and vigil_agent/
sits at module level, where import-linter's contracts and a cycle show up at once. A cycle is
broken by inverting a dependency (a lower module, a registry, an event), never by moving the
import (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "vigil_agent")

# (importing module, imported module) pairs not fixed yet. Empty: every import of Vigil's
# modules sits at module level. Never add one; invert the dependency instead.
ALLOWED: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The first-party modules an import statement names ([] for a third-party one)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES]
    if node.level:  # relative: resolved against the importing module's package
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return [".".join(base + ([node.module] if node.module else []))]
    if node.module and node.module.split(".")[0] in PACKAGES:
        return [node.module]
    return []


def imports_in_functions(source: str, module: str, is_package: bool) -> set[tuple[str, int]]:
    """(imported module, line) for every first-party import inside a function, method or lambda
    (at any depth) of one module's source."""
    found = set()
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.update((imported, node.lineno) for imported in imported_modules(node, module, is_package))
    return found


def function_level_imports() -> list[tuple[str, str, str]]:
    """(module, imported, "path:line") for every first-party import inside a function in app/ and
    vigil_agent/."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = module_name(path)
            for imported, line in imports_in_functions(path.read_text(encoding="utf-8"), module,
                                                       path.name == "__init__.py"):
                found.append((module, imported, f"{path.relative_to(ROOT)}:{line}"))
    return found


def test_no_function_level_imports_of_vigil_modules():
    offending = sorted({f"{where}: {module} imports {imported}"
                        for module, imported, where in function_level_imports()
                        if (module, imported) not in ALLOWED})
    assert not offending, ("Imports of Vigil's modules inside functions (move them to module level; if that "
                           "makes a cycle, invert the dependency):\n" + "\n".join(offending))


def test_the_allowlist_names_only_imports_that_still_exist():
    """A fixed pair leaves the list with its fix, so the list only ever shrinks."""
    present = {(module, imported) for module, imported, _ in function_level_imports()}
    assert not ALLOWED - present, f"fixed, delete from ALLOWED: {sorted(ALLOWED - present)}"


def test_the_check_sees_imports_in_methods_nested_functions_and_relative_ones():
    """The walker is not blind: a method's import, a nested function's and a relative one count;
    a third-party import and a module-level one do not."""
    source = ("from app.models import Device\n"
              "class A:\n    def m(self):\n        from app.models import db\n"
              "def f():\n    def g():\n        from . import sibling\n        import os\n"
              "        import vigil_agent.simulate\n")
    found = imports_in_functions(source, "app.fleet.jobs", is_package=False)
    assert found == {("app.models", 4), ("app.fleet", 7), ("vigil_agent.simulate", 9)}
    assert imports_in_functions("def h():\n    from .views import x\n", "app.fleet", is_package=True) == {
        ("app.fleet.views", 2)}
