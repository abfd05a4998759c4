"""The ledger's signing keys, from configuration: one key per log origin.

`MADOGUCHI_LEDGER_KEY_DIR` holds one file per key, each with one C2SP signer key line
(`PRIVATE+KEY+<origin>+<id>+<key>`; lines starting with `#` are comments). The key's
name is the log's origin, so the file names are free. In the embedded default a missing
key is generated into `var/keys/ledger/DEMO-*.key`, marked as a demo key; with DEBUG off a
missing key is an error that stops the sequencer.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
from pathlib import Path

from django.conf import settings

from .note import NoteError, Signer

DEMO_MARK = "# DEMO KEY"
_DEMO_HEADER = (
    "# DEMO KEY generated for the embedded default (make run). It proves nothing:\n"
    "# anyone with this checkout has it. Configure MADOGUCHI_LEDGER_KEY_DIR in production.\n"
)


class LedgerKeyMissing(Exception):
    """No signing key is configured for a log origin."""

    def __init__(self, origin: str, directory: str) -> None:
        super().__init__(
            f"No ledger signing key for origin {origin!r} in {directory}. Create one with "
            f"`madoguchi ledger keygen {origin} --dir {directory}` (see docs/ledger.md)."
        )
        self.origin = origin


class PseudonymKeyMissing(LedgerKeyMissing):
    """MADOGUCHI_LEDGER_PSEUDONYM_KEY is not set: a secret from the environment, not a
    signing key, so the message says how to set it rather than to run keygen."""

    def __init__(self) -> None:
        Exception.__init__(
            self,
            "MADOGUCHI_LEDGER_PSEUDONYM_KEY is not set. Set it to a long random secret "
            '(for example the output of `python -c "import secrets; '
            'print(secrets.token_urlsafe(48))"`), the same on every node, and never change '
            "it once the log has entries (see docs/configuration.md).",
        )
        self.origin = "pseudonyms"


class LedgerKeyError(Exception):
    """A key file that cannot be read or two keys for one origin."""


def origin_for(body_code: str | None) -> str:
    return f"{settings.MADOGUCHI_LEDGER_ORIGIN}/{body_code or 'deployment'}"


def _key_dir() -> Path:
    return Path(settings.MADOGUCHI_LEDGER_KEY_DIR)


def _read_key_file(path: Path) -> tuple[Signer, bool]:
    text = path.read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keys = [line for line in lines if not line.startswith("#")]
    if len(keys) != 1:
        raise LedgerKeyError(f"{path}: a key file holds exactly one key line")
    try:
        return Signer.from_string(keys[0]), any(line.startswith(DEMO_MARK) for line in lines)
    except NoteError as exc:
        raise LedgerKeyError(f"{path}: {exc}") from exc


_cache: dict[str, tuple[tuple, dict[str, tuple[Signer, bool]]]] = {}


def _load() -> dict[str, tuple[Signer, bool]]:
    directory = _key_dir()
    files = sorted(directory.glob("*.key")) if directory.is_dir() else []
    stamp = tuple((str(path), path.stat().st_mtime_ns) for path in files)
    cached = _cache.get(str(directory))
    if cached and cached[0] == stamp:
        return cached[1]
    keys: dict[str, tuple[Signer, bool]] = {}
    for path in files:
        signer, demo = _read_key_file(path)
        if signer.name in keys:
            raise LedgerKeyError(f"{directory}: two keys for origin {signer.name!r}")
        keys[signer.name] = (signer, demo)
    _cache[str(directory)] = (stamp, keys)
    return keys


def _safe_file_name(origin: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", origin)


def write_key(signer: Signer, directory: Path, *, demo: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{'DEMO-' if demo else ''}{_safe_file_name(signer.name)}.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write((_DEMO_HEADER if demo else "") + signer.to_string() + "\n")
    return path


def signer_for(origin: str) -> tuple[Signer, bool]:
    """The signer of a log and whether it is a demo key."""
    keys = _load()
    if origin in keys:
        return keys[origin]
    if not settings.MADOGUCHI_LEDGER_DEMO_KEYS:
        raise LedgerKeyMissing(origin, str(_key_dir()))
    signer = Signer.generate(origin)
    # Another process may have generated it first: then that one is used.
    with contextlib.suppress(FileExistsError):
        write_key(signer, _key_dir(), demo=True)
    keys = _load()
    return keys[origin]


def pseudonym_key() -> bytes:
    configured = settings.MADOGUCHI_LEDGER_PSEUDONYM_KEY
    if configured:
        return configured.encode()
    if not settings.MADOGUCHI_LEDGER_DEMO_KEYS:
        raise PseudonymKeyMissing()
    from madoguchi.settings.env import embedded_secret, random_secret_key

    return embedded_secret(
        Path(settings.DATA_DIR) / "keys" / "ledger_pseudonym.key", generate=random_secret_key
    ).encode()


def pseudonym(kind: str, identifier: str, key: bytes) -> str:
    """A stable stand-in for a person in published leaves: only the platform (holding
    the key) can tell whom it stands for."""
    if not identifier:
        return ""
    digest = hmac.new(key, f"{kind}:{identifier}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]
