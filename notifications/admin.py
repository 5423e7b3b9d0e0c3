"""Admin: browse notifications by kind, read state and date; rows are written through the services."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Broadcast, Notification
from .selectors import with_read_state
from .services import broadcast_requeue


class ReadStateFilter(admin.SimpleListFilter):
    title = "read state"
    parameter_name = "read"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Notification]) -> list[tuple[str, str]]:
        return [("no", "Unread"), ("yes", "Read")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> QuerySet[Notification]:
        return with_read_state(queryset, unread={"no": True, "yes": False}.get(self.value() or ""))


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "seq", "kind", "title", "read_at")
    list_filter = (ReadStateFilter, "kind", "created_at")
    search_fields = ("title", "recipient__email")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("id", "recipient", "seq", "kind", "title", "body", "data", "read_at", "created_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # seq allocation and the push live in services.notification_send


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    """Broadcast jobs: written by `POST /notifications` with `broadcast: true`; failed ones can be re-run."""

    list_display = ("created_at", "title", "status", "attempts", "sent_count", "error_code", "finished_at")
    list_filter = ("status", "created_at")
    ordering = ("-created_at",)
    readonly_fields = [field.name for field in Broadcast._meta.fields]
    actions = ["requeue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created through the API, validated by the services

    @admin.action(description="Run the selected broadcasts again (finished and failed ones)")
    def requeue(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        queued = sum(broadcast_requeue(broadcast=broadcast) for broadcast in queryset)
        self.message_user(request, f"{queued} broadcast(s) queued again.")
