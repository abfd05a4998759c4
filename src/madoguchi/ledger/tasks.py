"""Tasks of the ledger: the sequencer as a task, for the embedded default (immediate
tasks run it right after the commit that wrote events)."""

from __future__ import annotations

from django_tasks import task


@task()
def sequence_ledger() -> int:
    from .sequencer import sequence_pending

    return sequence_pending().appended
