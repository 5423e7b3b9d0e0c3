"""Accounts: register, log in, edit the profile, change and reset the password."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from common.errors import Conflict, FieldError, Unauthenticated, ValidationFailed

from ..models import User
from .sessions import auth_session_start, auth_sessions_revoke_all

INVALID_CREDENTIALS = "Invalid email or password."


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _email_taken(email: str, *, exclude: User | None = None) -> Conflict:
    return Conflict(
        "An account with this email address already exists.",
        code="email_taken",
        errors=[FieldError(attr="email", code="email_taken", detail="This email address is already registered.")],
    )


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
    """Create an account and its first session; returns the user and a token pair."""
    email = normalize_email(email)
    candidate = User(email=email, name=name)
    _validate_password(password, user=candidate, attr="password")
    if User.objects.filter(email__iexact=email).exists():
        raise _email_taken(email)
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, name=name)
    except IntegrityError as exc:  # a concurrent registration of the same address won
        raise _email_taken(email) from exc
    tokens = auth_session_start(user=user, user_agent=user_agent, ip_address=ip_address)
    return user, tokens


def user_login(
    *, request: HttpRequest | None, email: str, password: str, user_agent: str = "", ip_address: str | None = None
) -> tuple[User, dict[str, Any]]:
    """Check the credentials and open a session.

    Django's ModelBackend runs the password hasher even for unknown addresses (no timing gap) and
    `check_password` re-hashes an outdated hash with the first PASSWORD_HASHER on success. Every
    failure is the same 401 `invalid_credentials`.
    """
    user = authenticate(request, email=normalize_email(email), password=password)
    if not isinstance(user, User):
        raise Unauthenticated(INVALID_CREDENTIALS, code="invalid_credentials")
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    tokens = auth_session_start(user=user, user_agent=user_agent, ip_address=ip_address)
    return user, tokens


def user_update(*, user: User, name: str | None = None, email: str | None = None) -> User:
    """Change the profile. A new email must be free, compared without regard to case."""
    fields: list[str] = []
    if name is not None and name != user.name:
        user.name = name
        fields.append("name")
    if email is not None and normalize_email(email) != user.email:
        email = normalize_email(email)
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise _email_taken(email)
        user.email = email
        fields.append("email")
    if fields:
        try:
            with transaction.atomic():
                user.save(update_fields=[*fields, "updated_at"])
        except IntegrityError as exc:
            user.refresh_from_db()
            raise _email_taken(email or "") from exc
    return user


def user_password_change(*, user: User, current_password: str, new_password: str, keep_sid: str | None) -> int:
    """Set a new password after checking the current one; ends every other session. Returns how many ended."""
    if not user.check_password(current_password):
        raise ValidationFailed(
            "The current password is not correct.",
            code="wrong_password",
            errors=[FieldError(attr="current_password", code="wrong_password", detail="Not the current password.")],
        )
    _validate_password(new_password, user=user, attr="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        return auth_sessions_revoke_all(user=user, reason="password_change", except_sid=keep_sid)


def password_reset_request(*, email: str) -> None:
    """Queue the reset mail for `email`; the answer is the same whether or not an account has it.

    The request does the same work either way (one task queued after commit): the task looks the
    address up and mails a link only to an active account, so neither the response nor its timing
    tells whether the address is registered.
    """
    from ..tasks import password_reset_email_send_task

    address = normalize_email(email)
    transaction.on_commit(lambda: password_reset_email_send_task.delay(address))


def password_reset_email_send(*, email: str) -> bool:
    """Compose and send the reset mail (called by the task); False when no active account has `email`."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None:
        return False
    uid = urlsafe_base64_encode(force_bytes(str(user.pk)))
    token = default_token_generator.make_token(user)
    template = settings.AUTH_PASSWORD_RESET_URL or (
        settings.PUBLIC_BASE_URL.rstrip("/") + "/password-reset?uid={uid}&token={token}"
    )
    link = template.format(uid=uid, token=token)
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    send_mail(
        subject="Reset your password",
        message=(
            f"Someone asked to reset the password of {user.email}.\n\n"
            f"To choose a new password, open this link within {minutes} minutes:\n{link}\n\n"
            "or send uid and token to POST /api/v1/auth/password/reset/confirm:\n"
            f"uid: {uid}\ntoken: {token}\n\n"
            "If it was not you, ignore this message; your password stays as it is.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
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
        auth_sessions_revoke_all(user=user, reason="password_reset")
