"""Business rules of the records register: filing, holds, disposition and access.

Other capabilities file their documents with `file_record(kind=…, subject=…, actor=…)`:
the back office on decisions, issuance on issue, the sync command for what nobody filed
(withdrawn applications, approved 起案文書). Every change is a ledger event in the same
transaction. Nothing is transferred, destroyed or extended without an approved
disposition proposal (`execute_disposition` refuses otherwise).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.ledger.services import record_event

from . import retention
from .models import (
    Confidentiality,
    DispositionAction,
    DispositionProposal,
    FileState,
    HoldReason,
    LegalHold,
    ProposalAction,
    ProposalState,
    Record,
    RecordFile,
    RecordKind,
    RetentionClass,
    RetentionExtension,
    SpecialDataAuthorization,
    StartRule,
)

logger = logging.getLogger(__name__)

DISPOSITION_KIND = "records_disposition"
DISPOSITION_ROUTE = "records-disposition"
# Document types that are not applications: their retention class and disposition.
DOCUMENT_TYPES = {
    "internal_document": (RetentionClass.FIVE, DispositionAction.DESTROY),
}
SPECIAL_LIFE_EVENTS = {"health", "disability"}


class RecordsError(Exception):
    """A refusal with a message for staff (Japanese) and for the API (English)."""

    code = "refused"
    status = 409

    def __init__(self, ja: str, en: str, code: str | None = None) -> None:
        super().__init__(ja)
        self.ja = ja
        self.en = en
        if code:
            self.code = code


class NotPermitted(RecordsError):
    code = "forbidden"
    status = 403


class InvalidInput(RecordsError):
    code = "invalid"
    status = 422

    def __init__(self, ja: str, en: str, *, field: str = "") -> None:
        super().__init__(ja, en)
        self.field = field


def canonical_bytes(value: Any) -> bytes:
    """The encoding whose SHA-256 the ledger holds for answers (ledger.content_hash)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _event(name: str, *, actor, subject_type: str, subject_id, body_id, details, content_sha256=""):
    return record_event(
        event_type=name,
        actor_kind="staff" if actor is not None else "system",
        actor_id=getattr(actor, "pk", None),
        subject_type=subject_type,
        subject_id=subject_id,
        body_id=body_id,
        content_sha256=content_sha256,
        details=details,
    )


def _register_details(file: RecordFile) -> dict[str, Any]:
    """The register entry as published (no personal data)."""
    return {
        "title": file.title,
        "classification": [
            file.classification_major,
            file.classification_middle,
            file.classification_minor,
        ],
        "unit": file.unit.code,
        "fiscal_year": file.fiscal_year,
        "retention_class": file.retention_class,
        "retention_start": file.retention_start.isoformat(),
        "expiry": file.expiry.isoformat() if file.expiry else None,
        "disposition": file.disposition,
    }


# --- filing -------------------------------------------------------------------------------


def _wareki_fiscal_year(fiscal_year: int) -> str:
    from madoguchi.catalogue.japanese import wareki_year_label

    try:
        return f"{wareki_year_label(dt.date(fiscal_year, 4, 1))}年度"
    except Exception:  # an era helper that does not know the date: Western year
        return f"{fiscal_year}年度"


def _records_settings(definition: dict[str, Any]) -> dict[str, Any]:
    return definition.get("records") or {}


def _special_personal_data(version) -> bool:
    definition = version.definition
    if _records_settings(definition).get("special_personal_data"):
        return True
    if SPECIAL_LIFE_EVENTS & set(definition.get("life_events") or []):
        return True

    def has_my_number(fields) -> bool:
        return any(
            spec.get("type") == "my_number" or has_my_number(spec.get("fields") or [])
            for spec in fields
        )

    return any(has_my_number(page.get("fields") or []) for page in definition.get("pages") or [])


