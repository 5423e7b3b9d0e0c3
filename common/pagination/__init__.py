"""Keyset ("seek") pagination with an opaque, signed cursor.

A list is ordered by one allow-listed, non-nullable field `f` and then by the primary key in the same
direction, so rows that share a value of `f` keep a total order. The next page is the rows strictly
after the last row shown: `f > v OR (f = v AND pk > last_pk)` (mirrored with `<` for descending).
Unlike offset pagination this neither skips nor repeats rows when rows are added in between, and,
unlike DRF's CursorPagination, it does not depend on `f` being unique.

Views declare the sorts they allow and the default one::

    class OrderList(ListAPIView):
        ordering_fields = ["created_at", "total_minor"]   # or {"total": "total_minor"}
        default_ordering = "-created_at"

Clients send `?limit=` (1..API_PAGE_SIZE_MAX, default API_PAGE_SIZE_DEFAULT), `?sort=field` or
`?sort=-field`, and `?cursor=` with the `next_cursor` of the previous page. A cursor carries its own
sort, so `sort` may be left out on later pages; sent with a different sort it is refused. The body is
`{"items": [...], "next_cursor": "<opaque>" | null, "has_more": bool}`.

Outside DRF views (consumers, services) call `keyset_page(...)` directly.
"""

from .drf import KeysetPagination
from .keyset import Page, SortSpec, decode_cursor, encode_cursor, keyset_page, parse_limit, parse_sort

__all__ = [
    "KeysetPagination",
    "Page",
    "SortSpec",
    "decode_cursor",
    "encode_cursor",
    "keyset_page",
    "parse_limit",
    "parse_sort",
]
