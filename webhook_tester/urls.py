"""Routes of the webhook_tester API, mounted by config/urls.py under /api/v1/bins.

Captures (`/hooks/...`) are answered before Django by `capture.capture_app` (config/asgi.py); the
inspector page `/bins/{id}` is in `page_urls.py`, mounted at the root.
"""

from django.urls import URLPattern, URLResolver, path

from .views import api, export

app_name = "webhook_tester"

EVENT = "bins/<str:bin_id>/events/<str:event_id>"

urlpatterns: list[URLPattern | URLResolver] = [
    path("bins", api.BinListCreateView.as_view(), name="bin-list"),
    path("bins/<str:bin_id>", api.BinDetailView.as_view(), name="bin-detail"),
    path("bins/<str:bin_id>/events", api.EventListView.as_view(), name="event-list"),
    path(EVENT, api.EventDetailView.as_view(), name="event-detail"),
    path(f"{EVENT}/export", export.EventExportView.as_view(), name="event-export"),
    path(f"{EVENT}/replay", api.ReplayView.as_view(), name="event-replay"),
    path(f"{EVENT}/replays", api.ReplayListView.as_view(), name="replay-list"),
    path(f"{EVENT}/replays/<str:replay_id>", api.ReplayDetailView.as_view(), name="replay-detail"),
]