def _application_file(application) -> RecordFile:
    version = application.procedure_version
    definition = version.definition
    options = _records_settings(definition)
    day = timezone.localdate(application.submitted_at or application.created_at)
    fiscal_year = retention.fiscal_year_of(day)
    classification = list(options.get("classification") or [])
    defaults = [version.category, version.name, "申請・決定・交付"]
    classification = [*classification, *defaults[len(classification) :]][:3]
    retention_class = definition.get("retention_class") or RetentionClass.FIVE
    disposition = options.get("disposition") or (
        DispositionAction.TRANSFER
        if retention_class in (RetentionClass.THIRTY, RetentionClass.PERMANENT)
        else DispositionAction.DESTROY
    )
    return _get_or_open_file(
        body=application.body,
        unit=application.unit,
        series=f"procedure:{application.procedure.identifier}",
        fiscal_year=fiscal_year,
        classification=classification,
        title=f"{_wareki_fiscal_year(fiscal_year)} {version.name}",
        retention_class=retention_class,
        start_rule=options.get("start_rule") or StartRule.FISCAL_YEAR,
        disposition=disposition,
        confidentiality=Confidentiality.CONFIDENTIAL,
        special=_special_personal_data(version),
    )


def _get_or_open_file(
    *,
    body,
    unit,
    series: str,
    fiscal_year: int,
    classification: list[str],
    title: str,
    retention_class: str,
    start_rule: str,
    disposition: str,
    confidentiality: str,
    special: bool,
) -> RecordFile:
    existing = RecordFile.objects.filter(
        body=body, unit=unit, series=series, fiscal_year=fiscal_year
    ).first()
    if existing is not None:
        if special and not existing.special_personal_data:
            existing.special_personal_data = True
            existing.save(update_fields=["special_personal_data"])
        return existing
    file = RecordFile(
        body=body,
        unit=unit,
        series=series,
        fiscal_year=fiscal_year,
        classification_major=classification[0][:100],
        classification_middle=classification[1][:100],
        classification_minor=classification[2][:100],
        title=title[:200],
        retention_class=retention_class,
        start_rule=start_rule,
        completed_on=retention.fiscal_year_end(fiscal_year),
        disposition=disposition,
        medium="電子",
        place=f"{settings.MADOGUCHI_SITE_NAME}（電子）",
        manager=f"{unit.name}長",
        confidentiality=confidentiality,
        special_personal_data=special,
    )
    try:
        with transaction.atomic():
            file.save()
    except IntegrityError:
        # Opened by a concurrent filing: use that one.
        return RecordFile.objects.get(body=body, unit=unit, series=series, fiscal_year=fiscal_year)
    _event(
        "records.file_opened",
        actor=None,
        subject_type="record_file",
        subject_id=file.pk,
        body_id=body.pk,
        details=_register_details(file),
    )
    return file


def _store_record(
    *,
    file: RecordFile,
    kind: str,
    object_type: str,
    object_id,
    title: str,
    created_on: dt.date,
    subject_user=None,
    applied_for_user=None,
    procedure_version=None,
    original: bytes | None,
    original_sha256: str = "",
    original_type: str = "application/json",
    files: list[dict] | None = None,
    confidentiality: str = Confidentiality.CONFIDENTIAL,
    actor=None,
) -> Record:
    existing = Record.objects.filter(
        kind=kind, object_type=object_type, object_id=str(object_id)
    ).first()
    if existing is not None:
        return existing
    digest = original_sha256 or (_sha256(original) if original is not None else "")
    record = Record(
        file=file,
        kind=kind,
        object_type=object_type,
        object_id=str(object_id),
        title=title[:200],
        created_on=created_on,
        subject_user=subject_user,
        applied_for_user=applied_for_user,
        procedure_version=procedure_version,
        original=original,
        original_sha256=digest,
        original_type=original_type,
        files=files or [],
        confidentiality=confidentiality,
        special_personal_data=file.special_personal_data,
    )
    try:
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError:
        return Record.objects.get(kind=kind, object_type=object_type, object_id=str(object_id))
    record.filed_event = _event(
        "record.filed",
        actor=actor,
        subject_type="record",
        subject_id=record.pk,
        body_id=file.body_id,
        content_sha256=digest,
        details={
            "file": str(file.pk),
            "kind": kind,
            "object_type": object_type,
            "object_id": str(object_id),
            "files": sorted(item["sha256"] for item in record.files if item.get("sha256")),
        },
    )
    record.save(update_fields=["filed_event"])
    return record


def _application_attachments(application) -> list[dict]:
    return [
        {
            "sha256": link.stored_file.sha256,
            "name": link.stored_file.original_name,
            "content_type": link.stored_file.content_type,
            "size": link.stored_file.size,
            "stored_file": str(link.stored_file_id),
            "field": link.field_id,
        }
        for link in application.files.select_related("stored_file").order_by("created_at", "pk")
    ]


