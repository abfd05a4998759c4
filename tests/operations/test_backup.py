"""Backup and restore as docs/operations.md describes it, on PostgreSQL: data with
applications, uploads, an issued (signed) document and a sequenced ledger is backed up
with `madoguchi backup create`, restored into a new database and a new data directory by
`madoguchi backup restore`, and a `madoguchi` process pointed at the restore finds every
file with its hash, the same applications and answers, records that open (each of their
files read back from storage matches its hash), fees, payments and bookings, and a ledger
that checks and verifies offline with the published keys."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.db import connection, transaction

from madoguchi.ledger import keys
from madoguchi.ledger.models import Log
from madoguchi.ledger.services import sequence_now

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]

# What a record is, seen from a process: counts, answers and files (hashes only).
_SUMMARY = """
import hashlib, json, django
django.setup()
from madoguchi.counter.models import Application
from madoguchi.files.models import StoredFile
from madoguchi.issuance.models import IssuedDocument
from madoguchi.ledger.models import Entry, Event
from madoguchi.records.models import Record
from madoguchi.payments.models import Fee, Payment
from madoguchi.appointments.models import Booking
from madoguchi.files.services import open_stored


def opened(item):
    # The record's file read back from storage, as the records page opens it.
    if item.get("stored_file"):
        handle = open_stored(StoredFile.objects.get(pk=item["stored_file"]))
    else:
        handle = IssuedDocument.objects.get(pk=item["issued_document"]).pdf.open("rb")
    with handle:
        return hashlib.sha256(handle.read()).hexdigest() == item["sha256"]


