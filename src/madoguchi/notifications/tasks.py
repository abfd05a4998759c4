from __future__ import annotations

from django_tasks import task

from . import services


@task()
def deliver_email(email_id: int) -> str:
    return services.deliver(email_id)
