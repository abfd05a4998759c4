"""The issuance's ledger entry with an inclusion proof; who may revoke."""

from __future__ import annotations

import pytest

from madoguchi.issuance import selectors
from madoguchi.issuance.models import DocumentState
from tests.conftest import login

from .helpers import approved_parking


@pytest.fixture
def permit(hanako, issue):
    return issue(approved_parking(hanako))


def test_the_inclusion_proof_leads_to_the_latest_checkpoint(permit):
    ledger_services = pytest.importorskip("madoguchi.ledger.services")
    merkle = pytest.importorskip("madoguchi.ledger.merkle")
    if not hasattr(ledger_services, "sequence_now"):
        pytest.skip("the ledger's sequencer is not installed")
    ledger_services.sequence_now()
    evidence = selectors.ledger_evidence(permit)
    assert evidence["sequenced"] is True
    assert evidence["content_sha256"] == permit.pdf_sha256
    merkle.verify_inclusion(
        evidence["index"],
        evidence["checkpoint"]["size"],
        bytes.fromhex(evidence["leaf_hash"]),
        [bytes.fromhex(node) for node in evidence["inclusion_proof"]],
        bytes.fromhex(evidence["checkpoint"]["root_hash"]),
    )


def test_an_approver_of_the_unit_revokes_and_a_case_worker_cannot(permit, sample):
    from madoguchi.identity.models import User

    case_worker = login(User.objects.get(email="fukushi.tanto@sakura.example.jp"))
    response = case_worker.post(f"/staff/documents/{permit.pk}/revoke/", {"reason": "withdrawn"})
    assert response.status_code == 403
    assert "失効させる権限がありません" in response.content.decode()
    permit.refresh_from_db()
    assert permit.state == DocumentState.ISSUED
    approver = login(User.objects.get(email="fukushi.kacho@sakura.example.jp"))
    response = approver.post(f"/staff/documents/{permit.pk}/revoke/", {"reason": "withdrawn"})
    assert response.status_code == 302
    permit.refresh_from_db()
    assert permit.state == DocumentState.REVOKED


def test_opening_the_pdf_is_in_the_residents_access_log(permit, prefecture_staff, hanako):
    ledger_models = pytest.importorskip("madoguchi.ledger.models")
    if not hasattr(ledger_models, "AccessLog"):
        pytest.skip("the access log is not installed")
    client = login(prefecture_staff)
    response = client.get(f"/staff/documents/{permit.pk}/pdf/")
    assert response.status_code == 200
    entry = ledger_models.AccessLog.objects.filter(subject_user=hanako).order_by("-pk").first()
    assert entry is not None and entry.what == "document"
