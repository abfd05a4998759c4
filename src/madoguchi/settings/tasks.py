from __future__ import annotations

from .core import DEBUG
from .env import env_str

# "immediate" runs a task in the web process right after commit (the embedded default);
# "database" queues it for `madoguchi db_worker` on another process or machine.
TASKS_MODE = env_str("TASKS_BACKEND", "immediate" if DEBUG else "database")
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if TASKS_MODE == "immediate"
            else "django_tasks_db.DatabaseBackend"
        ),
    }
}
