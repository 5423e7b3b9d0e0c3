"""Small HTTP helpers every app shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase


def no_store(response: HttpResponseBase) -> HttpResponseBase:
    """Mark a response that carries a secret (a token, a key) as never to be stored (RFC 6749 5.1, RFC 9111)."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


class NoStoreMixin:
    """For DRF views whose responses carry secrets: every response of the view, errors included, is no-store."""

    def finalize_response(self, request: HttpRequest, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        return no_store(response)
