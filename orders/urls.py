"""Routes of the orders API, mounted by config/urls.py under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "orders"

urlpatterns: list[URLPattern | URLResolver] = [
    path("orders", views.OrderListCreateView.as_view(), name="list"),
    path("orders/webhooks/stripe", views.StripeWebhookView.as_view(), name="stripe-webhook"),
    path("orders/webhooks", views.StripeEventListView.as_view(), name="webhooks"),
    path("orders/webhooks/<uuid:pk>", views.StripeEventDetailView.as_view(), name="webhook"),
    path("orders/webhooks/<uuid:pk>/retry", views.StripeEventRetryView.as_view(), name="webhook-retry"),
    path("orders/<uuid:pk>", views.OrderDetailView.as_view(), name="detail"),
    path("orders/<uuid:pk>/cancel", views.OrderCancelView.as_view(), name="cancel"),
    path("orders/<uuid:pk>/history", views.OrderHistoryView.as_view(), name="history"),
]
