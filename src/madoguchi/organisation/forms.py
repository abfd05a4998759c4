"""Reading the forms that the organisation's and the approvals' pages share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from . import selectors


@dataclass(frozen=True)
class FormError:
    """One message of a page's error summary, linking to the input it is about."""

    input_id: str
    message: str


def _parse_datetime(date_text: str, time_text: str, *, default_time: dt.time) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(date_text.strip())
    except ValueError:
        return None
    moment = default_time
    if time_text.strip():
        try:
            moment = dt.time.fromisoformat(time_text.strip())
        except ValueError:
            return None
    return timezone.make_aware(dt.datetime.combine(day, moment))


def delegation_form(request: HttpRequest, *, body_units) -> tuple[dict, list[FormError], dict]:
    """Reads the delegation form shared by the approver's and the administrator's pages."""
    values = {
        key: request.POST.get(key, "")[:100]
        for key in ("deputy", "start_date", "start_time", "end_date", "end_time", "unit")
    }
    errors: list[FormError] = []
    parsed: dict = {}
    deputy = get_user_model().objects.filter(email__iexact=values["deputy"].strip()).first()
    if deputy is None or not selectors.is_staff_member(deputy):
        errors.append(FormError("deputy", _("代決者には職員のメールアドレスを入力してください。")))
    starts = _parse_datetime(values["start_date"], values["start_time"], default_time=dt.time(0, 0))
    ends = _parse_datetime(values["end_date"], values["end_time"], default_time=dt.time(23, 59))
    if starts is None:
        errors.append(FormError("start_date", _("開始日は 2026-12-01 の形式で入力してください。")))
    if ends is None:
        errors.append(FormError("end_date", _("終了日は 2026-12-01 の形式で入力してください。")))
    unit = None
    if values["unit"]:
        unit = next((u for u in body_units if str(u.pk) == values["unit"]), None)
        if unit is None:
            errors.append(FormError("unit", _("代決の範囲の組織を選び直してください。")))
    parsed.update(deputy=deputy, starts_at=starts, ends_at=ends, unit=unit)
    return values, errors, parsed
