"""Placeholder: replaced by the keyset pagination work (issue 2)."""

from rest_framework.pagination import CursorPagination


class KeysetPagination(CursorPagination):
    ordering = "-pk"
