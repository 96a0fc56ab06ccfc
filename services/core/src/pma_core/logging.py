"""Structured JSON logs with a request id that follows a request across services.

The id arrives in `X-Request-ID` (or is minted), lives in a context variable for the request, is
stamped on every log line, and is sent on every outgoing call by the service clients.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: ContextVar[str | None] = ContextVar("pma_request_id", default=None)

# Attributes every LogRecord has; anything else passed via `extra=` is emitted as a field.
# uvicorn adds `color_message`, the same text with terminal colour codes: noise in a JSON log.
_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


# Secrets that can reach a log line inside a URL or a header echoed in a message: the ICS feed's `token`,
# OAuth's `code` and `state` (uvicorn's access log prints the whole request line), and bearer tokens.
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:token|access_token|refresh_token|id_token|code|state|api_key|key|client_secret)=)[^&\s\"']+"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """`text` with query-string secrets and bearer tokens replaced by `[redacted]`."""
    return _BEARER.sub(r"\1[redacted]", _SECRET_QUERY.sub(r"\1[redacted]", text))


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with `redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(request_id: str | None) -> object:
    """Bind a request id to the current context; returns a token for `reset_request_id`."""
    return _request_id.set(request_id)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


def new_request_id() -> str:
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service, request_id, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self._service,
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(*, service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route the root logger (and uvicorn's) to stdout in the chosen format; idempotent."""
    handler = logging.StreamHandler(sys.stdout)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv_logger = logging.getLogger(name)
        # uvicorn's access log switched off (`--no-access-log`: no handler, not propagating) stays off.
        switched_off = name == "uvicorn.access" and not uv_logger.propagate and not uv_logger.handlers
        uv_logger.handlers[:] = []
        # uvicorn sets its loggers to INFO; records propagated to the root skip the root's level, so
        # without this LOG_LEVEL=WARNING still printed every start-up and access line.
        uv_logger.setLevel(logging.NOTSET)
        uv_logger.propagate = not switched_off
