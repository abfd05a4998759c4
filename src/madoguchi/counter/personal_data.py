"""The counter's part of a person's data, registered with identity (decision 0009): their
applications and messages for the download, and what account deletion may delete
(drafts) or must keep (submitted applications, until their retention period ends)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone

from madoguchi.catalogue.fieldtypes import is_sealed, unseal
from madoguchi.identity.registry import Kept, register_personal_data

from .models import Application, ApplicationFile, Message, State

APPLICATION_COLUMNS = (
    "receipt_number",
    "procedure",
    "body",
    "state",
    "your_role",
    "created_at",
    "submitted_at",
    "decided_at",
    "withdrawn_at",
    "fee_amount",
    "answers",
)
MESSAGE_COLUMNS = ("receipt_number", "procedure", "sent_at", "from", "body")


def _date(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _masked(value: Any) -> Any:
    """Answers as the person sees them: My Number only as its mask, their sensitive
    answers in clear (sealed only at rest)."""
    if is_sealed(value):
        return _masked(unseal(value))
    if isinstance(value, dict):
        if "ciphertext" in value:
            return {"masked": "*" * 8 + str(value.get("last4", ""))}
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _mine(user):
    return (
        Application.objects.filter(Q(applicant=user) | Q(subject_user=user))
        .select_related("procedure_version", "body")
        .order_by("created_at")
    )


def application_rows(user) -> Iterable[dict[str, Any]]:
    for application in _mine(user).iterator(chunk_size=200):
        yield {
            "receipt_number": application.receipt_number or "",
            "procedure": application.procedure_version.name,
            "body": application.body.name,
            "state": application.get_state_display(),
            "your_role": "applicant" if application.applicant_id == user.pk else "subject",
            "created_at": _date(application.created_at),
            "submitted_at": _date(application.submitted_at),
            "decided_at": _date(application.decided_at),
            "withdrawn_at": _date(application.withdrawn_at),
            "fee_amount": application.fee_amount,
            "answers": _masked(application.answers),
        }


def message_rows(user) -> Iterable[dict[str, Any]]:
    messages = (
        Message.objects.filter(application__applicant=user)
        .select_related("application__procedure_version")
        .order_by("created_at")
    )
    for message in messages.iterator(chunk_size=200):
        yield {
            "receipt_number": message.application.receipt_number or "",
            "procedure": message.application.procedure_version.name,
            "sent_at": _date(message.created_at),
            "from": "staff" if message.from_staff else "you",
            "body": message.body,
        }


def _kept(user) -> list[Kept]:
    kept = []
    for application in _mine(user).exclude(state=State.DRAFT):
        retention = application.procedure_version.definition.get("retention_class", "")
        period = "常用（廃止されるまで）" if retention == "常用" else retention
        kept.append(
            Kept(
                label=f"受付番号 {application.receipt_number}「{application.procedure_version.name}」",
                reason=(
                    f"行政文書として保存期間（{period}）が終わるまで保存され、その後に廃棄または"
                    "移管されます（公文書等の管理に関する法律・条例）。"
                ),
            )
        )
    return kept


def erase(user) -> list[Kept]:
    """Drafts were never submitted: nothing requires keeping them, nor their files."""
    from madoguchi.files.models import StoredFile

    drafts = Application.objects.filter(applicant=user, state=State.DRAFT)
    file_ids = set(
        ApplicationFile.objects.filter(application__in=drafts).values_list(
            "stored_file_id", flat=True
        )
    )
    file_ids |= set(drafts.exclude(authority_file=None).values_list("authority_file_id", flat=True))
    drafts.delete()
    names = []
    for stored in StoredFile.objects.filter(pk__in=file_ids):
        try:
            with transaction.atomic():
                name = stored.file.name
                stored.delete()
                names.append(name)
        except ProtectedError:
            continue  # still part of something kept
    transaction.on_commit(lambda: [stored_storage().delete(name) for name in names])
    return _kept(user)


def stored_storage():
    from madoguchi.files.models import StoredFile

    return StoredFile._meta.get_field("file").storage


register_personal_data(
    "applications",
    label="申請",
    columns=APPLICATION_COLUMNS,
    rows=application_rows,
    erase=erase,
    preview=_kept,
)
register_personal_data("messages", label="メッセージ", columns=MESSAGE_COLUMNS, rows=message_rows)
