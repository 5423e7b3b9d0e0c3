"""Request and response shapes of the Auth API (parsing only; the rules live in services)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from .models import ApiKey, AuthSession, User


def _password_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}, min_length=1, **kwargs
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


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "name", "is_staff", "created_at", "updated_at"]
        read_only_fields = fields


class UserUpdateSerializer(_PasswordLengthMixin, serializers.Serializer[Any]):
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


class TokenPairSerializer(serializers.Serializer[Any]):
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


class RegisterSerializer(_PasswordLengthMixin, serializers.Serializer[Any]):
    password_fields = ("password",)

    email = serializers.EmailField(max_length=254)
    password = _password_field()
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class LoginSerializer(_PasswordLengthMixin, serializers.Serializer[Any]):
    password_fields = ("password",)

    email = serializers.EmailField(max_length=254)
    password = _password_field()


class RefreshSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(max_length=4096)


class LogoutSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(
        max_length=4096, required=False, help_text="Optional: also end the session of this refresh token."
    )


class PasswordChangeSerializer(_PasswordLengthMixin, serializers.Serializer[Any]):
    password_fields = ("current_password", "new_password")

    current_password = _password_field()
    new_password = _password_field()


class PasswordResetSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(_PasswordLengthMixin, serializers.Serializer[Any]):
    password_fields = ("new_password",)

    uid = serializers.CharField(max_length=128)
    token = serializers.CharField(max_length=128)
    new_password = _password_field()


class DetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


# --- Sessions and API keys -------------------------------------------------------------------------


class SessionSerializer(serializers.ModelSerializer[AuthSession]):
    current = serializers.SerializerMethodField(help_text="True for the session of the token making this request.")

    class Meta:
        model = AuthSession
        fields = ["id", "created_at", "last_used_at", "expires_at", "user_agent", "ip_address", "current"]
        read_only_fields = fields

    def get_current(self, obj: AuthSession) -> bool:
        return str(obj.pk) == self.context.get("current_sid")


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Optional expiry (future).")


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The full key. Shown only in this response; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
