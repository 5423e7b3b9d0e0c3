"""Shapes of the Webhook Tester API. Events are rendered by hand (`event_payload`): bodies are bytes."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from rest_framework import serializers

from common import strict

from .live import event_summary
from .models import Bin, CapturedEvent, ReplayAttempt


class ResponseSpecSerializer(strict.Serializer):
    """A custom response. Validated in full by the service (status range, allow-listed headers, sizes)."""

    status = serializers.IntegerField(default=200, help_text="200-599.")
    headers = serializers.JSONField(
        default=dict,
        help_text="Object of header name -> value (or a list of [name, value]); only X-* and a few standard "
        "headers (Cache-Control, ETag, Last-Modified, Retry-After, Vary, WWW-Authenticate, Link, Expires).",
    )
    body = serializers.CharField(default="", allow_blank=True, trim_whitespace=False, help_text="Up to 64 KiB.")
    content_type = serializers.CharField(default="text/plain; charset=utf-8")
    delay_ms = serializers.IntegerField(default=0, help_text="0-10000.")


class BinWriteSerializer(strict.Serializer):
    name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    response = ResponseSpecSerializer(
        allow_null=True, required=False, help_text="Custom response; null for the JSON receipt."
    )
    event_cap = serializers.IntegerField(required=False, help_text="Events kept (1 to BINS_EVENT_CAP).")
    replay_url = serializers.CharField(
        max_length=2000, allow_blank=True, required=False, help_text="Default replay target."
    )
    notify = serializers.BooleanField(required=False, help_text="Notify me when events arrive (throttled).")
    read_key = serializers.BooleanField(
        required=False,
        help_text="true: make a new read key (shown once in `read_key`) that lets others read this bin with "
        "`X-Bin-Key`; false: remove it.",
    )
    renew = serializers.BooleanField(required=False, default=False, help_text="PATCH: restart the retention period.")


class BinSerializer(strict.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The capture URL: send anything to it (and to sub-paths).")
    inspector_url = serializers.SerializerMethodField()
    response = serializers.SerializerMethodField()
    has_read_key = serializers.SerializerMethodField()
    event_count = serializers.SerializerMethodField()

    class Meta:
        model = Bin
        fields = [
            "id",
            "name",
            "url",
            "inspector_url",
            "created_at",
            "updated_at",
            "expires_at",
            "event_cap",
            "event_count",
            "response",
            "replay_url",
            "notify",
            "has_read_key",
        ]
        read_only_fields = fields

    def get_url(self, bin: Bin) -> str:
        return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/hooks/{bin.pk}"

    def get_inspector_url(self, bin: Bin) -> str:
        return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/bins/{bin.pk}"

    def get_response(self, bin: Bin) -> dict[str, Any] | None:
        if bin.response_status is None:
            return None
        return {
            "status": bin.response_status,
            "headers": dict(bin.response_headers),
            "body": bin.response_body,
            "content_type": bin.response_content_type,
            "delay_ms": bin.response_delay_ms,
        }

    def get_has_read_key(self, bin: Bin) -> bool:
        return bool(bin.read_key_hash)

    def get_event_count(self, bin: Bin) -> int:
        count = getattr(bin, "event_count", None)
        return int(count) if count is not None else bin.events.count()


class BinCreatedSerializer(BinSerializer):
    read_key = serializers.CharField(allow_null=True, help_text="Only in this answer; store it now.")

    class Meta(BinSerializer.Meta):
        fields = [*BinSerializer.Meta.fields, "read_key"]
        read_only_fields = fields


def body_view(event: CapturedEvent) -> dict[str, Any]:
    """The body as text when it is UTF-8 (`body`), always as base64 (`body_base64`)."""
    raw = bytes(event.body)
    try:
        text: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {"body": text, "body_base64": base64.b64encode(raw).decode("ascii"), "body_is_text": text is not None}


def event_payload(event: CapturedEvent) -> dict[str, Any]:
    """The whole event as plain JSON types (detail endpoint; property 28 round-trips it)."""
    return {
        **event_summary(event),
        "query": [[name, value] for name, value in parse_qsl(event.query_string, keep_blank_values=True)],
        "headers": [[name, value] for name, value in event.headers],
        **body_view(event),
        "form": event.form,
    }


class EventSummarySerializer(strict.ModelSerializer):
    """A list row (no body, no headers)."""

    bin_id = serializers.UUIDField(read_only=True)
    received_at = serializers.DateTimeField(read_only=True, help_text="UTC, microseconds.")

    class Meta:
        model = CapturedEvent
        fields = [
            "id",
            "bin_id",
            "method",
            "path",
            "sub_path",
            "query_string",
            "content_type",
            "content_length",
            "remote_ip",
            "is_tls",
            "received_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: CapturedEvent) -> dict[str, Any]:
        return event_summary(instance)


class EventSerializer(EventSummarySerializer):
    """One event in full: headers in order with their original case, the exact body (base64), parsed views."""

    query = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Parsed query, [[name, value], ...]."
    )
    headers = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()), help_text="[[name, value], ...] as received."
    )
    body = serializers.CharField(allow_null=True, help_text="The body as text when it is valid UTF-8, else null.")
    body_base64 = serializers.CharField(help_text="The exact body bytes, base64.")
    body_is_text = serializers.BooleanField()
    form = serializers.JSONField(
        allow_null=True, help_text='Form/multipart view: {"kind", "fields": [[name, value]], "files": [...]}.'
    )

    class Meta(EventSummarySerializer.Meta):
        fields = [
            *EventSummarySerializer.Meta.fields,
            "query",
            "headers",
            "body",
            "body_base64",
            "body_is_text",
            "form",
        ]
        read_only_fields = fields

    def to_representation(self, instance: CapturedEvent) -> dict[str, Any]:
        return event_payload(instance)


class ReplayRequestSerializer(strict.Serializer):
    url = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Target; default: the bin's replay_url."
    )


class ReplaySerializer(strict.ModelSerializer):
    event_id = serializers.UUIDField(read_only=True)
    response_body_base64 = serializers.SerializerMethodField()

    class Meta:
        model = ReplayAttempt
        fields = [
            "id",
            "event_id",
            "target_url",
            "status",
            "attempts",
            "created_at",
            "finished_at",
            "response_status",
            "response_headers",
            "response_body_base64",
            "response_truncated",
            "elapsed_ms",
            "error_code",
            "error_message",
        ]
        read_only_fields = fields

    def get_response_body_base64(self, replay: ReplayAttempt) -> str:
        return base64.b64encode(bytes(replay.response_body_excerpt)).decode("ascii")


class ClearedSerializer(strict.Serializer):
    deleted = serializers.IntegerField(min_value=0)
