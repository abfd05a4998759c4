"""Tasks of appointments, for the task worker (`madoguchi db_worker`)."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def send_reminders() -> int:
    """The e-mails for tomorrow's bookings (each once); `madoguchi appointments remind`
    runs the same. The e-mails themselves go through the outbox and its delivery task."""
    return services.send_reminders()