records = {
    str(r.pk): [r.kind, r.title, sorted(i["sha256"] for i in r.files), all(map(opened, r.files))]
    for r in Record.objects.all()
}
apps = {
    str(a.pk): [a.receipt_number, a.state, hashlib.sha256(
        json.dumps(a.answers, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()]
    for a in Application.objects.all()
}
print(json.dumps({
    "applications": apps,
    "files": sorted(StoredFile.objects.values_list("sha256", flat=True)),
    "documents": sorted(IssuedDocument.objects.values_list("pdf_sha256", flat=True)),
    "records": records,
    "fees": sorted([str(f.application_id), f.state, f.amount] for f in Fee.objects.all()),
    "payments": sorted(
        [str(p.pk), p.status, p.amount, p.reference_number, str(p.paid_on)]
        for p in Payment.objects.all()
    ),
    "bookings": sorted(
        [str(b.pk), b.status, b.starts_at.isoformat(), b.counter.code]
        for b in Booking.objects.all()
    ),
    "events": Event.objects.count(),
    "entries": Entry.objects.count(),
}))
"""


def _url(name: str) -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{name}"


def _env(database: str, data_dir: Path) -> dict[str, str]:
    # The same secrets as the original (SECRET_KEY, MADOGUCHI_ENCRYPTION_KEYS: the
    # operator's secret store); everything else from the backup.
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=_url(database),
        MADOGUCHI_DATA_DIR=str(data_dir),
        MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT="0",
    )


def _run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "madoguchi", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert done.returncode == 0, f"madoguchi {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def _summary(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _SUMMARY],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def restore_database():
    name = f"h_ops_restore_{uuid.uuid4().hex[:10]}"
    db = connection.settings_dict
    pg = ["--host", db["HOST"], "--port", str(db["PORT"] or 5432), "--username", db["USER"]]
    subprocess.run(["createdb", *pg, name], check=True)
    yield name
    subprocess.run(["dropdb", *pg, "--if-exists", "--force", name], check=True)


def test_backup_and_restore_into_a_fresh_database_and_directory(
    settings, hanako, restore_database, tmp_path
):
    from madoguchi.issuance import services as issuance
    from madoguchi.issuance.models import DocumentState, IssuedDocument

    from ..issuance.helpers import approved_parking, highschool_answers, submitted

    settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = False
    # Applications with uploads; one approved and issued as a signed PDF (the task runs
    # after the commit, in this process: the immediate backend).
    submitted("990001", "highschool-web-application", highschool_answers(hanako), hanako)
    application = approved_parking(hanako)
    with transaction.atomic():
        issuance.schedule_issuance(application_id=application.pk)
    document = IssuedDocument.objects.get(application=application)
    assert document.state == DocumentState.ISSUED, document.last_error
    # A fee paid at the counter and one waiting for a transfer, and a booking (the sample's).
    from madoguchi.appointments.sample import load_sample as load_appointments
    from madoguchi.payments.sample import load_sample as load_payments

    with transaction.atomic():
        load_payments(with_applications=True)
        load_appointments(with_applications=True)
    sequence_now()

    original_env = _env(connection.settings_dict["NAME"], Path(settings.DATA_DIR))
    original = _summary(original_env)
    assert len(original["applications"]) >= 2 and original["documents"] == [document.pdf_sha256]
    assert len(original["files"]) >= 2 and original["entries"] == original["events"]
    assert len(original["payments"]) >= 2 and original["bookings"] and original["fees"]
    kinds = {kind for kind, _title, _files, _opens in original["records"].values()}
    assert {"application", "issued_document"} <= kinds, kinds
    assert all(opens for *_rest, opens in original["records"].values())

    # The backup: one command (pg_dump -Fc, a tar of the data directory, the key files).
    backup_dir = tmp_path / "backup"
    _run(original_env, "backup", "create", str(backup_dir), "--keys")
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert set(manifest["parts"]) == {"database.dump", "data.tar", "keys.tar"}
    with tarfile.open(backup_dir / "data.tar") as tar:
        names = tar.getnames()
    assert any(name.startswith("files/uploads/") for name in names)
    assert not any(name.split("/")[0] in ("keys", "signing") for name in names)
    # The database dump is PostgreSQL's custom format (what pg_restore reads).
    assert (backup_dir / "database.dump").read_bytes()[:5] == b"PGDMP"

    # The published public keys of the logs: what an auditor holds, from before.
    key_file = tmp_path / "published-keys.txt"
    key_file.write_text(
        "".join(
            keys.signer_for(log.origin)[0].verifier().to_string() + "\n"
            for log in Log.objects.all()
        )
    )

    # The restore, into a new database and a new, empty data directory.
    restored_dir = tmp_path / "restored-data"
    restored_env = _env(restore_database, restored_dir)
    # Over a database that is not empty it refuses.
    refused = _run(original_env, "backup", "restore", str(backup_dir), check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    _run(restored_env, "backup", "restore", str(backup_dir))
    # A release that is the same has nothing to migrate.
    assert "No migrations to apply" in _run(restored_env, "migrate", "--no-input").stdout

    # Every record and file, with its hash, and the ledger.
    assert _summary(restored_env) == original
    checked = _run(restored_env, "backup", "check")
    assert "problem" not in checked.stdout and checked.stdout.strip().endswith("ok")
    assert f"{len(original['files']) + 1} files checked" in checked.stdout
    ledger = _run(restored_env, "ledger", "check")
    assert ledger.stdout.strip().endswith("ok")
    export_dir = tmp_path / "export"
    _run(restored_env, "ledger", "export", str(export_dir), "--content")
    verified = _run(
        restored_env,
        "ledger",
        "verify",
        str(export_dir),
        "--public-key",
        str(key_file),
        "--content",
    )
    lines = [line for line in verified.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith("ok: ") for line in lines), verified.stdout
    # Every uploaded file and the issued PDF the ledger hashes, read from the restored
    # storage and matching (the verifier fails on a mismatch). The hashes "not in the
    # export" are of what no provider stores as bytes (answers, definitions).
    checked = sum(int(re.search(r"content: (\d+) checked", line).group(1)) for line in lines)
    assert checked >= len(original["files"]) + 1

    # The restored node continues the ledger under the same keys: a new event is
    # sequenced and the log still verifies against the published keys.
    _run(
        restored_env,
        "shell",
        "-c",
        "from django.db import transaction\n"
        "from madoguchi.ledger.services import record_event\n"
        "with transaction.atomic():\n"
        "    record_event(event_type='test.after_restore', actor_kind='system', actor_id=None,"
        " subject_type='test', subject_id='1')\n",
    )
    _run(restored_env, "ledger", "sequence")
    assert _run(restored_env, "ledger", "check").stdout.strip().endswith("ok")
    export_after = tmp_path / "export-after"
    _run(restored_env, "ledger", "export", str(export_after))
    _run(restored_env, "ledger", "verify", str(export_after), "--public-key", str(key_file))


def test_a_damaged_backup_is_refused(settings, restore_database, tmp_path, sample):
    original_env = _env(connection.settings_dict["NAME"], Path(settings.DATA_DIR))
    backup_dir = tmp_path / "backup"
    _run(original_env, "backup", "create", str(backup_dir))
    with (backup_dir / "data.tar").open("ab") as handle:
        handle.write(b"tampered")
    done = _run(
        _env(restore_database, tmp_path / "restored"),
        "backup",
        "restore",
        str(backup_dir),
        check=False,
    )
    assert done.returncode != 0 and "data.tar does not match" in done.stderr
