"""Settings, split by concern and read from environment variables.

Each module reads only its own variables; see docs/configuration.md for the reference.
The embedded defaults (SQLite, files under var/, console e-mail, in-process tasks) apply
only with DEBUG on; with DEBUG off every secret must be configured.
"""

from .accounts import *  # noqa: F403
from .core import *  # noqa: F403
from .database import *  # noqa: F403
from .documents import *  # noqa: F403
from .files import *  # noqa: F403
from .i18n import *  # noqa: F403
from .ledger import *  # noqa: F403
from .logs import *  # noqa: F403
from .madoguchi import *  # noqa: F403
from .mail import *  # noqa: F403
from .monitoring import *  # noqa: F403
from .payments import *  # noqa: F403
from .security import *  # noqa: F403
from .tasks import *  # noqa: F403
