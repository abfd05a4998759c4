"""Read paths of the notifications: the outbox's state for monitoring."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone

from .models import OutboundEmail


@dataclass(frozen=True)
class OutboxSummary:
    pending: int
    # Pending e-mails whose next attempt is due now: a sweeper that runs keeps this near 0.
    due: int
    # The oldest next-attempt time among the due ones: how long the sweeper has been away.
    oldest_due_at: dt.datetime | None
    failed: int
    # Pending e-mails that have failed at least once (the mail server refuses them).
    retrying: int


def outbox_summary(*, now: dt.datetime | None = None) -> OutboxSummary:
    """Counts of the outbox by state, in one query (an index on status, next_attempt_at)."""
    now = now or timezone.now()
    pending = Q(status=OutboundEmail.Status.PENDING)
    due = pending & Q(next_attempt_at__lte=now)
    found = OutboundEmail.objects.filter(
        status__in=[OutboundEmail.Status.PENDING, OutboundEmail.Status.FAILED]
    ).aggregate(
        pending=Count("pk", filter=pending),
        due=Count("pk", filter=due),
        oldest_due_at=Min("next_attempt_at", filter=due),
        failed=Count("pk", filter=Q(status=OutboundEmail.Status.FAILED)),
        retrying=Count("pk", filter=pending & Q(attempts__gt=0)),
    )
    return OutboxSummary(**found)
