"""Logs: one JSON object a line for the log collector, and no personal data in any of them.

``PersonalDataFilter`` sits on the console handler, so every record passes through it whatever
logger wrote it (ours, Django's "Not Found: /path" warnings, Celery's task failures, a library's
exception text): cédulas and email addresses are blanked in the message, its arguments, the
extra fields and the traceback. Our own request and job lines never carry them in the first
place (config/request_log.py logs the path without its query's values, user ids not emails); the
filter is the net under everything else.

``RequestContextFilter`` stamps each record with the id of the request being served, so the
lines one request wrote can be found together (the id is also the X-Request-ID response header).
"""

import contextvars
import datetime
import json
import logging
import re

# V or E (any case), then 6 to 9 digits, dots or hyphens allowed between them: V-12345678,
# e12.345.678, V 1234567. Not inside a longer word or number.
CEDULA = re.compile(r"(?<![0-9A-Za-z])[VE][\s.\-]*\d(?:[.\-]?\d){5,8}(?!\d)", re.IGNORECASE)
# A bare number labelled as a cédula: "cedula=12345678", "cédula: 12.345.678".
LABELLED_CEDULA = re.compile(r"(c[ée]dula\W{0,3})\d[\d.\-]{4,11}\d", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")

# Identifiers we generate: never personal data, and a uuid's "-e123-4567" must stay whole.
UNREDACTED_FIELDS = frozenset({"request_id", "task_id"})
# The attributes every LogRecord has; anything else on a record came in through `extra`.
RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


def redact(text: str) -> str:
    """The text with every email address and cédula blanked."""
    text = EMAIL.sub("[email]", text)
    text = CEDULA.sub("[cedula]", text)
    return LABELLED_CEDULA.sub(r"\1[cedula]", text)


class PersonalDataFilter(logging.Filter):
    """Blanks cédulas and email addresses in a record, in place, before any handler formats it."""

    _exception_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = redact(message), None
        for key, value in vars(record).items():
            if key not in RECORD_FIELDS and key not in UNREDACTED_FIELDS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exception_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` (None outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, then the record's extra
    fields that hold a plain value (None, or a request object passed by Django, is left out),
    then the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in RECORD_FIELDS or key.startswith("_") or key in entry:
                continue
            if isinstance(value, str | int | float | bool):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
