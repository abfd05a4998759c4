"""The back office's part of the sample: 生活環境課's queue with late, soon-due, claimed
and decided work, a draft decision waiting for the 課長 in the route, and an application
entered at the counter (書かない窓口). Dates are set back so that the due dates show."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.core import calendar
from madoguchi.counter import services as counter
from madoguchi.counter.models import AssistedEntry
from madoguchi.identity import levels
from madoguchi.identity.models import User
from madoguchi.notifications.models import StaffNotificationSetting
from madoguchi.notifications.services import set_staff_mode

from . import services

_DOG = {
    "owner_name": {
        "family": "佐藤",
        "given": "太郎",
        "family_kana": "さとう",
        "given_kana": "たろう",
    },
    "owner_address": {
        "postal_code": "9990001",
        "prefecture": "さくら県",
        "city": "あおば市",
        "street": "中央二丁目4番5号",
        "building": "",
    },
    "owner_phone": "090-8765-4321",
    "dog_location": "same",
    "breed": "雑種",
    "coat_colour": "白",
    "dog_sex": "メス",
    "has_microchip": "no",
    "vaccinated": "no",
    "delivery": "counter",
}


def _submitted(applicant, *, key: int, days_ago: int, **answers):
    """A dog registration received `days_ago` open days ago (its due date follows)."""
    draft, _created = counter.create_and_submit(
        procedure=procedure_by_identifier("992011", "dog-registration"),
        applicant=applicant,
        answers={**_DOG, **answers},
        idempotency_key=uuid.UUID(int=0xB0 << 64 | key),
        identity_level=levels.ACCOUNT,
        submit=False,
    )
    received = timezone.localdate()
    for _ in range(days_ago):
        received = received - dt.timedelta(days=1)
        while not calendar.is_open_day(received):
            received -= dt.timedelta(days=1)
    moment = timezone.make_aware(dt.datetime.combine(received, dt.time(10)))
    return counter.submit_application(
        application=draft, actor=applicant, identity_level=levels.ACCOUNT, now=moment
    )


def load_sample(*, with_applications: bool = True) -> None:
    if not with_applications:
        return
    tanto = User.objects.get(email="kankyo.tanto@aoba.example.jp")
    # The 課長 reads a daily digest instead of single e-mails.
    set_staff_mode(
        user=User.objects.get(email="kankyo.kacho@aoba.example.jp"),
        mode=StaffNotificationSetting.Mode.DAILY,
    )
    taro = User.objects.get(email="taro@example.jp")
    hanako = User.objects.get(email="hanako@example.jp")
    # Late (received nine open days ago, 標準処理期間 7日) and claimed.
    late = _submitted(taro, key=1, days_ago=9, dog_name="シロ")
    services.claim(application=late, staff=tanto)
    # Due soon (received six open days ago) and nobody's yet.
    _submitted(taro, key=2, days_ago=6, dog_name="モモ")
    # A draft decision waiting for the 課長 (registration-standard).
    reviewed = _submitted(taro, key=3, days_ago=2, dog_name="クロ", coat_colour="黒")
    services.start_review(application=reviewed, staff=tanto)
    services.decide(
        application=reviewed,
        staff=tanto,
        outcome="approve",
        comment="鑑札は窓口でお渡しします。",
    )
    # 書かない窓口: entered by staff with 花子 at the counter, confirmed on the tablet.
    assisted = services.start_assisted_application(
        staff=tanto,
        procedure=procedure_by_identifier("992011", "dog-registration"),
        resident=hanako,
    )
    assisted.answers = {**_DOG, **assisted.answers, "dog_name": "チョコ", "breed": "トイプードル"}
    assisted.save(update_fields=["answers"])
    services.confirm_assisted_application(
        application=assisted,
        staff=tanto,
        confirmation=AssistedEntry.Confirmation.TABLET,
        identity_document=AssistedEntry.IdentityDocument.MYNUMBER_CARD,
        resident_confirmed=True,
    )
