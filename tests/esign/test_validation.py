"""Each verdict on an applicant's signature: valid, invalid, indeterminate, with reasons."""

from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from madoguchi.esign import validation

from .pki import CA, ocsp_responder

CONTENT = '{"answers":{"name":"𠮷田"},"format":"madoguchi.application/1"}'.encode()


def test_a_detached_signature_by_a_trusted_signer_is_valid(trusted):
    verdict = validation.verify(trusted["signer"].sign_detached(CONTENT), CONTENT)
    assert (verdict.status, verdict.reason) == ("valid", "")
    assert verdict.kind == "cms"
    assert "テスト 花子" in verdict.signer_subject
    assert verdict.signing_time is not None


def test_pem_and_base64_forms_are_accepted(trusted):
    der = trusted["signer"].sign_detached(CONTENT)
    pem = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(der) + b"-----END PKCS7-----\n"
    assert validation.verify(pem, CONTENT).ok
    assert validation.verify(base64.b64encode(der), CONTENT).ok


def test_a_signature_over_other_content_is_a_digest_mismatch(trusted):
    verdict = validation.verify(trusted["signer"].sign_detached(CONTENT + b" "), CONTENT)
    assert (verdict.status, verdict.reason) == ("invalid", "digest_mismatch")
    assert "一致しません" in verdict.message


def test_a_damaged_signature_value_is_invalid(trusted):
    der = bytearray(trusted["signer"].sign_detached(CONTENT))
    der[-20] ^= 0xFF  # inside the RSA signature value at the end of the SignerInfo
    verdict = validation.verify(bytes(der), CONTENT)
    assert (verdict.status, verdict.reason) == ("invalid", "bad_signature")


def test_a_signer_from_an_unknown_ca_is_indeterminate(trusted):
    stranger = CA("知らない認証局").issue("だれか")
    verdict = validation.verify(stranger.sign_detached(CONTENT), CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "untrusted")


def test_an_expired_signer_is_indeterminate(trusted):
    verdict = validation.verify(trusted["expired"].sign_detached(CONTENT), CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "expired")


# --- signature timestamps (CAdES-T): the time a certificate must have been valid ---------


@pytest.fixture(scope="module")
def timestamp_authorities(jpki):
    from cryptography.x509.oid import ExtendedKeyUsageOID

    usage = [ExtendedKeyUsageOID.TIME_STAMPING]
    return {
        "trusted": jpki["ca"].issue("テスト 時刻認証局", extended_usage=usage),
        "stranger": CA("勝手な時刻認証局").issue("勝手な TSA", extended_usage=usage),
        # A certificate of the trusted CA that was not issued for timestamps.
        "not_a_tsa": jpki["ca"].issue("テスト 時刻の権限なし"),
    }


def _while_valid() -> dt.datetime:
    from .pki import NOW

    return NOW - dt.timedelta(days=30)  # inside the expired signer's validity


def test_a_trusted_timestamp_keeps_an_expired_signers_signature_valid(
    trusted, timestamp_authorities
):
    signature = trusted["expired"].sign_detached_timestamped(
        CONTENT, timestamp_authorities["trusted"], _while_valid()
    )
    verdict = validation.verify(signature, CONTENT)
    assert (verdict.status, verdict.reason) == ("valid", "")
    assert verdict.timestamp is not None
    assert verdict.timestamp.date() == _while_valid().date()


@pytest.mark.parametrize("authority", ["stranger", "not_a_tsa"])
def test_a_timestamp_from_an_untrusted_authority_proves_no_time(
    trusted, timestamp_authorities, authority
):
    # Anyone can sign a token saying "last month": only a trusted TSA's counts.
    signature = trusted["expired"].sign_detached_timestamped(
        CONTENT, timestamp_authorities[authority], _while_valid()
    )
    verdict = validation.verify(signature, CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "expired")
    assert verdict.timestamp is None


def test_a_trusted_timestamp_after_the_expiry_does_not_help(trusted, timestamp_authorities):
    signature = trusted["expired"].sign_detached_timestamped(
        CONTENT, timestamp_authorities["trusted"]
    )
    verdict = validation.verify(signature, CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "expired")


@pytest.mark.parametrize(
    ("authority", "expected"),
    [("trusted", ("valid", "")), ("stranger", ("indeterminate", "expired"))],
)
def test_a_timestamped_signed_pdf_outlives_its_signers_certificate_only_if_trusted(
    trusted, timestamp_authorities, tmp_path, authority, expected
):
    timestamper = _dummy_timestamper(timestamp_authorities[authority], _while_valid())
    pdf = _signed_pdf(trusted["expired"], CONTENT, tmp_path, timestamper)
    verdict = validation.verify(pdf, CONTENT)
    assert (verdict.status, verdict.reason, verdict.kind) == (*expected, "pades")


