"""A small PKI for the tests, made with `cryptography`: CAs, signers (valid, revoked,
expired), CRLs, detached CMS signatures, and real HTTP responders for OCSP (RFC 6960) and
timestamps (RFC 3161) on loopback."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "madoguchi tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Identity:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))

    def write_pem(self, path: Path) -> Path:
        path.write_bytes(self.pem)
        return path

    def pkcs12(self, passphrase: bytes = b"test") -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"signer",
            self.key,
            self.certificate,
            self.chain or None,
            serialization.BestAvailableEncryption(passphrase),
        )

    def sign_detached(self, data: bytes) -> bytes:
        """A detached CMS (PKCS#7) signature over `data`, in DER, as a signing app returns."""
        builder = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(data)
            .add_signer(self.certificate, self.key, hashes.SHA256())
        )
        for certificate in self.chain:
            builder = builder.add_certificate(certificate)
        return builder.sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )

    def sign_detached_timestamped(
        self, data: bytes, tsa: Identity, gen_time: dt.datetime | None = None
    ) -> bytes:
        """`sign_detached` with a signature timestamp (RFC 3161, CAdES-T) from `tsa`
        saying `gen_time`: the token a signing app adds after signing."""
        signed_data = cms.ContentInfo.load(self.sign_detached(data))["content"]
        signer_info = signed_data["signer_infos"][0]
        digest = hashlib.sha256(signer_info["signature"].native).digest()
        token = timestamp_token(digest, tsa, gen_time=gen_time)
        signer_info["unsigned_attrs"] = cms.CMSAttributes(
            [cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [token]})]
        )
        signed_data["signer_infos"] = cms.SignerInfos([signer_info])
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


class CA:
    def __init__(self, name: str = "madoguchi test CA", *, ocsp_url: str = "", crl_url: str = ""):
        self.key = _key()
        self.name = _name(name)
        self.ocsp_url = ocsp_url
        self.crl_url = crl_url
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=3650))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), False)
            .sign(self.key, hashes.SHA256())
        )
        self.revoked: dict[int, dt.datetime] = {}

    @property
    def identity(self) -> Identity:
        return Identity(self.certificate, self.key)

    def issue(
        self,
        name: str,
        *,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        extended_usage: list | None = None,
        ca: bool = False,
    ) -> Identity:
        key = _key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - dt.timedelta(days=30))
            .not_valid_after(not_after or NOW + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(_usage(ca=ca), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        if extended_usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage(extended_usage), critical=True)
        if self.ocsp_url:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(self.ocsp_url),
                        )
                    ]
                ),
                critical=False,
            )
        if self.crl_url:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(self.crl_url)], None, None, None
                        )
                    ]
                ),
                critical=False,
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        return Identity(certificate, key, [self.certificate])

    def revoke(self, identity: Identity, when: dt.datetime | None = None) -> None:
        self.revoked[identity.certificate.serial_number] = when or NOW - dt.timedelta(days=1)

    def crl(self) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.name)
            .last_update(NOW - dt.timedelta(hours=1))
            .next_update(NOW + dt.timedelta(days=30))
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        for serial, when in self.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def write_pem(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path


# --- responders on loopback ---------------------------------------------------------------


class _Server:
    def __init__(self, handler_factory) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_factory)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ocsp_responder(ca: CA) -> _Server:
    """An OCSP responder (RFC 6960) for `ca`, signing its answers with the CA key."""
    holder: dict = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            holder["server"].requests += 1
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = ocsp.load_der_ocsp_request(body)
            serial = request.serial_number
            revoked = ca.revoked.get(serial)
            # The responder answers for what it signed; the certificate it asks about is
            # identified by serial number (the tests' CA issued it).
            builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=serial,
                algorithm=request.hash_algorithm,
                cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
                this_update=NOW - dt.timedelta(minutes=5),
                next_update=NOW + dt.timedelta(days=1),
                revocation_time=revoked,
                revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
            )
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, ca.certificate)
            response = builder.sign(ca.key, hashes.SHA256()).public_bytes(
                serialization.Encoding.DER
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

    server = _Server(Handler)
    holder["server"] = server
    return server


def tsa(identity: Identity) -> _Server:
    """An RFC 3161 timestamp authority signing TSTInfo with `identity`."""
    holder: dict = {}
    certificate = asn1_x509.Certificate.load(
        identity.certificate.public_bytes(serialization.Encoding.DER)
    )
    chain = [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
        for c in identity.chain
    ]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            holder["server"].requests += 1
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = tsp.TimeStampReq.load(body)
            response = _timestamp_response(request, identity, certificate, chain)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

    server = _Server(Handler)
    holder["server"] = server
    return server


def _timestamp_response(request, identity: Identity, certificate, chain) -> bytes:
    nonce = request["nonce"].native
    token = timestamp_token(
        request["message_imprint"], identity, nonce=nonce, certificate=certificate, chain=chain
    )
    return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


def timestamp_token(
    imprint,
    identity: Identity,
    *,
    gen_time: dt.datetime | None = None,
    nonce: int | None = None,
    certificate=None,
    chain=None,
) -> cms.ContentInfo:
    """An RFC 3161 token over `imprint` (a MessageImprint, or the SHA-256 of the data), signed
    by `identity`, saying `gen_time` (default: now)."""
    if isinstance(imprint, bytes):
        imprint = tsp.MessageImprint(
            {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": imprint}
        )
    certificate = certificate or identity.asn1
    if chain is None:
        chain = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in identity.chain
        ]
    info = {
        "version": "v1",
        "policy": "1.2.3.4.1",
        "message_imprint": imprint,
        "serial_number": secrets.randbits(64),
        "gen_time": (gen_time or dt.datetime.now(dt.UTC)).replace(microsecond=0),
        "tsa": asn1_x509.GeneralName(name="directory_name", value=certificate.subject),
    }
    if nonce is not None:
        info["nonce"] = nonce
    tst_info = tsp.TSTInfo(info)
    encoded = tst_info.dump()
    signing_certificate = tsp.SigningCertificateV2(
        {"certs": [{"cert_hash": hashlib.sha256(certificate.dump()).digest()}]}
    )
    signed_attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute(
                {"type": "message_digest", "values": [hashlib.sha256(encoded).digest()]}
            ),
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [signing_certificate]}),
        ]
    )
    signature = identity.key.sign(signed_attributes.dump(), padding.PKCS1v15(), hashes.SHA256())
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attributes,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": core.ParsableOctetString(encoded),
            },
            "certificates": [certificate, *chain],
            "signer_infos": [signer_info],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def tsa_identity(ca: CA) -> Identity:
    return ca.issue("madoguchi test TSA", extended_usage=[ExtendedKeyUsageOID.TIME_STAMPING])
