"""Tasks of payments, for the task worker (`madoguchi db_worker`)."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def reconcile() -> dict[str, int]:
    """See services.reconcile; `madoguchi payments reconcile` runs the same."""
    return services.reconcile()