def _file_application(application, actor) -> Record:
    if not application.receipt_number:
        raise InvalidInput(
            "下書きの申請は行政文書になりません。", "A draft is not a record.", field="subject"
        )
    file = _application_file(application)
    version = application.procedure_version
    original = canonical_bytes(application.answers)
    return _store_record(
        file=file,
        kind=RecordKind.APPLICATION,
        object_type="application",
        object_id=application.pk,
        title=f"{version.name}（受付番号 {application.receipt_number}）",
        created_on=timezone.localdate(application.submitted_at),
        subject_user=application.applicant,
        applied_for_user=_applied_for(application),
        procedure_version=version,
        original=original,
        files=_application_attachments(application),
        actor=actor,
    )


def _applied_for(application):
    """The person an application was made for, when it is not the applicant's own."""
    from madoguchi.counter.selectors import data_subjects

    others = data_subjects(application)[1:]
    return others[0] if others else None


def _decision_document(decision, application) -> dict[str, Any]:
    return {
        "application": str(application.pk),
        "receipt_number": application.receipt_number,
        "decision": decision.pk,
        "outcome": decision.outcome,
        "reason": decision.reason,
        "instruction": decision.instruction,
        "comment": decision.comment,
        "decided_at": decision.decided_at.isoformat() if decision.decided_at else None,
    }


def _file_decision(decision, actor) -> Record:
    application = decision.application
    _file_application(application, actor)
    file = _application_file(application)
    return _store_record(
        file=file,
        kind=RecordKind.DECISION,
        object_type="decision",
        object_id=decision.pk,
        title=f"{application.procedure_version.name} 決定（{decision.get_outcome_display()}・受付番号 {application.receipt_number}）",
        created_on=timezone.localdate(decision.decided_at or timezone.now()),
        subject_user=application.applicant,
        applied_for_user=_applied_for(application),
        procedure_version=application.procedure_version,
        original=canonical_bytes(_decision_document(decision, application)),
        actor=actor,
    )


def _file_issued_document(document, actor) -> Record:
    application = document.application
    _file_application(application, actor)
    file = _application_file(application)
    files = []
    if document.pdf_sha256:
        files.append(
            {
                "sha256": document.pdf_sha256,
                "name": f"{document.number}.pdf",
                "content_type": "application/pdf",
                "size": document.pdf_size,
                "issued_document": str(document.pk),
            }
        )
    return _store_record(
        file=file,
        kind=RecordKind.ISSUED_DOCUMENT,
        object_type="issued_document",
        object_id=document.pk,
        title=f"{document.title}（{document.number}）",
        created_on=timezone.localdate(document.issued_at or timezone.now()),
        subject_user=application.applicant,
        applied_for_user=_applied_for(application),
        procedure_version=application.procedure_version,
        original=None,
        original_sha256=document.pdf_sha256,
        original_type="application/pdf",
        files=files,
        actor=actor,
    )


def _file_internal_document(document, actor) -> Record:
    day = timezone.localdate(document.approved_at or document.created_at)
    fiscal_year = document.fiscal_year or retention.fiscal_year_of(day)
    retention_class, disposition = DOCUMENT_TYPES["internal_document"]
    file = _get_or_open_file(
        body=document.body,
        unit=document.unit,
        series="internal_document",
        fiscal_year=fiscal_year,
        classification=["庶務", document.unit.name, "起案文書"],
        title=f"{_wareki_fiscal_year(fiscal_year)} {document.unit.name} 起案文書",
        retention_class=retention_class,
        start_rule=StartRule.FISCAL_YEAR,
        disposition=disposition,
        confidentiality=Confidentiality.INTERNAL,
        special=False,
    )
    attachments = [
        {
            "sha256": link.stored_file.sha256,
            "name": link.stored_file.original_name,
            "content_type": link.stored_file.content_type,
            "size": link.stored_file.size,
            "stored_file": str(link.stored_file_id),
        }
        for link in document.attachments.select_related("stored_file")
    ]
    content = {
        "title": document.title,
        "text": document.text,
        "amount": document.amount,
        "document_number": document.document_number,
        "approved_at": document.approved_at.isoformat() if document.approved_at else None,
    }
    return _store_record(
        file=file,
        kind=RecordKind.INTERNAL_DOCUMENT,
        object_type="internal_document",
        object_id=document.pk,
        title=f"{document.title}（{document.document_number or '番号なし'}）",
        created_on=day,
        original=canonical_bytes(content),
        files=attachments,
        confidentiality=Confidentiality.INTERNAL,
        actor=actor,
    )


def file_approved_internal_document(*, instance, actor) -> None:
    """A completion listener of the approval engine: the 起案文書 whose 決裁 just ended is
    filed at once, in the same transaction (`records sync` only catches up on the past)."""
    from django.apps import apps

    document = apps.get_model("approvals", "InternalDocument").objects.get(pk=instance.subject_id)
    file_record(kind="internal_document", subject=document, actor=actor)


def file_closed_application(application, actor) -> None:
    """A closing listener of the counter: an application withdrawn (取下げ) is filed at
    once, in the withdrawal's transaction, as a decision files its application. The
    filing is the system's, as `records sync`'s is: the resident who withdrew did not
    file anything (and must not appear in the ledger as staff)."""
    file_record(kind="application", subject=application, actor=None)


@transaction.atomic
def file_record(*, kind: str, subject, actor=None) -> Record:
    """Files a document in the register, once (calling again returns the same record).

    kind: "application" (an Application), "application_decision" (an Application: its
    final decision, and the application itself), "decision" (a Decision),
    "issued_document" (an IssuedDocument), "internal_document" (an InternalDocument).
    """
    if kind == "application":
        return _file_application(subject, actor)
    if kind == "application_decision":
        decision = subject.decisions.filter(status="final").order_by("-decided_at", "-pk").first()
        if decision is None:
            return _file_application(subject, actor)
        return _file_decision(decision, actor)
    if kind == "decision":
        return _file_decision(subject, actor)
    if kind == "issued_document":
        return _file_issued_document(subject, actor)
    if kind == "internal_document":
        return _file_internal_document(subject, actor)
    raise InvalidInput(
        f"不明な文書の種類です: {kind}", f"Unknown kind of record: {kind}", field="kind"
    )


