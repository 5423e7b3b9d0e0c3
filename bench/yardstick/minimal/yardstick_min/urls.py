from django.urls import path

from . import views

urlpatterns = [
    path("sync", views.sync_view),
    path("async", views.async_view),
    path("drf", views.drf_view),
    path("insert", views.insert_view),
    path("upload", views.upload_view),
]
