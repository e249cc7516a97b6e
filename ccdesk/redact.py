"""Log hygiene: what must never reach a log line, cut out of every record.

``ccdesk -v`` turns on DEBUG for every library, and urllib3 then logs each request line with
its query string: the addresses of a look-up (``email=…``), the sign-in redirect's
authorization ``code`` and ``state``. :class:`RedactingFilter`, put on each handler ccdesk
installs (the command line's standard error, the window's log file), replaces such values
with ``[redacted]``, and e-mail addresses anywhere with ``[address]``, in the message and in a
logged traceback alike.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# name=value pairs (query strings, form bodies) whose value is private or secret.
_PAIR = re.compile(
    r"(?i)(?<![\w-])((?:[\w]*token|[\w]*secret|email|code|state|code_verifier|code_challenge"
    r"|device_code|user_code|cursor|password|assertion)=)([^&\s\"'#;,]+)"
)
# "name": "value" in JSON text.
_JSON = re.compile(
    r"(?i)(\"(?:[\w]*token|[\w]*secret|code|state|code_verifier|device_code|user_code|password)"
    r"\"\s*:\s*\")([^\"]*)(\")"
)
_BEARER = re.compile(r"(?i)(\b(?:bearer|basic)\s+)[\w.~+/=-]+")
# A match may only begin where a run of address characters begins: linear on long runs.
_ADDRESS = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    """``text`` without query values, tokens or addresses that must not be logged."""
    text = _PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    text = _JSON.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _ADDRESS.sub("[address]", text)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts every record's message and traceback (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: leave the record to logging
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(handler: logging.Handler) -> logging.Handler:
    """Put a :class:`RedactingFilter` on ``handler`` (once); returns the handler."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
    return handler


__all__ = ["REDACTED", "RedactingFilter", "install", "redact"]
