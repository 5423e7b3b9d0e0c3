"""Seed-plan properties 01-06 and 32 for the Auth API."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from auth_app.models import User
from auth_app.services import auth_session_start
from auth_app.tokens import new_jti, token_decode, token_encode

from .conftest import API, bearer

pytestmark = pytest.mark.django_db

DB_SETTINGS = hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Passwords that Django's validators accept: long, not all digits, not a common password.
passwords = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=4, max_size=80
).map(lambda tail: "Pw-" + uuid.uuid4().hex[:8] + tail)
names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40).map(str.strip)
local_parts = st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True).filter(
    lambda s: ".." not in s and not s.endswith(".")
)


def unique_email(local: str) -> str:
    return f"{local}.{uuid.uuid4().hex[:10]}@example.com"


def assert_token_pair(body: dict, user_id: str) -> None:
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == int(django_settings.JWT_ACCESS_TTL.total_seconds())
    access = token_decode(body["access"], expected_type="access")
    refresh = token_decode(body["refresh"], expected_type="refresh")
    assert access.sub == refresh.sub == user_id
    assert access.sid == refresh.sid
    assert access.jti != refresh.jti


@DB_SETTINGS
@given(local=local_parts, password=passwords, name=names)
def test_property_01_valid_registration_produces_tokens(local, password, name):
    client = APIClient()
    email = unique_email(local)
    response = client.post(f"{API}/register", {"email": email, "password": password, "name": name}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"]["email"] == email.lower()
    assert_token_pair(body, body["user"]["id"])
    me = bearer(client, body["access"]).get(f"{API}/users/me")
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


@DB_SETTINGS
@given(password=passwords, wrong=passwords, shout=st.booleans())
def test_property_02_login_with_correct_credentials(password, wrong, shout):
    email = unique_email("login")
    user = User.objects.create_user(email=email, password=password)
    client = APIClient()
    typed = email.upper() if shout else email
    ok = client.post(f"{API}/login", {"email": typed, "password": password}, format="json")
    assert ok.status_code == 200, ok.content
    assert_token_pair(ok.json(), str(user.pk))
    if wrong != password:
        bad = client.post(f"{API}/login", {"email": email, "password": wrong}, format="json")
        assert bad.status_code == 401
        assert bad.json()["code"] == "invalid_credentials"


@DB_SETTINGS
@given(rounds=st.integers(min_value=1, max_value=4))
def test_property_03_refresh_token_rotation(user, rounds):
    client = APIClient()
    pair = auth_session_start(user=user)
    for _ in range(rounds):
        response = client.post(f"{API}/refresh", {"refresh": pair["refresh"]}, format="json")
        assert response.status_code == 200, response.content
        new = response.json()
        assert_token_pair(new, str(user.pk))
        assert (
            token_decode(new["refresh"], expected_type="refresh").sid
            == token_decode(pair["refresh"], expected_type="refresh").sid
        )
        # The retired token is refused (inside the grace window: a 401 that keeps the family).
        again = client.post(f"{API}/refresh", {"refresh": pair["refresh"]}, format="json")
        assert again.status_code == 401
        assert bearer(client, new["access"]).get(f"{API}/users/me").status_code == 200
        client.credentials()
        pair = new


@DB_SETTINGS
@given(send_refresh=st.booleans(), refreshed_first=st.booleans())
def test_property_04_logout_invalidates_tokens(user, send_refresh, refreshed_first):
    client = APIClient()
    pair = auth_session_start(user=user)
    if refreshed_first:
        pair = client.post(f"{API}/refresh", {"refresh": pair["refresh"]}, format="json").json()
    bearer(client, pair["access"])
    body = {"refresh": pair["refresh"]} if send_refresh else {}
    assert client.post(f"{API}/logout", body, format="json").status_code == 204
    refused = client.get(f"{API}/users/me")
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"
    client.credentials()
    assert client.post(f"{API}/refresh", {"refresh": pair["refresh"]}, format="json").status_code == 401


@DB_SETTINGS
@given(local=local_parts, name=names)
def test_property_05_authenticated_user_retrieval(local, name):
    user = User.objects.create_user(email=unique_email(local), password="not-used-here-123", name=name)
    other = User.objects.create_user(email=unique_email("other"), password="not-used-here-123")
    client = bearer(APIClient(), auth_session_start(user=user)["access"])
    response = client.get(f"{API}/users/me")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(user.pk) != str(other.pk)
    assert body["email"] == user.email
    assert body["name"] == name
    assert "password" not in body


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bad_token(kind: str, user: User, noise: str) -> str:
    claims = {
        "iss": django_settings.JWT_ISSUER,
        "aud": django_settings.JWT_AUDIENCE,
        "sub": str(user.pk),
        "sid": str(uuid.uuid4()),
        "jti": new_jti(),
        "token_type": "access",
    }
    key = django_settings.JWT_SIGNING_KEY
    if kind == "garbage":
        return noise or "x"
    if kind == "expired":
        token, _ = token_encode(
            user_id=str(user.pk), sid=claims["sid"], jti=claims["jti"], token_type="access",
            lifetime=timedelta(seconds=-1),
        )  # fmt: skip
        return token
    if kind == "tampered":
        good = auth_session_start(user=user)["access"]
        head, payload, sig = good.split(".")
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        data["sub"] = str(uuid.uuid4())
        return f"{head}.{_b64(data)}.{sig}"
    if kind == "alg_none":
        good = token_decode(auth_session_start(user=user)["access"], expected_type="access")
        data = {**claims, "sid": good.sid, "iat": good.iat, "exp": good.exp}
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(data)}."
    now = int(time.time())
    claims.update(iat=now, exp=now + 600)
    if kind == "wrong_audience":
        claims["aud"] = "someone-else"
    elif kind == "wrong_issuer":
        claims["iss"] = "https://evil.example"
    elif kind == "wrong_key":
        key = "another-signing-key-of-32-bytes-or-more-" + noise
    elif kind == "refresh_as_access":
        claims["token_type"] = "refresh"
    elif kind == "hs512":
        return jwt.encode(claims, key, algorithm="HS512")
    return jwt.encode(claims, key, algorithm="HS256")


TOKEN_KINDS = [
    "garbage",
    "expired",
    "tampered",
    "alg_none",
    "wrong_audience",
    "wrong_issuer",
    "wrong_key",
    "refresh_as_access",
    "hs512",
]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery uses our key
@DB_SETTINGS
@given(kind=st.sampled_from(TOKEN_KINDS), noise=st.text(alphabet="abcdefXYZ0123456789-_.", max_size=60))
def test_property_06_invalid_authentication_returns_401(user, kind, noise):
    token = _bad_token(kind, user, noise)
    response = bearer(APIClient(), token).get(f"{API}/users/me")
    assert response.status_code == 401, (kind, response.content)
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys()
    assert body["status"] == 401


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=st.text(min_size=0, max_size=1000))
def test_property_32_password_hashing(real_password_hashers, password):
    encoded = make_password(password)
    assert encoded != password
    assert identify_hasher(encoded).algorithm == "argon2"
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert check_password(password, encoded)
    assert not check_password(password + "x", encoded)
    assert make_password(password) != encoded  # salted


# --- Issue 9 item 3: one canonical email form --------------------------------------------------------

any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
any_local = st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9+_-]{0,10}", fullmatch=True), any_text)
any_label = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True),
    st.text(alphabet=st.characters(categories=("Ll", "Lu", "Lo")), min_size=1, max_size=8),
)
SPELLING_VARIANTS = {
    "upper": str.upper,
    "swapcase": str.swapcase,
    "idna_domain": lambda e: e.split("@")[0] + "@" + e.split("@")[1].encode("idna").decode("ascii").upper(),
    "spaces": lambda e: f"  {e} ",
}


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(local=any_local, label=any_label, suffix=st.uuids(), variant=st.sampled_from(sorted(SPELLING_VARIANTS)))
def test_property_41_one_account_per_canonical_email(local, label, suffix, variant):
    """Any Unicode address: registration is 201 (stored canonical) or 400, never 500; another spelling with
    the same canonical form cannot register again (409) and logs in to the same account."""
    from django.db import transaction

    with transaction.atomic():  # every example starts from an empty table (hypothesis repeats values)
        _check_one_account_per_canonical_email(local, label, suffix, variant)
        transaction.set_rollback(True)


def _check_one_account_per_canonical_email(local, label, suffix, variant):
    from hypothesis import assume

    from auth_app._utils import EmailNotAccepted, email_canonical

    email = f"{local}@{label}{suffix.hex[:8]}.example"
    password = "Pw-" + suffix.hex
    client = APIClient()
    first = client.post(f"{API}/register", {"email": email, "password": password}, format="json")
    assert first.status_code in (201, 400), first.content
    try:
        canonical: str | None = email_canonical(email)
    except EmailNotAccepted:
        canonical = None
    if first.status_code == 400:
        assert not User.objects.filter(email__in=[email, canonical or email]).exists()
        return
    assert canonical is not None
    assert first.json()["user"]["email"] == canonical
    assert canonical.isascii() and canonical == canonical.lower() == email_canonical(canonical)
    try:
        other = SPELLING_VARIANTS[variant](email)
        assume(email_canonical(other) == canonical)
    except (EmailNotAccepted, UnicodeError):
        assume(False)
    again = client.post(f"{API}/register", {"email": other, "password": password}, format="json")
    assert again.status_code in (409, 400), again.content  # 400 only when EmailField refuses the spelling
    login = client.post(f"{API}/login", {"email": other, "password": password}, format="json")
    if again.status_code == 409:
        assert login.status_code == 200, login.content
        assert token_decode(login.json()["access"], expected_type="access").sub == first.json()["user"]["id"]
    assert User.objects.filter(email=canonical).count() == 1