def test_a_signer_not_yet_valid_is_indeterminate(trusted):
    verdict = validation.verify(trusted["future"].sign_detached(CONTENT), CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "not_yet_valid")


def test_a_revoked_signer_is_invalid_with_the_crl_file(with_crl):
    verdict = validation.verify(with_crl["revoked"].sign_detached(CONTENT), CONTENT)
    assert (verdict.status, verdict.reason) == ("invalid", "revoked")
    good = validation.verify(with_crl["signer"].sign_detached(CONTENT), CONTENT)
    assert good.ok


def test_without_a_revocation_source_a_revoked_signer_is_not_detected(trusted):
    """Documented behaviour: revocation is checked only when a CRL file or OCSP is set."""
    assert validation.verify(trusted["revoked"].sign_detached(CONTENT), CONTENT).ok


def test_a_crl_of_another_ca_leaves_revocation_unknown(trusted, settings, tmp_path):
    path = tmp_path / "other.crl"
    path.write_bytes(CA("別の認証局").crl())
    settings.MADOGUCHI_ESIGN_CRL_FILES = [str(path)]
    verdict = validation.verify(trusted["signer"].sign_detached(CONTENT), CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "revocation_unknown")


def test_ocsp_answers_revocation_online(settings, tmp_path):
    # A CA whose certificates name a real OCSP responder on loopback.
    holder = {}
    ca = CA("OCSP テスト認証局")
    server = ocsp_responder(ca)
    try:
        ca.ocsp_url = server.url
        holder["good"] = ca.issue("オンライン 良")
        holder["bad"] = ca.issue("オンライン 失効")
        ca.revoke(holder["bad"])
        settings.MADOGUCHI_ESIGN_TRUST_ANCHORS = [str(ca.write_pem(tmp_path / "ca.pem"))]
        settings.MADOGUCHI_ESIGN_CRL_FILES = []
        settings.MADOGUCHI_ESIGN_FETCH_REVOCATION = True
        assert validation.verify(holder["good"].sign_detached(CONTENT), CONTENT).ok
        bad = validation.verify(holder["bad"].sign_detached(CONTENT), CONTENT)
        assert (bad.status, bad.reason) == ("invalid", "revoked")
        assert server.requests >= 2
    finally:
        server.close()


def test_ocsp_responder_down_is_revocation_unknown(settings, tmp_path):
    ca = CA("OCSP なし認証局", ocsp_url="http://127.0.0.1:9/")
    signer = ca.issue("だれか")
    settings.MADOGUCHI_ESIGN_TRUST_ANCHORS = [str(ca.write_pem(tmp_path / "ca.pem"))]
    settings.MADOGUCHI_ESIGN_CRL_FILES = []
    settings.MADOGUCHI_ESIGN_FETCH_REVOCATION = True
    verdict = validation.verify(signer.sign_detached(CONTENT), CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "revocation_unknown")


def test_a_certificate_without_signing_usage_is_invalid(trusted):
    from cryptography import x509

    from .pki import Identity

    ca = trusted["ca"]
    # A CA certificate (keyCertSign, cRLSign only) used to sign an application.
    intermediate = ca.issue("テスト 中間", ca=True)
    verdict = validation.verify(
        Identity(intermediate.certificate, intermediate.key, [ca.certificate]).sign_detached(
            CONTENT
        ),
        CONTENT,
    )
    assert verdict.status == "invalid" and verdict.reason == "key_usage"
    assert isinstance(intermediate.certificate, x509.Certificate)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"\x30\x03\x02\x01\x01", b"-----BEGIN PKCS7-----\nAAAA\n-----END PKCS7-----\n"],
)
def test_junk_is_malformed(trusted, data):
    verdict = validation.verify(data, CONTENT)
    assert (verdict.status, verdict.reason) == ("invalid", "malformed")


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_any_bytes_get_a_verdict_never_an_exception(trusted, data):
    verdict = validation.verify(data, CONTENT)
    assert verdict.status in ("invalid", "indeterminate")


