"""Request and response shapes of the Auth API (parsing only; the rules live in services)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from common.strict import ModelSerializer, Serializer

from .models import ApiKey, AuthSession, User


def _minimum_password_length() -> int:
    """The MinimumLengthValidator's length (AUTH_PASSWORD_VALIDATORS), so the schema states the enforced limit."""
    validators: list[dict[str, Any]] = list(settings.AUTH_PASSWORD_VALIDATORS)  # type: ignore[arg-type]
    for validator in validators:
        if str(validator["NAME"]).endswith(".MinimumLengthValidator"):
            return int(validator.get("OPTIONS", {}).get("min_length", 8))
    return 1


def _password_field(*, new: bool = False, **kwargs: Any) -> serializers.CharField:
    """A password: a new one has the validators' minimum length (documented as `minLength`); an existing
    one (login, current password) any length, since older accounts may predate the rule."""
    return serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        min_length=_minimum_password_length() if new else 1,
        max_length=settings.AUTH_PASSWORD_MAX_LENGTH,
        **kwargs,
    )


class _PasswordLengthMixin:
    """Refuse passwords above AUTH_PASSWORD_MAX_LENGTH (read per request, so tests may lower it)."""

    password_fields: tuple[str, ...] = ()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        limit = settings.AUTH_PASSWORD_MAX_LENGTH
        errors = {
            name: [f"Ensure this field has no more than {limit} characters."]
            for name in self.password_fields
            if len(attrs.get(name) or "") > limit
        }
        if errors:
            raise serializers.ValidationError(errors, code="max_length")
        return attrs


# --- Users ----------------------------------------------------------------------------------------


class UserSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "is_staff", "created_at", "updated_at"]
        read_only_fields = fields


class UserUpdateSerializer(_PasswordLengthMixin, Serializer):
    password_fields = ("current_password",)

    name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False)
    current_password = _password_field(required=False, help_text="Required when `email` changes.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "password" in self.initial_data:
            raise serializers.ValidationError(
                {"password": ["The password cannot be changed here; use POST /api/v1/auth/password/change."]},
                code="not_allowed",
            )
        return super().validate(attrs)


# --- Tokens ---------------------------------------------------------------------------------------


class TokenPairSerializer(Serializer):
    access = serializers.CharField(help_text="Access JWT for `Authorization: Bearer`.")
    refresh = serializers.CharField(help_text="Refresh JWT; single use, for POST /api/v1/auth/refresh.")
    token_type = serializers.CharField(help_text='Always "Bearer".')
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class LoginResponseSerializer(TokenPairSerializer):
    device_token = serializers.CharField(
        help_text="Device token of this client for this account: send it as `X-Device-Token` on later logins "
        "to be exempt from the account-wide lockout. Also set as the HttpOnly cookie `auth_device`."
    )


class RegisterResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class RegisterSerializer(_PasswordLengthMixin, Serializer):
    password_fields = ("password",)

    email = serializers.EmailField(max_length=254)
    password = _password_field(new=True)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class LoginSerializer(_PasswordLengthMixin, Serializer):
    password_fields = ("password",)

    email = serializers.EmailField(max_length=254)
    password = _password_field()


class RefreshSerializer(Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutSerializer(Serializer):
    refresh = serializers.CharField(
        max_length=4096, required=False, help_text="Optional: also end the session of this refresh token."
    )


class PasswordChangeSerializer(_PasswordLengthMixin, Serializer):
    password_fields = ("current_password", "new_password")

    current_password = _password_field()
    new_password = _password_field(new=True)


class PasswordResetSerializer(Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(_PasswordLengthMixin, Serializer):
    password_fields = ("new_password",)

    uid = serializers.CharField(max_length=128)
    token = serializers.CharField(max_length=128)
    new_password = _password_field(new=True)


class DetailSerializer(Serializer):
    detail = serializers.CharField()


# --- Sessions and API keys -------------------------------------------------------------------------


class SessionSerializer(ModelSerializer):
    current = serializers.SerializerMethodField(help_text="True for the session of the token making this request.")

    class Meta:
        model = AuthSession
        fields = ["id", "created_at", "last_used_at", "expires_at", "user_agent", "ip_address", "current"]
        read_only_fields = fields

    def get_current(self, obj: AuthSession) -> bool:
        return str(obj.pk) == self.context.get("current_sid")


class ApiKeySerializer(ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Optional expiry (future).")


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The full key. Shown only in this response; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
