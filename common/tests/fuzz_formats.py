"""Value strategies schemathesis uses for this API's formats, shared by the in-process fuzz test
(test_schema_fuzz.py) and the live runs (fuzz_live_hooks.py, docs/attack.md). Importing registers them.
"""

from __future__ import annotations

import datetime as dt

import schemathesis
from hypothesis import strategies as st

# `date-time` values anywhere in Python's range with any whole-minute offset up to +-23:59, edges first:
# 0001-01-01T00:00:00+23:59 has no instant in UTC, and PostgreSQL refuses offsets past 15:59 (both were 500s).
EDGE_DATETIMES = ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"]
_OFFSETS = st.integers(-1439, 1439).map(lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
schemathesis.openapi.format(
    "date-time",
    st.one_of(st.sampled_from(EDGE_DATETIMES), st.datetimes(timezones=_OFFSETS).map(dt.datetime.isoformat)),
)
