"""Tasks of the records register: the 移管 package is written after the approval commits."""

from __future__ import annotations

from django_tasks import task


@task()
def build_transfer_package(proposal_id: str) -> str:
    from .disposal import complete_transfer

    return complete_transfer(proposal_id).state
