"""Rotating the field-encryption key: every value (My Number in answers, TOTP secrets) is
re-encrypted under the new first key while the old one still decrypts, in batches,
resumably, and without losing a change made concurrently."""

from __future__ import annotations

import threading

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from madoguchi.core import crypto, keyrotation
from madoguchi.counter.models import Application
from madoguchi.identity.services import enroll_demo_totp, totp_code

from ..counter.helpers import fill_juminhyo

NEW = Fernet.generate_key().decode()


def _decrypts_with(token: str, key: str) -> bool:
    try:
        Fernet(key.encode()).decrypt(token.encode())
        return True
    except Exception:
        return False


def _tokens(value) -> list[str]:
    if isinstance(value, str):
        return [value] if value.startswith("gAAAAA") else []
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tokens(item)]
    if isinstance(value, list):
        return [t for item in value for t in _tokens(item)]
    return []


def _my_number_application(client, settings) -> Application:
    application_id = fill_juminhyo(client)
    application = Application.objects.get(pk=application_id)
    application.answers["subject_my_number"] = {
        "ciphertext": crypto.encrypt_text("123456789018"),
        "last4": "9018",
    }
    application.save()
    return application


@pytest.mark.django_db
def test_rotation_re_encrypts_everything_and_old_values_stay_readable(
    settings, hanako_client, shimin_staff, capsys
):
    from allauth.mfa.models import Authenticator

    # The key everything was written with so far (the sample staff's TOTP secrets too).
    old = settings.MADOGUCHI_ENCRYPTION_KEYS[0]
    applications = [_my_number_application(hanako_client, settings) for _ in range(3)]
    Authenticator.objects.filter(user=shimin_staff).delete()
    enroll_demo_totp(user=shimin_staff, secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")

    # The new key goes first; the old one stays, so that nothing stops working meanwhile.
    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW, old]
    before = keyrotation.run(rotate=False)
    assert before.total.old >= 4 and before.total.current == 0

    # One batch of one row: the others are still under the old key and still readable.
    first = keyrotation.run(rotate=True, batch_size=1, keys=[NEW, old])
    assert first.total.rotated == before.total.old  # a run covers every batch
    call_command("encryption", "rotate", "--batch-size", "2")  # a second run: nothing left
    out = capsys.readouterr().out
    assert "0 under older keys" in out and "older keys may go" in out

    # With the old key removed, everything still decrypts.
    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW]
    for application in applications:
        application.refresh_from_db()
        token = application.answers["subject_my_number"]["ciphertext"]
        assert _decrypts_with(token, NEW) and not _decrypts_with(token, old)
        assert crypto.decrypt_text(token) == "123456789018"
    totp = Authenticator.objects.get(user=shimin_staff, type="totp")
    from allauth.mfa.adapter import get_adapter

    assert get_adapter().decrypt(totp.data["secret"]) == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert len(totp_code("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")) == 6


@pytest.mark.django_db
def test_values_no_key_opens_are_reported_and_left_alone(settings, hanako_client, capsys):
    old = settings.MADOGUCHI_ENCRYPTION_KEYS[0]
    settings.MADOGUCHI_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    application = _my_number_application(hanako_client, settings)
    lost = application.answers["subject_my_number"]["ciphertext"]
    # A key removed too early: its values can no longer be read.
    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW, old]
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("encryption", "rotate")
    application.refresh_from_db()
    assert application.answers["subject_my_number"]["ciphertext"] == lost
    # Text that merely starts like a token is not touched either.
    assert keyrotation._walk("gAAAAAnot a token", lambda t: t) == ("gAAAAAnot a token", False)


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (row locks across connections); SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_rotation_waits_for_a_concurrent_change_and_keeps_it(settings, sample, hanako):
    from django.test import Client

    from ..conftest import login

    old = settings.MADOGUCHI_ENCRYPTION_KEYS[0]
    client: Client = login(hanako)
    application = _my_number_application(client, settings)
    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW, old]
    locked = threading.Event()
    release = threading.Event()

    def edit_meanwhile():
        # A resident saving a page: the row is locked while the rotation reaches it.
        with transaction.atomic():
            row = Application.objects.select_for_update().get(pk=application.pk)
            locked.set()
            release.wait(10)
            row.answers["copies"] = 3
            row.save(update_fields=["answers"])
        connection.close()

    editor = threading.Thread(target=edit_meanwhile)
    editor.start()
    locked.wait(10)
    rotation = threading.Thread(target=lambda: (keyrotation.run(rotate=True), connection.close()))
    rotation.start()
    rotation.join(1)
    assert rotation.is_alive()  # waiting for the row lock, not overwriting the edit
    release.set()
    editor.join(10)
    rotation.join(30)
    application.refresh_from_db()
    assert application.answers["copies"] == 3
    token = application.answers["subject_my_number"]["ciphertext"]
    assert _decrypts_with(token, NEW)