@pytest.mark.parametrize("occurrence", [0, 1, 2])
def test_a_damaged_certificate_name_is_a_verdict_not_an_error(trusted, occurrence):
    """Found by the property below: ス (E3 82 B9) turned into ₹ (E2 82 B9), a code point
    that RFC 4518's string preparation (Unicode 3.2) does not know, in a name asn1crypto
    compares lazily."""
    der = bytearray(trusted["signer"].sign_detached(CONTENT))
    marker = "テスト".encode()
    positions = [i for i in range(len(der)) if der.startswith(marker, i)]
    assert len(positions) > occurrence, positions
    der[positions[occurrence] + 3] ^= 0x01
    verdict = validation.verify(bytes(der), CONTENT)
    # A verdict, never an exception; a name in a part nothing relies on (the copy of the
    # CA's certificate, the anchor being configured) may leave the signature valid.
    assert verdict.status in ("valid", "invalid", "indeterminate")
    assert verdict.message or verdict.status == "valid"


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=255))
def test_any_single_byte_change_of_a_valid_signature_is_not_valid(trusted, position, flip):
    der = bytearray(trusted["signer"].sign_detached(CONTENT))
    position %= len(der)
    der[position] ^= flip
    verdict = validation.verify(bytes(der), CONTENT)
    # A byte of an unsigned part (the certificates' ordering, unused fields) may change
    # nothing that matters; anything that does is never reported as valid.
    if verdict.ok:
        assert validation.verify(bytes(der), CONTENT + b"x").status != "valid"


# --- PAdES ----------------------------------------------------------------------------------


def _dummy_timestamper(authority, when):
    from asn1crypto import keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key = keys.PrivateKeyInfo.load(
        authority.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return DummyTimeStamper(tsa_cert=authority.asn1, tsa_key=key, fixed_dt=when)


def _signed_pdf(identity, embedded: bytes | None, tmp_path, timestamper=None) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from weasyprint import HTML, Attachment

    attachments = (
        [Attachment(file_obj=io.BytesIO(embedded), name=validation.EMBEDDED_NAME)]
        if embedded is not None
        else None
    )
    pdf = HTML(string="<p>申請書</p>").write_pdf(attachments=attachments)
    path = tmp_path / "resident.p12"
    path.write_bytes(identity.pkcs12())
    signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=b"test")
    from madoguchi.esign.sync import outside_event_loop

    # pyHanko runs its own event loop: not in a thread where Playwright's is running.
    out = outside_event_loop(
        signers.PdfSigner(
            signers.PdfSignatureMetadata(field_name="Resident"),
            signer=signer,
            timestamper=timestamper,
        ).sign_pdf,
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
    )
    return out.getvalue()


def test_a_signed_pdf_carrying_the_application_is_valid(trusted, tmp_path):
    verdict = validation.verify(_signed_pdf(trusted["signer"], CONTENT, tmp_path), CONTENT)
    assert (verdict.status, verdict.reason, verdict.kind) == ("valid", "", "pades")


def test_a_signed_pdf_of_another_application_is_a_digest_mismatch(trusted, tmp_path):
    verdict = validation.verify(_signed_pdf(trusted["signer"], b"{}", tmp_path), CONTENT)
    assert (verdict.status, verdict.reason) == ("invalid", "digest_mismatch")


def test_a_signed_pdf_without_the_application_is_refused(trusted, tmp_path):
    verdict = validation.verify(_signed_pdf(trusted["signer"], None, tmp_path), CONTENT)
    assert (verdict.status, verdict.reason) == ("invalid", "no_embedded_application")


def test_a_signed_pdf_changed_afterwards_is_modified(trusted, tmp_path):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    data = _signed_pdf(trusted["signer"], CONTENT, tmp_path)
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    verdict = validation.verify(out.getvalue(), CONTENT)
    assert (verdict.status, verdict.reason) == ("invalid", "modified")


def test_an_unsigned_pdf_is_malformed(trusted):
    from weasyprint import HTML

    verdict = validation.verify(HTML(string="<p>x</p>").write_pdf(), CONTENT)
    assert (verdict.status, verdict.reason) == ("invalid", "malformed")


def test_a_signed_pdf_by_an_expired_signer_is_indeterminate(trusted, tmp_path):
    verdict = validation.verify(_signed_pdf(trusted["expired"], CONTENT, tmp_path), CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "expired")


def test_a_chain_through_a_certificate_that_is_no_ca_is_indeterminate(trusted):
    """A signer whose issuer is an end-entity certificate of the trusted CA: a path exists
    but is not valid (the middle certificate may not issue), so the chain is refused."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from .pki import NOW, Identity, _key, _name, _usage

    middle = trusted["ca"].issue("中間の利用者証明書", ca=False)
    key = _key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("テスト 次郎"))
        .issuer_name(middle.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .sign(middle.key, hashes.SHA256())
    )
    signer = Identity(certificate, key, [middle.certificate, trusted["ca"].certificate])
    verdict = validation.verify(signer.sign_detached(CONTENT), CONTENT)
    assert (verdict.status, verdict.reason) == ("indeterminate", "chain")
    assert verdict.message
