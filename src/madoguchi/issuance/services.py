"""Issuing official documents: schedule on approval, render and sign as a task, notify,
re-send, revoke. Views, the API, the CLI and tasks call these."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.apps import apps
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from madoguchi.catalogue.fieldtypes import unseal
from madoguchi.counter import hooks
from madoguchi.ledger.services import events_for, record_event
from madoguchi.notifications.services import queue_email

from . import rendering, states
from .keys import SigningConfigError, load_config, signer_for
from .models import DocumentSequence, DocumentState, IssuedDocument, RevocationReason
from .signing import SigningFailed, sign_pdf

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


class IssuanceError(Exception):
    """A refusal with a message for staff and residents (Japanese) and the API (English)."""

    code = "refused"
    status = 409

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(ja)
        self.ja = ja
        self.en = en


class NotAllowed(IssuanceError):
    code = "forbidden"
    status = 403


def _application_model():
    # The application is read through its own table: layer 3 may read layer 2's rows.
    return apps.get_model("counter", "Application")


def deliverable_of(version) -> dict[str, Any]:
    return version.definition.get("deliverable") or {}


def issues_document(deliverable: dict[str, Any]) -> bool:
    """A PDF deliverable, or a physical one (a certificate printed and mailed) that has a
    template: both are rendered and signed."""
    kind = deliverable.get("kind")
    return kind == "pdf" or (kind == "physical" and bool(deliverable.get("template")))


def _add_months(date: dt.date, months: int) -> dt.date:
    month_index = date.month - 1 + months
    year, month = date.year + month_index // 12, month_index % 12 + 1
    import calendar

    return dt.date(year, month, min(date.day, calendar.monthrange(year, month)[1]))


def validity_end(deliverable: dict[str, Any], answers: dict[str, Any], issued_on: dt.date):
    """The 有効期限: the first `until` date field answered (plus its months), else the
    procedure's `years`/`months` from the issue date, else none."""
    validity = deliverable.get("validity") or {}
    for rule in validity.get("until", []):
        value = unseal(answers.get(rule.get("field")))  # a date may be a sensitive answer
        if isinstance(value, str):
            try:
                return _add_months(dt.date.fromisoformat(value), int(rule.get("months", 0)))
            except ValueError:
                continue
    months = int(validity.get("years", 0)) * 12 + int(validity.get("months", 0))
    if months:
        # Valid to the end of the day before the anniversary, as permits are written.
        return _add_months(issued_on, months) - dt.timedelta(days=1)
    return None


def _next_number(body, day: dt.date) -> str:
    year = rendering.fiscal_year_of(day)
    sequence, _ = DocumentSequence.objects.get_or_create(body=body, fiscal_year=year)
    sequence = DocumentSequence.objects.select_for_update().get(pk=sequence.pk)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{body.code}-{year}-{sequence.last:06d}"


def _tasks_in_database() -> bool:
    from django.conf import settings

    return settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def _enqueue(document_id) -> None:
    from .tasks import issue_document_task

    if _tasks_in_database():
        # The task row commits (or rolls back) with the document row.
        issue_document_task.enqueue(str(document_id))
    else:
        transaction.on_commit(lambda: _enqueue_after_commit(str(document_id)))


def _enqueue_after_commit(document_id: str) -> None:
    from .tasks import issue_document_task

    try:
        issue_document_task.enqueue(document_id)
    except Exception:
        # The document stays pending: `madoguchi documents issue --pending` picks it up.
        logger.exception("could not enqueue issuance of document %s", document_id)


@transaction.atomic
def schedule_issuance(*, application_id, decided_by=None) -> IssuedDocument | None:
    """Called on the final approval of an application: creates its document row and
    queues rendering and signing after commit. Calling it again returns the same
    document; a procedure without a document to issue returns None."""
    application = (
        _application_model()
        .objects.select_for_update()
        .select_related("procedure_version", "body", "unit")
        .get(pk=application_id)
    )
    deliverable = deliverable_of(application.procedure_version)
    if not issues_document(deliverable):
        return None
    if application.state != "approved":
        raise IssuanceError(
            "承認された申請にだけ文書を交付できます。",
            "Documents are issued for approved applications only.",
        )
    current = (
        IssuedDocument.objects.filter(application=application)
        .exclude(state=DocumentState.REVOKED)
        .first()
    )
    if current is not None:
        return current
    if not hooks.issuance_allowed(application):
        # A fee due before issuance is not paid yet: the document is issued when it is
        # (issue_when_settled, called by payments inside the settling transaction).
        record_event(
            event_type="document.deferred",
            actor_kind="staff" if decided_by else "system",
            actor_id=getattr(decided_by, "pk", None),
            subject_type="application",
            subject_id=application.pk,
            body_id=application.body_id,
            details={"reason": "fee_unpaid"},
        )
        return None
    return _create_document(application, deliverable, decided_by)


