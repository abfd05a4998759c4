"""C2SP signed notes and checkpoints: Go's reference vector, refusals, and properties."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.ledger import note

from .vectors import GO_NOTE, GO_SIGNER_KEY, GO_TEXT, GO_VERIFIER_KEY, ROOTS


def test_the_go_reference_key_and_note_byte_for_byte():
    signer = note.Signer.from_string(GO_SIGNER_KEY)
    assert signer.to_string() == GO_SIGNER_KEY
    assert signer.verifier().to_string() == GO_VERIFIER_KEY
    # Ed25519 is deterministic: a Go verifier accepts what we sign.
    assert note.sign(GO_TEXT, signer) == GO_NOTE
    opened = note.open_note(GO_NOTE, [note.Verifier.from_string(GO_VERIFIER_KEY)])
    assert opened.text == GO_TEXT


def test_a_changed_text_or_signature_is_refused():
    verifier = note.Verifier.from_string(GO_VERIFIER_KEY)
    with pytest.raises(note.NoteError, match="not valid"):
        note.open_note(GO_NOTE.replace("cryptography", "cryptographY"), [verifier])
    text, signatures = note.split(GO_NOTE)
    blob = (
        signatures[0].key_id + bytes([signatures[0].signature[0] ^ 1]) + signatures[0].signature[1:]
    )
    forged = text + "\n— PeterNeumann " + base64.b64encode(blob).decode() + "\n"
    with pytest.raises(note.NoteError, match="not valid"):
        note.open_note(forged, [verifier])


def test_a_note_signed_by_another_key_is_refused():
    other = note.Signer.generate("PeterNeumann")
    with pytest.raises(note.NoteError, match="not signed by a trusted key"):
        note.open_note(note.sign(GO_TEXT, other), [note.Verifier.from_string(GO_VERIFIER_KEY)])


@pytest.mark.parametrize(
    "key",
    [
        "",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ApcQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+!!!",
    ],
)
def test_malformed_verifier_keys_are_refused(key):
    with pytest.raises(note.NoteError):
        note.Verifier.from_string(key)


@pytest.mark.parametrize(
    "text",
    [
        "no newline at the end",
        GO_TEXT + "\n",  # a blank line
        "a\x01b\n",
    ],
)
def test_texts_that_cannot_be_signed_are_refused(text):
    with pytest.raises(note.NoteError):
        note.sign(text, note.Signer.from_string(GO_SIGNER_KEY))


@pytest.mark.parametrize(
    "malformed",
    [GO_TEXT, GO_TEXT + "\n", GO_TEXT + "\n— PeterNeumann !!\n", GO_TEXT + "\nnot a signature\n"],
)
def test_malformed_notes_are_refused(malformed):
    with pytest.raises(note.NoteError):
        note.open_note(malformed, [note.Verifier.from_string(GO_VERIFIER_KEY)])


def test_checkpoint_text_is_the_c2sp_format():
    checkpoint = note.Checkpoint("example.com/log", 8, ROOTS[7])
    assert checkpoint.text() == (
        "example.com/log\n8\n" + base64.b64encode(ROOTS[7]).decode() + "\n"
    )
    assert note.parse_checkpoint(checkpoint.text()) == checkpoint


def test_a_checkpoint_must_be_signed_by_its_origins_key():
    log_key = note.Signer.generate("example.com/log")
    other = note.Signer.generate("example.com/other")
    checkpoint = note.Checkpoint("example.com/log", 3, ROOTS[2])
    signed = note.sign_checkpoint(checkpoint, log_key)
    parsed, _opened = note.open_checkpoint(signed, [log_key.verifier()])
    assert parsed == checkpoint
    impostor = note.sign(checkpoint.text(), other)
    with pytest.raises(note.NoteError, match="not signed by a key of that name"):
        note.open_checkpoint(impostor, [other.verifier()])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "origin\n",
        "origin\n01\nAAAA\n",
        "origin\nx\nAAAA\n",
        "origin\n1\nAAAA\n",
        "\n1\n" + "A" * 43 + "=\n",
    ],
)
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(note.NoteError):
        note.parse_checkpoint(text)


@settings(max_examples=50, deadline=None)
@given(
    origin=st.from_regex(r"[a-z0-9.-]{1,20}(/[a-z0-9]{1,10}){0,2}", fullmatch=True),
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
    flip=st.integers(0, 10_000),
)
def test_any_single_changed_character_of_a_signed_checkpoint_is_detected(origin, size, root, flip):
    signer = note.Signer.generate(origin)
    signed = note.sign_checkpoint(note.Checkpoint(origin, size, root), signer)
    parsed, _ = note.open_checkpoint(signed, [signer.verifier()])
    assert (parsed.origin, parsed.size, parsed.root_hash) == (origin, size, root)
    text_end = signed.index("\n\n")
    position = flip % text_end
    if signed[position] == "\n":
        return
    changed = signed[:position] + ("x" if signed[position] != "x" else "y") + signed[position + 1 :]
    with pytest.raises(note.NoteError):
        note.open_checkpoint(changed, [signer.verifier()])