def sync_register(*, limit: int = 1000) -> int:
    """Files what no capability filed: submitted applications (withdrawn ones included)
    and approved 起案文書. Idempotent; for `madoguchi records sync`."""
    from django.apps import apps

    # A read-only sweep over two lower capabilities, which offer no selector for "every
    # submitted application of every body" (their selectors are scoped to a requester).
    application_model = apps.get_model("counter", "Application")
    document_model = apps.get_model("approvals", "InternalDocument")
    filed = 0
    for model, kind, condition in (
        (application_model, "application", {"receipt_number__isnull": False}),
        (document_model, "internal_document", {"state": "approved"}),
    ):
        ids = list(model.objects.filter(**condition).order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            done = set(
                Record.objects.filter(kind=kind, object_id__in=[str(i) for i in chunk]).values_list(
                    "object_id", flat=True
                )
            )
            for pk in chunk:
                if str(pk) in done:
                    continue
                file_record(kind=kind, subject=model.objects.get(pk=pk))
                filed += 1
                if filed >= limit:
                    return filed
    return filed


# --- permissions --------------------------------------------------------------------------


def is_records_officer(user, body) -> bool:
    from madoguchi.organisation import roles
    from madoguchi.organisation.selectors import has_permission, units_of_body

    unit = units_of_body(body).first()
    return unit is not None and has_permission(user, roles.MANAGE_RECORDS, unit=unit)


def officer_unit(user, body):
    """The unit in which the user holds the records officer role for the body."""
    from madoguchi.organisation.models import Role
    from madoguchi.organisation.selectors import active_grants

    grant = active_grants(user=user, role=Role.RECORDS_OFFICER).filter(unit__body=body).first()
    return grant.unit if grant else None


def _check_officer(user, file: RecordFile) -> None:
    if not is_records_officer(user, file.body):
        raise NotPermitted(
            "この操作は文書管理担当の職員だけができます。",
            "Only a records officer of the body may do this.",
        )


def require_records_officer(user, file: RecordFile, action: str) -> None:
    """Refuses a user who is not a records officer of the file's body, and ledgers the
    refusal (`records.action_refused`) in a transaction of its own, so that it stays
    recorded although the refused action writes nothing. Called inside another
    transaction it raises RuntimeError (a durable block) rather than write a refusal that
    the caller's rollback would take away."""
    if is_records_officer(user, file.body):
        return
    with transaction.atomic(durable=True):
        _event(
            "records.action_refused",
            actor=user,
            subject_type="record_file",
            subject_id=file.pk,
            body_id=file.body_id,
            details={"action": action, "reason": "not_records_officer"},
        )
    # Not a second permission check: the refusal just ledgered is the answer.
    raise NotPermitted(
        "この操作は文書管理担当の職員だけができます。",
        "Only a records officer of the body may do this.",
    )


def _officers_only(action: str):
    """The action is refused, and the refusal ledgered, before its transaction begins
    for anyone but a records officer of the file's body (`file=` or `hold=`)."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*, actor, **kwargs):
            file = kwargs["file"] if "file" in kwargs else kwargs["hold"].file
            require_records_officer(actor, file, action)
            return function(actor=actor, **kwargs)

        return wrapper

    return decorate


def has_special_data_permission(user, body) -> bool:
    return SpecialDataAuthorization.objects.filter(
        user=user, body=body, revoked_at__isnull=True
    ).exists()


def access_refusal(user, record: Record) -> RecordsError | None:
    """Why the user may not open this record, or None. The rules (機密性), by the file's
    confidentiality class, with the body's records officers always allowed (they answer
    audits and disclosure requests):
    - 公開 (public): any staff member of the body;
    - 庁内限り (internal): staff of the record's unit or of a unit above it;
    - 関係職員限り (confidential; applications and decisions): of those, the ones whose role
      lets them see the unit's applications (case worker or approver reaching the unit);
    - nobody from another body (their pages do not even list it);
    - records with special personal data (My Number, health, disability) need, in
      addition, an explicit permission (SpecialDataAuthorization) of that body.
    """
    from madoguchi.organisation import roles
    from madoguchi.organisation.selectors import has_permission, memberships_of, visible_units

    file = record.file
    officer = is_records_officer(user, file.body)
    if not officer:
        if file.confidentiality == Confidentiality.PUBLIC:
            allowed = memberships_of(user).filter(unit__body_id=file.body_id).exists()
        else:
            allowed = visible_units(user).filter(pk=file.unit_id).exists()
        if not allowed:
            return NotPermitted(
                "この文書を見る権限がありません（担当の部署と文書管理担当だけが見られます）。",
                "You may not open this record: only its unit and the records officers may.",
                "not_your_unit",
            )
        if file.confidentiality == Confidentiality.CONFIDENTIAL and not has_permission(
            user, roles.VIEW_APPLICATIONS, unit=file.unit
        ):
            return NotPermitted(
                "この文書は関係職員限りです。担当職員または決裁者の役割が必要です。",
                "This record is for the staff concerned: a case worker's or approver's role"
                " in its unit is needed.",
                "confidential",
            )
    if record.special_personal_data and not has_special_data_permission(user, file.body):
        return NotPermitted(
            "この文書には要配慮個人情報・特定個人情報が含まれるため、閲覧の許可（要配慮個人情報の閲覧許可）が必要です。",
            "This record holds special personal data: an explicit permission is needed.",
            "special_personal_data",
        )
    return None


def check_record_access(user, record: Record) -> None:
    """Raises the refusal, after logging it as a ledger event (refusals are logged)."""
    refusal = access_refusal(user, record)
    if refusal is None:
        return
    # Durable: inside a caller's transaction the refusal would be rolled back with it.
    with transaction.atomic(durable=True):
        _event(
            "records.access_refused",
            actor=user,
            subject_type="record",
            subject_id=record.pk,
            body_id=record.file.body_id,
            details={"reason": refusal.code, "file": str(record.file_id)},
        )
    raise refusal


def open_record(*, user, record: Record, purpose: str, what: str = "record"):
    """A staff member opens the original of a record: access control, then the access
    log (the person sees it) when the record is about a person. Not one transaction: a
    refusal's own ledger event must commit although the opening fails."""
    from madoguchi.ledger.models import AccessPurpose
    from madoguchi.ledger.services import log_access

    if purpose not in AccessPurpose.values:
        raise InvalidInput(
            "閲覧の目的を選んでください。",
            "Choose the purpose of opening the record.",
            field="purpose",
        )
    check_record_access(user, record)
    people = [p for p in (record.subject_user, record.applied_for_user) if p is not None]
    if people:
        unit = _acting_unit(user, record)
    for person in people:
        log_access(
            actor=user,
            unit=unit,
            subject_user=person,
            what=what,
            object_type="record",
            object_id=record.pk,
            purpose=purpose,
        )


