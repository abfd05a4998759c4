from __future__ import annotations

import logging


class StripRequestFilter(logging.Filter):
    """Drops the request object from log records, so no handler can write out the POST
    data, cookies or headers of a request (they may hold personal data)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "request"):
            record.request = None
        return True


class DropDebugRecords(logging.Filter):
    """For loggers whose debug records carry personal data: django.template logs every
    failed variable lookup at DEBUG with the context it searched (the answers on the
    page, names, dates) in the exception text. Such records are dropped even when the
    logger's level is turned down to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG
