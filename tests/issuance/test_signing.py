"""Signature levels and key sources: PKCS#12 by default, B-T with a local RFC 3161
authority, B-LT with revocation information, and a real PKCS#11 token (SoftHSM)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from madoguchi.issuance import keys, verification
from tests.esign.pki import CA, tsa, tsa_identity

from . import pdfs
from .helpers import approved_parking

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


def _status(data: bytes, roots):
    reader = PdfFileReader(io.BytesIO(data))
    signature = reader.embedded_regular_signatures[0]
    from madoguchi.esign.sync import outside_event_loop

    # pyHanko runs its own event loop: not in a thread where Playwright's is running.
    return reader, outside_event_loop(
        validate_pdf_signature,
        signature,
        signer_validation_context=ValidationContext(trust_roots=roots, allow_fetching=False),
    )


@pytest.fixture
def timestamp_authority(settings, tmp_path):
    ca = CA("madoguchi test TSA CA")
    server = tsa(tsa_identity(ca))
    settings.MADOGUCHI_TSA_URL = server.url
    settings.MADOGUCHI_TSA_TRUST_ANCHORS = [str(ca.write_pem(tmp_path / "tsa-ca.pem"))]
    yield ca, server
    server.close()


def test_a_tsa_whose_chain_is_unknown_gives_b_t(hanako, issue, timestamp_authority, settings):
    settings.MADOGUCHI_TSA_TRUST_ANCHORS = []
    document = issue(approved_parking(hanako))
    assert document.signature_level == "PAdES-B-T"
    tsa_ca, _server = timestamp_authority
    _reader, status = _status(
        document.pdf.open("rb").read(), [*keys.verification_trust_roots(), tsa_ca.identity.asn1]
    )
    assert status.timestamp_validity is not None and status.timestamp_validity.valid


def test_without_a_tsa_the_signature_is_b_b(hanako, issue):
    document = issue(approved_parking(hanako))
    assert document.signature_level == "PAdES-B-B"
    _reader, status = _status(document.pdf.open("rb").read(), keys.verification_trust_roots())
    assert status.timestamp_validity is None
    assert status.bottom_line


def test_with_a_tsa_the_signature_is_timestamped_and_long_term(hanako, issue, timestamp_authority):
    tsa_ca, server = timestamp_authority
    document = issue(approved_parking(hanako))
    assert server.requests >= 1
    # The demo CA publishes a CRL: with a timestamp, it is embedded (B-LT).
    assert document.signature_level == "PAdES-B-LT"
    data = document.pdf.open("rb").read()
    reader, status = _status(data, [*keys.verification_trust_roots(), tsa_ca.identity.asn1])
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid
    assert status.timestamp_validity.trusted
    # The Document Security Store holds the revocation data (the CRL).
    dss = reader.root["/DSS"].get_object()
    assert len(dss["/CRLs"]) >= 1
    assert verification.verify_pdf(data).verdict == verification.VALID


def test_the_verification_shows_a_timestamp_only_from_a_trusted_authority(
    hanako, issue, timestamp_authority, settings
):
    document = issue(approved_parking(hanako))
    data = document.pdf.open("rb").read()
    shown = verification.verify_pdf(data)
    assert shown.verdict == verification.VALID and shown.timestamp is not None
    assert abs((shown.timestamp - document.issued_at).total_seconds()) < 300
    # The token sits outside what the issuer signs: with its authority no longer trusted,
    # the document still verifies, and no time is claimed for it.
    settings.MADOGUCHI_TSA_TRUST_ANCHORS = []
    unshown = verification.verify_pdf(data)
    assert unshown.verdict == verification.VALID and unshown.timestamp is None


def test_a_tsa_that_is_down_leaves_the_document_pending_then_failed(hanako, settings, sample):
    from madoguchi.issuance import services
    from madoguchi.issuance.models import DocumentState

    settings.MADOGUCHI_TSA_URL = "http://127.0.0.1:9/"  # discard port: nothing listens
    application = approved_parking(hanako)
    document = services.schedule_issuance(application_id=application.pk)
    outcomes = [services.issue_document(document_id=document.pk) for _ in range(3)]
    assert outcomes == ["retry", "retry", "failed"]
    document.refresh_from_db()
    assert document.state == DocumentState.FAILED
    assert "SigningFailed" in document.last_error or "Timestamp" in document.last_error


def test_a_pkcs12_file_named_in_the_configuration_signs(hanako, issue, settings, tmp_path):
    ca = CA("さくら県 テスト認証局")
    signer = ca.issue("さくら県知事（テスト）")
    (tmp_path / "signer.p12").write_bytes(signer.pkcs12(b"s3cret"))
    (tmp_path / "passphrase").write_text("s3cret\n")
    ca.write_pem(tmp_path / "ca.pem")
    config = tmp_path / "signing.toml"
    config.write_text(
        f"""
