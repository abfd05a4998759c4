from __future__ import annotations

from django_tasks import task

from . import services


@task()
def issue_document_task(document_id: str) -> str:
    return services.issue_document(document_id=document_id)
