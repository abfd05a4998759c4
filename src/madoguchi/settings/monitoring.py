"""Monitoring: the health endpoint's thresholds and who may read the metrics.
See docs/operations.md#monitoring."""

from __future__ import annotations

from .env import env_int, env_list, env_str

# /healthz fails (503) when the oldest task ready to run has waited longer than this
# (no worker takes tasks), when a due e-mail has waited longer than this for the sweeper
# (`madoguchi deliver_email` is not running), or when the oldest event not yet in the
# ledger is older than this (the sequencer is down or behind). Seconds.
MADOGUCHI_HEALTH_TASK_MAX_AGE = env_int("MADOGUCHI_HEALTH_TASK_MAX_AGE", 300)
MADOGUCHI_HEALTH_OUTBOX_MAX_AGE = env_int("MADOGUCHI_HEALTH_OUTBOX_MAX_AGE", 900)
MADOGUCHI_HEALTH_SEQUENCER_MAX_LAG = env_int("MADOGUCHI_HEALTH_SEQUENCER_MAX_LAG", 120)

# A task marked running for longer than this whose worker no longer holds its lock is
# lost (the worker was killed or its machine lost): /healthz fails, and `madoguchi tasks
# recover` hands it to a worker again (operations.task_recovery). Seconds.
MADOGUCHI_TASK_LOST_AFTER = env_int("MADOGUCHI_TASK_LOST_AFTER", 600)
# How many workers may take a task before recovery gives up and marks it failed (a task
# that kills its worker every time, e.g. out of memory, is not run for ever).
MADOGUCHI_TASK_MAX_ATTEMPTS = env_int("MADOGUCHI_TASK_MAX_ATTEMPTS", 3)

# /metrics is answered only to a scraper that sends `Authorization: Bearer <token>` or
# whose address is in the allowlist (addresses or networks, e.g. 10.0.5.0/24). With
# neither configured it answers 404 (off), except with DEBUG on from loopback.
MADOGUCHI_METRICS_TOKEN = env_str("MADOGUCHI_METRICS_TOKEN", "")
MADOGUCHI_METRICS_ALLOW = env_list("MADOGUCHI_METRICS_ALLOW", [])
