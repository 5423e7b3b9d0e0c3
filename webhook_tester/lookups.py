"""`body__bytes_contains=b"..."`: a byte-string search in a BinaryField, on PostgreSQL and SQLite."""

from typing import Any

from django.db import models
from django.db.models import Lookup


@models.BinaryField.register_lookup
class BytesContains(Lookup):
    lookup_name = "bytes_contains"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"position({rhs} in {lhs}) > 0", [*rhs_params, *lhs_params]
        return f"instr({lhs}, {rhs}) > 0", [*lhs_params, *rhs_params]
