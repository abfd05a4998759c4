"""Carrying out approved dispositions: 廃棄 (content and personal data erased, register
entry and ledger hashes kept) and 移管 (a BagIt package for the archives).

Only `services.execute_disposition` calls these, after checking the approved proposal.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from madoguchi.files.services import open_stored
from madoguchi.ledger import selectors as ledger_selectors
from madoguchi.ledger.services import record_event

from .models import DispositionProposal, FileState, ProposalState, Record, RecordFile, RecordKind

logger = logging.getLogger(__name__)


def _erase_record(record: Record, actor) -> list[str]:
    """Erases one record's content and personal data; returns the hashes whose content is
    gone. Kept: the register entry (the row, with its own 件名, kind, dates, procedure
    version and confidentiality), the hashes, sizes and types, and the ledger entries."""
    erased = [record.original_sha256] if record.original_sha256 else []
    erased += [item["sha256"] for item in record.files if item.get("sha256")]
    if record.kind == RecordKind.APPLICATION:
        _erase_application(record, actor)
    elif record.kind == RecordKind.ISSUED_DOCUMENT:
        _erase_issued_document(record)
    elif record.kind == RecordKind.INTERNAL_DOCUMENT:
        from madoguchi.approvals.services import erase_document_content

        erase_document_content(document_id=record.object_id, actor=actor)
    # A decision's texts are erased with its application (same file, same disposal).
    record.original = None
    record.subject_user = None
    record.applied_for_user = None
    record.files = [
        {key: value for key, value in item.items() if key in ("sha256", "size", "content_type")}
        for item in record.files
    ]
    record.destroyed_at = timezone.now()
    record.save(
        update_fields=["original", "subject_user", "applied_for_user", "files", "destroyed_at"]
    )
    return erased


def _erase_application(record: Record, actor) -> None:
    """The counter erases the answers, messages, 補正 and decision texts and attachments;
    the approvals engine the comments of the decisions' 決裁."""
    from django.apps import apps

    from madoguchi.approvals.services import erase_approval_comments
    from madoguchi.counter.erasure import erase_application_content
    from madoguchi.counter.routing import SUBJECT_KIND

    application = (
        apps.get_model("counter", "Application").objects.filter(pk=record.object_id).first()
    )
    if application is None:
        return
    erase_application_content(application=application, actor=actor)
    decisions = getattr(application, "decisions", None)
    if decisions is not None:
        erase_approval_comments(
            kind=SUBJECT_KIND, subject_ids=decisions.values_list("pk", flat=True)
        )


def _erase_issued_document(record: Record) -> None:
    """The issued PDF and the revocation note (free text that may name the person) go;
    the row stays with its number, kind, dates, state and PDF hash. Issuance's own
    service when it offers one (it must erase the same)."""
    from django.apps import apps

    try:
        from madoguchi.issuance import services as issuance
    except ImportError:
        return
    erase = getattr(issuance, "erase_document_content", None)
    document = (
        apps.get_model("issuance", "IssuedDocument").objects.filter(pk=record.object_id).first()
    )
    if document is None:
        return
    if erase is not None:
        erase(document=document)
        return
    name, storage = (document.pdf.name, document.pdf.storage) if document.pdf else ("", None)
    document.pdf = ""
    document.revocation_note = ""
    document.last_error = ""
    document.save(update_fields=["pdf", "revocation_note", "last_error"])
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def destroy_file(*, file: RecordFile, proposal: DispositionProposal, actor) -> None:
    erased: list[str] = []
    records = list(file.records.filter(destroyed_at__isnull=True))
    for record in records:
        erased.extend(_erase_record(record, actor))
    file.state = FileState.DESTROYED
    file.disposed_at = timezone.now()
    file.save(update_fields=["state", "disposed_at"])
    record_event(
        event_type="records.destroyed",
        actor_kind="staff" if actor is not None else "system",
        actor_id=getattr(actor, "pk", None),
        subject_type="record_file",
        subject_id=file.pk,
        body_id=file.body_id,
        details={
            "proposal": str(proposal.pk),
            "records": len(records),
            # The hashes of what was destroyed stay in the ledger: 廃棄 is provable.
            "content_hashes": sorted(set(erased)),
        },
    )


# --- 移管: the archival package ------------------------------------------------------------


def schedule_transfer(proposal: DispositionProposal) -> None:
    from .tasks import build_transfer_package

    transaction.on_commit(lambda: build_transfer_package.enqueue(str(proposal.pk)))


def _archive_dir() -> Path:
    return Path(settings.MADOGUCHI_RECORDS_ARCHIVE_DIR)


def _ledger_section(target: Path, records: list[Record], file: RecordFile) -> dict:
    """The ledger entries of the file and its records (and their applications), the
    latest checkpoint and an inclusion proof of each entry against it."""
    subjects = [("record_file", str(file.pk))]
    for record in records:
        subjects.append(("record", str(record.pk)))
        if record.object_type == "application":
            subjects.append(("application", record.object_id))
    entries = []
    for subject_type, subject_id in subjects:
        entries.extend(
            ledger_selectors.entries_for_subject(subject_type=subject_type, subject_id=subject_id)
        )
    entries.sort(key=lambda entry: (entry.log_id, entry.index))
    log = entries[0].log if entries else None
    checkpoint = ledger_selectors.latest_checkpoint(log) if log else None
    (target / "ledger").mkdir()
    proofs = []
    with (target / "ledger" / "entries.jsonl").open("wb") as handle:
        for entry in entries:
            handle.write(bytes(entry.leaf) + b"\n")
            if checkpoint and entry.log_id == log.pk and entry.index < checkpoint.size:
                proof = ledger_selectors.inclusion_proof(log, entry.index, checkpoint.size)
                proofs.append(
                    {
                        "index": entry.index,
                        "tree_size": checkpoint.size,
                        "proof": [base64.b64encode(item).decode() for item in proof],
                    }
                )
    if checkpoint:
        (target / "ledger" / "checkpoint.txt").write_text(checkpoint.note)
        (target / "ledger" / "public-keys.txt").write_text(
            "".join(f"{key.verifier_key}\n" for key in ledger_selectors.public_keys(log))
        )
    (target / "ledger" / "inclusion-proofs.json").write_text(json.dumps(proofs, indent=1))
    return {
        "entries": len(entries),
        "origin": log.origin if log else None,
        "tree_size": checkpoint.size if checkpoint else 0,
    }


