"""The sample municipality's counters, and (with the sample applications) a booking."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from django.utils import timezone

from madoguchi.core import calendar

from .. import loading, services, slots
from ..models import Booking

FOLDER = Path(__file__).parent


def load_sample(*, with_applications: bool = True) -> None:
    for path in sorted(FOLDER.glob("*.yaml")):
        loading.load_file(path)
    if with_applications:
        _sample_booking()


def _sample_booking() -> None:
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter.models import Application
    from madoguchi.identity.models import User

    hanako = User.objects.get(email="hanako@example.jp")
    application = Application.objects.filter(
        applicant=hanako, procedure=procedure_by_identifier("992011", "income-certificate")
    ).first()
    counter = services.counter_for_procedure(application.procedure) if application else None
    if counter is None or Booking.objects.filter(application=application).exists():
        return
    day = calendar.next_open_day(timezone.localdate() + dt.timedelta(days=1))
    free = next((s for d in slots.days(counter, day, 7) for s in d.slots if s.bookable), None)
    if free is not None:
        services.book(
            counter=counter,
            starts_at=free.starts_at,
            idempotency_key=uuid.UUID(int=101),
            user=hanako,
            application=application,
        )
