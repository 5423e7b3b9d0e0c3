"""DRF rendering with the platform's JSON rules (common.serialization).

Point REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] at `common.renderers.JSONRenderer` so that values a
view returns without a serializer field (a raw datetime, Decimal, UUID in a dict) leave in the same
form as serializer output and channel-layer/webhook payloads: UTC "Z" datetimes, Decimals as strings.
"""

from typing import Any

from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder as DRFJSONEncoder

from .serialization import json_default


class JSONEncoder(DRFJSONEncoder):
    """The platform rules first; DRF's encoder for what it knows besides (querysets, lazy objects, ...)."""

    def default(self, obj: Any) -> Any:
        if isinstance(obj, set | frozenset):
            return list(obj)
        try:
            return json_default(obj)
        except TypeError:
            return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = JSONEncoder
