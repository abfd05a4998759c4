"""PAdES signatures on issued documents (pyHanko).

B-B by default; B-T when a timestamp authority (RFC 3161) is configured; B-LT when, in
addition, revocation information for the signer's chain can be embedded (configured CRL
files, the demo CA's CRL, or fetched online when `fetch_revocation` is on).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from madoguchi.esign.sync import outside_event_loop

from .keys import LoadedSigner, SigningConfig, load_certificates, revocation_files

logger = logging.getLogger(__name__)

FIELD_NAME = "IssuerSignature"
# Room for the CMS container: the chain, and a timestamp token with its own chain. Fixing
# it saves pyHanko a trial signature per document; a larger container is retried.
RESERVED_BYTES = 16 * 1024


class SigningFailed(Exception):
    """The document could not be signed (TSA down, token removed): retried later."""


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    level: str  # "PAdES-B-B", "PAdES-B-T" or "PAdES-B-LT"


def _timestamper(config: SigningConfig):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    url = config.timestamp_url
    if not url:
        return None
    auth = None
    if config.tsa_username:
        password = config.tsa_password_file.read_text().strip() if config.tsa_password_file else ""
        auth = (config.tsa_username, password)
    return HTTPTimeStamper(url, timeout=10, auth=auth)


def _validation_context(loaded: LoadedSigner, config: SigningConfig, crls: list[bytes]):
    from pyhanko_certvalidator import ValidationContext

    roots = [loaded.chain[-1]] if loaded.chain else [loaded.certificate]
    for path in (*config.trust_anchors, *config.timestamp_roots):
        roots.extend(load_certificates(path))
    return ValidationContext(
        trust_roots=roots,
        other_certs=loaded.chain,
        crls=crls,
        allow_fetching=config.fetch_revocation,
        revocation_mode="soft-fail",
    )


def sign_pdf(pdf: bytes, loaded: LoadedSigner, config: SigningConfig) -> SignedPdf:
    """Signs `pdf` with the body's key as an incremental update."""
    timestamper = _timestamper(config)
    crls = revocation_files() if timestamper is not None else []
    long_term = timestamper is not None and (bool(crls) or config.fetch_revocation)
    if long_term:
        try:
            return SignedPdf(_sign(pdf, loaded, config, timestamper, crls), "PAdES-B-LT")
        except SigningFailed as exc:
            # The revocation data of a chain (the signer's or the TSA's) could not be
            # assembled: the document is still issued, timestamped, as B-T.
            logger.warning("B-LT not possible, signing B-T: %s", str(exc)[:200])
    data = _sign(pdf, loaded, config, timestamper, None)
    return SignedPdf(data, "PAdES-B-T" if timestamper else "PAdES-B-B")


def _sign(pdf: bytes, loaded: LoadedSigner, config: SigningConfig, timestamper, crls) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.general import SigningError

    long_term = crls is not None
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        embed_validation_info=long_term,
        validation_context=_validation_context(loaded, config, crls) if long_term else None,
    )
    signer = signers.PdfSigner(metadata, signer=loaded.signer, timestamper=timestamper)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        try:
            output = outside_event_loop(signer.sign_pdf, writer, bytes_reserved=RESERVED_BYTES)
        except SigningError as exc:
            if "larger than expected" not in str(exc):
                raise
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            output = outside_event_loop(signer.sign_pdf, writer)
    except Exception as exc:
        raise SigningFailed(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    return output.getvalue()
