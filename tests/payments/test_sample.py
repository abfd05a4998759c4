"""`make run`: the sample has payment settings, counters, a fee paid at the counter with
its receipt, one waiting for a bank transfer, and a booking linked to an application."""

from __future__ import annotations

import pytest

from madoguchi.appointments.models import Booking, Counter
from madoguchi.payments.models import BodyPaymentSettings, Payment, Receipt, Status


@pytest.mark.django_db(transaction=True)
def test_the_sample_has_fees_receipts_counters_and_a_booking(django_capture_on_commit_callbacks):
    from madoguchi.sample.services import load_sample

    with django_capture_on_commit_callbacks(execute=True):
        load_sample(with_applications=True)
    assert BodyPaymentSettings.objects.count() == 3
    assert set(Counter.objects.values_list("code", flat=True)) == {
        "shimin-madoguchi",
        "kodomo-soudan",
        "chomin-madoguchi",
    }
    paid = Payment.objects.get(status=Status.PAID)
    assert paid.method == "counter" and Receipt.objects.get(payment=paid).number.endswith("-000001")
    waiting = Payment.objects.get(status=Status.PENDING)
    assert waiting.method == "bank_transfer" and len(waiting.reference_number) == 11
    booking = Booking.objects.get()
    assert booking.application.procedure.identifier == "income-certificate"
    # Loading these parts again adds nothing.
    from madoguchi.appointments.sample import load_sample as load_appointments
    from madoguchi.payments.sample import load_sample as load_payments

    with django_capture_on_commit_callbacks(execute=True):
        load_payments(with_applications=True)
        load_appointments(with_applications=True)
    assert Payment.objects.count() == 2 and Booking.objects.count() == 1