def issue_when_settled(application) -> None:
    """A settlement listener (counter.hooks): the fee of an approved application whose
    document waited for it is now settled. Scheduled after the payment's commit, so that
    no lock on the application is taken while the payment's row is held."""
    if application.state != "approved":
        return
    if not issues_document(deliverable_of(application.procedure_version)):
        return
    application_id = application.pk
    transaction.on_commit(lambda: _schedule_after_settlement(application_id))


def _schedule_after_settlement(application_id) -> None:
    try:
        schedule_issuance(application_id=application_id)
    except Exception:
        # Nothing is lost: `madoguchi documents issue --pending` schedules it later.
        logger.exception("could not schedule the document of application %s", application_id)


def _create_document(application, deliverable, decided_by) -> IssuedDocument:
    today = timezone.localdate()
    named = deliverable.get("template")
    if named and named not in rendering.TEMPLATES:
        # A definition's typo must not stop the issuance: the notice layout is used.
        logger.warning("unknown deliverable template %r: using %r", named, "notice")
    document = IssuedDocument.objects.create(
        application=application,
        body=application.body,
        unit=application.unit,
        number=_next_number(application.body, today),
        title=deliverable.get("name") or application.procedure_version.name,
        template=rendering.template_for(deliverable.get("template")).name,
        delivery=list(deliverable.get("delivery") or []),
        decided_by=decided_by,
        valid_until=validity_end(deliverable, application.answers, today),
    )
    record_event(
        event_type="document.scheduled",
        actor_kind="staff" if decided_by else "system",
        actor_id=getattr(decided_by, "pk", None),
        subject_type="document",
        subject_id=document.pk,
        body_id=document.body_id,
        details={
            "application": str(application.pk),
            "number": document.number,
            "template": document.template,
        },
    )
    _enqueue(document.pk)
    return document


# --- rendering and signing (the task) ---------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load_for_rendering(document_id) -> IssuedDocument | None:
    return (
        IssuedDocument.objects.select_related(
            "body",
            "unit",
            "application",
            "application__procedure_version",
            "application__applicant",
        )
        .filter(pk=document_id)
        .first()
    )


def produce_pdf(document: IssuedDocument) -> tuple[bytes, Any, str]:
    """Renders and signs the document: (signed PDF, loaded signer, PAdES level)."""
    config = load_config()
    loaded = signer_for(document.body.code, document.body.name)
    # Shown as issued on the day it is signed.
    document.issued_at = timezone.now()
    unsigned = rendering.render_document(document, demo=config.demo)
    signed = sign_pdf(unsigned, loaded, config)
    return signed.data, loaded, signed.level


def issue_document(*, document_id) -> str:
    """Renders, stamps and signs a pending document and issues it. Running it twice (a
    task delivered twice, two workers) issues it once: the second run finds it issued.
    Returns "issued", "skipped", "retry" or "failed"."""
    document = _load_for_rendering(document_id)
    if document is None or document.state != DocumentState.PENDING:
        return "skipped"
    # Rendering and signing run outside the transaction: no lock is held for the
    # ~100 ms they take. The row lock below decides which run's PDF becomes the document.
    try:
        data, loaded, level = produce_pdf(document)
    except (SigningConfigError, SigningFailed, OSError, ValueError) as exc:
        return _record_failure(document.pk, exc)
    except Exception as exc:  # rendering errors of WeasyPrint are of many kinds
        logger.exception("rendering document %s failed", document.pk)
        return _record_failure(document.pk, exc)
    return _store_issued(document, data, loaded, level)


def _store_issued(document: IssuedDocument, data: bytes, loaded, level: str) -> str:
    from django.core.files.storage import default_storage

    from .models import document_storage_name

    # Stored under a name of this attempt, before the transaction: a second run never
    # overwrites the file of the first, and the file that loses is deleted.
    name = default_storage.save(document_storage_name(document, ""), ContentFile(data))
    try:
        outcome = _commit_issued(document, name, data, loaded, level)
    except Exception:
        default_storage.delete(name)
        raise
    if outcome != "issued":
        default_storage.delete(name)
    return outcome


