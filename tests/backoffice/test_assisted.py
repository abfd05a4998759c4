"""書かない窓口: staff start an application for a resident at the counter, prefilled from
the profile and earlier applications, fill it with them, and the resident confirms it on
a tablet or by signing the printed summary; recorded as entered on their behalf."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from madoguchi.counter.models import Application, AssistedEntry, Channel, State
from madoguchi.ledger.models import Event

from ..conftest import login
from ..counter.helpers import form_values
from ..counter.uploads import pdf, upload
from .conftest import submit_dog

pytestmark = pytest.mark.django_db


def _start(staff_client, procedure_pk, email):
    return staff_client.post(
        reverse("backoffice:counter_start"), {"procedure": str(procedure_pk), "email": email}
    )


@pytest.fixture
def assisted(hanako, kankyo_staff):
    """Hanako registered a dog before; at the counter she registers another one."""
    earlier = submit_dog(hanako, dog_name="ハナ", breed="雑種")
    client = login(kankyo_staff)
    response = _start(client, earlier.procedure_id, "HANAKO@example.jp")
    assert response.status_code == 302, response.content.decode()[:2000]
    pk = response["Location"].rstrip("/").split("/")[-1]
    return client, Application.objects.get(pk=pk), earlier


def test_the_draft_is_prefilled_from_the_profile_and_earlier_applications(assisted, hanako):
    client, application, earlier = assisted
    assert application.state == State.DRAFT and application.channel == Channel.COUNTER
    assert application.applicant == hanako and application.entered_by is not None
    answers = application.answers
    assert answers["owner_name"]["family"] == "山田"  # the profile
    assert answers["owner_address"]["street"] == "中央一丁目2番3号"
    assert answers["breed"] == "雑種" and answers["dog_name"] == "ハナ"  # the earlier one
    assert AssistedEntry.objects.get(application=application).prefilled_from == [
        earlier.receipt_number
    ]
    event = Event.objects.get(
        subject_id=str(application.pk), event_type="application.assisted_started"
    )
    assert event.actor_kind == "staff" and "owner_name" in event.details["prefilled_fields"]
    overview = client.get(reverse("backoffice:counter_overview", args=[application.pk]))
    assert "登録情報と以前の申請" in overview.content.decode()
    # The resident does not see the draft while staff enter it, and cannot submit it.
    resident = login(hanako)
    assert resident.get(reverse("counter:check", args=[application.pk])).status_code == 404
    mine = resident.get(reverse("counter:my_applications")).content.decode()
    assert str(application.pk) not in mine


def _fill(client, application):
    """Staff go through the pages with the resident, changing what she says."""
    definition = application.procedure_version.spec
    for page in definition.pages:
        url = reverse("counter:page", args=[application.pk, page.id])
        values = form_values(client.get(url))
        if page.id == "dog":
            values["f-dog_name"] = "コロ"
            values["f-dog_sex"] = "メス"
        if page.id == "rabies":
            values.setdefault("f-vaccinated", "no")
            values.setdefault("f-delivery", "counter")
        values["action"] = "continue"
        response = client.post(url, values)
        assert response.status_code == 302, response.content.decode()[:3000]
    check = client.get(reverse("counter:check", args=[application.pk]))
    assert "本人の確認へ進む" in check.content.decode()
    response = client.post(reverse("counter:check", args=[application.pk]))
    assert response["Location"] == reverse("backoffice:counter_overview", args=[application.pk])
    assert Application.objects.get(pk=application.pk).state == State.DRAFT


def test_confirmed_on_the_tablet(
    assisted, hanako, kankyo_staff, django_capture_on_commit_callbacks
):
    client, application, _earlier = assisted
    _fill(client, application)
    url = reverse("backoffice:counter_confirm", args=[application.pk])
    page = client.get(url).content.decode()
    assert "コロ" in page and "この内容で申請する" in page
    # Without the resident's tick, or without the identity document: refused, kept.
    response = client.post(url, {"identity_document": "drivers_licence"})
    assert response.status_code == 409
    assert "申請者ご本人が内容を確認したことを確かめてください。" in response.content.decode()
    assert 'value="drivers_licence" selected' in response.content.decode()
    response = client.post(url, {"confirmed": "yes", "identity_document": ""})
    assert "確認した本人確認書類を選んでください。" in response.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirmed": "yes", "identity_document": "drivers_licence"})
    assert response.status_code == 302
    submitted = Application.objects.get(pk=application.pk)
    assert submitted.state == State.SUBMITTED and submitted.receipt_number
    assert submitted.answers["dog_name"] == "コロ"
    event = Event.objects.get(subject_id=str(submitted.pk), event_type="application.submitted")
    assert event.actor_kind == "staff" and event.actor_id == str(kankyo_staff.pk)
    assert event.details["on_behalf_of"] == {"person": "resident", "id": str(hanako.pk)}
    assert event.details["confirmation"] == "tablet"
    assert event.details["identity_document"] == "drivers_licence"
    assert [m.to for m in mail.outbox] == [["hanako@example.jp"]]
    resident = login(hanako).get(reverse("counter:detail", args=[submitted.pk])).content.decode()
    assert "窓口で職員があなたに代わって入力し" in resident
    staff_page = client.get(reverse("backoffice:detail", args=[submitted.pk])).content.decode()
    assert "本人に代わって入力" in staff_page and "タブレットで本人が確認" in staff_page
    # Once submitted the counter pages are gone.
    assert client.get(url).status_code == 404


def test_confirmed_by_signing_the_printed_summary(assisted, hanako):
    client, application, _earlier = assisted
    _fill(client, application)
    url = reverse("backoffice:counter_print", args=[application.pk])
    page = client.get(url).content.decode()
    assert "申請内容確認書" in page and 'class="signature-box"' in page
    assert re.search(r"照合番号: [0-9a-f]{16}", page)
    response = client.post(url, {"confirmed": "yes", "identity_document": "mynumber_card"})
    assert response.status_code == 409
    assert "署名済みの確認書をスキャンして添付してください。" in response.content.decode()
    response = client.post(
        url,
        {
            "confirmed": "yes",
            "identity_document": "mynumber_card",
            "signed_summary": upload("確認書.pdf", pdf()),
        },
    )
    assert response.status_code == 302
    submitted = Application.objects.get(pk=application.pk)
    entry = AssistedEntry.objects.get(application=submitted)
    assert entry.confirmation == "signed_paper" and entry.signed_summary is not None
    assert submitted.files.filter(field_id="_signed_summary").exists()
    event = Event.objects.get(subject_id=str(submitted.pk), event_type="application.submitted")
    assert event.details["signed_summary_sha256"] == entry.signed_summary.sha256


def test_the_counter_needs_an_account_and_a_procedure_of_the_unit(
    kankyo_staff, shimin_staff, hanako
):
    dog = submit_dog(hanako)
    client = login(kankyo_staff)
    response = _start(client, dog.procedure_id, "nobody@example.jp")
    assert response.status_code == 422
    assert "このメールアドレスのアカウントが見つかりません。" in response.content.decode()
    assert 'value="nobody@example.jp"' in response.content.decode()
    # 市民課's staff do not take 生活環境課's procedures.
    response = _start(login(shimin_staff), dog.procedure_id, "hanako@example.jp")
    assert response.status_code == 422 and "手続を選んでください。" in response.content.decode()


def test_another_staff_member_cannot_open_the_draft(assisted, shimin_staff):
    _client, application, _earlier = assisted
    other = login(shimin_staff)
    for name in ("counter_overview", "counter_confirm", "counter_print"):
        assert other.get(reverse(f"backoffice:{name}", args=[application.pk])).status_code == 404
    page = application.procedure_version.spec.pages[0].id
    assert other.get(reverse("counter:page", args=[application.pk, page])).status_code == 404
