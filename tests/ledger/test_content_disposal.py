"""--content: only the signed log can say that content was lawfully disposed of.

The export's content/index.json is not signed. A file whose bytes were emptied without an
approved disposal, or an index that claims "disposed" for it, must fail verification and
name it; content destroyed through the real disposal service still verifies.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from madoguchi.files.services import erase_stored_file
from madoguchi.identity.models import User
from madoguchi.ledger.export import export_ledger
from madoguchi.ledger.models import Event
from madoguchi.ledger.services import sequence_now
from madoguchi.ledger.verifier import main as verify_main
from madoguchi.records import services as records

from ..records.conftest import approve_proposal, filed_with_attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(sample, hanako, tmp_path):
    """An expired application with one attachment, filed in the register and ledgered,
    and the body's published key."""
    key_file = tmp_path / "key.txt"
    stored, record = filed_with_attachment(hanako, key_file)
    return stored, record, key_file


def _export(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    export_ledger(target, names=["992011"], content=True)
    return target


def _verify(directory: Path, key_file: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = verify_main([str(directory), "--public-key", str(key_file), "--content"], out=out)
    return status, out.getvalue()


def _set_state(directory: Path, digest: str, state: str | None) -> None:
    index_path = directory / "content" / "index.json"
    states = json.loads(index_path.read_text())
    if state is None:
        states.pop(digest, None)
    else:
        states[digest] = state
    index_path.write_text(json.dumps(states))
    (directory / "content" / digest).unlink(missing_ok=True)


def test_a_file_emptied_without_a_disposal_fails_and_is_named(filed, tmp_path):
    stored, _record, key_file = filed
    status, output = _verify(_export(tmp_path, "honest"), key_file)
    assert status == 0, output
    # The bytes are emptied outside any approved disposal (an administrator, a bug).
    erase_stored_file(stored)
    assert not Event.objects.filter(event_type="records.destroyed").exists()
    target = _export(tmp_path, "emptied")
    assert json.loads((target / "content/index.json").read_text())[stored.sha256] == "missing"
    status, output = _verify(target, key_file)
    assert status == 1, output
    assert f"content {stored.sha256} is missing" in output
    assert "missing or disposed of without a record" in output
    # The index is not signed: claiming "disposed" (what the export used to say) fails too.
    _set_state(target, stored.sha256, "disposed")
    status, output = _verify(target, key_file)
    assert status == 1, output
    assert f"content {stored.sha256} is claimed disposed of by the export" in output
    assert "no records.destroyed entry of the signed log disposes of it" in output


def test_a_file_left_out_of_the_index_fails_and_is_named(filed, tmp_path):
    stored, _record, key_file = filed
    target = _export(tmp_path, "left-out")
    for state in (None, "unavailable"):
        _set_state(target, stored.sha256, state)
        status, output = _verify(target, key_file)
        assert status == 1, output
        assert (
            f"content {stored.sha256} is a file this entry lists but it is not in the export"
            in (output)
        )


def test_content_destroyed_by_an_approved_disposal_still_verifies(filed, tmp_path):
    stored, record, key_file = filed
    officer = User.objects.get(email="bunsho@aoba.example.jp")
    director = User.objects.get(email="somu.kacho@aoba.example.jp")
    proposal = records.propose_disposition(
        actor=officer, file=record.file, action="destroy", reason="保存期間満了のため"
    )
    approve_proposal(director, proposal)
    sequence_now()
    destroyed = Event.objects.get(event_type="records.destroyed")
    assert stored.sha256 in destroyed.details["content_hashes"]
    target = _export(tmp_path, "disposed")
    assert json.loads((target / "content/index.json").read_text())[stored.sha256] == "disposed"
    status, output = _verify(target, key_file)
    assert status == 0, output
    assert "lawfully disposed" in output and ", 0 lawfully disposed" not in output
    assert "without a record" not in output
    # The signed log is what counts: an index that does not say "disposed" changes nothing.
    _set_state(target, stored.sha256, None)
    status, output = _verify(target, key_file)
    assert status == 0, output
