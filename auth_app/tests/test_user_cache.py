"""The user row behind a Bearer token, cached (auth_app.user_cache) and never trusted past a change."""

import pytest
from django.core.cache import cache

from auth_app.authentication import authenticate_access_token
from auth_app.models import User
from auth_app.tokens import TokenInvalid
from auth_app.user_cache import user_cache_key

ME = "/api/v1/auth/users/me"

pytestmark = pytest.mark.django_db


def test_the_second_request_reads_the_user_from_the_cache(user, access_token, django_assert_num_queries):
    with django_assert_num_queries(1):
        first, _ = authenticate_access_token(access_token)
    with django_assert_num_queries(0):
        second, claims = authenticate_access_token(access_token)
    assert second.pk == first.pk == user.pk and claims.sub == str(user.pk)
    assert second.email == user.email and second.is_active


def test_the_cached_row_holds_no_password_hash_and_still_checks_passwords(user, access_token, password):
    authenticate_access_token(access_token)
    cached = cache.get(user_cache_key(user.pk))
    assert "password" not in cached.__dict__
    assert cached.check_password(password)  # loads the deferred hash from the database


def test_saving_a_cached_user_never_blanks_the_password(user, access_token, password):
    authenticate_access_token(access_token)
    cached, _ = authenticate_access_token(access_token)
    cached.name = "Renamed"
    cached.save()
    fresh = User.objects.get(pk=user.pk)
    assert fresh.name == "Renamed" and fresh.check_password(password)


def test_deactivation_refuses_the_token_on_the_very_next_request(auth_client, user):
    assert auth_client.get(ME).status_code == 200  # the row is cached now
    user.is_active = False
    user.save()
    response = auth_client.get(ME)
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


def test_a_deleted_user_is_refused(auth_client, user):
    assert auth_client.get(ME).status_code == 200
    user.delete()
    assert auth_client.get(ME).status_code == 401


def test_a_change_is_seen_at_once(auth_client, user):
    assert auth_client.get(ME).json()["name"] == user.name
    user.name = "New Name"
    user.save(update_fields=["name"])
    assert auth_client.get(ME).json()["name"] == "New Name"


def test_login_drops_the_entry(user, access_token, login):
    authenticate_access_token(access_token)
    assert cache.get(user_cache_key(user.pk)) is not None
    assert login().status_code == 200
    assert cache.get(user_cache_key(user.pk)) is None


def test_zero_seconds_turns_the_cache_off(settings, user, access_token, django_assert_num_queries):
    settings.AUTH_USER_CACHE_SECONDS = 0
    authenticate_access_token(access_token)
    assert cache.get(user_cache_key(user.pk)) is None
    with django_assert_num_queries(1):
        authenticate_access_token(access_token)


def test_a_cached_row_for_another_user_is_not_taken(user, other_user, access_token):
    cache.set(user_cache_key(user.pk), other_user, 30)
    found, _ = authenticate_access_token(access_token)
    assert found.pk == user.pk


def test_a_revoked_session_is_refused_even_with_the_user_cached(auth_client, user, access_token):
    from auth_app.services import auth_session_revoke
    from auth_app.tokens import token_decode

    assert auth_client.get(ME).status_code == 200
    auth_session_revoke(session_id=token_decode(access_token, expected_type="access").sid, reason="logout")
    with pytest.raises(TokenInvalid):
        authenticate_access_token(access_token)
    assert auth_client.get(ME).status_code == 401
