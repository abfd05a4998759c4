"""文書番号: numbers given to approved documents, per numbering unit and 年度.

The 年度 (fiscal year) starts on 1 April in Japan's time. The numbering unit is the
drafting unit or the nearest unit above it that has a 文書記号 (a 係 numbers under its 課's
symbol, 「青市民第12号」). Numbers are taken under a row lock of the unit's sequence, so two
documents approved at the same moment never share one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.catalogue.japanese import wareki_year_label
from madoguchi.organisation import selectors as organisation
from madoguchi.organisation.models import Unit

from .models import DocumentNumberSequence


def fiscal_year_of(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_label(fiscal_year: int) -> str:
    """「令和8年度」 for fiscal year 2026 (the era of 1 April; the first year is 元年度)."""
    label = wareki_year_label(dt.date(fiscal_year, 4, 1))
    era = label.rstrip("0123456789")
    if era and label[len(era) :] == "1":
        label = f"{era}元"
    return f"{label}年度"


def numbering_unit(unit: Unit) -> Unit:
    for candidate in organisation.ancestors(unit):
        if candidate.document_symbol:
            return candidate
    return unit


@dataclass(frozen=True)
class DocumentNumber:
    unit: Unit
    fiscal_year: int
    serial: int

    @property
    def text(self) -> str:
        symbol = self.unit.document_symbol or self.unit.name
        return f"{symbol}第{self.serial}号"


def take_number(unit: Unit, *, at: dt.datetime | None = None) -> DocumentNumber:
    """The next number of the unit's sequence for the 年度 of `at`. Must run inside the
    transaction that records the approval, so that a rolled-back approval gives it back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_number must run inside the approval's transaction")
    owner = numbering_unit(unit)
    fiscal_year = fiscal_year_of(timezone.localdate(at or timezone.now()))
    try:
        with transaction.atomic():
            sequence, _ = DocumentNumberSequence.objects.get_or_create(
                unit=owner, fiscal_year=fiscal_year
            )
    except IntegrityError:
        pass  # created at the same moment by another approval: lock the row it created
    sequence = DocumentNumberSequence.objects.select_for_update().get(
        unit=owner, fiscal_year=fiscal_year
    )
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return DocumentNumber(unit=owner, fiscal_year=fiscal_year, serial=sequence.last)
