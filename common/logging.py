"""JSON log lines that carry the request id of the request that wrote them."""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from .serialization import format_datetime, to_jsonable

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
# Set per HTTP request by common.asgi.RequestGuard (common.net.client_ip): log lines name the client.
client_ip_var: ContextVar[str] = ContextVar("client_ip", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        if not hasattr(record, "client_ip"):
            record.client_ip = client_ip_var.get()
        return True


class JsonFormatter(logging.Formatter):
    _STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "client_ip"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": format_datetime(datetime.fromtimestamp(record.created, tz=UTC)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "client_ip": getattr(record, "client_ip", client_ip_var.get()),
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(to_jsonable_or_str(entry), default=str, ensure_ascii=False)


def to_jsonable_or_str(value: Any) -> Any:
    """The platform JSON form (UTC datetimes, Decimal strings, ...); anything unknown becomes its str()."""
    if isinstance(value, dict):
        return {str(key): to_jsonable_or_str(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable_or_str(item) for item in value]
    try:
        return to_jsonable(value)
    except TypeError:
        return str(value)
