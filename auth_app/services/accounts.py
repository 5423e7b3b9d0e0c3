"""Accounts: register, log in, edit the profile, change and reset the password."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from common.errors import Conflict, FieldError, Unauthenticated, ValidationFailed
from common.jobs import enqueue_after_commit
from common.ratelimit import client_ip

from .._utils import EmailNotAccepted, email_canonical, email_key
from ..devices import device_token_from_request, device_token_issue, device_token_verify
from ..models import User
from ..throttles import (
    password_attempt_begin,
    password_attempt_succeeded,
    password_attempts_clear,
    throttle_ip,
)
from ..user_cache import user_cache_forget
from .api_keys import api_keys_revoke
from .sessions import auth_session_start, auth_sessions_revoke_all, user_streams_recheck

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = "Invalid email or password."


def _email_taken() -> Conflict:
    return Conflict(
        "An account with this email address already exists.",
        code="email_taken",
        errors=[FieldError(attr="email", code="email_taken", detail="This email address is already registered.")],
    )


def _wrong_password() -> ValidationFailed:
    return ValidationFailed(
        "The current password is not correct.",
        code="wrong_password",
        errors=[FieldError(attr="current_password", code="wrong_password", detail="Not the current password.")],
    )


def _unsupported_email(exc: EmailNotAccepted) -> ValidationFailed:
    return ValidationFailed(str(exc), errors=[FieldError(attr="email", code="unsupported_email", detail=str(exc))])


def _canonical_or_400(email: str) -> str:
    try:
        return email_canonical(email)
    except EmailNotAccepted as exc:
        raise _unsupported_email(exc) from exc


def _check_current_password(*, user: User, current_password: str, sid: str | None) -> None:
    """Check `current_password` under the password-check limits.

    The caller holds a Bearer session of the account (`sid`): like a device token, that makes it the
    owner's client, counted per session and not against the account-wide budget strangers can use up.
    """
    attempt = password_attempt_begin(email=user.email, device=f"session:{sid}" if sid else None)
    if not user.check_password(current_password):
        raise _wrong_password()
    password_attempt_succeeded(attempt)


def user_credentials_revoke(*, user: User, reason: str, except_sid: str | None = None) -> int:
    """After a password is set: end every session (but `except_sid`) and revoke every API key.

    Returns how many sessions ended. Used by password change and reset and by the admin's password form.
    """
    with transaction.atomic():
        api_keys_revoke(user=user)
        ended = auth_sessions_revoke_all(user=user, reason=reason, except_sid=except_sid)
        user_streams_recheck(user_ids=[user.pk])  # cookie sessions and API-key streams of this user too
        return ended


def _validate_password(password: str, *, user: User, attr: str) -> None:
    if len(password) > settings.AUTH_PASSWORD_MAX_LENGTH:
        raise ValidationFailed(
            f"Passwords may have at most {settings.AUTH_PASSWORD_MAX_LENGTH} characters.",
            errors=[FieldError(attr=attr, code="max_length", detail="The password is too long.")],
        )
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        errors = [
            FieldError(attr=attr, code=error.code or "invalid", detail=" ".join(error.messages))
            for error in exc.error_list
        ]
        detail = (
            errors[0]["detail"] if len(errors) == 1 else "The password does not meet the requirements; see `errors`."
        )
        raise ValidationFailed(detail, code="validation_error", errors=errors) from exc


def user_register(
    *, email: str, password: str, name: str = "", user_agent: str = "", ip_address: str | None = None
) -> tuple[User, dict[str, Any]]:
    """Create an account and its first session (one transaction); returns the user and a token pair."""
    email = _canonical_or_400(email)
    candidate = User(email=email, name=name)
    _validate_password(password, user=candidate, attr="password")
    if User.objects.filter(email=email).exists():
        raise _email_taken()
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, name=name)
            tokens = auth_session_start(user=user, user_agent=user_agent, ip_address=ip_address)
    except IntegrityError as exc:  # a concurrent registration of the same address won
        raise _email_taken() from exc
    return user, tokens


def user_authenticate(*, request: HttpRequest | None, email: str, password: str) -> tuple[User, str]:
    """Check an email and password: the ONE code path of every password login (API, admin, browser page).

    Limits, in order: the client IP (AUTH_LOGIN_RATE_PER_IP), then the password-check counters of the
    account (auth_app.throttles), counted BEFORE the password is checked so parallel guesses cannot
    outrun them (429 `rate_limited` with `Retry-After`); a right password gives its counts back. A
    client sending a valid device token of the account (cookie or `X-Device-Token`) is counted only
    per device, so strangers' guesses do not lock the owner out.

    Django's ModelBackend runs the password hasher even for unknown addresses (no timing gap), and so
    does an address without a canonical form here; `check_password` re-hashes an outdated hash on
    success. Every failure is the same 401 `invalid_credentials`. Returns the user and a fresh device
    token for the client to keep.
    """
    if request is not None:
        throttle_ip(request, policy="login-ip", rate_setting="AUTH_LOGIN_RATE_PER_IP")
    device = device_token_verify(token=device_token_from_request(request), email=email)
    attempt = password_attempt_begin(
        email=email_key(email),
        client_ip=client_ip(request) if request is not None else None,
        device=device.device_id if device else None,
    )
    try:
        address: str | None = email_canonical(email)
    except EmailNotAccepted:
        address = None
    if address is None:
        make_password(password)  # the same hasher work as for an unknown address
        user = None
    else:
        user = authenticate(request, email=address, password=password)
    if not isinstance(user, User):
        raise Unauthenticated(INVALID_CREDENTIALS, code="invalid_credentials")
    password_attempt_succeeded(attempt)
    return user, device_token_issue(user=user, device_id=device.device_id if device else None)


def user_login(*, request: HttpRequest | None, email: str, password: str) -> tuple[User, dict[str, Any]]:
    """Check the credentials (`user_authenticate`) and open a session.

    Returns the user and `{"access", "refresh", "token_type", "expires_in", "device_token"}`.
    """
    user, device_token = user_authenticate(request=request, email=email, password=password)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    user_cache_forget(user.pk)  # an update() sends no signal
    tokens = auth_session_start(
        user=user,
        user_agent=request.META.get("HTTP_USER_AGENT", "") if request is not None else "",
        ip_address=client_ip(request) if request is not None else None,
    )
    return user, {**tokens, "device_token": device_token}


def user_update(
    *,
    user: User,
    name: str | None = None,
    email: str | None = None,
    current_password: str | None = None,
    keep_sid: str | None = None,
) -> User:
    """Change the profile. A new email must be free (compared without regard to case).

    Changing the email needs `current_password` (checked under the account's password-check limit);
    the old address gets a notice and every other session (all but `keep_sid`) ends.
    """
    new_email = _canonical_or_400(email) if email is not None else None
    changes_email = new_email is not None and new_email != user.email
    if changes_email:
        if not current_password:
            raise ValidationFailed(
                "Changing the email address needs the current password.",
                errors=[FieldError(attr="current_password", code="required", detail="This field is required.")],
            )
        _check_current_password(user=user, current_password=current_password, sid=keep_sid)
        if User.objects.filter(email=new_email).exclude(pk=user.pk).exists():
            raise _email_taken()
    old_email = user.email
    fields: list[str] = []
    if name is not None and name != user.name:
        user.name = name
        fields.append("name")
    if changes_email and new_email is not None:
        user.email = new_email
        fields.append("email")
    if not fields:
        return user
    try:
        with transaction.atomic():
            user.save(update_fields=[*fields, "updated_at"])
            if changes_email:
                auth_sessions_revoke_all(user=user, reason="email_change", except_sid=keep_sid)
                _queue_email_change_notice(old_email=old_email, new_email=user.email)
    except IntegrityError as exc:
        user.refresh_from_db()
        raise _email_taken() from exc
    return user


def _queue_email_change_notice(*, old_email: str, new_email: str) -> None:
    enqueue_after_commit("auth_app.tasks.email_change_notice_send_task", old_email, new_email)


def email_change_notice_send(*, old_email: str, new_email: str) -> None:
    """Tell the previous address that the account's email was changed (called by the task)."""
    send_mail(
        subject="Your email address was changed",
        message=(
            f"The email address of your account was changed from {old_email} to {new_email}.\n\n"
            "Every other session of the account has been ended. If it was not you, reset your password "
            "and contact support.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[old_email],
    )


def user_password_change(*, user: User, current_password: str, new_password: str, keep_sid: str | None) -> int:
    """Set a new password after checking the current one (under the account's password-check limit).

    Ends every other session and revokes every API key. Returns how many sessions ended.
    """
    _check_current_password(user=user, current_password=current_password, sid=keep_sid)
    _validate_password(new_password, user=user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        return user_credentials_revoke(user=user, reason="password_change", except_sid=keep_sid)


def password_reset_request(*, email: str) -> None:
    """Queue the reset mail for `email`; the answer is the same whether or not an account has it.

    The request does the same work either way (one task queued after commit, run in the request in
    embedded mode): the task looks the address up and composes a message either way, and mails it
    only to an active account. A broker outage is logged and the answer stays the same 202.
    """
    address = email_key(email)
    enqueue_after_commit("auth_app.tasks.password_reset_email_send_task", address)


def _reset_message(user: User) -> tuple[str, str]:
    uid = urlsafe_base64_encode(force_bytes(str(user.pk)))
    token = default_token_generator.make_token(user)
    template = settings.AUTH_PASSWORD_RESET_URL or (
        settings.PUBLIC_BASE_URL.rstrip("/") + "/password-reset?uid={uid}&token={token}"
    )
    link = template.format(uid=uid, token=token)
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    return "Reset your password", (
        f"Someone asked to reset the password of {user.email}.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n{link}\n\n"
        "or send uid and token to POST /api/v1/auth/password/reset/confirm:\n"
        f"uid: {uid}\ntoken: {token}\n\n"
        "If it was not you, ignore this message; your password stays as it is.\n"
    )


def password_reset_email_send(*, email: str) -> bool:
    """Compose and send the reset mail (called by the task); False when no active account has `email`.

    An unknown address gets the same lookup and composition (with a stand-in account), only no mail.
    """
    address = email_key(email)
    user = User.objects.filter(email=address, is_active=True).first()
    subject, message = _reset_message(user or User(email=address))
    if user is None:
        return False
    send_mail(subject=subject, message=message, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[user.email])
    return True


def _invalid_reset() -> ValidationFailed:
    return ValidationFailed(
        "The reset link is invalid or has expired; ask for a new one.",
        code="invalid_reset_token",
        errors=[FieldError(attr="token", code="invalid_reset_token", detail="Invalid or expired.")],
    )


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> None:
    """Set a new password from a mailed link; ends every session of the account."""
    try:
        user_id = uuid.UUID(urlsafe_base64_decode(uid).decode())
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise _invalid_reset() from exc
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise _invalid_reset()
    _validate_password(new_password, user=user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        user_credentials_revoke(user=user, reason="password_reset")
    # The owner proved control of the mailbox: every lockout of the account ends (strangers' guesses
    # included), and the new password has invalidated every device token.
    password_attempts_clear(email=user.email)