@transaction.atomic
def _commit_issued(document: IssuedDocument, name: str, data: bytes, loaded, level: str) -> str:
    locked = IssuedDocument.objects.select_for_update().get(pk=document.pk)
    if locked.state != DocumentState.PENDING:
        return "skipped"
    states.check("issue", locked.state)
    locked.pdf.name = name
    locked.pdf_sha256 = sha256_hex(data)
    locked.pdf_size = len(data)
    locked.signature_level = level
    locked.signer_subject = loaded.certificate.subject.human_friendly[:500]
    locked.signer_fingerprint = loaded.fingerprint
    locked.issued_at = document.issued_at
    locked.state = DocumentState.ISSUED
    locked.attempts += 1
    locked.last_error = ""
    locked.notified_at = timezone.now()
    locked.save()
    _record_signing_key(locked, loaded)
    record_event(
        event_type="document.issued",
        actor_kind="system",
        actor_id=None,
        subject_type="document",
        subject_id=locked.pk,
        body_id=locked.body_id,
        content_sha256=locked.pdf_sha256,
        details={
            "application": str(locked.application_id),
            "number": locked.number,
            "template": locked.template,
            "signature_level": level,
            "signer_fingerprint": locked.signer_fingerprint,
            "size": locked.pdf_size,
        },
    )
    _file_in_register(locked)
    _queue_notice(locked, template="document_issued")
    return "issued"


def _record_signing_key(document: IssuedDocument, loaded) -> None:
    """The first document a body signs with a certificate records that certificate as a
    ledger event: an auditor sees when each signing key came into use and which one it
    replaced, not only the fingerprint on each document. Two workers issuing the first
    documents of a new key at the same moment may both record it; the second event says
    the same thing and is harmless."""
    fingerprint = loaded.fingerprint
    subject_type = "document_signing_key"
    if (
        events_for(subject_type=subject_type, subject_id=fingerprint)
        .filter(body_id=document.body_id)
        .exists()
    ):
        return
    previous = (
        IssuedDocument.objects.filter(body_id=document.body_id, issued_at__isnull=False)
        .exclude(pk=document.pk)
        .exclude(signer_fingerprint=fingerprint)
        .exclude(signer_fingerprint="")
        .order_by("-issued_at", "-pk")
        .values_list("signer_fingerprint", flat=True)
        .first()
    )
    certificate = loaded.certificate
    record_event(
        event_type="document.signing_key_configured",
        actor_kind="system",
        actor_id=None,
        subject_type=subject_type,
        subject_id=fingerprint,
        body_id=document.body_id,
        content_sha256=fingerprint,
        details={
            "certificate_sha256": fingerprint,
            "issuer_sha256": hashlib.sha256(certificate.issuer.dump()).hexdigest(),
            "serial_number": format(certificate.serial_number, "x"),
            "not_before": certificate.not_valid_before.isoformat(),
            "not_after": certificate.not_valid_after.isoformat(),
            "source": loaded.spec.source,
            "replaces": previous,
            "first_document": str(document.pk),
        },
    )


def _record_failure(document_id, exc: Exception) -> str:
    message = f"{type(exc).__name__}: {str(exc)[:200]}"
    with transaction.atomic():
        document = IssuedDocument.objects.select_for_update().get(pk=document_id)
        if document.state != DocumentState.PENDING:
            return "skipped"
        document.attempts += 1
        document.last_error = message[:300]
        outcome = "retry"
        if document.attempts >= MAX_ATTEMPTS:
            states.check("fail", document.state)
            document.state = DocumentState.FAILED
            outcome = "failed"
            record_event(
                event_type="document.failed",
                actor_kind="system",
                actor_id=None,
                subject_type="document",
                subject_id=document.pk,
                body_id=document.body_id,
                details={"attempts": document.attempts, "error": type(exc).__name__},
            )
        document.save(update_fields=["attempts", "last_error", "state"])
    logger.warning("document %s not issued (%s): %s", document_id, outcome, type(exc).__name__)
    return outcome


def _file_in_register(document: IssuedDocument) -> None:
    """The issued document becomes a record of the register (records capability)."""
    try:
        from madoguchi.records import services as records
    except ImportError:
        return
    file_record = getattr(records, "file_record", None)
    if file_record is None:
        return
    file_record(kind="issued_document", subject=document, actor=None)


def _notify_issued(document: IssuedDocument, *, template: str = "document_issued") -> None:
    _queue_notice(document, template=template)
    document.notified_at = timezone.now()
    document.save(update_fields=["notified_at"])


def _queue_notice(document: IssuedDocument, *, template: str) -> None:
    application = document.application
    language = application.applicant.language
    queue_email(
        to=application.applicant.email,
        template=template,
        language=language,
        context={
            "document_title": document.title,
            "procedure_name": application.procedure_version.name_in(language),
            "receipt_number": application.receipt_number,
            "can_download": "download" in document.delivery,
            "by_mail": "mail" in document.delivery,
            "document_url": f"/documents/{document.pk}/",
        },
        related_type="document",
        related_id=str(document.pk),
    )


