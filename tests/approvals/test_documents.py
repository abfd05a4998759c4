"""Internal documents (起案文書): drafted, attached to, sent on a route, and numbered by unit
and 年度 when approved."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.approvals import numbering, selectors, services
from madoguchi.approvals.models import (
    ApprovalInstance,
    DocumentNumberSequence,
    DocumentState,
    InstanceState,
    InternalDocument,
)
from madoguchi.ledger.models import Event

from .conftest import approve, only_pending, unit

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def general(aoba):
    return next(r for r in selectors.routes_of_body(aoba) if r.identifier == "internal-general")


def finance(aoba):
    return next(r for r in selectors.routes_of_body(aoba) if r.identifier == "internal-finance")


def draft(people, aoba, **kwargs):
    values = {"title": "窓口の案内表示について", "text": "本文です。", "route": general(aoba)}
    values.update(kwargs)
    return services.create_document(actor=people.tanto, unit=unit("shiminka"), **values)


def submit(document, actor):
    document.refresh_from_db()
    return services.submit_document(
        document=document, actor=actor, expected_version=document.version
    )


def test_a_document_is_drafted_submitted_approved_and_numbered(people, aoba):
    document = draft(people, aoba)
    assert document.state == DocumentState.DRAFT
    # A draft is the drafter's alone.
    assert selectors.document_for(people.kacho, document.pk) is None
    assert selectors.document_for(people.tanto, document.pk) == document
    instance = submit(document, people.tanto)
    document.refresh_from_db()
    assert document.state == DocumentState.IN_APPROVAL
    assert selectors.document_for(people.kacho, document.pk) == document
    assert [stage["key"] for stage in instance.stages] == ["kacho"]
    # The 市民課長 decides (in the sample their deputy could too).
    instance = approve(instance, people.kacho)
    assert instance.state == InstanceState.COMPLETED
    document.refresh_from_db()
    assert document.state == DocumentState.APPROVED
    fiscal_year = numbering.fiscal_year_of(document.approved_at.astimezone(JST).date())
    assert (document.fiscal_year, document.serial) == (fiscal_year, 1)
    assert document.document_number == "青市民第1号"
    assert document.number_unit.code == "shiminka"
    approved = Event.objects.get(event_type="document.approved", subject_id=str(document.pk))
    assert approved.details["document_number"] == "青市民第1号"
    # An approved document is not changed any more.
    with pytest.raises(services.Conflict):
        services.update_document(
            document=document, actor=people.tanto, expected_version=document.version, title="改"
        )


def test_an_approved_document_is_filed_in_the_records_register_at_once(people, aoba):
    from madoguchi.records.models import Record

    document = draft(people, aoba)
    instance = submit(document, people.tanto)
    assert not Record.objects.filter(object_id=str(document.pk)).exists()
    approve(instance, people.kacho)
    document.refresh_from_db()
    record = Record.objects.get(kind="internal_document", object_id=str(document.pk))
    assert document.document_number in record.title


def test_numbers_count_per_numbering_unit_and_restart_each_fiscal_year(people, aoba):
    shiminka, shomei = unit("shiminka"), unit("shomei")
    from django.db import transaction

    def take(unit_, when):
        with transaction.atomic():
            return numbering.take_number(unit_, at=when.replace(tzinfo=JST))

    # 31 March belongs to the fiscal year before; 1 April starts a new one.
    assert take(shiminka, dt.datetime(2027, 3, 31, 23, 59)).fiscal_year == 2026
    second = take(shomei, dt.datetime(2027, 3, 31, 23, 59))
    # 証明係 has no 文書記号: it numbers under 市民課's.
    assert (second.unit, second.serial, second.text) == (shiminka, 2, "青市民第2号")
    april = take(shiminka, dt.datetime(2027, 4, 1, 0, 0))
    assert (april.fiscal_year, april.serial) == (2027, 1)
    other = take(unit("kodomo-katei"), dt.datetime(2027, 4, 1, 9, 0))
    assert (other.serial, other.text) == (1, "青こ家第1号")
    assert DocumentNumberSequence.objects.get(unit=shiminka, fiscal_year=2026).last == 2
    assert numbering.fiscal_year_label(2026) == "令和8年度"
    assert numbering.fiscal_year_label(2019) == "平成31年度"
    assert numbering.fiscal_year_label(2020) == "令和2年度"


@pytest.mark.django_db(transaction=True)
def test_a_number_is_taken_only_inside_the_approvals_transaction():
    from madoguchi.organisation.models import Body, Unit

    body = Body.objects.create(code="992011", name="あおば市", kind="municipality")
    shiminka = Unit.objects.create(body=body, code="shiminka", name="市民課", kind="division")
    with pytest.raises(RuntimeError):
        numbering.take_number(shiminka)
    assert not DocumentNumberSequence.objects.exists()


def test_returned_documents_are_edited_and_resubmitted(people, aoba):
    document = draft(people, aoba)
    instance = submit(document, people.tanto)
    step = only_pending(instance)
    services.return_step(
        step=step, actor=people.kacho, expected_version=1, comment="本文に理由を書いてください。"
    )
    document.refresh_from_db()
    assert document.state == DocumentState.RETURNED and document.is_editable
    document = services.update_document(
        document=document,
        actor=people.tanto,
        expected_version=document.version,
        title=document.title,
        text="理由: 外国籍の住民が増えたため。",
        route=document.route,
    )
    instance = submit(document, people.tanto)
    assert instance.round == 2 and instance.state == InstanceState.IN_PROGRESS
    assert ApprovalInstance.objects.filter(subject_id=str(document.pk)).count() == 1
    approve(instance, people.kacho)
    document.refresh_from_db()
    assert document.state == DocumentState.APPROVED


def test_the_drafter_recalls_a_document_to_edit_it(people, aoba):
    document = draft(people, aoba)
    instance = submit(document, people.tanto)
    services.recall_approval(
        instance=instance, actor=people.tanto, expected_version=instance.version
    )
    document.refresh_from_db()
    assert document.state == DocumentState.RETURNED
    assert selectors.actionable_steps(people.kacho) == []


def test_a_document_is_cancelled_as_a_draft_or_after_a_return(people, aoba):
    first = draft(people, aoba)
    first = services.cancel_document(
        document=first, actor=people.tanto, expected_version=first.version
    )
    assert first.state == DocumentState.CANCELLED
    second = draft(people, aoba, title="二件目")
    instance = submit(second, people.tanto)
    with pytest.raises(services.Conflict):
        second.refresh_from_db()
        services.cancel_document(
            document=second, actor=people.tanto, expected_version=second.version
        )
    services.recall_approval(
        instance=instance, actor=people.tanto, expected_version=instance.version
    )
    second.refresh_from_db()
    second = services.cancel_document(
        document=second, actor=people.tanto, expected_version=second.version
    )
    assert second.state == DocumentState.CANCELLED
    instance.refresh_from_db()
    assert instance.state == InstanceState.CANCELLED


def test_the_amount_chooses_the_finance_routes_stages(people, aoba):
    document = services.create_document(
        actor=people.kodomo_tanto,
        unit=unit("kodomo-katei"),
        title="印刷製本",
        amount="１，２００，０００",
        route=finance(aoba),
    )
    assert document.amount == 1_200_000
    instance = submit(document, people.kodomo_tanto)
    assert [stage["key"] for stage in instance.stages] == ["gogi", "kacho", "bucho"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"title": ""}, "title", "件名を入力してください。"),
        ({"title": "あ" * 201}, "title", "件名は200文字以内で入力してください。"),
        ({"amount": "十万円"}, "amount", "金額は半角または全角の数字（円）で入力してください。"),
        ({"amount": -1}, "amount", "金額は0以上の整数（円）で入力してください。"),
        ({"text": "a\x00"}, "text", "本文に使用できない制御文字が含まれています。"),
    ],
)
def test_bad_document_values_are_refused_with_the_field(people, aoba, values, field, message):
    with pytest.raises(services.InvalidInput) as refused:
        draft(people, aoba, **values)
    assert (refused.value.field, refused.value.ja) == (field, message)
    assert not InternalDocument.objects.exists()


def test_only_members_of_the_unit_draft_in_its_name(people, aoba):
    with pytest.raises(services.NotAllowed):
        services.create_document(actor=people.kankyo, unit=unit("shiminka"), title="他課の起案")


def test_a_route_of_another_kind_or_body_is_refused(people, aoba):
    certificate = next(
        r for r in selectors.routes_of_body(aoba) if r.identifier == "certificate-standard"
    )
    with pytest.raises(services.InvalidInput) as refused:
        draft(people, aoba, route=certificate)
    assert refused.value.field == "route"


def test_attachments_are_checked_and_kept_with_the_document(people, aoba):
    document = draft(people, aoba)
    link = services.attach_file(
        document=document,
        actor=people.tanto,
        upload=SimpleUploadedFile("資料.pdf", PDF, content_type="application/pdf"),
    )
    assert link.stored_file.content_type == "application/pdf"
    with pytest.raises(services.InvalidInput) as refused:
        services.attach_file(
            document=document,
            actor=people.tanto,
            upload=SimpleUploadedFile(
                "evil.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
            ),
        )
    assert refused.value.field == "file"
    assert document.attachments.count() == 1
    with pytest.raises(services.NotAllowed):
        services.attach_file(
            document=document,
            actor=people.kacho,
            upload=SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf"),
        )
    submit(document, people.tanto)
    with pytest.raises(services.Conflict):
        services.attach_file(
            document=document,
            actor=people.tanto,
            upload=SimpleUploadedFile("late.pdf", PDF, content_type="application/pdf"),
        )
    assert Event.objects.filter(event_type="document.file_attached").count() == 1


def test_a_stale_edit_is_refused(people, aoba):
    document = draft(people, aoba)
    seen = document.version
    services.update_document(
        document=document,
        actor=people.tanto,
        expected_version=seen,
        title="一回目",
        route=document.route,
    )
    with pytest.raises(services.Conflict) as refused:
        services.update_document(
            document=document,
            actor=people.tanto,
            expected_version=seen,
            title="二回目",
            route=document.route,
        )
    assert "入力した内容は下に残っています" in refused.value.ja
    document.refresh_from_db()
    assert document.title == "一回目"