[default]
pkcs12 = "{tmp_path / "signer.p12"}"
passphrase_file = "{tmp_path / "passphrase"}"

[verification]
trust_anchors = ["{tmp_path / "ca.pem"}"]
"""
    )
    settings.MADOGUCHI_SIGNING_CONFIG = str(config)
    document = issue(approved_parking(hanako))
    assert "さくら県知事（テスト）" in document.signer_subject
    data = document.pdf.open("rb").read()
    assert verification.verify_pdf(data).verdict == verification.VALID
    assert "Signature is Valid." in pdfs.pdfsig(data, tmp_path / "ca.pem")


def test_each_signing_key_is_recorded_in_the_ledger_when_it_signs_its_first_document(
    hanako, issue, settings, tmp_path
):
    from madoguchi.ledger.models import Event

    configured = Event.objects.filter(event_type="document.signing_key_configured")
    first = issue(approved_parking(hanako))
    assert configured.count() == 1
    demo = configured.get()
    assert demo.subject_id == first.signer_fingerprint
    assert demo.body_id == first.body_id
    assert demo.details["replaces"] is None and demo.details["source"] == "demo"
    assert demo.details["first_document"] == str(first.pk)

    issue(approved_parking(hanako))
    assert configured.count() == 1  # the same key signs on without a new event

    ca = CA("さくら県 テスト認証局")
    (tmp_path / "signer.p12").write_bytes(ca.issue("さくら県知事（テスト）").pkcs12(b"s3cret"))
    (tmp_path / "passphrase").write_text("s3cret\n")
    config = tmp_path / "signing.toml"
    config.write_text(
        f'[default]\npkcs12 = "{tmp_path / "signer.p12"}"\n'
        f'passphrase_file = "{tmp_path / "passphrase"}"\n'
    )
    settings.MADOGUCHI_SIGNING_CONFIG = str(config)
    keys.forget_signers()
    rotated = issue(approved_parking(hanako))
    assert rotated.signer_fingerprint != first.signer_fingerprint
    latest = configured.order_by("-id").first()
    assert configured.count() == 2
    assert latest.subject_id == rotated.signer_fingerprint
    assert latest.details["replaces"] == first.signer_fingerprint
    assert latest.details["source"] == "pkcs12"
    # Published with the ledger: the certificate's hashes and dates, not its names.
    assert "知事" not in str(latest.details) and "さくら県" not in str(latest.details)


@pytest.fixture
def softhsm_token(tmp_path):
    if not Path(SOFTHSM).exists() or not shutil.which("softhsm2-util"):
        pytest.skip("SoftHSM not installed: make system-deps")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "madoguchi-test",
            "--so-pin",
            "12345678",
            "--pin",
            "246810",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    yield tmp_path, env
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def test_a_key_on_a_pkcs11_token_signs(hanako, issue, settings, softhsm_token):
    from cryptography.hazmat.primitives import serialization

    directory, env = softhsm_token
    ca = CA("さくら県 HSM テスト認証局")
    signer = ca.issue("さくら県知事（HSM）")
    key_file = directory / "key.pem"
    key_file.write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    subprocess.run(
        [
            "softhsm2-util",
            "--import",
            str(key_file),
            "--token",
            "madoguchi-test",
            "--label",
            "signer",
            "--id",
            "01",
            "--pin",
            "246810",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    key_file.unlink()  # the key lives on the token only
    signer.write_pem(directory / "signer.pem")
    ca.write_pem(directory / "ca.pem")
    (directory / "pin").write_text("246810")
    config = directory / "signing.toml"
    config.write_text(
        f"""
