from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.db import transaction

from madoguchi.approvals import sample as approvals_sample
from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.catalogue.services import load_catalogue
from madoguchi.identity import levels
from madoguchi.identity.models import User
from madoguchi.identity.services import enroll_demo_totp, update_profile
from madoguchi.organisation import services as organisation
from madoguchi.organisation.models import Body, Unit

from . import data

CATALOGUE_DIR = Path(__file__).parent / "catalogue"
ROUTES_DIR = Path(__file__).parent / "routes"


def is_loaded() -> bool:
    return Body.objects.exists()


def _user(email: str, name: str) -> User:
    from allauth.account.models import EmailAddress

    user, created = User.objects.get_or_create(email=email, defaults={"display_name": name})
    if created:
        user.set_password(data.DEMO_PASSWORD)
        user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


@transaction.atomic
def load_sample(*, with_applications: bool = True) -> None:
    bodies = {}
    for item in data.BODIES:
        values = {k: v for k, v in item.items() if k not in ("code", "prefecture")}
        if item.get("prefecture"):
            values["prefecture"] = bodies[item["prefecture"]]
        bodies[item["code"]], _ = Body.objects.update_or_create(code=item["code"], defaults=values)
    units: dict[tuple[str, str], Unit] = {}
    for body_code, code, name, name_en, kind, parent in data.UNITS:
        unit = Unit.objects.filter(body=bodies[body_code], code=code).first() or Unit(
            body=bodies[body_code], code=code
        )
        unit.name, unit.name_en, unit.kind = name, name_en, kind
        unit.document_symbol = data.DOCUMENT_SYMBOLS.get((body_code, code), "")
        unit.parent = units[(body_code, parent)] if parent else None
        unit.save()
        units[(body_code, code)] = unit
    for resident in data.RESIDENTS:
        user = _user(resident["email"], resident["display_name"])
        if resident["profile"]:
            values = dict(resident["profile"])
            values["birth_date"] = dt.date.fromisoformat(values["birth_date"])
            update_profile(user=user, values=values, source="sample")
    for email, name, body_code, unit_code, position, roles, _note in data.STAFF:
        user = _user(email, name)
        unit = units[(body_code, unit_code)]
        organisation.add_membership(actor=None, user=user, unit=unit, position=position)
        organisation.set_roles(actor=None, user=user, unit=unit, roles=roles)
        enroll_demo_totp(user=user, secret=data.DEMO_TOTP_SECRET)
    load_catalogue(CATALOGUE_DIR)
    approvals_sample.load_sample(
        routes=ROUTES_DIR, delegations=data.DELEGATIONS, with_documents=with_applications
    )
    if with_applications:
        _sample_applications()
        # 生活環境課's queue: late, soon-due, in the route, entered at the counter.
        from madoguchi.backoffice.sample import load_sample as load_backoffice

        load_backoffice()
    # The bodies' payment settings and counters (窓口); with the sample applications also
    # two fees (one paid at the counter, one waiting for a transfer) and a booking.
    from madoguchi.appointments.sample import load_sample as load_appointments
    from madoguchi.payments.sample import load_sample as load_payments

    load_payments(with_applications=with_applications)
    load_appointments(with_applications=with_applications)
    # Approved applications with issued, signed documents (one revoked).
    from madoguchi.issuance.sample import load_sample as load_documents

    load_documents(with_applications=with_applications)


def _sample_applications() -> None:
    """A few applications in different states, so that both sides have something to see."""
    import uuid

    from madoguchi.counter import services as counter

    hanako = User.objects.get(email="hanako@example.jp")
    dog = procedure_by_identifier("992011", "dog-registration")
    address = {
        "postal_code": "9990001",
        "prefecture": "さくら県",
        "city": "あおば市",
        "street": "中央一丁目2番3号",
        "building": "",
    }
    answers = {
        "owner_name": {
            "family": "山田",
            "given": "花子",
            "family_kana": "やまだ",
            "given_kana": "はなこ",
        },
        "owner_address": address,
        "owner_phone": "090-1234-5678",
        "dog_location": "same",
        "dog_name": "ポチ",
        "breed": "柴犬",
        "coat_colour": "赤",
        "dog_sex": "オス",
        "has_microchip": "yes",
        "microchip_number": "392140000123456",
        "vaccinated": "no",
        "delivery": "mail",
    }
    first, _ = counter.create_and_submit(
        procedure=dog,
        applicant=hanako,
        answers=answers,
        idempotency_key=uuid.UUID(int=1),
        identity_level=levels.ACCOUNT,
    )
    staff = User.objects.get(email="kankyo.tanto@aoba.example.jp")
    counter.staff_transition(application=first, staff=staff, name="start_review")
    counter.request_correction(
        application=first,
        staff=staff,
        field_ids=["vaccinated"],
        message="狂犬病予防注射の接種状況をご確認ください。接種済みの場合は接種日もご入力ください。",
        reply_by=None,
    )
    second_answers = dict(
        answers,
        dog_name="ハナ",
        dog_sex="メス",
        microchip_number="392140000654321",
        vaccinated="yes",
        vaccination_date="2026-04-20",
        vaccination_clinic="あおば動物病院",
    )
    counter.create_and_submit(
        procedure=dog,
        applicant=hanako,
        answers=second_answers,
        idempotency_key=uuid.UUID(int=2),
        identity_level=levels.ACCOUNT,
    )


def sample_logins() -> list[tuple[str, str, str]]:
    rows = [(r["email"], data.DEMO_PASSWORD, r["note"]) for r in data.RESIDENTS]
    rows += [(email, data.DEMO_PASSWORD, note) for email, _name, _b, _u, _p, _r, note in data.STAFF]
    return rows


def demo_allowed() -> bool:
    return bool(settings.DEBUG)
