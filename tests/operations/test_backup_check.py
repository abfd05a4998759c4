"""`backup check` hashes an encrypted attachment as its clear content (what the database
records), and reports one whose bytes changed or that no configured key opens."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.files.services import store_upload
from madoguchi.operations.backup import check_files

from ..issuance.helpers import png

pytestmark = pytest.mark.django_db


def _stored(owner, *, encrypt: bool):
    return store_upload(
        SimpleUploadedFile("certificate.png", png(30, 20), "image/png"),
        owner=owner,
        accept=["image"],
        encrypt=encrypt,
    )


def test_encrypted_and_clear_files_check_against_their_recorded_hash(hanako):
    _stored(hanako, encrypt=True)
    _stored(hanako, encrypt=False)
    result = check_files()
    assert result.checked >= 2 and result.problems == []


def test_a_changed_encrypted_file_is_reported(hanako):
    stored = _stored(hanako, encrypt=True)
    with stored.file.open("rb") as handle:
        token = handle.read()
    other = Fernet(Fernet.generate_key())  # bytes no configured key opens
    with stored.file.storage.open(stored.file.name, "wb") as handle:
        handle.write(other.encrypt(token[:10]))
    problems = [p for p in check_files().problems if p.pk == str(stored.pk)]
    assert problems and "cannot be decrypted" in problems[0].problem