[bodies."990001"]
pkcs11_module = "{SOFTHSM}"
token_label = "madoguchi-test"
key_label = "signer"
pin_file = "{directory / "pin"}"
cert_file = "{directory / "signer.pem"}"
chain_files = ["{directory / "ca.pem"}"]

[verification]
trust_anchors = ["{directory / "ca.pem"}"]
"""
    )
    settings.MADOGUCHI_SIGNING_CONFIG = str(config)
    document = issue(approved_parking(hanako))
    assert keys.load_config().key_for("990001").source == "pkcs11"
    assert "さくら県知事（HSM）" in document.signer_subject
    data = document.pdf.open("rb").read()
    assert verification.verify_pdf(data).verdict == verification.VALID
    assert "Signature is Valid." in pdfs.pdfsig(data, directory / "ca.pem")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[default\n", "not valid TOML"),
        ("[default]\n", "give pkcs12 or pkcs11_module"),
        ('[default]\npkcs12 = "a"\npkcs11_module = "b"\n', "not both"),
        ('[default]\npkcs11_module = "b"\n', "key_label or key_id"),
        ('[default]\npkcs12 = "a"\ncolour = "red"\n', "unknown keys colour"),
        ("[keys]\n", "unknown sections keys"),
        ('[default]\npkcs11_module = "b"\nkey_id = "zz"\n', "hexadecimal"),
    ],
)
def test_a_wrong_configuration_says_what_is_wrong(text, message):
    with pytest.raises(keys.SigningConfigError, match=message):
        keys.parse_config(text)


def test_without_configuration_and_demo_off_signing_is_refused(settings):
    settings.MADOGUCHI_SIGNING_CONFIG = ""
    settings.MADOGUCHI_DEMO_IDENTITY = False
    with pytest.raises(keys.SigningConfigError, match="MADOGUCHI_SIGNING_CONFIG"):
        keys.load_config()


def test_the_start_up_check_reports_missing_fonts_and_keys(settings, tmp_path):
    from madoguchi.issuance import checks

    settings.MADOGUCHI_FONT_MINCHO = str(tmp_path / "missing.ttf")
    errors = checks.fonts_installed(None)
    assert [error.id for error in errors] == ["issuance.E001"]
    assert "fonts-ipamj-mincho" in errors[0].hint
    config = tmp_path / "signing.toml"
    config.write_text(f'[default]\npkcs12 = "{tmp_path / "none.p12"}"\n')
    settings.MADOGUCHI_SIGNING_CONFIG = str(config)
    assert [error.id for error in checks.signing_configuration(None)] == ["issuance.E003"]


def test_rendering_without_the_fonts_fails_clearly(settings, tmp_path):
    from madoguchi.issuance import fonts

    settings.MADOGUCHI_FONT_GOTHIC = str(tmp_path / "missing.ttf")
    with pytest.raises(fonts.FontsMissing, match="fonts-morisawa-bizud-gothic"):
        fonts.check_fonts()


def test_the_demo_ca_and_signer_are_marked_as_not_for_production(sample):
    """Whoever inspects a document signed in the sample sees in the certificates that it is
    a demo: the organisational unit and the names say so."""
    from madoguchi.issuance import keys

    loaded = keys.signer_for("990001", "さくら県")
    subject = loaded.certificate.subject.human_friendly
    issuer = loaded.certificate.issuer.human_friendly
    assert "DEMO - NOT FOR PRODUCTION" in subject and "見本" in subject
    assert "DEMO - NOT FOR PRODUCTION" in issuer and "本番使用不可" in issuer
    assert any(c.subject == loaded.certificate.issuer for c in loaded.chain)  # the demo CA
