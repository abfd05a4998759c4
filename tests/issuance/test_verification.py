"""Verification of uploaded PDFs: a clear verdict for every kind of file, never a 500."""

from __future__ import annotations

import pytest

from madoguchi.issuance import keys, rendering, services, verification
from madoguchi.issuance.signing import sign_pdf
from tests.esign.pki import CA

from . import pdfs
from .helpers import approved_parking


@pytest.fixture
def permit(hanako, issue):
    return issue(approved_parking(hanako))


@pytest.fixture
def permit_bytes(permit) -> bytes:
    with permit.pdf.open("rb") as handle:
        return handle.read()


def test_the_issued_file_is_valid_with_its_issuer_and_dates(permit, permit_bytes):
    result = verification.verify_pdf(permit_bytes)
    assert result.verdict == verification.VALID, result.message
    assert result.document == permit
    assert "さくら県" in result.signer
    assert result.signer_fingerprint == permit.signer_fingerprint
    record = result.as_dict()["document"]
    assert record["issuer"] == "さくら県" and record["type"] == "おもいやり駐車場利用証"
    assert record["pdf_sha256"] == result.sha256
    assert record["ledger"]["content_sha256"] == permit.pdf_sha256


def test_the_valid_file_is_also_valid_for_pdfsig_with_the_demo_ca_trusted(permit_bytes):
    ca_pem, _crl = keys.ensure_demo_ca()
    report = pdfsig_report = pdfs.pdfsig(permit_bytes, ca_pem)
    assert "Signature is Valid." in report, pdfsig_report
    assert "Certificate is Trusted." in report, pdfsig_report
    assert "Total document signed" in report


def test_pdfsig_without_the_ca_says_untrusted_but_intact(permit_bytes, tmp_path):
    other = CA("unrelated CA").write_pem(tmp_path / "other.pem")
    report = pdfs.pdfsig(permit_bytes, other)
    assert "Signature is Valid." in report
    assert "Certificate is Trusted." not in report


def test_a_revoked_document_verifies_as_revoked(permit, permit_bytes, shimin_staff):
    services.revoke_document(document=permit, staff=shimin_staff, reason="withdrawn")
    result = verification.verify_pdf(permit_bytes)
    assert result.verdict == verification.REVOKED
    assert result.as_dict()["document"]["revocation_reason"] == "許可等の取消し"
    assert not result.ok


def test_a_changed_byte_is_tampered(permit_bytes):
    assert verification.verify_pdf(pdfs.tampered(permit_bytes)).verdict == verification.TAMPERED


def test_an_incremental_resave_is_modified(permit_bytes):
    result = verification.verify_pdf(pdfs.resaved_incrementally(permit_bytes))
    assert result.verdict == verification.MODIFIED, result.verdict


def test_a_rewritten_file_is_not_valid(permit_bytes):
    result = verification.verify_pdf(pdfs.rewritten(permit_bytes))
    assert result.verdict in (verification.TAMPERED, verification.UNSIGNED), result.verdict


def test_a_truncated_file_is_damaged(permit_bytes):
    result = verification.verify_pdf(pdfs.truncated(permit_bytes))
    assert result.verdict in (verification.DAMAGED, verification.TAMPERED), result.verdict
    assert not result.ok


def test_an_unsigned_rendering_is_unsigned(permit):
    unsigned = rendering.render_document(permit, demo=True)
    assert verification.verify_pdf(unsigned).verdict == verification.UNSIGNED


def test_a_pdf_signed_by_another_key_is_untrusted(permit, tmp_path):
    from pyhanko.sign.signers import SimpleSigner

    outsider = CA("someone else's CA").issue("偽の発行者")
    path = tmp_path / "outsider.p12"
    path.write_bytes(outsider.pkcs12())
    signer = SimpleSigner.load_pkcs12(str(path), passphrase=b"test")
    loaded = keys.LoadedSigner(signer, keys.KeySpec(source="pkcs12"), signer.signing_cert, [])
    forged = sign_pdf(rendering.render_document(permit, demo=True), loaded, keys.load_config()).data
    result = verification.verify_pdf(forged)
    assert result.verdict == verification.UNTRUSTED
    assert "偽の発行者" in result.signer


def test_a_pdf_signed_by_another_bodys_key_is_other_key(permit):
    # Another body's demo key chains to the same demo CA: trusted, but not this issuer's.
    loaded = keys.signer_for("992011", "あおば市")
    forged = sign_pdf(rendering.render_document(permit, demo=True), loaded, keys.load_config()).data
    assert verification.verify_pdf(forged).verdict == verification.OTHER_KEY


def test_a_signed_pdf_unknown_to_the_register_is_unknown(permit):
    from madoguchi.issuance.models import IssuedDocument

    unsigned = rendering.render_document(permit, demo=True)
    loaded = keys.signer_for(permit.body.code, permit.body.name)
    signed = sign_pdf(unsigned, loaded, keys.load_config()).data
    IssuedDocument.objects.filter(pk=permit.pk).update(state="pending")
    assert verification.verify_pdf(signed).verdict == verification.UNKNOWN_DOCUMENT


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a pdf at all",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"%PDF-1.7\n" + b"\xff" * 200,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    ],
)
def test_junk_gets_a_verdict_never_an_exception(data, sample):
    result = verification.verify_pdf(data)
    assert result.verdict in (
        verification.EMPTY,
        verification.NOT_PDF,
        verification.DAMAGED,
        verification.UNSIGNED,
    )
    assert result.message


def test_too_large_is_refused_before_parsing(settings, sample):
    settings.MADOGUCHI_VERIFY_MAX_BYTES = 100
    assert verification.verify_pdf(b"%PDF-" + b"0" * 200).verdict == verification.TOO_LARGE


def test_the_register_entry_a_qr_code_opens(permit):
    assert verification.verify_by_id(permit.pk) == permit
    assert verification.verify_by_id("not-a-uuid") is None
