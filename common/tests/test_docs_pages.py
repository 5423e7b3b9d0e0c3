"""The documentation pages and the admin login in headless Chromium, served by the real ASGI server.

The server is uvicorn running `config.asgi:application` after `collectstatic` into a temporary
STATIC_ROOT, as `make run` does, so servestatic serves the vendored assets the way it does in production.
Each page must render its real content, make no request to any other host, and raise no CSP violation.

Needs /usr/bin/chromium (Debian's `chromium`) and the `playwright` package (its own browsers are never
downloaded). Without them the tests skip, unless CI=true, where they fail. With DOCS_SCREENSHOTS=1 the
screenshots go to docs/screenshots/ (and the server uses the project's own URL conf), else to a temp dir.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

# Starting Chromium (the module's first test sets it up) took 72 s on a loaded 2-core CI machine: the
# browser tests get 5 minutes each instead of the suite's 60 s, and still fail rather than hang.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("DOCS_SCREENSHOTS", "").lower() in ("1", "true", "yes")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# What must appear on each page once its script has rendered the schema.
TITLE = "API Platform"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Server:
    base_url: str
    schema: dict[str, Any]
    host: str = field(init=False)

    def __post_init__(self) -> None:
        self.host = urlsplit(self.base_url).netloc

    def _first_operation(self) -> dict[str, Any] | None:
        for item in self.schema.get("paths", {}).values():
            for operation in item.values():
                if isinstance(operation, dict) and operation.get("summary") and operation.get("tags"):
                    return operation
        return None

    @property
    def first_summary(self) -> str | None:
        operation = self._first_operation()
        return str(operation["summary"]) if operation else None

    @property
    def first_tag(self) -> str | None:
        operation = self._first_operation()
        return str(operation["tags"][0]) if operation else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")

    static_root = tmp_path_factory.mktemp("static")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "common.tests.browser_settings",
        "BROWSER_TEST_STATIC_ROOT": str(static_root),
        "DEBUG": "false",
        "PYTHONPATH": str(ROOT),
    }
    if SCREENSHOTS:
        env["BROWSER_TEST_URLCONF"] = "config.urls"
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    # The test binds the socket and hands it to uvicorn: connections wait in the backlog until it accepts,
    # so no polling for readiness is needed.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--fd",
            str(listener.fileno()),
            "--lifespan",
            "off",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        pass_fds=[listener.fileno()],
    )
    listener.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=60) as response:  # noqa: S310
            schema = json.load(response)
        yield Server(base_url=base_url, schema=schema)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser_context(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        # Report CSP violations to the page so the test can read them.
        context.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation', "
            "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Visit:
    requests: list[str]
    foreign: list[str]
    blocked_by_csp: list[str]
    csp_violations: list[str]
    page_errors: list[str]


def _visit(context: Any, server: Server, path: str, ready: list[str], screenshot: str, tmp_path: Path) -> Visit:
    page = context.new_page()
    requests: list[str] = []
    page_errors: list[str] = []

    def route(route: Any) -> None:
        # Nothing leaves the machine: a request to another host is recorded and refused.
        if urlsplit(route.request.url).netloc == server.host or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", route)
    page.on("request", lambda request: requests.append(request.url))
    failures: dict[str, str] = {}
    page.on("requestfailed", lambda request: failures.setdefault(request.url, request.failure or ""))
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        response = page.goto(server.base_url + path, wait_until="load")
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        for selector in ready:
            if selector.startswith("click:"):
                page.click(selector.removeprefix("click:"), timeout=30_000)
            else:
                page.wait_for_selector(selector, state="visible", timeout=30_000)
        page.wait_for_load_state("networkidle")
        target = (ROOT / "docs" / "screenshots") if SCREENSHOTS else tmp_path
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{screenshot}.png"))
        csp = page.evaluate("window.__csp")
    finally:
        page.close()
    other_hosts = [
        url for url in requests if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != server.host
    ]
    # Chromium reports a request its CSP refused as failed with "csp" (net::ERR_BLOCKED_BY_CSP).
    blocked = [url for url in other_hosts if failures.get(url, "").lower() in ("csp", "net::err_blocked_by_csp")]
    foreign = [url for url in other_hosts if url not in blocked]
    return Visit(requests, foreign, blocked, csp, page_errors)


def _assert_clean(visit: Visit) -> None:
    """The page made no request to any other host: neither one that left the machine (the route refuses
    them, and records them) nor one the page's own CSP stopped inside the browser. No CSP violation."""
    assert visit.requests
    assert visit.foreign == [], f"requests sent to other hosts: {visit.foreign}"
    assert visit.blocked_by_csp == [], f"requests to other hosts stopped by the CSP: {visit.blocked_by_csp}"
    assert visit.csp_violations == [], f"CSP violations: {visit.csp_violations}"
    assert visit.page_errors == [], f"script errors: {visit.page_errors}"


def test_swagger_ui_lists_the_operations(browser_context: Any, server: Server, tmp_path: Path) -> None:
    ready = [f".information-container .title:has-text('{TITLE}')"]
    if server.first_summary:
        ready.append(f".opblock-summary:has-text('{server.first_summary}')")
    visit = _visit(browser_context, server, "/docs", ready, "docs", tmp_path)
    _assert_clean(visit)
    assert any(url.endswith("/openapi.json") for url in visit.requests)


def test_redoc_shows_the_api_title_and_menu(browser_context: Any, server: Server, tmp_path: Path) -> None:
    ready = [f"h1:has-text('{TITLE}')"]
    if server.first_summary:
        ready.append(f".menu-content li:has-text('{server.first_summary}')")
    visit = _visit(browser_context, server, "/redoc", ready, "redoc", tmp_path)
    # Redoc's sidebar footer always renders the Redocly logo from cdn.redoc.ly; our script before the
    # bundle turns it into an empty data: URL, so not even a request the CSP would stop is made.
    _assert_clean(visit)
    assert any(url.endswith("/openapi.json") for url in visit.requests)


def test_stoplight_elements_shows_the_sidebar(browser_context: Any, server: Server, tmp_path: Path) -> None:
    ready = [f".sl-elements-api :text('{TITLE}')"]
    if server.first_summary:
        # The sidebar groups operations by tag, folded: open the group, then the operation shows.
        ready.append(f"click:.sl-elements-api :text-is('{server.first_tag}')")
        ready.append(f".sl-elements-api :text('{server.first_summary}')")
    visit = _visit(browser_context, server, "/stoplight", ready, "stoplight", tmp_path)
    _assert_clean(visit)
    assert any(url.endswith("/openapi.json") for url in visit.requests)


def test_admin_login_renders(browser_context: Any, server: Server, tmp_path: Path) -> None:
    visit = _visit(browser_context, server, "/admin/login/", ["#login-form input[name=username]"], "admin", tmp_path)
    _assert_clean(visit)


def test_the_sign_in_page_renders(browser_context: Any, server: Server, tmp_path: Path) -> None:
    visit = _visit(
        browser_context, server, "/accounts/login?next=/", ["form input[name=username]"], "sign-in", tmp_path
    )
    _assert_clean(visit)
    assert any(url.endswith("/static/auth_app/accounts.css") for url in visit.requests)


def test_landing_page_links_the_docs(browser_context: Any, server: Server, tmp_path: Path) -> None:
    visit = _visit(browser_context, server, "/", ["a[href='/docs']", "a[href='/stoplight']"], "home", tmp_path)
    _assert_clean(visit)
