"""E-mail texts a procedure defines for itself (`notifications:` in its definition).

They are data written by procedure authors, not code: plain text with placeholders like
`{{ receipt_number }}` and nothing else (no tags, no filters), so that a definition can
neither run template code nor reach data the message should not carry. Each message has a
fixed set of placeholders; an unknown one is refused when the definition is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.formats import date_format

_COMMON = ("procedure_name", "receipt_number", "body_name", "status_url", "base_url")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "application_submitted": (*_COMMON, "processing_days"),
    "status_changed": (*_COMMON, "state_label"),
    "correction_requested": (*_COMMON, "reply_by"),
    "decision_made": (*_COMMON, "state_label"),
    "decision_corrected": (*_COMMON, "state_label"),
    "decision_revoked": (*_COMMON, "state_label"),
    "message_from_staff": _COMMON,
}

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TEMPLATE_SYNTAX = re.compile(r"\{%|%\}|\{#|#\}")


def render(text: str, context: Mapping[str, Any]) -> str:
    def value(match: re.Match) -> str:
        item = context.get(match[1])
        if item is None:
            return ""
        if hasattr(item, "strftime"):
            # 2026年12月18日, or Dec. 18, 2026 in an English e-mail.
            return date_format(item, "DATE_FORMAT")
        return str(item)

    return _PLACEHOLDER.sub(value, text)


def template_problems(
    templates: Mapping[str, Mapping[str, str]],
) -> list[tuple[tuple[str, ...], str, str]]:
    """(path, ja, en) for each placeholder a message does not offer, and any tag."""
    problems = []
    for name, parts in templates.items():
        allowed = PLACEHOLDERS.get(name, ())
        if bool(parts.get("subject_en")) != bool(parts.get("body_en")):
            missing = "body_en" if parts.get("subject_en") else "subject_en"
            problems.append(
                (
                    (name, missing),
                    "英語の文面は件名（subject_en）と本文（body_en）の両方を書いてください。",
                    "An English text needs both subject_en and body_en.",
                )
            )
        for part in ("subject", "body", "subject_en", "body_en"):
            text = parts.get(part) or ""
            if _TEMPLATE_SYNTAX.search(text):
                problems.append(
                    (
                        (name, part),
                        "メールの文面に使えるのは {{ 差し込み項目 }} だけです（{% %} などは使えません）。",
                        "Only {{ placeholders }} may be used in e-mail texts (no tags).",
                    )
                )
            for match in _PLACEHOLDER.finditer(text):
                if match[1] not in allowed:
                    problems.append(
                        (
                            (name, part),
                            f"差し込み項目「{match[1]}」はこのメールでは使えません。"
                            f"使えるもの: {', '.join(allowed)}",
                            f"Unknown placeholder '{match[1]}' for this message; "
                            f"available: {', '.join(allowed)}",
                        )
                    )
    return problems
