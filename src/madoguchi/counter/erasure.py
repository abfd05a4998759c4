"""廃棄 of an application's content (records disposition, issue 4).

Called by the records capability when an approved disposition destroys the file the
application is in. The row stays — receipt number, procedure version, state and dates,
the SHA-256 of the answers — with the ledger entries, as evidence of lawful disposal;
the answers, the person it was for, the messages, the 補正 texts, the decision texts and
the attachments' bytes go.
"""

from __future__ import annotations

from django.db import transaction

from madoguchi.files.services import erase_stored_file
from madoguchi.ledger.services import record_event

from .models import Application


@transaction.atomic
def erase_application_content(
    *, application: Application, actor=None, reason: str = "records.destroy"
) -> None:
    application = Application.objects.select_for_update(of=("self",)).get(pk=application.pk)
    application.answers = {}
    application.pending_inputs = {}
    application.subject_person = {}
    application.subject_user = None
    application.save(
        update_fields=["answers", "pending_inputs", "subject_person", "subject_user", "updated_at"]
    )
    application.messages.all().delete()
    application.corrections.update(message="", answers_before={}, changes=[])
    decisions = getattr(application, "decisions", None)
    if decisions is not None:
        decisions.update(reason="", comment="")
    erased = []
    for link in application.files.select_related("stored_file"):
        erase_stored_file(link.stored_file)
        erased.append(link.stored_file.sha256)
    record_event(
        event_type="application.content_erased",
        actor_kind="staff" if actor is not None else "system",
        actor_id=getattr(actor, "pk", None),
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        details={"reason": reason, "files": sorted(erased)},
    )
