"""Login sessions (token families): start, rotate with reuse detection, revoke, purge."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.channels import group_send_after_commit
from common.errors import NotFound, Unauthenticated

from ..models import AuthSession, User
from ..tokens import (
    CREDENTIALS_CHANGED_MESSAGE,
    SESSION_REVOKED_MESSAGE,
    TokenClaims,
    TokenInvalid,
    new_jti,
    session_denylist_add,
    session_digest,
    session_group,
    token_decode,
    token_encode,
    user_group,
)

logger = logging.getLogger(__name__)

USER_AGENT_MAX = 512


class TokenPair(TypedDict):
    access: str
    refresh: str
    token_type: str
    expires_in: int


def _invalid_refresh(detail: str) -> Unauthenticated:
    return Unauthenticated(detail, code="invalid_token")


def _mint_pair(*, user_id: Any, sid: Any, refresh_jti: str, now: datetime) -> TokenPair:
    access, _ = token_encode(
        user_id=str(user_id),
        sid=str(sid),
        jti=new_jti(),
        token_type="access",  # noqa: S106 - a claim value, not a secret
        lifetime=settings.JWT_ACCESS_TTL,
        now=now,
    )
    refresh, _ = token_encode(
        user_id=str(user_id),
        sid=str(sid),
        jti=refresh_jti,
        token_type="refresh",  # noqa: S106 - a claim value, not a secret
        lifetime=settings.JWT_REFRESH_TTL,
        now=now,
    )
    return {
        "access": access,
        "refresh": refresh,
        "token_type": "Bearer",
        "expires_in": int(settings.JWT_ACCESS_TTL.total_seconds()),
    }


def auth_session_start(*, user: User, user_agent: str = "", ip_address: str | None = None) -> dict[str, Any]:
    """Open a session (one row, one token family) for `user` and return its first token pair.

    Returns `{"access", "refresh", "token_type": "Bearer", "expires_in"}`.
    """
    now = timezone.now()
    refresh_jti = new_jti()
    session = AuthSession.objects.create(
        user=user,
        refresh_jti=refresh_jti,
        expires_at=now + settings.JWT_REFRESH_TTL,
        last_used_at=now,
        user_agent=(user_agent or "")[:USER_AGENT_MAX],
        ip_address=ip_address or None,
    )
    return dict(_mint_pair(user_id=user.pk, sid=session.pk, refresh_jti=refresh_jti, now=now))


def auth_session_refresh(*, refresh_token: str) -> dict[str, Any]:
    """Exchange a refresh token for a new pair, retiring it.

    One conditional UPDATE decides: it matches only while the presented `jti` is the session's
    current one, so of any number of concurrent refreshes exactly one wins. A loser that presents
    the token just replaced (within JWT_REFRESH_REUSE_GRACE) gets 401 and the family lives on; any
    other replay of a retired token revokes the whole session (RFC 9700 section 4.14.2).
    """
    try:
        claims = token_decode(refresh_token, expected_type="refresh")
    except TokenInvalid as exc:
        raise _invalid_refresh("The refresh token is invalid or expired.") from exc

    user = User.objects.filter(pk=claims.sub, is_active=True).only("pk").first()
    if user is None:
        auth_session_revoke(session_id=claims.sid, reason="user_inactive")
        raise _invalid_refresh("The refresh token is invalid or expired.")
    now = timezone.now()
    replacement = new_jti()
    # After this UPDATE the winner touches the database no more: its new pair is pure computation.
    won = AuthSession.objects.filter(
        id=claims.sid,
        user_id=claims.sub,
        refresh_jti=claims.jti,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(
        refresh_jti=replacement,
        previous_jti=claims.jti,
        rotated_at=now,
        last_used_at=now,
        expires_at=now + settings.JWT_REFRESH_TTL,
    )
    if won:
        return dict(_mint_pair(user_id=user.pk, sid=claims.sid, refresh_jti=replacement, now=now))

    session = AuthSession.objects.filter(id=claims.sid, user_id=claims.sub).first()
    if session is None or not session.is_active:
        raise _invalid_refresh("The session of this refresh token has ended; log in again.")
    grace = settings.JWT_REFRESH_REUSE_GRACE
    if session.previous_jti == claims.jti and session.rotated_at is not None and now - session.rotated_at <= grace:
        raise _invalid_refresh("This refresh token was just rotated by a parallel request; use the newer token.")
    logger.warning("refresh token reuse detected; revoking session %s of user %s", session.pk, session.user_id)
    auth_session_revoke(session_id=session.pk, reason="reuse_detected")
    raise _invalid_refresh("This refresh token was already used; the session has been revoked for safety.")


def _publish_revoked(sids: list[str]) -> None:
    """After commit, tell the open streams of these sessions to close. Best effort, never raises: the
    denylist already refuses the tokens, and each stream re-checks its credential as a backstop."""
    group_send_after_commit([(session_group(sid), dict(SESSION_REVOKED_MESSAGE)) for sid in sids])


def user_streams_recheck(*, user_ids: list[Any], ended_session_key: str | None = None) -> None:
    """After commit, have every open stream (WebSocket, SSE) of these users re-check its credential now.

    For changes that end some of a user's credentials but not all: a Django session logged out
    (`ended_session_key`: its streams close without a re-check), a password changed (other sessions
    and every API key end), a key revoked, the user deactivated. Best effort like every push; each
    stream also re-checks periodically.
    """
    message: dict[str, Any] = dict(CREDENTIALS_CHANGED_MESSAGE)
    if ended_session_key:
        message["session"] = session_digest(ended_session_key)
    group_send_after_commit([(user_group(user_id), dict(message)) for user_id in user_ids])


def auth_session_revoke(*, session_id: uuid.UUID | str, reason: str, user: User | None = None) -> None:
    """End one session now: its refresh token stops working and so do its access tokens (denylist).

    With `user`, only that user's session counts; a session that is missing, foreign, expired or
    already revoked raises `NotFound`.
    """
    now = timezone.now()
    sessions = AuthSession.objects.filter(id=session_id, revoked_at__isnull=True)
    if user is not None:
        sessions = sessions.filter(user=user, expires_at__gt=now)
    if not sessions.update(revoked_at=now, revoked_reason=reason[:32]):
        if user is not None:
            raise NotFound("No active session with this id.", code="session_not_found")
        return
    session_denylist_add([str(session_id)])
    _publish_revoked([str(session_id)])


@transaction.atomic
def auth_sessions_revoke_all(*, user: User, reason: str, except_sid: str | None = None) -> int:
    """End every active session of `user` (but `except_sid`); returns how many ended."""
    now = timezone.now()
    sessions = AuthSession.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now)
    if except_sid:
        sessions = sessions.exclude(id=except_sid)
    sids = [str(sid) for sid in sessions.select_for_update().values_list("id", flat=True)]
    if not sids:
        return 0
    session_denylist_add(sids)
    _publish_revoked(sids)
    return AuthSession.objects.filter(id__in=sids).update(revoked_at=now, revoked_reason=reason[:32])


def auth_session_logout(*, user: User, claims: TokenClaims, refresh_token: str | None = None) -> None:
    """Log out the session of the presented access token, and the refresh token's session if given and ours."""
    auth_session_revoke(session_id=claims.sid, reason="logout")
    if not refresh_token:
        return
    try:
        refresh = token_decode(refresh_token, expected_type="refresh")
    except TokenInvalid:
        return
    if refresh.sub == str(user.pk) and refresh.sid != claims.sid:
        auth_session_revoke(session_id=refresh.sid, reason="logout")


def auth_sessions_purge_expired(*, batch_size: int | None = None, max_batches: int = 1000) -> int:
    """Delete expired session rows in batches (bounded lock time); returns how many were deleted."""
    size = batch_size or settings.AUTH_SESSION_PURGE_BATCH_SIZE
    deleted = 0
    for _ in range(max_batches):
        now = timezone.now()
        ids = list(AuthSession.objects.filter(expires_at__lt=now).values_list("id", flat=True)[:size])
        if not ids:
            break
        count, _ = AuthSession.objects.filter(id__in=ids, expires_at__lt=now).delete()
        deleted += count
    return deleted
