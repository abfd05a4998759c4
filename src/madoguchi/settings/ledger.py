"""Settings of the ledger (tamper-evident log), the access log and the records register.
See docs/ledger.md and docs/records.md."""

from __future__ import annotations

from urllib.parse import urlsplit

from .core import DATA_DIR, DEBUG
from .env import env_bool, env_int, env_list, env_str
from .madoguchi import MADOGUCHI_BASE_URL
from .tasks import TASKS_MODE

# Each body's log is named <origin prefix>/<body code> (C2SP tlog-checkpoint origin line);
# events without a body go to <origin prefix>/deployment.
MADOGUCHI_LEDGER_ORIGIN = env_str(
    "MADOGUCHI_LEDGER_ORIGIN",
    (urlsplit(MADOGUCHI_BASE_URL).netloc or "madoguchi.invalid") + "/ledger",
)

# A directory of signer keys (one C2SP note key per file, named after the origin it signs).
# Unset with DEBUG on: var/keys/ledger, where clearly marked demo keys are generated.
MADOGUCHI_LEDGER_KEY_DIR = env_str("MADOGUCHI_LEDGER_KEY_DIR", "") or str(
    DATA_DIR / "keys" / "ledger"
)
MADOGUCHI_LEDGER_KEY_DIR_CONFIGURED = bool(env_str("MADOGUCHI_LEDGER_KEY_DIR", ""))

# Generating a missing key is for the embedded default only; with DEBUG off a missing key
# stops the sequencer with a message (and `madoguchi check --deploy` reports it).
MADOGUCHI_LEDGER_DEMO_KEYS = env_bool("MADOGUCHI_LEDGER_DEMO_KEYS", DEBUG) and (
    DEBUG or env_bool("MADOGUCHI_ALLOW_DEMO_IN_PRODUCTION", False)
)

# The key of the pseudonyms that stand for people (actors, persons whose data was
# accessed) in published leaves. Must never change once entries exist.
MADOGUCHI_LEDGER_PSEUDONYM_KEY = env_str("MADOGUCHI_LEDGER_PSEUDONYM_KEY", "")

# In the embedded default (tasks run in the web process) a commit that wrote events runs
# the sequencer right after it; in production `madoguchi ledger sequence` does.
MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = env_bool(
    "MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT", TASKS_MODE == "immediate"
)
MADOGUCHI_LEDGER_BATCH_SIZE = env_int("MADOGUCHI_LEDGER_BATCH_SIZE", 5000)
# How long a synchronous-mode receipt waits for its checkpoint before answering anyway.
MADOGUCHI_LEDGER_SYNC_TIMEOUT = env_int("MADOGUCHI_LEDGER_SYNC_TIMEOUT", 10)

# Bodies (団体コード) whose policy lets residents see the names of staff who looked at
# their data; elsewhere they see the unit and the role only.
MADOGUCHI_ACCESS_LOG_NAMES_FOR = env_list("MADOGUCHI_ACCESS_LOG_NAMES_FOR", [])

# Records (行政文書ファイル管理簿): where 移管 packages (BagIt bags) are written for the
# archives to collect.
MADOGUCHI_RECORDS_ARCHIVE_DIR = env_str("MADOGUCHI_RECORDS_ARCHIVE_DIR", str(DATA_DIR / "archives"))
