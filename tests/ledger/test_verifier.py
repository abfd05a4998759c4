"""The offline verifier: an honest export verifies; any single change is found and named."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.ledger import content, keys, merkle, note
from madoguchi.ledger.export import ExportError, export_ledger
from madoguchi.ledger.models import Log
from madoguchi.ledger.services import sequence_now
from madoguchi.ledger.verifier import main as verify_main
from madoguchi.organisation.models import Body

from .helpers import write_events

pytestmark = pytest.mark.django_db
HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def run_verifier(directory: Path, key_file: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    status = verify_main([str(directory), "--public-key", str(key_file), *extra], out=out)
    return status, out.getvalue()


@pytest.fixture
def exported(db, tmp_path):
    """A log of 3 batches and the key event (4 checkpoints) and its export, with the published key."""
    body = Body.objects.create(code="992011", name="あおば市", kind=Body.Kind.MUNICIPALITY)
    for batch in range(3):
        write_events(7 + batch, body_id=body.pk, prefix=f"batch{batch}")
        sequence_now()
    directory = tmp_path / "export"
    export_ledger(directory)
    log = Log.objects.get(body=body)
    signer, _demo = keys.signer_for(log.origin)
    key_file = tmp_path / "key.txt"
    key_file.write_text(signer.verifier().to_string() + "\n")
    return directory, key_file, log


def _entries(directory: Path) -> list[bytes]:
    return (directory / "logs/992011/entries.jsonl").read_bytes().splitlines()


def _write_entries(directory: Path, lines: list[bytes]) -> None:
    (directory / "logs/992011/entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def _copy(directory: Path, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("tampered") / "export"
    shutil.copytree(directory, target)
    return target


def test_an_honest_export_verifies(exported):
    directory, key_file, log = exported
    status, output = run_verifier(directory, key_file)
    assert status == 0, output
    assert f"ok: {log.origin}: 25 entries, 4 signed checkpoints (largest 25)" in output
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["logs"][0]["size"] == 25
    assert len(list((directory / "logs/992011/checkpoints").glob("*.txt"))) == 4


@HYPOTHESIS
@given(data=st.data())
def test_changing_any_entry_is_detected_and_named(exported, tmp_path_factory, data):
    directory, key_file, _log = exported
    lines = _entries(directory)
    index = data.draw(st.integers(0, len(lines) - 1), label="index")
    document = json.loads(lines[index])
    document["details"] = {"changed": True}
    lines[index] = json.dumps(document, separators=(",", ":")).encode()
    target = _copy(directory, tmp_path_factory)
    _write_entries(target, lines)
    status, output = run_verifier(target, key_file)
    assert status == 1
    assert f"first bad entry: {index}\n" in output


@HYPOTHESIS
@given(data=st.data())
def test_deleting_any_entry_is_detected_and_named(exported, tmp_path_factory, data):
    directory, key_file, _log = exported
    lines = _entries(directory)
    index = data.draw(st.integers(0, len(lines) - 1), label="index")
    del lines[index]
    target = _copy(directory, tmp_path_factory)
    _write_entries(target, lines)
    status, output = run_verifier(target, key_file)
    assert status == 1
    assert f"first bad entry: {index}\n" in output


@HYPOTHESIS
@given(data=st.data())
def test_inserting_an_entry_anywhere_is_detected_and_named(exported, tmp_path_factory, data):
    directory, key_file, _log = exported
    lines = _entries(directory)
    index = data.draw(st.integers(0, len(lines)), label="index")
    forged = json.loads(lines[min(index, len(lines) - 1)])
    forged["type"] = "forged.event"
    lines.insert(index, json.dumps(forged, separators=(",", ":")).encode())
    target = _copy(directory, tmp_path_factory)
    _write_entries(target, lines)
    status, output = run_verifier(target, key_file)
    assert status == 1
    assert f"first bad entry: {index}\n" in output


@HYPOTHESIS
@given(data=st.data())
def test_reordering_two_entries_is_detected_and_named(exported, tmp_path_factory, data):
    directory, key_file, _log = exported
    lines = _entries(directory)
    first = data.draw(st.integers(0, len(lines) - 2), label="first")
    second = data.draw(st.integers(first + 1, len(lines) - 1), label="second")
    lines[first], lines[second] = lines[second], lines[first]
    target = _copy(directory, tmp_path_factory)
    _write_entries(target, lines)
    status, output = run_verifier(target, key_file)
    assert status == 1
    assert f"first bad entry: {first}\n" in output


def test_without_the_stored_hashes_the_bad_range_is_still_named(exported, tmp_path_factory):
    directory, key_file, _log = exported
    target = _copy(directory, tmp_path_factory)
    (target / "logs/992011/hashes.bin").unlink()
    lines = _entries(target)
    lines[3], lines[4] = lines[4], lines[3]
    _write_entries(target, lines)
    status, output = run_verifier(target, key_file)
    assert status == 1
    # Each leaf names its own index: the first misplaced one is found.
    assert "first bad entry: 3\n" in output


def test_tampered_stored_hashes_are_not_trusted(exported, tmp_path_factory):
    directory, key_file, _log = exported
    target = _copy(directory, tmp_path_factory)
    hashes = bytearray((target / "logs/992011/hashes.bin").read_bytes())
    hashes[0] ^= 1
    (target / "logs/992011/hashes.bin").write_bytes(bytes(hashes))
    lines = _entries(target)
    document = json.loads(lines[9])
    document["details"] = {"changed": True}
    lines[9] = json.dumps(document).encode()
    _write_entries(target, lines)
    status, output = run_verifier(target, key_file)
    assert status == 1
    # The forged hashes would blame entry 0; the verifier does not believe them.
    assert "first bad entry: 0\n" not in output
    assert "among entries 8…15" in output


def test_an_entry_beyond_the_last_checkpoint_is_refused(exported, tmp_path_factory):
    directory, key_file, _log = exported
    target = _copy(directory, tmp_path_factory)
    lines = _entries(target)
    _write_entries(target, [*lines, lines[-1]])
    status, output = run_verifier(target, key_file)
    assert status == 1
    assert "first bad entry: 25\n" in output and "not covered by any signed checkpoint" in output


def test_a_checkpoint_signed_by_another_key_is_refused(exported, tmp_path_factory):
    directory, key_file, log = exported
    target = _copy(directory, tmp_path_factory)
    impostor = note.Signer.generate(log.origin)
    path = sorted((target / "logs/992011/checkpoints").glob("*.txt"))[-1]
    checkpoint = note.parse_checkpoint(note.split(path.read_text())[0])
    path.write_text(note.sign_checkpoint(checkpoint, impostor))
    status, output = run_verifier(target, key_file)
    assert status == 1
    assert f"checkpoint {path.name} is refused: the note is not signed by a trusted key" in output


def test_the_wrong_public_key_refuses_everything(exported, tmp_path):
    directory, _key_file, log = exported
    other = tmp_path / "other.txt"
    other.write_text(note.Signer.generate(log.origin).verifier().to_string() + "\n")
    status, output = run_verifier(directory, other)
    assert status == 1
    assert output.count("is refused") == 4
    missing = tmp_path / "unrelated.txt"
    missing.write_text(note.Signer.generate("example.com/else").verifier().to_string() + "\n")
    status, output = run_verifier(directory, missing)
    assert status == 1 and "no public key for this origin" in output


def test_a_fork_is_reported(exported, tmp_path_factory):
    directory, key_file, log = exported
    target = _copy(directory, tmp_path_factory)
    signer, _demo = keys.signer_for(log.origin)
    fork = note.Checkpoint(log.origin, 25, merkle.leaf_hash(b"another history"))
    (target / "logs/992011/checkpoints/fork.txt").write_text(note.sign_checkpoint(fork, signer))
    status, output = run_verifier(target, key_file)
    assert status == 1
    assert "fork: checkpoints" in output and "size 25 with different roots" in output


def test_an_unreadable_export_or_key_file_exits_2(tmp_path, exported):
    _directory, key_file, _log = exported
    status, output = run_verifier(tmp_path / "nowhere", key_file)
    assert status == 2 and "cannot read" in output
    bad_key = tmp_path / "bad.txt"
    bad_key.write_text("not a key\n")
    status, output = run_verifier(tmp_path, bad_key)
    assert status == 2 and "line 1" in output


def test_changed_content_is_detected_with_content(exported, tmp_path):
    _directory, key_file, _log = exported
    # A provider standing in for the files and records apps: hash -> bytes.
    stored = {}
    for number in range(7):
        data = json.dumps(
            {"n": number}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode()
        stored[hashlib.sha256(data).hexdigest()] = data
    content.register_provider("test", stored.get)
    try:
        target = tmp_path / "with-content"
        export_ledger(target, content=True)
        status, output = run_verifier(target, key_file, "--content")
        assert status == 0, output
        assert "content: 21 checked" in output  # n = 0…6 in each of the 3 batches
        victim = sorted(stored)[0]
        (target / "content" / victim).write_bytes(b"changed")
        status, output = run_verifier(target, key_file, "--content")
        assert status == 1
        assert f"stored content {victim[:16]}… no longer hashes" in output
    finally:
        content.unregister_provider("test")


def test_the_export_refuses_a_directory_that_is_not_empty(exported):
    directory, _key_file, _log = exported
    with pytest.raises(ExportError, match="not empty"):
        export_ledger(directory)


def test_the_copied_tools_run_without_django(exported, tmp_path):
    directory, key_file, _log = exported
    script = (
        "import runpy, sys; sys.modules['django'] = None; sys.modules['madoguchi'] = None; "
        f"sys.argv = ['verifier.py', {str(directory)!r}, '--public-key', {str(key_file)!r}]; "
        f"runpy.run_path({str(directory / 'tools' / 'verifier.py')!r}, run_name='__main__')"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ok:" in completed.stdout


def test_the_commands_export_verify_and_check(exported, tmp_path):
    _directory, key_file, _log = exported
    target = tmp_path / "by-command"
    out = io.StringIO()
    call_command("ledger", "export", str(target), stdout=out)
    assert "25 entries" in out.getvalue()
    out = io.StringIO()
    call_command("ledger", "verify", str(target), "--public-key", str(key_file), stdout=out)
    assert "ok:" in out.getvalue()
    lines = _entries(target)
    lines[2] = lines[2].replace(b'"time":"', b'"time":"1')
    _write_entries(target, lines)
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "ledger", "verify", str(target), "--public-key", str(key_file), stdout=io.StringIO()
        )
    assert exit_info.value.code == 1
    out = io.StringIO()
    call_command("ledger", "check", stdout=out)
    assert "ok" in out.getvalue()
