"""What import-linter (pyproject.toml, `make lint`) cannot see about the boundaries between apps.

- Imports: apps reach each other only through public modules (a generic allow-list, so a new app is
  covered before it writes its own import-linter contract).
- `get_user_model()` queries outside auth_app: the user table belongs to auth_app; other apps ask its
  selectors (the model's `_meta` for a foreign key or a join is fine).
- Dotted-path strings (`import_string`, Celery task names, settings): a string naming another app's
  private module is an import in disguise; `common` names no app at all.
"""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["auth_app", "orders", "file_processor", "notifications", "webhook_tester"]
# What one app may import from another. Tests may build rows of other apps through their services.
PUBLIC_MODULES = {"services", "selectors", "streams", "authentication", "ws", "permissions"}
DOTTED = re.compile(rf"^({'|'.join(APPS)})\.([A-Za-z_]\w*)")
MANAGERS = {"objects", "_default_manager", "_base_manager"}


def _sources(package: str, *, tests: bool = True) -> Iterator[Path]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts or (not tests and "tests" in path.parts):
            continue
        yield path


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _violations(app: str) -> list[str]:
    problems = []
    for path in _sources(app):
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
        for path in _sources("common", tests=False)
        for lineno, module in _imports(path)
        if module.split(".")[0] in APPS
    ]
    assert offenders == []


def _user_model_queries(path: Path) -> list[str]:
    """`get_user_model().objects...` (or a name bound to get_user_model()) used for a query."""
    tree = _tree(path)
    user_names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_get_user_model(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in MANAGERS:
            base = node.value
            if _is_get_user_model(base) or (isinstance(base, ast.Name) and base.id in user_names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} queries the user model")
    return found


def _is_get_user_model(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "get_user_model"


@pytest.mark.parametrize("package", [app for app in APPS if app != "auth_app"] + ["common"])
def test_only_auth_app_queries_the_user_model(package):
    assert [problem for path in _sources(package, tests=False) for problem in _user_model_queries(path)] == []


def _dotted_strings(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and (match := DOTTED.match(node.value)):
            yield node.lineno, match.group(0)


@pytest.mark.parametrize("package", [*APPS, "common"])
def test_dotted_path_strings_name_only_public_modules_of_other_apps(package):
    offenders = [
        f"{path.relative_to(ROOT)}:{lineno} names {name!r}"
        for path in _sources(package, tests=False)
        for lineno, name in _dotted_strings(path)
        if package == "common" or (name.split(".")[0] != package and name.split(".")[1] not in PUBLIC_MODULES)
    ]
    assert offenders == []


def test_the_checks_find_what_they_look_for(tmp_path):
    """The AST checks themselves: each finds its own kind of offence in a sample module."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from django.contrib.auth import get_user_model\n"
        "User = get_user_model()\n"
        "a = User.objects.filter(is_active=True)\n"
        "b = get_user_model()._default_manager.all()\n"
        "c = get_user_model()._meta.db_table\n"
        "d = 'notifications.models.Notification'\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert len(_user_model_queries(sample)) == 2
        assert [name for _line, name in _dotted_strings(sample)] == ["notifications.models"]
    finally:
        ROOT = saved
