"""Admin: bins (search by name, id, owner), and captured events and replays read-only, with a raw view."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .export import event_curl
from .models import Bin, CapturedEvent, ReplayAttempt

RAW_PREVIEW_BYTES = 16 * 1024


def _hex(data: bytes) -> str:
    lines = []
    for offset in range(0, min(len(data), RAW_PREVIEW_BYTES), 16):
        chunk = data[offset : offset + 16]
        ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {chunk.hex(' '):<47}  {ascii_}")
    return "\n".join(lines)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Bin)
class BinAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "created_at", "expires_at", "event_cap", "notify")
    list_filter = ("notify", "created_at")
    search_fields = ("=id", "name", "owner__email")
    list_select_related = ("owner",)
    ordering = ("-created_at",)
    readonly_fields = ("id", "owner", "created_at", "updated_at", "read_key_hash")
    show_full_result_count = False


@admin.register(CapturedEvent)
class CapturedEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "method", "path", "bin", "content_type", "content_length", "remote_ip")
    list_filter = ("method", "received_at")
    search_fields = ("=bin__id", "path", "remote_ip", "content_type")
    list_select_related = ("bin",)
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    show_full_result_count = False
    fields = (
        "id",
        "bin",
        "received_at",
        "method",
        "path",
        "query_string",
        "remote_ip",
        "is_tls",
        "content_type",
        "content_length",
        "raw_headers",
        "raw_body",
        "form",
        "curl",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CapturedEvent]:
        return super().get_queryset(request).defer("body")

    @admin.display(description="headers (as received)")
    def raw_headers(self, event: CapturedEvent) -> str:
        return format_html("<pre>{}</pre>", "\n".join(f"{name}: {value}" for name, value in event.headers))

    @admin.display(description="body (raw)")
    def raw_body(self, event: CapturedEvent) -> str:
        data = bytes(event.body)
        try:
            text = data[:RAW_PREVIEW_BYTES].decode("utf-8")
            if "\x00" in text:
                raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL")
        except UnicodeDecodeError:
            text = _hex(data)
        more = f"\n… {len(data) - RAW_PREVIEW_BYTES} more bytes" if len(data) > RAW_PREVIEW_BYTES else ""
        return format_html("<pre>{}{}</pre>", text, more)  # escaped: captured content is never markup

    @admin.display(description="copy as curl")
    def curl(self, event: CapturedEvent) -> str:
        return format_html("<pre>{}</pre>", event_curl(event))


@admin.register(ReplayAttempt)
class ReplayAttemptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "target_url", "status", "attempts", "response_status", "error_code")
    list_filter = ("status",)
    search_fields = ("target_url", "=event__id")
    ordering = ("-created_at",)
    readonly_fields = [field.name for field in ReplayAttempt._meta.fields]
