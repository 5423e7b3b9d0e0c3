"""The inspector page /bins/{id}: session only, owner only, strict CSP; in Chromium, captured HTML stays inert."""

import os
import shutil
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from webhook_tester.models import CapturedEvent

from .conftest import capture, hook

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("DOCS_SCREENSHOTS", "").lower() in ("1", "true", "yes")
XSS = b'<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"><b id="injected">bold</b>'


@pytest.mark.django_db
def test_anonymous_is_sent_to_the_sign_in_page(bin, settings):
    response = Client().get(f"/bins/{bin.pk}")
    assert response.status_code == 302
    assert response["Location"].startswith(settings.LOGIN_URL)
    assert f"next=/bins/{bin.pk}" in response["Location"]


@pytest.mark.django_db
def test_another_users_bin_is_404(bin, other_user):
    client = Client()
    client.force_login(other_user)
    assert client.get(f"/bins/{bin.pk}").status_code == 404
    assert client.get("/bins/not-a-uuid").status_code == 404


@pytest.mark.django_db
def test_owner_gets_the_page_with_a_strict_csp(bin, user):
    client = Client()
    client.force_login(user)
    response = client.get(f"/bins/{bin.pk}")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    script_src = [part for part in csp.split(";") if part.strip().startswith(("script-src", "default-src"))]
    assert script_src and all("unsafe-inline" not in part for part in script_src)
    html = response.content.decode()
    assert "<script>" not in html  # the only script is the static file
    assert f"/hooks/{bin.pk}" in html


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_captured_html_is_shown_as_text_and_never_runs(live_asgi_url, bin, user, tmp_path):
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    capture(
        "POST",
        hook(bin, "/<b>path</b>"),
        headers=[(b"content-type", b"text/html"), (b"x-evil", b"<img src=x onerror=alert(1)>")],
        chunks=[XSS],
    )
    capture("POST", hook(bin, "/json"), headers=[(b"content-type", b"application/json")], chunks=[b'{"a":[1,2]}'])
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 375, "height": 800})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_asgi_url}])
            context.add_init_script(
                "window.__csp = []; document.addEventListener('securitypolicyviolation', "
                "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{live_asgi_url}/bins/{bin.pk}")
            page.wait_for_selector("#events li:nth-child(2) button")
            page.wait_for_selector("text=Live: new requests appear at the top.")
            # Keyboard: focus the newest request, arrow down to the older (the HTML one), Enter.
            page.focus("#events li:nth-child(1) button")
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
            expect(page.locator("#d-body")).to_contain_text("<script>")
            assert page.text_content("#d-body") == XSS.decode()
            assert "<img src=x onerror=alert(1)>" in (page.text_content("#d-headers") or "")
            assert page.evaluate("window.__xss") is None
            assert page.query_selector("#injected") is None
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 375  # usable at 375 px
            # Live: a new capture appears at the top without a reload.
            request = urllib.request.Request(  # noqa: S310 - the local test server
                f"{live_asgi_url}/hooks/{bin.pk}/live",
                data=b'{"live": true}',
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                assert answer.status == 200
            page.wait_for_selector("#events li:nth-child(3) button", timeout=5000)
            assert page.text_content("#events li:nth-child(1) .p") == "/live"
            page.click("#events li:nth-child(1) button")
            expect(page.locator("#d-body")).to_contain_text('"live": true')
            target = (ROOT / "docs" / "screenshots") if SCREENSHOTS else tmp_path
            target.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target / "bins-inspector-375.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 800})
            page.screenshot(path=str(target / "bins-inspector.png"))
            assert page.evaluate("window.__csp") == []
            assert errors == []
        finally:
            browser.close()
    assert CapturedEvent.objects.filter(bin=bin).count() == 3
