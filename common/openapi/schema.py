"""Placeholder: replaced by the OpenAPI work (issue 2)."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    pass
