"""Admin for users (with Django's password forms), sessions and API keys (no secrets shown).

A password set in the admin ends every session of the user and revokes every API key, like a
password change through the API.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ApiKey, AuthSession, User
from .services import api_keys_revoke, auth_session_revoke, user_credentials_revoke


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class PasswordChangeAdminForm(AdminPasswordChangeForm):
    """Django's admin password form; saving it also ends the user's sessions and revokes the API keys."""

    def save(self, commit: bool = True) -> User:
        user: User = super().save(commit=commit)
        if commit:
            user_credentials_revoke(user=user, reason="admin_password")
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_password_form = PasswordChangeAdminForm
    list_display = ("email", "name", "is_staff", "is_active", "created_at", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "name")
    ordering = ("-created_at",)
    readonly_fields = ("created_at", "updated_at", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    filter_horizontal = ("groups", "user_permissions")


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "revoked_reason",
        "ip_address",
    )
    list_filter = ("revoked_reason",)
    search_fields = ("user__email", "id", "ip_address")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    # The jti values are not secrets (the tokens are signed), but nothing here may be edited by hand.
    exclude = ("refresh_jti", "previous_jti")
    readonly_fields = (
        "id",
        "user",
        "created_at",
        "last_used_at",
        "rotated_at",
        "expires_at",
        "revoked_at",
        "revoked_reason",
        "user_agent",
        "ip_address",
    )
    actions = ["revoke_sessions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected sessions")
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[AuthSession]) -> None:
        for session in queryset.filter(revoked_at__isnull=True):
            auth_session_revoke(session_id=session.pk, reason="admin")


class ApiKeyAdminForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "expires_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyAdminForm
    list_display = ("name", "prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    search_fields = ("name", "prefix", "user__email")
    list_select_related = ("user",)
    ordering = ("-created_at",)
    readonly_fields = ("prefix", "user", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are made through the API, which shows the secret once

    @admin.action(description="Revoke the selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        api_keys_revoke(key_ids=list(queryset.values_list("pk", flat=True)))
