"""The back office's calls into the capabilities of layer 3 and into the access log.

Each is one function here, so that the orchestrating services read plainly and a
capability that is not installed (or not built yet) is handled in one place.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

logger = logging.getLogger(__name__)

# Why staff opened a person's data (the access log's fixed list, ledger.AccessPurpose).
PURPOSE_REVIEW = "review"
PURPOSE_DECISION = "decision"
PURPOSE_COUNTER = "counter"


def log_access(
    *,
    actor,
    application,
    what: str,
    purpose: str = PURPOSE_REVIEW,
    object_type: str = "",
    object_id: str = "",
    subject_user=None,
) -> None:
    """Staff opened or downloaded a person's application, attachment or profile: the
    ledger's access log, which the person sees on their account. It runs before the data
    is shown; a refusal of the log is a refusal of the access.

    An application made for someone else (法定代理人, 委任状) is about that person too:
    when they may see it (`subject_user`), the access is logged for them as well."""
    from madoguchi.ledger import services as ledger

    record = getattr(ledger, "log_access", None)
    if record is None:
        return
    from madoguchi.counter.selectors import data_subjects

    subjects = [subject_user] if subject_user is not None else data_subjects(application)
    for person in subjects:
        record(
            actor=actor,
            unit=application.unit,
            subject_user=person,
            what=what,
            object_type=object_type or "application",
            object_id=object_id or str(application.pk),
            purpose=purpose,
        )


def after_final_decision(*, application, decision, actor) -> None:
    """On a final approval: the deliverable (a signed PDF) is issued, and the decision is
    filed in the records register. Both only when those capabilities exist; issuance is
    scheduled after commit by its own service."""
    version = application.procedure_version
    deliverable = version.definition.get("deliverable") or {}
    if decision.outcome == "approve" and deliverable.get("kind") == "pdf":
        try:
            from madoguchi.issuance import services as issuance
        except ImportError:
            issuance = None
        schedule = getattr(issuance, "schedule_issuance", None)
        if schedule is not None:
            with _as_refusal():
                schedule(application_id=application.pk, decided_by=actor)
    file_record(kind="application_decision", subject=application, actor=actor)


def file_record(*, kind: str, subject, actor) -> None:
    """Files a document in the records register (行政文書ファイル管理簿), when that
    capability is installed: decisions, corrected decisions."""
    try:
        from madoguchi.records import services as records
    except ImportError:
        return
    record = getattr(records, "file_record", None)
    if record is not None:
        with _as_refusal():
            record(kind=kind, subject=subject, actor=actor)


@contextmanager
def _as_refusal():
    """A capability's refusal (with `.ja` and `.en`) refuses the decision with its
    message, and the whole decision is rolled back: no approval without its document."""
    from madoguchi.counter.services import CounterError

    try:
        yield
    except CounterError:
        raise
    except Exception as exc:
        if not (hasattr(exc, "ja") and hasattr(exc, "en")):
            raise
        error = CounterError(exc.ja, exc.en)
        error.code = getattr(exc, "code", "refused")
        error.status = getattr(exc, "status", 409)
        raise error from exc
