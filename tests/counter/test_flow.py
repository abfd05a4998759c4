from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from madoguchi.counter.models import Application, State
from madoguchi.counter.receipts import is_valid_receipt_number
from madoguchi.ledger.models import Event

from .helpers import DOG_PAGES, application_id_from, fill_dog_registration, start

pytestmark = pytest.mark.django_db


def test_dog_registration_from_start_to_receipt_number(
    hanako_client, django_capture_on_commit_callbacks
):
    application_id = fill_dog_registration(hanako_client)
    check = hanako_client.get(reverse("counter:check", args=[application_id]))
    assert check.status_code == 200
    body = check.content.decode()
    assert "ポチ" in body and "令和5年4月1日" in body and "3,000円" in body

    with django_capture_on_commit_callbacks(execute=True):
        response = hanako_client.post(reverse("counter:check", args=[application_id]))
    assert response.status_code == 302
    application = Application.objects.get(pk=application_id)
    assert application.state == State.SUBMITTED
    assert is_valid_receipt_number(application.receipt_number)
    assert application.answers["owner_name"] == {
        "family": "山田",
        "given": "花子",
        "family_kana": "やまだ",
        "given_kana": "はなこ",
    }
    assert application.answers["owner_phone"] == "+819012345678"
    assert application.answers["dog_birth_date"] == "2023-04-01"
    assert application.fee_amount == 3000

    done = hanako_client.get(response["Location"])
    assert application.receipt_number in done.content.decode()
    assert len(mail.outbox) == 1
    assert application.receipt_number in mail.outbox[0].subject
    assert (
        Event.objects.filter(
            event_type="application.submitted", subject_id=str(application.pk)
        ).count()
        == 1
    )


def test_submitting_twice_creates_one_application_and_one_email(
    hanako_client, django_capture_on_commit_callbacks
):
    application_id = fill_dog_registration(hanako_client)
    url = reverse("counter:check", args=[application_id])
    with django_capture_on_commit_callbacks(execute=True):
        first = hanako_client.post(url)
        second = hanako_client.post(url)
    assert first.status_code == second.status_code == 302
    assert Application.objects.exclude(state=State.DRAFT).count() == 1
    assert len(mail.outbox) == 1
    assert Event.objects.filter(event_type="application.submitted").count() == 1


def test_wrong_answers_are_kept_and_explained_in_japanese(hanako_client):
    response = start(hanako_client, "992011", "dog-registration")
    application_id = application_id_from(response)
    data = {
        **DOG_PAGES["owner"],
        "f-owner_phone": "12345",
        "f-owner_address-postal_code": "12-34",
        "action": "continue",
    }
    response = hanako_client.post(reverse("counter:page", args=[application_id, "owner"]), data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "電話番号" in body and "郵便番号は7桁の数字で入力してください" in body
    assert 'value="12345"' in body and 'value="12-34"' in body
    assert 'value="山田"' in body  # what was right is kept as typed too
    assert 'href="#f-owner_phone"' in body  # the error summary links to the input


def test_draft_survives_and_resident_continues_where_they_left_off(hanako_client):
    response = start(hanako_client, "992011", "dog-registration")
    application_id = application_id_from(response)
    hanako_client.post(
        reverse("counter:page", args=[application_id, "owner"]),
        {**DOG_PAGES["owner"], "action": "continue"},
    )
    hanako_client.post(
        reverse("counter:page", args=[application_id, "dog"]),
        {"f-dog_name": "ポチ", "action": "save"},
    )
    listing = hanako_client.get(reverse("counter:my_applications")).content.decode()
    assert reverse("counter:page", args=[application_id, "dog"]) in listing
    page = hanako_client.get(reverse("counter:page", args=[application_id, "dog"])).content.decode()
    assert 'value="ポチ"' in page
