"""Backups: the database, the files and (on request) the keys, into one directory; a
restore into an empty database and data directory; a check that every stored file opens
with the hash its row records. The procedure by hand is in docs/operations.md.

A backup directory holds:

    manifest.json      what was backed up, when, from which release, and each part's SHA-256
    database.dump      pg_dump --format=custom (PostgreSQL) or database.sqlite3 (SQLite)
    data.tar           the data directory without keys, static files and the SQLite file:
                       uploads, issued PDFs, signature evidence, archive packages
    keys.tar           with --keys only: the key files under the data directory and the
                       ledger's key directory. Keys configured in the environment
                       (SECRET_KEY, MADOGUCHI_ENCRYPTION_KEYS, MADOGUCHI_LEDGER_PSEUDONYM_KEY)
                       are never written: they belong in the secret store.

The database is dumped before the files are copied: files are written before the rows that
name them, so every file a dumped row names is in the copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

FORMAT = 1
# Under the data directory: never in data.tar. keys/ and signing/, esign/ demo material go
# to keys.tar; static/ is rebuilt by collectstatic; health/ holds only transient probes.
KEY_DIRS = ("keys", "signing", "esign")
SKIPPED_DIRS = ("static", "health")


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_command(program: str) -> tuple[list[str], dict[str, str]]:
    """The client program with the connection of the default database (password through
    the environment, never on the command line)."""
    db = connection.settings_dict
    args = [program, "--no-password"]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _sqlite_path() -> Path:
    return Path(connection.settings_dict["NAME"])


def _data_dir() -> Path:
    return Path(settings.DATA_DIR)


def _media_in_data_dir() -> bool:
    backend = settings.STORAGES["default"]["BACKEND"]
    return backend.endswith("FileSystemStorage")


def _ledger_key_dir() -> Path:
    return Path(settings.MADOGUCHI_LEDGER_KEY_DIR)


def _inside(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def _tar(target: Path, members: list[tuple[Path, str]], *, exclude) -> None:
    with tarfile.open(target, "w") as tar:
        for path, arcname in members:
            if path.exists():
                tar.add(path, arcname=arcname, filter=lambda info: None if exclude(info) else info)


@dataclass
class BackupResult:
    directory: Path
    parts: dict[str, str]


def create_backup(directory: Path, *, keys: bool = False) -> BackupResult:
    """Writes a backup into `directory` (created; it must not exist or be empty)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise BackupError(f"{directory} is a file, not a directory")
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {directory}: {exc.strerror}") from exc
    data_dir = _data_dir()
    parts: dict[str, str] = {}

    # 1. The database, first.
    if connection.vendor == "postgresql":
        args, env = _pg_command("pg_dump")
        dump = directory / "database.dump"
        args += ["--format=custom", "--file", str(dump), str(connection.settings_dict["NAME"])]
        # A fixed program (pg_dump, pg_restore) with arguments from settings, no shell.
        done = subprocess.run(args, env=env, capture_output=True, text=True)  # noqa: S603  # nosec B603
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    elif connection.vendor == "sqlite":
        dump = directory / "database.sqlite3"
        source = sqlite3.connect(_sqlite_path())
        target = sqlite3.connect(dump)
        try:
            source.backup(target)  # a consistent copy while others write
        finally:
            target.close()
            source.close()
    else:
        raise BackupError(f"no backup for the {connection.vendor} database")
    parts[dump.name] = _sha256(dump)

    # 2. The files, after the dump.
    sqlite_file = _sqlite_path().resolve() if connection.vendor == "sqlite" else None
    key_dir = _ledger_key_dir()

    def not_data(info: tarfile.TarInfo) -> bool:
        top = info.name.split("/", 1)[0]
        if top in KEY_DIRS or top in SKIPPED_DIRS:
            return True
        path = (data_dir / info.name).resolve()
        if (
            sqlite_file
            and path.name.startswith(sqlite_file.name)
            and path.parent == sqlite_file.parent
        ):
            return True  # the database file and its -wal, -shm
        return _inside(path, key_dir)

    members = (
        [(child, child.name) for child in sorted(data_dir.iterdir())] if data_dir.exists() else []
    )
    _tar(directory / "data.tar", members, exclude=not_data)
    parts["data.tar"] = _sha256(directory / "data.tar")

    # 3. The keys kept in files, when asked.
    if keys:
        key_members = [(data_dir / name, f"data/{name}") for name in KEY_DIRS]
        if not _inside(key_dir, data_dir):
            key_members.append((key_dir, "ledger-keys"))
        _tar(directory / "keys.tar", key_members, exclude=lambda info: False)
        os.chmod(directory / "keys.tar", 0o600)
        parts["keys.tar"] = _sha256(directory / "keys.tar")

    manifest = {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": connection.vendor,
        "files_in_backup": _media_in_data_dir(),
        "ledger_key_dir_outside_data_dir": not _inside(key_dir, data_dir),
        "migrations": _latest_migrations(),
        "parts": parts,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return BackupResult(directory, parts)


def _latest_migrations() -> dict[str, str]:
    from django.db.migrations.recorder import MigrationRecorder

    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def read_manifest(directory: Path) -> dict:
    directory = Path(directory)
    path = directory / "manifest.json"
    if not path.exists():
        raise BackupError(f"{path} not found: not a backup directory")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError both
        raise BackupError(f"{path} is not a backup manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise BackupError(f"{path}: backup format {found!r} is not {FORMAT}")
    parts = manifest.get("parts")
    if not isinstance(parts, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) and name == Path(name).name
        for name, digest in parts.items()
    ):
        # A part named "../x" or "/etc/x" would be read from outside the backup.
        raise BackupError(f"{path}: 'parts' must map file names of this folder to SHA-256s")
    for name, digest in parts.items():
        if not (directory / name).exists():
            raise BackupError(f"{name} is missing from the backup")
        if _sha256(directory / name) != digest:
            raise BackupError(f"{name} does not match its SHA-256 in manifest.json")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _extract(tar_path: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path) as tar:
        # The "data" filter refuses absolute names, "..", links out of the target and
        # device files: a tampered backup cannot write outside the data directory.
        tar.extractall(target, filter="data")


def restore_backup(directory: Path, *, keys: bool = True) -> dict:
    """Restores a backup into the configured database, which must be empty, and data
    directory, which must not hold files yet. Returns the manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest["database"] != connection.vendor:
        raise BackupError(
            f"the backup is of a {manifest['database']} database; this one is {connection.vendor}"
        )
    if not _database_is_empty():
        raise BackupError(
            "the database is not empty: restore into a new database (createdb …), "
            "never over a running one"
        )
    data_dir = _data_dir()
    files_dir = data_dir / "files"
    if files_dir.exists() and any(files_dir.iterdir()):
        raise BackupError(f"{files_dir} is not empty: restore into a new data directory")

    if connection.vendor == "postgresql":
        args, env = _pg_command("pg_restore")
        args += [
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            str(connection.settings_dict["NAME"]),
            str(directory / "database.dump"),
        ]
        connection.close()
        # A fixed program (pg_dump, pg_restore) with arguments from settings, no shell.
        done = subprocess.run(args, env=env, capture_output=True, text=True)  # noqa: S603  # nosec B603
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    else:
        connection.close()
        target = _sqlite_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(directory / "database.sqlite3", target)

    _extract(directory / "data.tar", data_dir)
    if keys and (directory / "keys.tar").exists():
        staging = data_dir / ".restore-keys"
        _extract(directory / "keys.tar", staging)
        for name in KEY_DIRS:
            if (staging / "data" / name).exists():
                shutil.copytree(staging / "data" / name, data_dir / name, dirs_exist_ok=True)
        if (staging / "ledger-keys").exists():
            shutil.copytree(staging / "ledger-keys", _ledger_key_dir(), dirs_exist_ok=True)
        shutil.rmtree(staging)
    return manifest


@dataclass(frozen=True)
class FileProblem:
    kind: str
    pk: str
    problem: str


def _stored_files() -> Iterator[tuple[str, object, str, str]]:
    """(kind, pk, field file, expected SHA-256) of every stored file the database names.
    Models are read by name (apps.get_model), like the ledger's content providers: this
    layer-4 check walks the rows of several capabilities without their logic."""
    from django.apps import apps

    sources = [
        ("files.StoredFile", "file", "sha256"),
        ("issuance.IssuedDocument", "pdf", "pdf_sha256"),
        ("esign.ApplicantSignature", "evidence", "evidence_sha256"),
    ]
    for label, field, digest in sources:
        model = apps.get_model(label)
        columns = ["pk", field, digest] + (["encrypted"] if label == "files.StoredFile" else [])
        rows = model.objects.exclude(**{field: ""}).only(*columns).order_by("pk")
        for row in rows.iterator(chunk_size=500):
            yield label, row, getattr(row, field), getattr(row, digest)


@dataclass
class CheckResult:
    checked: int
    problems: list[FileProblem]


def check_files() -> CheckResult:
    """Opens every stored file and compares its SHA-256 with its row's."""
    problems: list[FileProblem] = []
    checked = 0
    from madoguchi.files.services import open_stored

    for kind, row, fieldfile, expected in _stored_files():
        checked += 1
        pk = row.pk
        try:
            digest = hashlib.sha256()
            # An encrypted attachment (decision 0022) is hashed as its clear content, as
            # the database records it; one no configured key opens is reported too.
            opened = open_stored(row) if getattr(row, "encrypted", False) else fieldfile.open("rb")
            with opened as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except ValueError:
            problems.append(FileProblem(kind, str(pk), "cannot be decrypted with the keys"))
            continue
        except OSError as exc:
            problems.append(FileProblem(kind, str(pk), f"cannot open: {type(exc).__name__}"))
            continue
        if expected and digest.hexdigest() != expected:
            problems.append(FileProblem(kind, str(pk), "SHA-256 differs from the database's"))
    return CheckResult(checked, problems)
