"""Counters (窓口) as data: a YAML file per body, loaded whole or not at all.

```yaml
body: "992011"
counters:
  - code: shimin-madoguchi
    name: 市民課 窓口
    unit: shiminka                 # the unit whose staff run it
    location: 本庁舎1階 2番窓口
    note: 本人確認書類をお持ちください。
    slot_minutes: 15
    capacity: 2                    # residents received at the same time
    lead_minutes: 60               # booking closes this long before the time
    horizon_days: 60
    hours:
      weekdays: ["08:30-12:00", "13:00-17:15"]   # or mon, tue, … sun
    closures:
      - {day: 2027-03-15, reason: 庁舎の電気設備点検}
```

Weekends, national holidays and 年末年始 are closed whatever the hours say (core.calendar);
`closures` adds the body's own closed days.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from madoguchi.organisation.models import Body, Unit

from .models import Closure, Counter, OpeningHours

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
FIELDS = {
    "slot_minutes": (5, 480),
    "capacity": (1, 500),
    "lead_minutes": (0, 60 * 24 * 30),
    "horizon_days": (1, 730),
}


class CountersRejected(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _range(text: Any, where: str, problems: list[str]) -> tuple[dt.time, dt.time] | None:
    try:
        opens, closes = (dt.time.fromisoformat(part.strip()) for part in str(text).split("-"))
    except ValueError:
        problems.append(
            f"{where}: 「{text}」は 08:30-12:00 の形式で書いてください。 / "
            "Write hours as 08:30-12:00."
        )
        return None
    if opens >= closes:
        problems.append(
            f"{where}: 終了は開始より後にしてください。 / The end must be after the start."
        )
        return None
    return opens, closes


def check(data: Any, file: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("counters"), list):
        return [f"{file}: body と counters（リスト）が必要です。 / Needs body and a counters list."]
    body = Body.objects.filter(code=str(data.get("body", ""))).first()
    if body is None:
        return [f"{file}: body: 団体「{data.get('body')}」がありません。 / Unknown body."]
    seen: set[str] = set()
    for index, item in enumerate(data["counters"]):
        where = f"{file}: counters[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: 項目の集まりで書いてください。 / Expected a mapping.")
            continue
        unknown = set(item) - {
            "code",
            "name",
            "name_en",
            "unit",
            "location",
            "note",
            "hours",
            "closures",
            "active",
            *FIELDS,
        }
        for key in sorted(unknown):
            problems.append(f"{where}.{key}: 使えない項目です。 / Unknown key.")
        code = str(item.get("code", ""))
        if not code or not code.replace("-", "").replace("_", "").isalnum() or code in seen:
            problems.append(
                f"{where}.code: 英小文字・数字・ハイフンの重複しないコードが必要です。 / "
                "A unique code of letters, digits and hyphens is required."
            )
        seen.add(code)
        if not item.get("name"):
            problems.append(f"{where}.name: 名称が必要です。 / A name is required.")
        if not Unit.objects.filter(body=body, code=str(item.get("unit", ""))).exists():
            problems.append(
                f"{where}.unit: 組織「{item.get('unit')}」がありません。 / Unknown unit."
            )
        for key, (low, high) in FIELDS.items():
            if key in item and not (isinstance(item[key], int) and low <= item[key] <= high):
                problems.append(
                    f"{where}.{key}: {low}〜{high}の整数で書いてください。 / "
                    f"An integer from {low} to {high}."
                )
        hours = item.get("hours") or {}
        if not isinstance(hours, dict) or not hours:
            problems.append(f"{where}.hours: 受付時間が必要です。 / Opening hours are required.")
            hours = {}
        for day, ranges in hours.items():
            if day not in WEEKDAYS and day != "weekdays":
                problems.append(
                    f"{where}.hours.{day}: mon〜sun か weekdays です。 / Use mon … sun or weekdays."
                )
                continue
            for position, text in enumerate(ranges if isinstance(ranges, list) else [ranges]):
                _range(text, f"{where}.hours.{day}[{position}]", problems)
        for position, closure in enumerate(item.get("closures") or []):
            if (
                not isinstance(closure, dict)
                or not isinstance(closure.get("day"), dt.date)
                or not closure.get("reason")
            ):
                problems.append(
                    f"{where}.closures[{position}]: day（2027-03-15）と reason が必要です。"
                    " / day and reason are required."
                )
    return problems


@transaction.atomic
def load(data: dict, file: str = "<data>") -> list[Counter]:
    problems = check(data, file)
    if problems:
        raise CountersRejected(problems)
    body = Body.objects.get(code=str(data["body"]))
    loaded = []
    for item in data["counters"]:
        counter, _created = Counter.objects.update_or_create(
            body=body,
            code=str(item["code"]),
            defaults={
                "unit": Unit.objects.get(body=body, code=str(item["unit"])),
                "name": item["name"],
                "name_en": item.get("name_en", ""),
                "location": item.get("location", ""),
                "note": item.get("note", ""),
                "is_active": item.get("active", True),
                **{key: item[key] for key in FIELDS if key in item},
            },
        )
        counter.hours.all().delete()
        for day, ranges in item["hours"].items():
            weekdays = range(5) if day == "weekdays" else [WEEKDAYS[day]]
            for text in ranges if isinstance(ranges, list) else [ranges]:
                opens, closes = _range(text, "", [])
                for weekday in weekdays:
                    OpeningHours.objects.create(
                        counter=counter, weekday=weekday, opens=opens, closes=closes
                    )
        for closure in item.get("closures") or []:
            Closure.objects.update_or_create(
                counter=counter, day=closure["day"], defaults={"reason": closure["reason"]}
            )
        loaded.append(counter)
    return loaded


def load_file(path: Path) -> list[Counter]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CountersRejected(
            [f"{path}: 読み込めません: {type(exc).__name__} / unreadable"]
        ) from None
    return load(data, str(path))