def _acting_unit(user, record: Record):
    from madoguchi.organisation.selectors import memberships_of, visible_units

    file_unit = record.file.unit
    if visible_units(user).filter(pk=file_unit.pk).exists():
        for membership in memberships_of(user):
            if file_unit.path.startswith(membership.unit.path):
                return membership.unit
    return officer_unit(user, record.file.body) or memberships_of(user).first().unit


@transaction.atomic
def grant_special_data_permission(*, actor, user, body, reason: str) -> SpecialDataAuthorization:
    from madoguchi.organisation.services import check_administrator

    check_administrator(actor, body)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("許可の理由を入力してください。", "Give the reason.", field="reason")
    existing = SpecialDataAuthorization.objects.filter(
        user=user, body=body, revoked_at__isnull=True
    ).first()
    if existing:
        return existing
    grant = SpecialDataAuthorization.objects.create(
        user=user, body=body, granted_by=actor, reason=reason[:500]
    )
    _event(
        "records.special_data_permission_granted",
        actor=actor,
        subject_type="staff",
        subject_id=user.pk,
        body_id=body.pk,
        details={"grant": grant.pk},
        content_sha256=_sha256(reason.encode()),
    )
    return grant


@transaction.atomic
def revoke_special_data_permission(
    *, actor, grant: SpecialDataAuthorization
) -> SpecialDataAuthorization:
    from madoguchi.organisation.services import check_administrator

    check_administrator(actor, grant.body)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.save(update_fields=["revoked_at", "revoked_by"])
        _event(
            "records.special_data_permission_revoked",
            actor=actor,
            subject_type="staff",
            subject_id=grant.user_id,
            body_id=grant.body_id,
            details={"grant": grant.pk},
        )
    return grant


# --- holds --------------------------------------------------------------------------------


def _lock_file(file: RecordFile) -> RecordFile:
    return (
        RecordFile.objects.select_for_update(of=("self",))
        .select_related("unit", "body")
        .get(pk=file.pk)
    )


def _recompute(file: RecordFile, *, actor, cause: str) -> None:
    before = (file.expiry, file.on_hold)
    file.save()
    if (file.expiry, file.on_hold) != before:
        _event(
            "records.retention_changed",
            actor=actor,
            subject_type="record_file",
            subject_id=file.pk,
            body_id=file.body_id,
            details={
                "cause": cause,
                "expiry_before": before[0].isoformat() if before[0] else None,
                "expiry": file.expiry.isoformat() if file.expiry else None,
                "on_hold": file.on_hold,
            },
        )


def _clean_text(value: str, *, field: str, label: str, limit: int = 2000) -> str:
    from madoguchi.catalogue.japanese import has_control_characters

    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{label}を入力してください。", f"Enter the {field}.", field=field)
    if len(value) > limit:
        raise InvalidInput(
            f"{label}は{limit}文字以内で入力してください。",
            f"At most {limit} characters.",
            field=field,
        )
    if has_control_characters(value):
        raise InvalidInput(
            "使用できない制御文字が含まれています。",
            "The text contains control characters.",
            field=field,
        )
    return value


@_officers_only("place_hold")
@transaction.atomic
def place_hold(
    *,
    actor,
    file: RecordFile,
    reason: str,
    description: str,
    ends_on: dt.date | None = None,
    end_event: str = "",
) -> LegalHold:
    file = _lock_file(file)
    _check_officer(actor, file)
    if reason not in HoldReason.values:
        raise InvalidInput(
            "保留の理由を一覧から選んでください。",
            "Choose the reason from the list.",
            field="reason",
        )
    description = _clean_text(description, field="description", label="保留の内容")
    end_event = (end_event or "").strip()[:200]
    if ends_on is None and not end_event:
        raise InvalidInput(
            "終了予定日か終了の事由（例: 判決の確定）のどちらかを入力してください。",
            "Give an end date or the event that ends the hold.",
            field="ends_on",
        )
    if ends_on is not None and ends_on <= timezone.localdate():
        raise InvalidInput(
            "終了予定日には明日以降の日付を入力してください。",
            "The end date must be in the future.",
            field="ends_on",
        )
    if file.state not in (FileState.ACTIVE, FileState.TRANSFERRING):
        raise RecordsError(
            "移管・廃棄したファイルは保留できません。", "The file has been disposed of."
        )
    hold = LegalHold.objects.create(
        file=file,
        reason=reason,
        description=description,
        ends_on=ends_on,
        end_event=end_event,
        placed_by=actor,
    )
    _event(
        "records.hold_placed",
        actor=actor,
        subject_type="record_file",
        subject_id=file.pk,
        body_id=file.body_id,
        content_sha256=_sha256(description.encode()),
        details={
            "hold": hold.pk,
            "reason": reason,
            "ends_on": ends_on.isoformat() if ends_on else None,
            "end_event": bool(end_event),
        },
    )
    _recompute(file, actor=actor, cause="hold_placed")
    return hold