@pytest.mark.django_db
def test_rotation_re_encrypts_sealed_sensitive_answers(settings, hanako_client):
    """A `sensitive` answer is sealed with the same keys: rotated like a My Number, and
    still opened (and shown to the resident) once the old key is gone."""
    from madoguchi.catalogue.fieldtypes import is_sealed, seal, unseal

    old = settings.MADOGUCHI_ENCRYPTION_KEYS[0]
    application = Application.objects.get(pk=fill_juminhyo(hanako_client))
    application.answers["health_note"] = seal({"grade": "2級"})
    application.save()
    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW, old]
    report = keyrotation.run(rotate=True, batch_size=10, keys=[NEW, old])
    assert report.total.rotated >= 1
    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW]
    application.refresh_from_db()
    sealed = application.answers["health_note"]
    assert is_sealed(sealed) and _decrypts_with(sealed["ciphertext"], NEW)
    assert unseal(sealed) == {"grade": "2級"}


@pytest.mark.django_db
def test_rotation_re_encrypts_encrypted_files(settings, hanako, django_capture_on_commit_callbacks):
    """An attachment of a sensitive field is one token in storage: rotated into a new file,
    the old bytes deleted after the commit, the content unchanged."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from madoguchi.files.services import read_stored, store_upload

    from ..issuance.helpers import png

    old = settings.MADOGUCHI_ENCRYPTION_KEYS[0]
    content = png(40, 30)
    stored = store_upload(
        SimpleUploadedFile("certificate.png", content, "image/png"),
        owner=hanako,
        accept=["image"],
        encrypt=True,
    )
    before = stored.file.name
    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW, old]
    counted = keyrotation.run(rotate=False)
    assert counted.by_field["files.StoredFile.file (encrypted content)"].old == 1
    with django_capture_on_commit_callbacks(execute=True):
        report = keyrotation.run(rotate=True, batch_size=5)
    assert report.by_field["files.StoredFile.file (encrypted content)"].rotated == 1
    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW]
    stored.refresh_from_db()
    assert stored.file.name != before and not stored.file.storage.exists(before)
    with stored.file.open("rb") as handle:
        assert _decrypts_with(handle.read().decode(), NEW)
    assert read_stored(stored) == content
    again = keyrotation.run(rotate=False)
    assert again.by_field["files.StoredFile.file (encrypted content)"].current == 1


@pytest.mark.django_db
def test_tokens_in_records_originals_are_counted_never_rewritten_and_keep_the_old_key(
    settings, hanako_client, capsys
):
    from madoguchi.records import services as records

    old = settings.MADOGUCHI_ENCRYPTION_KEYS[0]
    from django.utils import timezone

    application = _my_number_application(hanako_client, settings)
    # Filed as if submitted (the signing step of this procedure is not what this tests).
    Application.objects.filter(pk=application.pk).update(
        state="submitted", submitted_at=timezone.now(), receipt_number="261202-000001"
    )
    application.refresh_from_db()
    record = records.file_record(kind="application", subject=application)
    original = bytes(record.original)
    assert b"gAAAAA" in original  # the My Number's ciphertext, as the ledger hashes it

    settings.MADOGUCHI_ENCRYPTION_KEYS = [NEW, old]
    call_command("encryption", "rotate")
    out = capsys.readouterr().out
    record.refresh_from_db()
    assert bytes(record.original) == original  # what the ledger proves is unchanged
    assert record.original_sha256 == __import__("hashlib").sha256(original).hexdigest()
    assert "records.Record.original" in out and "older=1 (kept as they are)" in out
    assert "keep those keys configured" in out
    assert "older keys may go" not in out  # the answers rotated, but the old key must stay
    application.refresh_from_db()
    assert _decrypts_with(application.answers["subject_my_number"]["ciphertext"], NEW)
