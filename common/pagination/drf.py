"""The DRF pagination class over `keyset_page`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from common.strict import query_param

from .keyset import CURSOR_PARAM, LIMIT_PARAM, SORT_PARAM, OrderingFields, Page, _fields_map, keyset_page


class KeysetPagination(BasePagination):
    """DRF's DEFAULT_PAGINATION_CLASS: `limit`, `cursor`, `sort` in; `items`, `next_cursor`, `has_more` out.

    Reads `ordering_fields` (allow-list: names, or a mapping public name -> model field) and
    `default_ordering` (e.g. "-created_at"; "-pk" when absent) from the view.
    """

    page: Page[Any] | None = None

    @staticmethod
    def _view_config(view: Any) -> tuple[OrderingFields, str]:
        ordering_fields: OrderingFields = getattr(view, "ordering_fields", None) or ()
        default_ordering: str = getattr(view, "default_ordering", None) or "-pk"
        return ordering_fields, default_ordering

    def paginate_queryset(
        self, queryset: QuerySet[Any, Any] | Sequence[Any], request: Request, view: Any = None
    ) -> list[Any]:
        if not isinstance(queryset, QuerySet):
            raise ImproperlyConfigured("KeysetPagination needs a QuerySet; a list cannot be paginated by key")
        ordering_fields, default_ordering = self._view_config(view)
        params = request.query_params
        self.page = keyset_page(
            queryset,
            # Present means given once and not empty (`?sort=` is 400, not the default).
            sort=query_param(params, SORT_PARAM, problem_code="invalid_sort"),
            limit=query_param(params, LIMIT_PARAM, problem_code="invalid_limit"),
            cursor=query_param(params, CURSOR_PARAM, problem_code="invalid_cursor"),
            ordering_fields=ordering_fields,
            default_ordering=default_ordering,
        )
        return self.page.items

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None  # noqa: S101 - paginate_queryset ran first
        return Response({"items": data, "next_cursor": self.page.next_cursor, "has_more": self.page.has_more})

    def get_paginated_response_schema(self, schema: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["items", "next_cursor", "has_more"],
            "properties": {
                "items": schema,
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "Pass as `cursor` to get the next page; null on the last page.",
                    "example": "eyJtIjoi...:1tK2x:Qm9vaw",
                },
                "has_more": {"type": "boolean", "example": False},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        ordering_fields, default_ordering = self._view_config(view)
        names = list(_fields_map(ordering_fields))
        default_name = default_ordering.lstrip("-")
        if default_name not in names:
            names.append(default_name)
        sort_values = [value for name in names for value in (name, f"-{name}")]
        maximum = int(settings.API_PAGE_SIZE_MAX)
        return [
            {
                "name": LIMIT_PARAM,
                "required": False,
                "in": "query",
                "description": f"Items per page, 1 to {maximum}.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": maximum,
                    "default": int(settings.API_PAGE_SIZE_DEFAULT),
                },
            },
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "The `next_cursor` of the previous page (opaque).",
                "schema": {"type": "string"},
            },
            {
                "name": SORT_PARAM,
                "required": False,
                "in": "query",
                "description": "Sort field; prefix with '-' for descending. Ties are broken by id.",
                "schema": {"type": "string", "enum": sort_values, "default": default_ordering},
            },
        ]
