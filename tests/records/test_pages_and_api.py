"""The register's pages, CSV and public form; the JSON API refuses what the services
refuse, with 403/409/422 and never a 500."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.identity import levels
from madoguchi.identity.models import ApiToken
from madoguchi.records import services
from madoguchi.records.models import DispositionProposal, FileState, RecordFile

from ..conftest import login

pytestmark = pytest.mark.django_db


def staff(user):
    return login(user, level=levels.MFA)


@pytest.fixture
def file(old_application):
    return services.file_record(kind="application", subject=old_application).file


def _csv(response) -> list[list[str]]:
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_register_is_searched_and_exported(file, kankyo_staff):
    client = staff(kankyo_staff)
    page = client.get(reverse("records:register"), {"q": "犬", "year": "2015"})
    assert page.status_code == 200 and file.title in page.content.decode()
    assert (
        file.title not in client.get(reverse("records:register"), {"year": "2020"}).content.decode()
    )
    rows = _csv(client.get(reverse("records:register_csv"), {"year": "2015"}))
    assert rows[0][:4] == ["大分類", "中分類", "小分類", "行政文書ファイル名"]
    assert rows[1][3] == file.title and rows[1][6] == "3年" and rows[1][8] == "2019-03-31"


def test_formulas_are_neutralised_in_the_csv(file, kankyo_staff):
    RecordFile.objects.filter(pk=file.pk).update(title='=HYPERLINK("http://x")')
    rows = _csv(staff(kankyo_staff).get(reverse("records:register_csv")))
    assert rows[1][3].startswith("'=")


def test_the_public_register_needs_no_log_in_and_holds_no_personal_data(file, old_application):
    client = Client()
    page = client.get(reverse("transparency:register", args=["992011"]))
    text = page.content.decode()
    assert page.status_code == 200 and file.title in text
    assert old_application.receipt_number not in text and "山田" not in text
    rows = _csv(client.get(reverse("transparency:register_csv", args=["992011"])))
    assert any(row[3] == file.title for row in rows[1:])
    assert not any(old_application.receipt_number in value for row in rows for value in row)
    assert client.get(reverse("transparency:register", args=["000000"])).status_code == 404
    api = client.get("/api/records/public/992011").json()
    assert [item["title"] for item in api] == [file.title]


def test_a_bad_hold_keeps_what_was_typed_and_links_the_error(file, officer):
    response = staff(officer).post(
        reverse("records:place_hold", args=[file.pk]),
        {"reason": "audit", "description": "令和8年度 定期監査", "ends_on": "2027/13/01"},
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert 'href="#hold-ends_on"' in text and "令和8年度 定期監査" in text


def test_proposing_from_the_page_starts_the_route(file, officer):
    response = staff(officer).post(
        reverse("records:propose", args=[file.pk]), {"action": "destroy", "reason": "保存期間満了"}
    )
    proposal = DispositionProposal.objects.get(file=file)
    assert response.status_code == 302 and response["Location"] == reverse(
        "records:proposal", args=[proposal.pk]
    )
    assert proposal.approval_reference
    detail = staff(officer).get(response["Location"])
    assert "決裁中" in detail.content.decode()
    expired = staff(officer).get(reverse("records:expired")).content.decode()
    assert file.title not in expired  # it has an open proposal now


def test_a_case_worker_sees_no_officer_forms_and_cannot_propose(file, kankyo_staff):
    client = staff(kankyo_staff)
    assert "起案する" not in client.get(reverse("records:file", args=[file.pk])).content.decode()
    response = client.post(
        reverse("records:propose", args=[file.pk]), {"action": "destroy", "reason": "x"}
    )
    assert response.status_code == 403
    assert "文書管理担当" in response.content.decode()
    assert not DispositionProposal.objects.exists()


def _token(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user=user, name='records')[1]}"}


def test_the_api_refuses_disposition_without_an_approved_proposal(file, officer, hanako):
    client = Client()
    headers = _token(officer)
    listed = client.get("/api/records/files?year=2015", **headers)
    assert listed.status_code == 200 and listed.json()[0]["id"] == str(file.pk)
    bad = client.post(
        f"/api/records/files/{file.pk}/proposals",
        {"action": "burn", "reason": "x"},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 422
    created = client.post(
        f"/api/records/files/{file.pk}/proposals",
        {"action": "destroy", "reason": "満了"},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201
    proposal_id = created.json()["id"]
    again = client.post(
        f"/api/records/files/{file.pk}/proposals",
        {"action": "destroy", "reason": "満了"},
        content_type="application/json",
        **headers,
    )
    assert again.status_code == 409
    refused = client.post(f"/api/records/proposals/{proposal_id}/execute", **headers)
    assert refused.status_code == 409 and "approved proposal" in refused.json()["detail"]
    assert RecordFile.objects.get(pk=file.pk).state == FileState.ACTIVE
    # A resident is not staff.
    assert client.get("/api/records/files", **_token(hanako)).status_code == 403
    # Unknown fields are refused rather than ignored.
    extra = client.post(
        f"/api/records/files/{file.pk}/holds",
        {"reason": "audit", "description": "x", "end_event": "y", "force": True},
        content_type="application/json",
        **headers,
    )
    assert extra.status_code == 422