def schedule_waiting(*, limit: int = 100) -> int:
    """Schedules the documents of approved applications that have none although nothing
    holds them back any more (a fee settled while scheduling failed): part of the sweep."""
    waiting = (
        _application_model()
        .objects.filter(state="approved", issued_documents__isnull=True)
        .select_related("procedure_version")
        .order_by("decided_at")
    )
    scheduled = 0
    for application in waiting.iterator(chunk_size=200):
        if scheduled >= limit:
            break
        if not issues_document(deliverable_of(application.procedure_version)):
            continue
        if hooks.issuance_allowed(application) and schedule_issuance(application_id=application.pk):
            scheduled += 1
    return scheduled


def issue_pending(*, limit: int = 100) -> dict[str, int]:
    """Issues documents still pending (after a worker outage): the sweep of the CLI."""
    results: dict[str, int] = {}
    scheduled = schedule_waiting(limit=limit)
    if scheduled:
        results["scheduled"] = scheduled
    ids = list(
        IssuedDocument.objects.filter(state=DocumentState.PENDING)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for document_id in ids:
        outcome = issue_document(document_id=document_id)
        results[outcome] = results.get(outcome, 0) + 1
    return results


# --- staff actions ----------------------------------------------------------------------


def _locked_document(document: IssuedDocument) -> IssuedDocument:
    return (
        IssuedDocument.objects.select_for_update()
        .select_related("application", "application__applicant", "application__procedure_version")
        .get(pk=document.pk)
    )


@transaction.atomic
def revoke_document(
    *, document: IssuedDocument, staff, reason: str, note: str = ""
) -> IssuedDocument:
    """Revokes an issued document (a permit withdrawn, a re-issue, an error): from now on
    it verifies as revoked. The reason category is public, the note is not."""
    document = _locked_document(document)
    if document.state == DocumentState.REVOKED:
        return document
    if reason not in RevocationReason.values:
        raise IssuanceError("失効の理由を選んでください。", "Choose the reason for revocation.")
    note = note.strip()
    if reason == RevocationReason.OTHER and not note:
        raise IssuanceError(
            "「その他」の場合は理由を入力してください。", "Explain the reason for 'other'."
        )
    if len(note) > 2000:
        raise IssuanceError(
            "理由は2000文字以内で入力してください。", "Use at most 2000 characters."
        )
    from madoguchi.catalogue.japanese import has_control_characters

    if has_control_characters(note):
        raise IssuanceError(
            "使用できない制御文字が含まれています。", "The text contains control characters."
        )
    try:
        states.check("revoke", document.state)
    except states.TransitionNotAllowed:
        raise IssuanceError(
            "交付済みの文書だけを失効させられます。", "Only issued documents can be revoked."
        ) from None
    document.state = DocumentState.REVOKED
    document.revoked_at = timezone.now()
    document.revoked_by = staff
    document.revocation_reason = reason
    document.revocation_note = note
    document.save(
        update_fields=[
            "state",
            "revoked_at",
            "revoked_by",
            "revocation_reason",
            "revocation_note",
        ]
    )
    record_event(
        event_type="document.revoked",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="document",
        subject_id=document.pk,
        body_id=document.body_id,
        content_sha256=document.pdf_sha256,
        details={"reason": reason, "note_sha256": sha256_hex(note.encode()) if note else ""},
    )
    _notify_issued(document, template="document_revoked")
    return document


@transaction.atomic
def resend_notification(*, document: IssuedDocument, staff) -> IssuedDocument:
    """Sends the resident the notice (with the download link) again."""
    document = _locked_document(document)
    if document.state != DocumentState.ISSUED:
        raise IssuanceError(
            "交付済みの文書だけを再送できます。", "Only issued documents can be re-sent."
        )
    record_event(
        event_type="document.resent",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="document",
        subject_id=document.pk,
        body_id=document.body_id,
        content_sha256=document.pdf_sha256,
        details={},
    )
    _notify_issued(document)
    return document


@transaction.atomic
def retry_document(*, document: IssuedDocument, staff) -> IssuedDocument:
    """A document that could not be made is tried again (after the cause was fixed)."""
    document = _locked_document(document)
    try:
        states.check("retry", document.state)
    except states.TransitionNotAllowed:
        raise IssuanceError(
            "作成できなかった文書だけを再作成できます。", "Only failed documents can be retried."
        ) from None
    document.state = DocumentState.PENDING
    document.attempts = 0
    document.save(update_fields=["state", "attempts"])
    record_event(
        event_type="document.retried",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="document",
        subject_id=document.pk,
        body_id=document.body_id,
        details={},
    )
    _enqueue(document.pk)
    return document
