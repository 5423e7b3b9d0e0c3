"""Routes of the notifications API, mounted by config/urls.py under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from . import views
from .schema import NotificationEventsSchemaView
from .sse import notification_events

app_name = "notifications"

# The SSE stream is a plain async Django view (DRF would buffer it). drf-spectacular only documents DRF
# views, so the callback points it at a documentation-only APIView; Django still calls the async view.
notification_events.cls = NotificationEventsSchemaView  # type: ignore[attr-defined]
notification_events.initkwargs = {}  # type: ignore[attr-defined]

urlpatterns: list[URLPattern | URLResolver] = [
    path("notifications", views.NotificationListCreateView.as_view(), name="list"),
    path("notifications/events", notification_events, name="events"),
    path("notifications/read-all", views.NotificationReadAllView.as_view(), name="read-all"),
    path("notifications/unread-count", views.NotificationUnreadCountView.as_view(), name="unread-count"),
    path("notifications/<uuid:pk>/read", views.NotificationReadView.as_view(), name="read"),
]
