"""Placeholder: replaced by the health work (issue 2)."""

from django.http import HttpRequest, JsonResponse


async def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


async def ready(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
