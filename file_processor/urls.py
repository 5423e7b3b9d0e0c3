"""Routes of the file_processor API, mounted by config/urls.py under /api/v1/files."""

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "file_processor"

urlpatterns: list[URLPattern | URLResolver] = [
    path("files", views.FileListView.as_view(), name="list"),
    path("files/uploads", views.UploadView.as_view(), name="upload"),
    path("files/uploads/signed-url", views.SignedUrlView.as_view(), name="signed-url"),
    path("files/uploads/direct/<str:token>", views.DirectUploadView.as_view(), name="direct-upload"),
    path("files/uploads/direct/<str:token>/complete", views.DirectUploadCompleteView.as_view(), name="direct-complete"),
    path("files/conversions", views.ConversionMatrixView.as_view(), name="conversions"),
    path("files/convert", views.ConvertView.as_view(), name="convert"),
    path("files/jobs/<uuid:pk>", views.JobDetailView.as_view(), name="job"),
    path("files/webhooks/convert", views.InboundConvertView.as_view(), name="inbound-convert"),
    path("files/webhooks/secret", views.WebhookSecretView.as_view(), name="webhook-secret"),
    path("files/<uuid:pk>", views.FileDetailView.as_view(), name="detail"),
    path("files/<uuid:pk>/download", views.DownloadView.as_view(), name="download"),
    path("files/<uuid:pk>/status", views.FileStatusView.as_view(), name="status"),
]