@_officers_only("release_hold")
@transaction.atomic
def release_hold(*, actor, hold: LegalHold, note: str = "") -> LegalHold:
    file = _lock_file(hold.file)
    _check_officer(actor, file)
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is not None:
        return hold
    hold.released_at = timezone.now()
    hold.released_by = actor
    hold.release_note = (note or "").strip()[:2000]
    hold.save(update_fields=["released_at", "released_by", "release_note"])
    _event(
        "records.hold_released",
        actor=actor,
        subject_type="record_file",
        subject_id=file.pk,
        body_id=file.body_id,
        details={"hold": hold.pk, "reason": hold.reason},
    )
    _recompute(file, actor=actor, cause="hold_released")
    return hold


@transaction.atomic
def release_expired_holds(*, today: dt.date | None = None) -> int:
    """Holds whose end date has passed end by themselves (for the daily sweep)."""
    today = today or timezone.localdate()
    count = 0
    for hold in LegalHold.objects.filter(
        released_at__isnull=True, ends_on__lt=today
    ).select_related("file"):
        file = _lock_file(hold.file)
        hold.released_at = timezone.now()
        hold.release_note = "終了予定日の経過"
        hold.save(update_fields=["released_at", "release_note"])
        _event(
            "records.hold_released",
            actor=None,
            subject_type="record_file",
            subject_id=file.pk,
            body_id=file.body_id,
            details={"hold": hold.pk, "reason": hold.reason, "ended": True},
        )
        _recompute(file, actor=None, cause="hold_ended")
        count += 1
    return count


# --- disposition ----------------------------------------------------------------------------


def _check_disposable(file: RecordFile, *, today: dt.date | None = None, action: str) -> None:
    today = today or timezone.localdate()
    if file.state != FileState.ACTIVE:
        raise RecordsError(
            "このファイルは既に移管または廃棄の手続に入っています。",
            "The file is no longer active.",
            "not_active",
        )
    if file.on_hold:
        raise RecordsError(
            "保留（訴訟・開示請求など）中のファイルは移管・廃棄できません。保留を解除してからにしてください。",
            "The file is on hold and cannot be disposed of.",
            "on_hold",
        )
    if action != ProposalAction.EXTEND and not retention.is_expired(
        file.expiry, file.on_hold, today
    ):
        raise RecordsError(
            "保存期間が満了していないファイルは移管・廃棄できません。",
            "The retention period of the file has not expired.",
            "not_expired",
        )


@_officers_only("propose_disposition")
@transaction.atomic
def propose_disposition(
    *,
    actor,
    file: RecordFile,
    action: str,
    reason: str,
    extension_years: int | None = None,
) -> DispositionProposal:
    """A records officer proposes 移管, 廃棄 or 延長 of an expired file; the proposal goes
    through the body's approval route `records-disposition`."""
    from madoguchi.approvals import services as approvals

    file = _lock_file(file)
    _check_officer(actor, file)
    if action not in ProposalAction.values:
        raise InvalidInput(
            "措置を選んでください。", "Choose transfer, destroy or extend.", field="action"
        )
    reason = _clean_text(reason, field="reason", label="理由")
    if action == ProposalAction.EXTEND:
        if not isinstance(extension_years, int) or not 1 <= extension_years <= 30:
            raise InvalidInput(
                "延長する年数を1〜30の整数で入力してください。",
                "Give the extension in whole years (1–30).",
                field="extension_years",
            )
        if file.retention_class == RetentionClass.PERMANENT:
            raise InvalidInput(
                "常用のファイルは延長できません。",
                "Permanent files need no extension.",
                field="action",
            )
    else:
        extension_years = None
    _check_disposable(file, action=action)
    if DispositionProposal.objects.filter(
        file=file, state__in=[ProposalState.IN_APPROVAL, ProposalState.APPROVED]
    ).exists():
        raise RecordsError(
            "このファイルには決裁中の起案があります。",
            "The file already has an open proposal.",
            "open_proposal",
        )
    unit = officer_unit(actor, file.body)
    proposal = DispositionProposal.objects.create(
        file=file,
        action=action,
        reason=reason,
        extension_years=extension_years,
        proposed_by=actor,
        unit=unit,
    )
    label = ProposalAction(action).label
    try:
        instance = approvals.start_route(
            kind=DISPOSITION_KIND,
            subject_id=str(proposal.pk),
            route=DISPOSITION_ROUTE,
            body=file.body,
            unit=unit,
            drafter=actor,
            title=f"行政文書ファイルの{label}: {file.title}"[:200],
            context={"action": action},
        )
    except approvals.ApprovalError as exc:
        raise RecordsError(exc.ja, exc.en, getattr(exc, "code", "cannot_start")) from exc
    proposal.approval_reference = str(instance.pk)
    proposal.save(update_fields=["approval_reference"])
    _event(
        "records.disposition_proposed",
        actor=actor,
        subject_type="record_file",
        subject_id=file.pk,
        body_id=file.body_id,
        content_sha256=_sha256(reason.encode()),
        details={
            "proposal": str(proposal.pk),
            "action": action,
            "extension_years": extension_years,
            "approval": str(instance.pk),
        },
    )
    return proposal


