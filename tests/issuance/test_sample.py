"""`make run` loads approved applications with issued, signed documents, one revoked."""

from __future__ import annotations

import pytest

from madoguchi.issuance import verification
from madoguchi.issuance.models import DocumentState, IssuedDocument


@pytest.mark.django_db(transaction=True)
def test_the_sample_has_issued_signed_documents_and_one_revoked(django_capture_on_commit_callbacks):
    from madoguchi.esign.models import ApplicantSignature
    from madoguchi.sample.services import load_sample

    with django_capture_on_commit_callbacks(execute=True):
        load_sample(with_applications=True)
    documents = list(IssuedDocument.objects.order_by("number"))
    states = sorted(document.state for document in documents)
    assert states == [DocumentState.ISSUED, DocumentState.ISSUED, DocumentState.REVOKED]
    verdicts = set()
    for document in documents:
        with document.pdf.open("rb") as handle:
            verdicts.add(verification.verify_pdf(handle.read()).verdict)
    assert verdicts == {verification.VALID, verification.REVOKED}
    titles = {document.title for document in documents}
    assert titles == {"おもいやり駐車場利用証", "児童手当認定通知書"}
    notice = next(d for d in documents if d.title == "児童手当認定通知書")
    from .test_templates import pdftext

    text = pdftext(notice.pdf.open("rb").read())
    # The answers the procedure lists (deliverable.fields): the claimant and the children.
    assert "山田 花子（やまだ はなこ）" in text and "𠮷乃" in text
    # The child allowance requires the applicant's signature: made with the demo certificate.
    signature = ApplicantSignature.objects.get(application__procedure__identifier="child-allowance")
    assert signature.status == "valid" and signature.demo
