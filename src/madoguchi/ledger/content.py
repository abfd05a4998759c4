"""Where the content behind a ledger hash can be found, for `ledger export --content`.

The ledger (layer 0) cannot know the apps that store files and records; they register a
provider here in their AppConfig.ready() (decision 0009: a registry, not signals). A
provider answers a SHA-256 hex digest with the stored bytes as they are now, DISPOSED
when an approved disposition destroyed the content, MISSING when the content should be
there but its bytes are gone without one, or None when it does not know the hash.

The export's content/index.json is not signed: the verifier accepts "disposed" only for
a hash that a records.destroyed entry of the signed log lists (verifier.py).
"""

from __future__ import annotations

from collections.abc import Callable

DISPOSED = "disposed"
MISSING = "missing"

Provider = Callable[[str], "bytes | str | None"]

_PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str, provider: Provider) -> None:
    _PROVIDERS[name] = provider


def unregister_provider(name: str) -> None:
    _PROVIDERS.pop(name, None)


def lookup(digest: str) -> bytes | str | None:
    """The first provider's answer that is not None."""
    for provider in _PROVIDERS.values():
        found = provider(digest)
        if found is not None:
            return found
    return None
