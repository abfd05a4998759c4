"""機密性 and 見読性: who may open a record's original, with a purpose, logged for the
person; special personal data needs an explicit permission; refusals are clear and logged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.identity import levels
from madoguchi.identity.models import User
from madoguchi.ledger.models import AccessLog, Event
from madoguchi.records import services
from madoguchi.records.models import Record

from ..conftest import login
from .conftest import submit_dog

pytestmark = pytest.mark.django_db


def staff(user):
    return login(user, level=levels.MFA)


@pytest.fixture
def record(old_application):
    return services.file_record(kind="application", subject=old_application)


def test_the_units_staff_open_the_original_with_a_purpose_and_the_person_sees_it(
    record, kankyo_staff, hanako
):
    client = staff(kankyo_staff)
    url = reverse("records:record", args=[record.pk])
    ask = client.get(url)
    assert ask.status_code == 200 and "閲覧の目的" in ask.content.decode()
    assert not AccessLog.objects.exists()  # nothing shown yet, nothing logged
    page = client.get(url + "?purpose=review")
    text = page.content.decode()
    assert page.status_code == 200
    assert "ポチ" in text  # the answers as submitted, under their procedure version
    assert record.original_sha256 in text and "原本と一致" in text
    access = AccessLog.objects.get()
    assert (access.actor, access.subject_user, access.what, access.purpose) == (
        kankyo_staff,
        hanako,
        "record",
        "review",
    )
    mine = login(hanako).get(reverse("access_log:mine")).content.decode()
    assert "保存文書（原本）" in mine and "生活環境課" in mine
    download = client.get(reverse("records:record_original", args=[record.pk]) + "?purpose=review")
    assert download.status_code == 200 and bytes(download.content) == bytes(record.original)
    assert AccessLog.objects.count() == 2


def test_a_purpose_from_the_list_is_required(record, kankyo_staff):
    response = staff(kankyo_staff).get(
        reverse("records:record", args=[record.pk]) + "?purpose=curiosity"
    )
    assert response.status_code == 422
    assert "閲覧の目的を選んでください" in response.content.decode()
    assert not AccessLog.objects.exists()


def test_other_units_and_other_bodies_do_not_see_the_record(record, shimin_staff, prefecture_staff):
    for user in (shimin_staff, prefecture_staff):
        client = staff(user)
        assert client.get(reverse("records:record", args=[record.pk])).status_code == 404
        assert client.get(reverse("records:file", args=[record.file_id])).status_code == 404
    assert not AccessLog.objects.exists()


def test_special_personal_data_needs_an_explicit_permission(record, kankyo_staff, officer, sample):
    Record.objects.filter(pk=record.pk).update(special_personal_data=True)
    client = staff(kankyo_staff)
    refused = client.get(reverse("records:record", args=[record.pk]) + "?purpose=review")
    assert refused.status_code == 403
    text = refused.content.decode()
    assert "要配慮個人情報" in text and "閲覧の許可" in text
    assert Event.objects.filter(
        event_type="records.access_refused", subject_id=str(record.pk)
    ).exists()
    assert not AccessLog.objects.exists()
    # The body's administrator grants it (ledgered); then the record opens.
    administrator = User.objects.get(email="admin@aoba.example.jp")
    with pytest.raises(Exception):  # noqa: B017 - only administrators grant
        services.grant_special_data_permission(
            actor=officer, user=kankyo_staff, body=record.file.body, reason="児童手当の審査"
        )
    grant = services.grant_special_data_permission(
        actor=administrator, user=kankyo_staff, body=record.file.body, reason="障害福祉の審査担当"
    )
    assert Event.objects.filter(event_type="records.special_data_permission_granted").exists()
    assert (
        client.get(reverse("records:record", args=[record.pk]) + "?purpose=review").status_code
        == 200
    )
    services.revoke_special_data_permission(actor=administrator, grant=grant)
    assert (
        client.get(reverse("records:record", args=[record.pk]) + "?purpose=review").status_code
        == 403
    )


def test_records_officers_answer_audits_across_the_body(record, officer):
    response = staff(officer).get(reverse("records:record", args=[record.pk]) + "?purpose=audit")
    assert response.status_code == 200
    assert AccessLog.objects.get().purpose == "audit"


def test_residents_have_no_staff_pages(record, hanako):
    assert login(hanako).get(reverse("records:register")).status_code == 404


def test_the_confidentiality_class_decides_who_of_the_body_may_open(record, kankyo_staff):
    """関係職員限り (an application): the unit's staff with a case worker's or approver's
    role; 庁内限り: anyone of the unit; 公開: anyone of the body."""
    from madoguchi.identity.services import enroll_demo_totp
    from madoguchi.organisation.models import StaffMembership
    from madoguchi.records.models import Confidentiality, RecordFile
    from madoguchi.sample.data import DEMO_TOTP_SECRET

    membership = StaffMembership.objects.filter(user=kankyo_staff).first()
    clerk = User.objects.create_user(email="rinji@aoba.example.jp", password="x" * 16)
    StaffMembership.objects.create(
        user=clerk, unit=membership.unit, position=membership.position, is_primary=True
    )
    enroll_demo_totp(user=clerk, secret=DEMO_TOTP_SECRET)
    url = reverse("records:record", args=[record.pk]) + "?purpose=review"
    assert record.file.confidentiality == Confidentiality.CONFIDENTIAL
    refused = staff(clerk).get(url)
    assert refused.status_code == 403 and "関係職員限り" in refused.content.decode()
    assert Event.objects.filter(
        event_type="records.access_refused", subject_id=str(record.pk)
    ).exists()
    assert staff(kankyo_staff).get(url).status_code == 200
    RecordFile.objects.filter(pk=record.file_id).update(confidentiality=Confidentiality.INTERNAL)
    assert staff(clerk).get(url).status_code == 200
    # 公開: staff of another unit of the body open it too; another body's still do not.
    shimin = User.objects.get(email="shimin.tanto@aoba.example.jp")
    prefecture = User.objects.get(email="fukushi.tanto@sakura.example.jp")
    assert staff(shimin).get(url).status_code == 404
    RecordFile.objects.filter(pk=record.file_id).update(confidentiality=Confidentiality.PUBLIC)
    assert staff(shimin).get(url).status_code == 200
    assert staff(prefecture).get(url).status_code == 404


def test_a_record_of_an_application_made_for_someone_else_is_their_data_too(
    hanako, taro, shimin_staff, officer, director, django_capture_on_commit_callbacks
):
    """法定代理人: staff opening the record is logged for the applicant and for the
    person it was made for, who both see it; 廃棄 forgets both."""
    from madoguchi.counter.models import Application

    from ..backoffice.test_access_log import submit_for_taro
    from .test_disposal_erasure import _destroy

    application = submit_for_taro(hanako, django_capture_on_commit_callbacks)
    # Received in 年度 2015, so that its file has expired (for the 廃棄 below).
    Application.objects.filter(pk=application.pk).update(
        submitted_at=timezone.make_aware(dt.datetime(2015, 6, 1, 10, 0))
    )
    application = Application.objects.get(pk=application.pk)
    record = services.file_record(kind="application", subject=application)
    assert (record.subject_user, record.applied_for_user) == (hanako, taro)
    page = staff(shimin_staff).get(reverse("records:record", args=[record.pk]) + "?purpose=inquiry")
    assert page.status_code == 200
    logged = AccessLog.objects.filter(what="record")
    assert {(log.subject_user.email, log.purpose) for log in logged} == {
        (hanako.email, "inquiry"),
        (taro.email, "inquiry"),
    }
    for person in (hanako, taro):
        mine = login(person).get(reverse("access_log:mine")).content.decode()
        assert "保存文書（原本）" in mine
    with django_capture_on_commit_callbacks(execute=True):
        _destroy(officer, director, record.file)
    record = Record.objects.get(pk=record.pk)
    assert record.destroyed_at and record.subject_user is None and record.applied_for_user is None
    # The application it came from forgets the person it was made for as well: nothing
    # names taro as its data subject any more (the applicant stays, with the receipt).
    application = Application.objects.get(pk=application.pk)
    assert application.subject_user is None and application.subject_person == {}
    assert application.applicant == hanako and application.receipt_number


def test_records_filed_before_the_field_existed_learn_whom_they_were_made_for(
    hanako, taro, shimin_staff, django_capture_on_commit_callbacks
):
    import importlib

    from django.apps import apps

    from ..backoffice.test_access_log import submit_for_taro

    backfill = importlib.import_module(
        "madoguchi.records.migrations.0003_backfill_applied_for_user"
    ).backfill
    from madoguchi.counter.models import Decision

    application = submit_for_taro(hanako, django_capture_on_commit_callbacks)
    record = services.file_record(kind="application", subject=application)
    decision = Decision.objects.create(
        application=application,
        outcome="approved",
        status="final",
        drafted_by=shimin_staff,
        decided_at=timezone.now(),
    )
    decided = services.file_record(kind="decision", subject=decision)
    own = services.file_record(kind="application", subject=submit_dog(hanako))
    Record.objects.update(applied_for_user=None)
    backfill(apps, None)
    assert Record.objects.get(pk=record.pk).applied_for_user == taro
    assert Record.objects.get(pk=decided.pk).applied_for_user == taro
    # Hanako's own application names nobody else.
    assert Record.objects.get(pk=own.pk).applied_for_user is None
