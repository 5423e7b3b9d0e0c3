"""Apps reach each other only through services, selectors and the auth plumbing, never models or views."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["auth_app", "orders", "file_processor", "notifications", "webhook_tester"]
# What one app may import from another. Tests may build rows of other apps through their services.
PUBLIC_MODULES = {"services", "selectors", "authentication", "ws", "permissions"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _violations(app: str) -> list[str]:
    problems = []
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for lineno, module in _imports(path):
            parts = module.split(".")
            if parts[0] in APPS and parts[0] != app and len(parts) > 1 and parts[1] not in PUBLIC_MODULES:
                problems.append(f"{path.relative_to(ROOT)}:{lineno} imports {module}")
    return problems


@pytest.mark.parametrize("app", APPS)
def test_app_imports_other_apps_only_through_services_and_selectors(app):
    assert _violations(app) == []


def test_common_does_not_import_apps():
    offenders = [
        f"{path.relative_to(ROOT)}:{lineno} imports {module}"
        for path in sorted((ROOT / "common").rglob("*.py"))
        if "tests" not in path.parts
        for lineno, module in _imports(path)
        if module.split(".")[0] in APPS
    ]
    assert offenders == []
