from django.http import HttpRequest, JsonResponse
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from .models import Row


def sync_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


async def async_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@api_view(["GET"])
def drf_view(request: Request) -> Response:
    return Response({"status": "ok"})


@api_view(["POST"])
def insert_view(request: Request) -> Response:
    row = Row.objects.create(title=str(request.data.get("title", "")))
    return Response({"id": row.pk, "title": row.title}, status=201)


def upload_view(request: HttpRequest) -> JsonResponse:
    """Stock Django multipart handling (the ASGI body spool, then TemporaryFileUploadHandler), nothing kept."""
    upload = request.FILES["file"]
    size = upload.size
    upload.close()
    return JsonResponse({"size": size}, status=201)
