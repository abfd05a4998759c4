"""C2SP signed notes with Ed25519 keys, and C2SP tlog-checkpoint bodies.

https://c2sp.org/signed-note and https://c2sp.org/tlog-checkpoint, compatible with Go's
golang.org/x/mod/sumdb/note. Standard library plus ``cryptography``: the offline
verifier uses this module without Django.

Keys are text:
  verifier key  <name>+<key id, 8 hex>+<base64(0x01 ‖ Ed25519 public key)>
  signer key    PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ Ed25519 seed)>
and the key id is the first four bytes of SHA-256(<name> ‖ "\\n" ‖ 0x01 ‖ public key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 1
SIGNATURE_PREFIX = "— "  # an em dash and a space
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A malformed key or note, or a note that no trusted key signed."""


def _check_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise NoteError(f"invalid key name {name!r}: no spaces or '+' allowed")


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey = field(repr=False)

    @classmethod
    def from_string(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key is <name>+<hash>+<key>")
        name, hash_text, key_text = parts
        _check_name(name)
        if len(hash_text) != 8:
            raise NoteError("the key hash of a verifier key has 8 hex digits")
        try:
            expected = bytes.fromhex(hash_text)
            raw = base64.b64decode(key_text, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("the verifier key is not valid hex and base64") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("only Ed25519 verifier keys are supported")
        if key_id(name, raw[1:]) != expected:
            raise NoteError("the key hash does not match the key")
        return cls(name, expected, Ed25519PublicKey.from_public_bytes(raw[1:]))

    def to_string(self) -> str:
        raw = bytes([ALG_ED25519]) + _public_bytes(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    key_id: bytes
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, name: str) -> Signer:
        _check_name(name)
        private = Ed25519PrivateKey.generate()
        return cls(name, key_id(name, _public_bytes(private.public_key())), private)

    @classmethod
    def from_string(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key is PRIVATE+KEY+<name>+<hash>+<key>")
        _private, _key, name, hash_text, key_text = parts
        _check_name(name)
        try:
            expected = bytes.fromhex(hash_text)
            raw = base64.b64decode(key_text, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("the signer key is not valid hex and base64") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("only Ed25519 signer keys are supported")
        private = Ed25519PrivateKey.from_private_bytes(raw[1:])
        if key_id(name, _public_bytes(private.public_key())) != expected:
            raise NoteError("the key hash does not match the key")
        return cls(name, expected, private)

    def to_string(self) -> str:
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        raw = bytes([ALG_ED25519]) + seed
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.private_key.public_key())

    def signature_line(self, text: str) -> str:
        signature = self.private_key.sign(text.encode())
        blob = base64.b64encode(self.key_id + signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("the text of a note must end with a newline")
    if "\n\n" in text:
        raise NoteError("the text of a note must not contain a blank line")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise NoteError("the text of a note must not contain control characters")


def sign(text: str, *signers: Signer) -> str:
    _check_text(text)
    return text + "\n" + "".join(signer.signature_line(text) for signer in signers)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class OpenedNote:
    text: str
    verified_by: tuple[Verifier, ...]
    unverified: tuple[Signature, ...]


def split(note: str) -> tuple[str, list[Signature]]:
    """The text and the signatures of a note, without checking any signature."""
    if not note.endswith("\n"):
        raise NoteError("a note ends with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("a note has a blank line between its text and its signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    signatures: list[Signature] = []
    for line in block.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed signature line {line[:40]!r}")
        name, _, blob_text = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(blob_text, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("a signature is not valid base64") from exc
        if not name or " " in blob_text or len(blob) < 5:
            raise NoteError(f"malformed signature line {line[:40]!r}")
        signatures.append(Signature(name, blob[:4], blob[4:]))
    if not signatures:
        raise NoteError("the note has no signatures")
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError("the note has too many signatures")
    return text, signatures


def open_note(note: str, verifiers: list[Verifier]) -> OpenedNote:
    """Checks a note against trusted keys: at least one must have signed it, and a
    signature that claims a trusted key must be valid."""
    text, signatures = split(note)
    by_id = {(v.name, v.key_id): v for v in verifiers}
    verified: list[Verifier] = []
    unknown: list[Signature] = []
    for signature in signatures:
        verifier = by_id.get((signature.name, signature.key_id))
        if verifier is None:
            unknown.append(signature)
            continue
        if not verifier.verify(text.encode(), signature.signature):
            raise NoteError(f"the signature of {signature.name} is not valid")
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in unknown) or "none"
        raise NoteError(f"the note is not signed by a trusted key (signed by: {names})")
    return OpenedNote(text, tuple(verified), tuple(unknown))


# --- checkpoints ----------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash, one per line")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not origin:
        raise NoteError("the checkpoint's origin line is empty")
    if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
        raise NoteError(f"the checkpoint's tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("the checkpoint's root hash is not base64") from exc
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    if any(not line for line in extensions):
        raise NoteError("a checkpoint's extension lines are not empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    return sign(checkpoint.text(), signer)


def open_checkpoint(note: str, verifiers: list[Verifier]) -> tuple[Checkpoint, OpenedNote]:
    opened = open_note(note, verifiers)
    checkpoint = parse_checkpoint(opened.text)
    if not any(v.name == checkpoint.origin for v in opened.verified_by):
        # C2SP tlog-checkpoint: the log's own key is named after its origin.
        raise NoteError(
            f"the checkpoint of {checkpoint.origin} is not signed by a key of that name"
        )
    return checkpoint, opened