def _copy_attachment(item: dict, target: Path) -> bool:
    from django.apps import apps

    stored_file = item.get("stored_file")
    issued = item.get("issued_document")
    handle = None
    if stored_file:
        stored = apps.get_model("files", "StoredFile").objects.filter(pk=stored_file).first()
        handle = open_stored(stored) if stored is not None and stored.file else None
    elif issued:
        document = apps.get_model("issuance", "IssuedDocument").objects.filter(pk=issued).first()
        handle = document.pdf.open("rb") if document is not None and document.pdf else None
    if handle is None:
        return False
    with handle, target.open("wb") as out:
        shutil.copyfileobj(handle, out)
    return True


def build_package(proposal: DispositionProposal) -> Path:
    """Writes the BagIt bag of a file being transferred (docs/records.md, 移管)."""
    import bagit

    file = proposal.file
    records = list(file.records.order_by("created_on", "created_at"))
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    target = _archive_dir() / f"{file.body.code}-{file.fiscal_year}-{file.pk}-{stamp}"
    target.mkdir(parents=True)
    (target / "records").mkdir()
    manifest = []
    for record in records:
        folder = target / "records" / str(record.pk)
        folder.mkdir()
        entry = {
            "id": str(record.pk),
            "kind": record.kind,
            "title": record.title,
            "created_on": record.created_on.isoformat(),
            "original_sha256": record.original_sha256,
            "procedure_version": record.procedure_version.number
            if record.procedure_version_id
            else None,
            "files": [],
        }
        if record.original is not None:
            (folder / "original.json").write_bytes(bytes(record.original))
            entry["original"] = f"records/{record.pk}/original.json"
        if record.procedure_version_id:
            (folder / "procedure-definition.json").write_text(
                json.dumps(record.procedure_version.definition, ensure_ascii=False, indent=1)
            )
        for item in record.files:
            name = f"{item['sha256'][:16]}-{Path(item.get('name') or 'file').name}"
            copied = _copy_attachment(item, folder / name)
            entry["files"].append(
                {
                    **{k: item.get(k) for k in ("sha256", "name", "content_type", "size")},
                    "path": f"records/{record.pk}/{name}" if copied else None,
                }
            )
        manifest.append(entry)
    register = {
        "file": str(file.pk),
        "body": file.body.code,
        "unit": file.unit.name,
        "classification": [
            file.classification_major,
            file.classification_middle,
            file.classification_minor,
        ],
        "title": file.title,
        "fiscal_year": file.fiscal_year,
        "retention_class": file.retention_class,
        "retention_start": file.retention_start.isoformat(),
        "expiry": file.expiry.isoformat() if file.expiry else None,
        "disposition": file.disposition,
        "medium": file.medium,
        "place": file.place,
        "manager": file.manager,
        "proposal": {
            "id": str(proposal.pk),
            "reason": proposal.reason,
            "approval": proposal.approval_reference,
        },
    }
    (target / "register-entry.json").write_text(json.dumps(register, ensure_ascii=False, indent=1))
    (target / "records.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    ledger = _ledger_section(target, records, file)
    bagit.make_bag(
        str(target),
        {
            "Source-Organization": file.body.name,
            "Organization-Address": file.body.code,
            "External-Identifier": str(file.pk),
            "External-Description": f"行政文書ファイル「{file.title}」の移管",
            "Bagging-Date": timezone.localdate().isoformat(),
            "Bag-Group-Identifier": f"{file.body.code}/{file.fiscal_year}",
            "Ledger-Origin": ledger["origin"] or "",
            "Ledger-Tree-Size": str(ledger["tree_size"]),
        },
        checksums=["sha256"],
    )
    return target


def _manifest_digest(target: Path) -> str:
    return hashlib.sha256((target / "manifest-sha256.txt").read_bytes()).hexdigest()


@transaction.atomic
def complete_transfer(proposal_id: str) -> DispositionProposal:
    proposal = (
        DispositionProposal.objects.select_for_update().select_related("file").get(pk=proposal_id)
    )
    file = RecordFile.objects.select_for_update(of=("self",)).get(pk=proposal.file_id)
    if proposal.state != ProposalState.APPROVED or file.state != FileState.TRANSFERRING:
        return proposal
    target = build_package(proposal)
    proposal.package_path = str(target)
    proposal.package_sha256 = _manifest_digest(target)
    proposal.state = ProposalState.EXECUTED
    proposal.executed_at = timezone.now()
    proposal.save(update_fields=["state", "executed_at", "package_path", "package_sha256"])
    file.state = FileState.TRANSFERRED
    file.disposed_at = timezone.now()
    file.save(update_fields=["state", "disposed_at"])
    record_event(
        event_type="records.transferred",
        actor_kind="system",
        actor_id=None,
        subject_type="record_file",
        subject_id=file.pk,
        body_id=file.body_id,
        content_sha256=proposal.package_sha256,
        details={
            "proposal": str(proposal.pk),
            "package": target.name,
            "records": file.records.count(),
        },
    )
    return proposal
