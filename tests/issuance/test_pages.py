"""The resident's documents, the public verification page, the API and the CLI, and the
staff actions (re-send, revoke) with their access checks."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from madoguchi.issuance.models import DocumentState
from madoguchi.ledger.models import Event
from tests.conftest import login

from . import pdfs
from .helpers import approved_parking


@pytest.fixture
def permit(hanako, issue):
    return issue(approved_parking(hanako))


@pytest.fixture
def permit_bytes(permit) -> bytes:
    with permit.pdf.open("rb") as handle:
        return handle.read()


@pytest.fixture
def prefecture_client(prefecture_staff):
    return login(prefecture_staff)


# --- the resident --------------------------------------------------------------------------


def test_the_resident_is_notified_and_downloads_the_document(permit, permit_bytes, hanako_client):
    notice = [m for m in mail.outbox if "【交付】" in m.subject]
    assert notice and f"/documents/{permit.pk}/" in notice[0].body
    listing = hanako_client.get("/documents/")
    assert permit.number in listing.content.decode()
    page = hanako_client.get(f"/documents/{permit.pk}/")
    assert "PDFをダウンロードする" in page.content.decode()
    response = hanako_client.get(f"/documents/{permit.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == permit_bytes


def test_another_resident_sees_nothing(permit, taro_client):
    assert taro_client.get(f"/documents/{permit.pk}/").status_code == 404
    assert taro_client.get(f"/documents/{permit.pk}/download/").status_code == 404
    assert permit.number not in taro_client.get("/documents/").content.decode()


def test_logged_out_visitors_are_sent_to_log_in(permit):
    response = Client().get(f"/documents/{permit.pk}/download/")
    assert response.status_code == 302 and "/account/login/" in response["Location"]


# --- public verification ----------------------------------------------------------------


def _upload(client, data: bytes, url: str = "/verify/", name: str = "document.pdf"):
    return client.post(
        url, {"file": SimpleUploadedFile(name, data, content_type="application/pdf")}
    )


def test_anyone_verifies_the_issued_pdf_on_the_page(permit, permit_bytes):
    response = _upload(Client(), permit_bytes)
    body = response.content.decode()
    assert response.status_code == 200
    assert "この文書は本物です" in body
    assert "さくら県" in body and "おもいやり駐車場利用証" in body and permit.number in body
    assert permit.pdf_sha256 in body


def test_the_page_shows_no_personal_data(permit, permit_bytes):
    body = _upload(Client(), permit_bytes).content.decode()
    qr_page = Client().get(f"/verify/{permit.pk}/").content.decode()
    for text in (body, qr_page):
        # The name, birth date, address and phone of the application are not on the page.
        for personal in ("𠮷田", "髙﨑子", "中央一丁目", "1950", "03-1234-5678", "hanako@"):
            assert personal not in text, personal


def test_the_qr_link_shows_the_register_entry(permit):
    response = Client().get(f"/verify/{permit.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert permit.number in body and "有効" in body
    assert Client().get("/verify/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.parametrize(
    ("make", "text"),
    [
        (pdfs.tampered, "署名の後に内容が書き換えられています"),
        (pdfs.resaved_incrementally, "署名の後に変更が加えられています"),
        (pdfs.truncated, "確認できません"),
        (lambda data: b"hello, not a pdf", "PDFファイルではありません"),
    ],
)
def test_bad_files_get_a_clear_verdict_on_the_page(permit_bytes, make, text):
    response = _upload(Client(), make(permit_bytes))
    assert response.status_code == 200
    assert text in response.content.decode()


def test_an_empty_form_says_what_to_do(sample):
    response = Client().post("/verify/", {})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'href="#f-file"' in body and "確認するPDFファイルを選んでください" in body


def test_too_many_checks_from_one_address_are_refused(permit_bytes, settings):
    from django.core.cache import cache

    from madoguchi.issuance import views

    cache.clear()
    client = Client()
    for _ in range(views.VERIFY_RATE):
        assert _upload(client, b"x").status_code == 200
    assert _upload(client, permit_bytes).status_code == 429


def test_the_api_verifies_and_never_fails(permit, permit_bytes):
    client = Client()
    valid = client.post(
        "/api/documents/verify", {"file": SimpleUploadedFile("a.pdf", permit_bytes)}
    )
    assert valid.status_code == 200
    payload = valid.json()
    assert payload["verdict"] == "valid" and payload["valid"] is True
    assert payload["document"]["number"] == permit.number
    assert payload["signature"]["signer_sha256"] == permit.signer_fingerprint
    junk = client.post("/api/documents/verify", {"file": SimpleUploadedFile("a.pdf", b"\x00" * 10)})
    assert junk.status_code == 200 and junk.json()["verdict"] == "not_pdf"
    missing = client.post("/api/documents/verify", {})
    assert missing.status_code == 422
    record = client.get(f"/api/documents/{permit.pk}/record")
    assert record.status_code == 200 and record.json()["state"] == "issued"
    assert client.get("/api/documents/not-a-uuid/record").status_code == 422


def test_the_api_lists_and_downloads_my_documents(permit, permit_bytes, hanako, taro):
    from madoguchi.identity.models import ApiToken

    _token, raw = ApiToken.issue(user=hanako, name="tests")
    headers = {"Authorization": f"Bearer {raw}"}
    listing = Client().get("/api/documents", headers=headers).json()
    assert [item["number"] for item in listing] == [permit.number]
    response = Client().get(f"/api/documents/{permit.pk}/pdf", headers=headers)
    assert b"".join(response.streaming_content) == permit_bytes
    _token, other = ApiToken.issue(user=taro, name="tests")
    assert (
        Client()
        .get(f"/api/documents/{permit.pk}/pdf", headers={"Authorization": f"Bearer {other}"})
        .status_code
        == 404
    )


def test_the_cli_verifies_with_an_exit_code(permit, permit_bytes, tmp_path, capsys):
    good = tmp_path / "permit.pdf"
    good.write_bytes(permit_bytes)
    call_command("documents", "verify", str(good))
    assert "valid:" in capsys.readouterr().out
    call_command("documents", "verify", str(good), "--json")
    assert json.loads(capsys.readouterr().out)["document"]["number"] == permit.number
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(pdfs.tampered(permit_bytes))
    with pytest.raises(CommandError) as raised:
        call_command("documents", "verify", str(bad))
    assert raised.value.returncode == 1
    with pytest.raises(CommandError) as missing:
        call_command("documents", "verify", str(tmp_path / "none.pdf"))
    assert missing.value.returncode == 2


# --- staff ----------------------------------------------------------------------------------


def test_staff_of_the_unit_resend(permit, prefecture_client, django_capture_on_commit_callbacks):
    page = prefecture_client.get(f"/staff/documents/{permit.pk}/")
    assert page.status_code == 200 and permit.number in page.content.decode()
    before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = prefecture_client.post(f"/staff/documents/{permit.pk}/resend/")
    assert response.status_code == 302
    assert len([m for m in mail.outbox[before:] if "【交付】" in m.subject]) == 1
    assert Event.objects.filter(event_type="document.resent", subject_id=str(permit.pk)).exists()


def test_staff_opening_the_pdf_is_an_access_the_resident_sees(
    permit, prefecture_client, prefecture_staff, hanako, monkeypatch
):
    from django.urls import reverse

    from madoguchi.ledger import services as ledger
    from madoguchi.ledger.models import AccessLog

    url = reverse("issuance:staff_download", args=[permit.pk])
    response = prefecture_client.get(url)
    assert response.status_code == 200
    log = AccessLog.objects.get(what="document", object_id=str(permit.pk))
    assert (log.actor, log.subject_user, log.purpose) == (prefecture_staff, hanako, "issuance")

    # When the access cannot be logged, the PDF is not served.
    def refuse(**_kwargs):
        raise RuntimeError("access log unavailable")

    monkeypatch.setattr(ledger, "log_access", refuse)
    with pytest.raises(RuntimeError):
        prefecture_client.get(url)
    assert AccessLog.objects.filter(what="document").count() == 1


def test_a_document_of_an_application_made_for_someone_else_is_their_access_too(
    permit, prefecture_client, prefecture_staff, hanako, taro
):
    from django.urls import reverse

    from madoguchi.counter.models import Application
    from madoguchi.ledger.models import AccessLog, Event

    # As a 法定代理人's application for a person with an account records it.
    Application.objects.filter(pk=permit.application_id).update(subject_user=taro)
    response = prefecture_client.get(reverse("issuance:staff_download", args=[permit.pk]))
    assert response.status_code == 200
    logs = AccessLog.objects.filter(what="document", object_id=str(permit.pk))
    assert {log.subject_user for log in logs} == {hanako, taro}
    assert all(log.actor == prefecture_staff for log in logs)
    events = Event.objects.filter(event_type="access.logged", access__in=logs)
    assert events.count() == 2


def test_revocation_needs_a_reason_and_keeps_what_was_typed(permit, prefecture_client, monkeypatch):
    from madoguchi.issuance import views

    monkeypatch.setattr(views, "_can_revoke", lambda user, document: True)
    response = prefecture_client.post(
        f"/staff/documents/{permit.pk}/revoke/", {"reason": "other", "note": ""}
    )
    assert response.status_code == 422
    assert "「その他」の場合は理由を入力してください" in response.content.decode()
    response = prefecture_client.post(
        f"/staff/documents/{permit.pk}/revoke/", {"reason": "nonsense", "note": "メモ"}
    )
    assert response.status_code == 422 and "メモ" in response.content.decode()
    response = prefecture_client.post(
        f"/staff/documents/{permit.pk}/revoke/", {"reason": "withdrawn", "note": "不正使用のため"}
    )
    assert response.status_code == 302
    permit.refresh_from_db()
    assert permit.state == DocumentState.REVOKED
    event = Event.objects.get(event_type="document.revoked", subject_id=str(permit.pk))
    assert event.details["reason"] == "withdrawn"
    assert event.content_sha256 == permit.pdf_sha256  # the revoked PDF's hash
    assert "不正使用" not in json.dumps(event.details, ensure_ascii=False)
    public = Client().get(f"/verify/{permit.pk}/").content.decode()
    assert "失効" in public and "不正使用" not in public


def test_staff_of_another_body_see_nothing(permit, kankyo_staff):
    client = login(kankyo_staff)
    assert client.get(f"/staff/documents/{permit.pk}/").status_code == 404
    assert (
        client.post(f"/staff/documents/{permit.pk}/revoke/", {"reason": "withdrawn"}).status_code
        == 404
    )
    assert client.get(f"/staff/documents/{permit.pk}/pdf/").status_code == 404


def test_residents_cannot_use_staff_pages(permit, hanako_client):
    assert hanako_client.get(f"/staff/documents/{permit.pk}/").status_code == 404


def test_the_page_shows_the_issue_date_the_signer_and_the_inclusion_proof(permit, permit_bytes):
    from django.utils import timezone

    from madoguchi.issuance import selectors
    from madoguchi.ledger.services import sequence_now

    sequence_now()
    evidence = selectors.ledger_evidence(permit)
    body = _upload(Client(), permit_bytes).content.decode()
    issued = timezone.localtime(permit.issued_at)
    assert "交付日時" in body and f"{issued.year}年{issued.month}月{issued.day}日" in body
    assert "署名者" in body and permit.body.name in body
    assert f"最新のチェックポイント（{evidence['checkpoint']['size']}件）への包含証明" in body
    assert evidence["leaf_hash"] in body and evidence["checkpoint"]["root_hash"] in body
    for node in evidence["inclusion_proof"]:
        assert node in body


def _unsigned(permit) -> bytes:
    from madoguchi.issuance import rendering

    return rendering.render_document(permit, demo=True)


def _signed_by_another_body(permit) -> bytes:
    from madoguchi.issuance import keys, rendering
    from madoguchi.issuance.signing import sign_pdf

    loaded = keys.signer_for("992011", "あおば市")
    return sign_pdf(rendering.render_document(permit, demo=True), loaded, keys.load_config()).data


@pytest.mark.parametrize(
    ("make", "verdict", "text"),
    [
        (_unsigned, "unsigned", "電子署名がありません。"),
        (
            _signed_by_another_body,
            "other_key",
            "この文書番号の交付文書とは別の鍵で署名されています。",
        ),
    ],
    ids=["unsigned", "another-bodys-key"],
)
def test_unsigned_and_other_key_files_over_http(permit, make, verdict, text):
    """The same verdicts as the verifier's own tests, through the page and the API."""
    from madoguchi.issuance import verification

    data = make(permit)
    assert verification.verify_pdf(data).verdict == verdict
    page = _upload(Client(), data)
    assert page.status_code == 200
    body = page.content.decode()
    assert "この文書は本物です" not in body and text in body
    api = Client().post("/api/documents/verify", {"file": SimpleUploadedFile("a.pdf", data)})
    assert api.status_code == 200
    assert api.json()["verdict"] == verdict and api.json()["valid"] is False
