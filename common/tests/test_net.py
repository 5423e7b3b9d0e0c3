"""common.net.client_ip: the peer unless TRUSTED_PROXY_COUNT says to read X-Forwarded-For; always a valid IP."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from common.net import UNKNOWN_IP, client_ip

CASES = [
    # (proxies, peer, X-Forwarded-For, expected)
    (0, "10.9.9.9", "1.1.1.1", "10.9.9.9"),  # no proxy: the header is the client's own claim
    (0, "10.9.9.9", "not-an-ip", "10.9.9.9"),
    (1, "10.9.9.9", "1.1.1.1", "1.1.1.1"),
    (1, "10.9.9.9", "6.6.6.6, 1.1.1.1", "1.1.1.1"),  # the client prepended a fake hop
    (2, "10.9.9.9", "6.6.6.6, 1.1.1.1, 172.16.0.1", "1.1.1.1"),
    (2, "10.9.9.9", "1.1.1.1", "10.9.9.9"),  # fewer hops than proxies
    (1, "10.9.9.9", "not-an-ip", "10.9.9.9"),  # an invalid entry is ignored
    (1, "10.9.9.9", "1.1.1.1, ' OR 1=1 --", "10.9.9.9"),
    (1, "10.9.9.9", "", "10.9.9.9"),
    (1, "10.9.9.9", "2001:DB8::1", "2001:db8::1"),  # normalised
    (0, "not-an-ip", "", UNKNOWN_IP),  # a server that put garbage in the peer address
    (1, "not-an-ip", "1.1.1.1", "1.1.1.1"),
    (1, "", "x", UNKNOWN_IP),
]


@pytest.mark.parametrize(("proxies", "peer", "forwarded", "expected"), CASES)
def test_client_ip_of_a_request(settings, proxies, peer, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize(("proxies", "peer", "forwarded", "expected"), CASES)
def test_client_ip_of_an_asgi_scope(settings, proxies, peer, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    scope = {"type": "websocket", "client": (peer, 1234), "headers": [(b"x-forwarded-for", forwarded.encode())]}
    assert client_ip(scope) == expected


def test_a_scope_without_a_client_is_unknown(settings):
    assert client_ip({"type": "http", "client": None, "headers": []}) == UNKNOWN_IP


@pytest.mark.django_db
@pytest.mark.parametrize("proxies", [0, 1])
@pytest.mark.parametrize("endpoint", ["register", "login"])
def test_a_garbage_client_address_is_never_a_500_on_login_or_register(
    client, settings, user, password, proxies, endpoint
):
    from auth_app.models import AuthSession

    settings.TRUSTED_PROXY_COUNT = proxies
    if endpoint == "register":
        body = {"email": "new@example.com", "password": password, "name": "New"}
    else:
        body = {"email": user.email, "password": password}

    response = client.post(
        f"/api/v1/auth/{endpoint}",
        body,
        "application/json",
        REMOTE_ADDR="not-an-ip",  # what uvicorn's proxy-header handling used to put there
        HTTP_X_FORWARDED_FOR="not-an-ip",
    )

    assert response.status_code in (200, 201), response.content
    assert AuthSession.objects.get().ip_address == UNKNOWN_IP


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_does_not_choose_the_session_address(client, settings, user, password):
    from auth_app.models import AuthSession

    settings.TRUSTED_PROXY_COUNT = 0
    body = {"email": user.email, "password": password}
    response = client.post(
        "/api/v1/auth/login", body, "application/json", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )

    assert response.status_code == 200
    assert AuthSession.objects.get().ip_address == "192.0.2.7"
