"""Filing records in 行政文書ファイル with the register's fields, computed, never typed."""

from __future__ import annotations

import datetime as dt

import pytest

from madoguchi.ledger.models import Event
from madoguchi.ledger.services import content_hash
from madoguchi.records import services
from madoguchi.records.models import FileState, Record, RecordFile

from .conftest import submit_dog

pytestmark = pytest.mark.django_db


def test_an_application_is_filed_with_the_register_fields(hanako, old_application):
    record = services.file_record(kind="application", subject=old_application)
    file = record.file
    assert file.fiscal_year == 2015
    assert file.classification_major == old_application.procedure_version.category
    assert file.classification_middle == old_application.procedure_version.name
    assert file.title.endswith(old_application.procedure_version.name)
    assert file.title.startswith("平成27年度")
    assert file.unit == old_application.unit
    assert file.retention_class == "3年"
    assert file.retention_start == dt.date(2016, 4, 1)
    assert file.expiry == dt.date(2019, 3, 31)
    assert file.disposition == "destroy"
    assert (file.medium, file.state) == ("電子", FileState.ACTIVE)
    assert file.manager == f"{old_application.unit.name}長"
    # The original: the answers' exact bytes, whose hash the ledger holds.
    assert (
        record.original_sha256
        == old_application.answers_sha256
        == content_hash(old_application.answers)
    )
    assert record.subject_user == hanako
    assert record.filed_event.event_type == "record.filed"
    assert record.filed_event.content_sha256 == record.original_sha256
    assert Event.objects.filter(event_type="records.file_opened", subject_id=str(file.pk)).exists()


def test_filing_is_idempotent_and_one_file_holds_a_years_records(hanako, taro, old_application):
    first = services.file_record(kind="application", subject=old_application)
    assert services.file_record(kind="application", subject=old_application) == first
    other = submit_dog(taro, submitted_at=old_application.submitted_at)
    second = services.file_record(kind="application", subject=other)
    assert second.file == first.file
    this_year = services.file_record(kind="application", subject=submit_dog(hanako))
    assert this_year.file != first.file
    assert Record.objects.count() == 3
    assert RecordFile.objects.count() == 2


def test_computed_fields_cannot_be_typed(old_application):
    file = services.file_record(kind="application", subject=old_application).file
    file.expiry = dt.date(2099, 1, 1)
    file.retention_start = dt.date(2099, 1, 1)
    file.save()
    file.refresh_from_db()
    assert (file.retention_start, file.expiry) == (dt.date(2016, 4, 1), dt.date(2019, 3, 31))


def test_drafts_and_unknown_kinds_are_refused(hanako, old_application):
    with pytest.raises(services.InvalidInput):
        services.file_record(kind="memo", subject=old_application)


def test_special_personal_data_is_marked_from_the_definition(sample):
    from madoguchi.catalogue.selectors import procedure_by_identifier

    # 児童手当: a マイナンバー field; おもいやり駐車場: the disability life event.
    for body, identifier in (("992011", "child-allowance"), ("990001", "omoiyari-parking")):
        version = procedure_by_identifier(body, identifier).current_version
        assert services._special_personal_data(version), identifier
    dog = procedure_by_identifier("992011", "dog-registration").current_version
    assert not services._special_personal_data(dog)


def test_the_sync_files_what_nobody_filed(hanako, old_application):
    assert services.sync_register() == 1
    assert Record.objects.filter(object_id=str(old_application.pk)).exists()
    assert services.sync_register() == 0


def test_a_withdrawn_application_is_filed_in_the_withdrawals_transaction(hanako):
    from madoguchi.counter.services import withdraw_application

    application = submit_dog(hanako)
    assert not Record.objects.filter(object_id=str(application.pk)).exists()
    withdraw_application(application=application, actor=hanako, reason="引っ越しのため")
    record = Record.objects.get(kind="application", object_id=str(application.pk))
    assert record.subject_user == hanako
    assert record.original_sha256 == content_hash(application.answers)
    # Filed by the system, as the sync would: the resident who withdrew filed nothing.
    assert (record.filed_event.actor_kind, record.filed_event.actor_id) == ("system", "")
    # Nothing is left for the daily sync, and withdrawing again files nothing twice.
    assert services.sync_register() == 0
    withdraw_application(application=application, actor=hanako)
    assert Record.objects.filter(object_id=str(application.pk)).count() == 1


def test_a_refused_filing_rolls_the_withdrawal_back(hanako, monkeypatch):
    from madoguchi.counter import hooks
    from madoguchi.counter.models import Application, State
    from madoguchi.counter.services import CounterError, withdraw_application

    application = submit_dog(hanako)

    def refuse(application, actor):
        raise services.InvalidInput("登録できません。", "Cannot file.")

    monkeypatch.setitem(hooks._closing_listeners, "records", refuse)
    # The refusal reaches the resident as the counter's, with its message (not a 500).
    with pytest.raises(CounterError, match="登録できません"):
        withdraw_application(application=application, actor=hanako)
    application.refresh_from_db()
    assert application.state == State.SUBMITTED
    assert application.withdrawn_at is None
    assert not Event.objects.filter(
        event_type="application.withdrawn", subject_id=str(application.pk)
    ).exists()
    assert Application.objects.get(pk=application.pk).state == State.SUBMITTED


def test_a_withdrawal_after_the_sync_files_nothing_twice(hanako):
    from madoguchi.counter.services import withdraw_application

    application = submit_dog(hanako)
    assert services.sync_register() == 1
    withdraw_application(application=application, actor=hanako)
    assert Record.objects.filter(object_id=str(application.pk)).count() == 1
    filed = Event.objects.filter(event_type="record.filed", details__object_id=str(application.pk))
    assert filed.count() == 1
