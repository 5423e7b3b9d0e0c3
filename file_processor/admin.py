"""Admin: files, jobs and webhook deliveries are browsed read-only; rows are written by the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ConversionJob, DirectUploadToken, StoredFile, WebhookAttempt, WebhookDelivery


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "original_name", "mime_type", "size", "origin", "expires_at")
    list_filter = ("mime_type", "origin", "created_at")
    search_fields = ("original_name", "sha256", "owner__email")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)


@admin.register(ConversionJob)
class ConversionJobAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "source", "target_format", "status", "progress", "attempts", "error_code")
    list_filter = ("status", "target_format", "error_code")
    search_fields = ("id", "owner__email", "source__original_name")
    list_select_related = ("owner", "source")
    ordering = ("-created_at",)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "requested_at", "status_code", "duration_ms", "error_code", "error_message")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "job", "event_type", "url", "status", "attempts", "error_code")
    list_filter = ("status", "event_type")
    inlines = [WebhookAttemptInline]
    ordering = ("-created_at",)


@admin.register(DirectUploadToken)
class DirectUploadTokenAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "filename", "content_type", "size", "expires_at", "used_at")
    ordering = ("-created_at",)
