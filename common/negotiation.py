"""DRF's content negotiation, its answer remembered for the Accept headers clients repeat.

DRF parses the `Accept` header into media types and matches them against every renderer on each
request (~5 % of a small authenticated read, issue 8). The answer depends only on the header's
text, the requested format and the renderers' classes, so it is remembered per those, for short
headers only and in a bounded table; the rest (and every refusal: 404 for an unknown format, 406)
is negotiated as DRF does. The remembered answer is DRF's own (`DefaultContentNegotiation`): a view
that needs other rules names a subclass of DRF's class, as the bins' export does.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

REMEMBERED_ACCEPT_MAX_LENGTH = 256
REMEMBERED_ANSWERS = 512


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        accept = request.headers.get("accept", "*/*")
        if len(accept) > REMEMBERED_ACCEPT_MAX_LENGTH:
            return super().select_renderer(request, renderers, format_suffix)
        renderers = list(renderers)
        requested_format = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        kinds = tuple(type(renderer) for renderer in renderers)
        index, media_type = _negotiated(kinds, accept, requested_format)
        return renderers[index], media_type


class _HeaderOnly:
    """The parts of a request negotiation reads: its Accept header and its query string."""

    def __init__(self, accept: str) -> None:
        self.headers = {"accept": accept}
        self.query_params: dict[str, Any] = {}


@functools.lru_cache(maxsize=REMEMBERED_ANSWERS)
def _negotiated(
    kinds: tuple[type[BaseRenderer], ...],
    accept: str,
    requested_format: str | None,
) -> tuple[int, str]:
    renderers = [kind() for kind in kinds]
    chosen, media_type = DefaultContentNegotiation().select_renderer(
        cast(Request, _HeaderOnly(accept)), renderers, requested_format
    )
    return renderers.index(chosen), media_type
