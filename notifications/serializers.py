"""Shapes of the Notifications API. `NotificationSerializer` is also the live (WS/SSE) payload."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.strict import ModelSerializer, Serializer

from .models import Notification, NotificationKind

KIND_DESCRIPTION = (
    "Dotted event name. Known kinds: "
    + ", ".join(f"`{value}` ({label})" for value, label in NotificationKind.choices)
    + ". New kinds may appear; treat unknown ones as generic messages."
)


@extend_schema_field({"type": "object", "additionalProperties": True, "example": {"order_id": "b1f0..."}})
class JsonObjectField(serializers.JSONField):
    """A JSON object (not an array or scalar)."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.", code="invalid")
        return value


@extend_schema_field(
    {
        "type": "string",
        "enum": list(NotificationKind.values),
        "description": "Notification kind. " + KIND_DESCRIPTION,
        "default": NotificationKind.SYSTEM_MESSAGE.value,
    }
)
class NotificationKindField(serializers.ChoiceField):
    """The documented kinds, as an enum in the schema."""


class NotificationSerializer(ModelSerializer):
    """The REST object; its representation is `notification_payload`, the live payload too."""

    user_id = serializers.UUIDField(source="recipient_id", read_only=True)
    kind = serializers.CharField(read_only=True, help_text=KIND_DESCRIPTION)
    data = JsonObjectField(read_only=True)  # type: ignore[assignment]  # the field, not Serializer.data
    read = serializers.BooleanField(source="is_read", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "seq", "user_id", "kind", "title", "body", "data", "read", "read_at", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        return notification_payload(instance)


_TIMESTAMP = serializers.DateTimeField(read_only=True)


def notification_payload(notification: Notification) -> dict[str, Any]:
    """The notification as plain JSON types: the REST object, and the WebSocket/SSE payload.

    Built directly rather than field by field through the serializer, which costs about a
    millisecond per row: every push and every replayed row goes through here. A test holds it equal
    to the serializer's generic representation.
    """
    return {
        "id": str(notification.pk),
        "seq": notification.seq,
        "user_id": str(notification.recipient_id),
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data,
        "read": notification.read_at is not None,
        "read_at": None if notification.read_at is None else _TIMESTAMP.to_representation(notification.read_at),
        "created_at": _TIMESTAMP.to_representation(notification.created_at),
    }


class NotificationCreateSerializer(Serializer):
    kind = NotificationKindField(
        choices=NotificationKind.choices,
        default=NotificationKind.SYSTEM_MESSAGE,
        help_text="One of the documented kinds; defaults to `system.message`.",
    )
    title = serializers.CharField(max_length=settings.NOTIFICATIONS_TITLE_MAX_CHARS, trim_whitespace=True)
    body = serializers.CharField(
        max_length=settings.NOTIFICATIONS_BODY_MAX_CHARS, allow_blank=True, default="", trim_whitespace=False
    )
    data = JsonObjectField(  # type: ignore[assignment]  # the field, not Serializer.data
        required=False, default=dict, help_text="Free-form JSON object for the client."
    )
    user_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Recipient; defaults to the caller. Only staff may name another user.",
    )
    broadcast = serializers.BooleanField(
        default=False,
        help_text="Staff only: send to every active user (queued, answered with 202). Excludes `user_id`.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("broadcast") and attrs.get("user_id"):
            raise serializers.ValidationError({"user_id": ["Leave out user_id when broadcast is true."]})
        return attrs


class BroadcastAcceptedSerializer(Serializer):
    broadcast = serializers.BooleanField()
    status = serializers.CharField(help_text="`queued`: a background task writes and pushes it in batches.")


class UnreadCountSerializer(Serializer):
    unread_count = serializers.IntegerField(min_value=0)


class MarkAllReadSerializer(Serializer):
    marked_read = serializers.IntegerField(min_value=0, help_text="How many notifications changed to read.")