def _proposal(instance) -> DispositionProposal:
    return (
        DispositionProposal.objects.select_for_update()
        .select_related("file")
        .get(pk=instance.subject_id)
    )


def _as_approval_refusal(exc: RecordsError):
    from madoguchi.approvals.services import Conflict

    return Conflict(exc.ja, exc.en)


def on_proposal_approved(*, instance, actor) -> None:
    """The approval route completed: the proposal is approved and carried out."""
    proposal = _proposal(instance)
    proposal.state = ProposalState.APPROVED
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["state", "decided_at"])
    _event(
        "records.disposition_approved",
        actor=actor,
        subject_type="record_file",
        subject_id=proposal.file_id,
        body_id=proposal.file.body_id,
        details={
            "proposal": str(proposal.pk),
            "action": proposal.action,
            "approval": str(instance.pk),
        },
    )
    try:
        execute_disposition(proposal=proposal, actor=actor)
    except RecordsError as exc:
        raise _as_approval_refusal(exc) from exc


def _close_proposal(instance, actor, state: str, event: str) -> None:
    proposal = _proposal(instance)
    if proposal.state != ProposalState.IN_APPROVAL:
        return
    proposal.state = state
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["state", "decided_at"])
    _event(
        event,
        actor=actor,
        subject_type="record_file",
        subject_id=proposal.file_id,
        body_id=proposal.file.body_id,
        details={"proposal": str(proposal.pk), "action": proposal.action},
    )


def on_proposal_returned(*, instance, actor) -> None:
    _close_proposal(instance, actor, ProposalState.RETURNED, "records.disposition_returned")


def on_proposal_withdrawn(*, instance, actor) -> None:
    _close_proposal(instance, actor, ProposalState.CANCELLED, "records.disposition_cancelled")


@transaction.atomic
def execute_disposition(*, proposal: DispositionProposal, actor=None) -> DispositionProposal:
    """Carries out an approved proposal — the only way to transfer, destroy or extend."""
    proposal = DispositionProposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.state != ProposalState.APPROVED:
        raise RecordsError(
            "承認された起案がないため、移管・廃棄・延長はできません。",
            "Nothing is disposed of without an approved proposal.",
            "not_approved",
        )
    file = _lock_file(proposal.file)
    _check_disposable(file, action=proposal.action)
    if proposal.action == ProposalAction.EXTEND:
        RetentionExtension.objects.create(
            file=file, years=proposal.extension_years, reason=proposal.reason, proposal=proposal
        )
        _recompute(file, actor=actor, cause="extended")
        _finish(proposal)
    elif proposal.action == ProposalAction.DESTROY:
        from .disposal import destroy_file

        destroy_file(file=file, proposal=proposal, actor=actor)
        _finish(proposal)
    else:
        from .disposal import schedule_transfer

        file.state = FileState.TRANSFERRING
        file.save(update_fields=["state"])
        schedule_transfer(proposal)
    return proposal


def _finish(proposal: DispositionProposal) -> None:
    proposal.state = ProposalState.EXECUTED
    proposal.executed_at = timezone.now()
    proposal.save(update_fields=["state", "executed_at", "package_path", "package_sha256"])
