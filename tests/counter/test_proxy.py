"""Applications made for someone else: 法定代理人 and 代理人 with a 委任状."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from madoguchi.counter.models import ApplicantRole, Application, ApplicationFile, State
from madoguchi.files.models import StoredFile

from ..conftest import login
from .helpers import (
    JUMINHYO_PAGES,
    application_id_from,
    fill_pages,
    fill_parking,
    form_values,
    start,
    submit,
)
from .uploads import jpeg, pdf, png, upload

pytestmark = pytest.mark.django_db

SUBJECT = {
    "subject_family": "佐藤",
    "subject_given": "太郎",
    "subject_birth_year": "平成2",
    "subject_birth_month": "1",
    "subject_birth_day": "15",
    "subject_email": "Taro@Example.JP",
}


def _start_url(body="992011", identifier="juminhyo-copy"):
    return reverse("counter:start", args=[body, identifier])


def test_legal_representative_and_the_subject_sees_it_read_only(
    hanako, taro, taro_client, django_capture_on_commit_callbacks
):
    client = login(hanako, level="mynumber_card")
    page = client.get(_start_url()).content.decode()
    assert "法定代理人（親権者・後見人など）" in page and "代理人（委任状あり）" in page
    response = start(client, "992011", "juminhyo-copy", {"role": "legal_representative", **SUBJECT})
    application_id = application_id_from(response)
    application = Application.objects.get(pk=application_id)
    assert application.applicant_role == ApplicantRole.LEGAL_REPRESENTATIVE
    assert application.subject_person == {
        "family_name": "佐藤",
        "given_name": "太郎",
        "birth_date": "1990-01-15",
        "email": "taro@example.jp",
    }
    # Not visible to the subject while a draft.
    assert taro_client.get(reverse("counter:detail", args=[application_id])).status_code == 404

    fill_pages(client, application_id, JUMINHYO_PAGES)
    check = client.get(reverse("counter:check", args=[application_id])).content.decode()
    assert "代理での申請" in check and "佐藤 太郎" in check
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, application_id)
    application.refresh_from_db()
    assert application.state == State.SUBMITTED
    assert application.subject_user_id == taro.pk

    listing = taro_client.get(reverse("counter:my_applications")).content.decode()
    assert application.receipt_number in listing and "代理人による申請" in listing
    detail = taro_client.get(reverse("counter:detail", args=[application_id]))
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "この申請は代理人があなたのために行ったものです。内容の確認だけができます。" in body
    assert reverse("counter:withdraw", args=[application_id]) not in body
    assert reverse("counter:post_message", args=[application_id]) not in body
    assert "?return=check" not in body  # no change links
    # Read only: every changing request is refused as if the application did not exist.
    for name, method, data in (
        ("counter:withdraw", "get", {}),
        ("counter:withdraw", "post", {"reason": "やめます"}),
        ("counter:post_message", "post", {"body": "こんにちは"}),
        ("counter:discard", "post", {}),
        ("counter:correction", "get", {}),
        ("counter:correction", "post", {}),
        ("counter:check", "post", {}),
        ("counter:done", "get", {}),
    ):
        response = getattr(taro_client, method)(reverse(name, args=[application_id]), data)
        assert response.status_code == 404, name
    page = reverse("counter:page", args=[application_id, "certificate"])
    assert taro_client.post(page, {"f-copies": "9", "action": "continue"}).status_code == 404
    application.refresh_from_db()
    assert application.state == State.SUBMITTED and application.answers["copies"] == 1
    assert not application.messages.exists()


def test_the_subject_cannot_see_it_without_a_verified_address_or_permission(hanako, taro):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=taro).update(verified=False)
    client = login(hanako, level="mynumber_card")
    application_id = application_id_from(
        start(client, "992011", "juminhyo-copy", {"role": "legal_representative", **SUBJECT})
    )
    fill_pages(client, application_id, JUMINHYO_PAGES)
    submit(client, application_id)
    assert Application.objects.get(pk=application_id).subject_user_id is None
    assert login(taro).get(reverse("counter:detail", args=[application_id])).status_code == 404


def test_the_subject_sees_nothing_where_the_procedure_does_not_allow_it(hanako, taro, tmp_path):
    from madoguchi.catalogue.services import load_catalogue

    sample = Path(__file__).parents[2] / "src/madoguchi/sample/catalogue/992011/juminhyo-copy.yaml"
    text = sample.read_text(encoding="utf-8")
    assert "  subject_can_view: true\n" in text
    (tmp_path / "992011").mkdir()
    (tmp_path / "992011" / "juminhyo-copy.yaml").write_text(
        text.replace("  subject_can_view: true\n", "  subject_can_view: false\n"), encoding="utf-8"
    )
    assert load_catalogue(tmp_path).new_versions == ["992011/juminhyo-copy"]
    client = login(hanako, level="mynumber_card")
    application_id = application_id_from(
        start(client, "992011", "juminhyo-copy", {"role": "legal_representative", **SUBJECT})
    )
    fill_pages(client, application_id, JUMINHYO_PAGES)
    submit(client, application_id)
    application = Application.objects.get(pk=application_id)
    assert application.state == State.SUBMITTED
    assert application.subject_person["email"] == "taro@example.jp"  # verified, yet not linked
    assert application.subject_user_id is None
    taro_client = login(taro)
    assert taro_client.get(reverse("counter:detail", args=[application_id])).status_code == 404
    assert (
        application.receipt_number
        not in taro_client.get(reverse("counter:my_applications")).content.decode()
    )
    assert client.get(reverse("counter:detail", args=[application_id])).status_code == 200


def test_power_of_attorney_needs_a_valid_authority_file(hanako, kankyo_staff, prefecture_staff):
    client = login(hanako)
    url = _start_url("990001", "omoiyari-parking")
    data = {"role": "power_of_attorney", **SUBJECT}

    missing = client.post(url, data)
    assert missing.status_code == 422
    assert missing.content.decode().count("委任状のファイルを選択してください。") >= 2
    assert form_values(missing)["subject_family"] == "佐藤"
    assert form_values(missing)["role"] == "power_of_attorney"

    wrong = client.post(url, {**data, "authority": upload("委任状.pdf", b"not a pdf at all" * 20)})
    assert wrong.status_code == 422
    body = wrong.content.decode()
    assert (
        "委任状: このファイルの形式は受け付けられません。画像（JPEG・PNG）・PDFのファイルを選んでください。"
        in body
    )
    assert 'href="#f-authority"' in body and 'id="f-authority"' in body
    assert form_values(wrong)["subject_given"] == "太郎"
    assert not Application.objects.exists()  # no draft that could never be completed
    assert not StoredFile.objects.exists()

    response = client.post(url, {**data, "authority": upload("委任状.pdf", pdf())})
    assert response.status_code == 302
    application = Application.objects.get()
    assert application.applicant_role == ApplicantRole.POWER_OF_ATTORNEY
    assert application.authority_file.original_name == "委任状.pdf"
    link = ApplicationFile.objects.get(stored_file=application.authority_file)
    assert link.field_id == "_authority" and link.application_id == application.pk

    # The rest of the application, then the staff of 障害福祉課 see who applied for whom.
    from .helpers import parking_pages

    fill_pages(client, str(application.pk), parking_pages(upload("手帳.jpg", jpeg(200, 100))))
    submit(client, str(application.pk))
    staff = login(prefecture_staff)
    detail = staff.get(reverse("backoffice:detail", args=[application.pk])).content.decode()
    assert "代理人（委任状あり）による申請。対象の方: 佐藤 太郎" in detail
    authority_url = reverse("backoffice:file", args=[application.pk, application.authority_file_id])
    assert authority_url in detail
    download = staff.get(authority_url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf()
    # Staff of another body do not.
    assert login(kankyo_staff).get(authority_url).status_code == 404


def test_subject_details_are_checked(hanako):
    client = login(hanako)
    response = client.post(
        _start_url(),
        {
            "role": "legal_representative",
            "subject_family": "",
            "subject_given": "太\x00郎",
            "subject_birth_year": "平成32",
            "subject_birth_month": "1",
            "subject_birth_day": "1",
            "subject_email": "taro@",
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    for message in (
        "申請の対象となる方の姓を入力してください。",
        "使用できない制御文字が含まれています。",
        "平成32年はありません（平成は31年まで）。",
        "メールアドレスの形式で入力してください。",
    ):
        assert message in body, message
    assert form_values(response)["subject_birth_year"] == "平成32"
    assert form_values(response)["subject_email"] == "taro@"
    assert not Application.objects.exists()


def test_a_procedure_without_proxy_refuses_it(hanako_client):
    url = _start_url("992011", "dog-registration")
    assert "どなたの申請ですか" not in hanako_client.get(url).content.decode()
    response = hanako_client.post(url, {"role": "legal_representative", **SUBJECT})
    assert response.status_code == 422
    assert "どなたの申請かを選んでください。" in response.content.decode()
    assert not Application.objects.exists()


def test_submission_without_the_authority_is_refused(hanako, django_capture_on_commit_callbacks):
    # A draft as the API or an older version of the start page could have left it.
    client = login(hanako)
    application_id = fill_parking(client, [upload("a.png", png(100, 100))])
    Application.objects.filter(pk=application_id).update(
        applicant_role=ApplicantRole.POWER_OF_ATTORNEY, subject_person={"family_name": "佐藤"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("counter:check", args=[application_id]))
    assert response.status_code == 422
    assert "委任状を添付してください。" in response.content.decode()
    assert Application.objects.get(pk=application_id).state == State.DRAFT
