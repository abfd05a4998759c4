"""The sequencer: queued events become contiguous leaves, tiles and a signed checkpoint."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from madoguchi.ledger import keys, merkle, note
from madoguchi.ledger.models import Checkpoint, Entry, Event, Log, LogKey, PendingEvent, Tile
from madoguchi.ledger.services import sequence_now
from madoguchi.ledger.tiles import TileHashes
from madoguchi.organisation.models import Body

from .helpers import assert_log_consistent, leaves_of, write_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def body(db):
    return Body.objects.create(code="992011", name="あおば市", kind=Body.Kind.MUNICIPALITY)


def test_every_written_event_is_queued_by_the_database(body):
    events = write_events(3, body_id=body.pk)
    assert set(PendingEvent.objects.values_list("event_id", flat=True)) == {e.pk for e in events}


def test_a_batch_appends_contiguous_leaves_and_signs_a_checkpoint(body):
    events = write_events(5, body_id=body.pk)
    result = sequence_now()
    log = Log.objects.get(body=body)
    assert log.origin == keys.origin_for("992011")
    # The five events, and the event recording the log's first signing key.
    assert result.appended == 6
    assert not PendingEvent.objects.exists()
    assert_log_consistent(log)
    indices = dict(Entry.objects.filter(log=log).values_list("event_id", "index"))
    assert [indices[e.pk] for e in events] == [0, 1, 2, 3, 4]
    key_event = Event.objects.get(event_type="ledger.signing_key_configured")
    assert indices[key_event.pk] == 5
    assert key_event.details["verifier_key"] == LogKey.objects.get(log=log).verifier_key
    # Nothing new: no new checkpoint.
    assert sequence_now().appended == 0
    assert Checkpoint.objects.filter(log=log).count() == 2


def test_the_sequencers_loop_takes_one_batch_per_interval_while_events_keep_coming(body):
    """`ledger sequence --interval` stops after a batch that took the whole queue: what
    was committed during it (here the event recording the log's first key, written by
    that batch) waits for the next interval instead of a checkpoint of its own at once.
    A full batch is followed at once by the next one, so a backlog is drained all the
    same; the on-demand sequencer still drains to the end."""
    from madoguchi.ledger.sequencer import sequence_pending

    first = write_events(2, body_id=body.pk)
    assert sequence_pending(limit=3, until_partial_batch=True).appended == 2
    log = Log.objects.get(body=body)
    key_event = Event.objects.get(event_type="ledger.signing_key_configured")
    assert list(PendingEvent.objects.values_list("event_id", flat=True)) == [key_event.pk]
    assert list(Checkpoint.objects.filter(log=log).values_list("size", flat=True)) == [2]

    # A backlog (the key's event and seven more) goes in full batches, then the rest.
    later = write_events(7, body_id=body.pk, prefix="later")
    assert sequence_pending(limit=3, until_partial_batch=True).appended == 8
    assert not PendingEvent.objects.exists()
    sizes = list(Checkpoint.objects.filter(log=log).order_by("size").values_list("size", flat=True))
    assert sizes == [2, 5, 8, 10]
    logged = set(Entry.objects.values_list("event_id", flat=True))
    assert logged == {e.pk for e in [*first, *later]} | {key_event.pk}
    assert sequence_pending().appended == 0
    assert_log_consistent(log)


def test_tiles_hold_the_leaf_hashes_and_the_tree_above_them(body):
    write_events(600, body_id=body.pk)
    sequence_now()
    log = Log.objects.get(body=body)
    leaves = leaves_of(log)
    tree = merkle.Tree.from_leaves(leaves)
    stored = TileHashes(log)
    assert stored.leaf_hashes(len(leaves)) == [merkle.leaf_hash(leaf) for leaf in leaves]
    # Level 8 (tile level 1) holds the roots of the complete 256-leaf subtrees.
    assert Tile.objects.get(log=log, level=1, index=0).hashes == tree.hash_at(8, 0) + tree.hash_at(
        8, 1
    )
    for level, index in [(0, 599), (3, 70), (8, 1), (9, 0)]:
        assert stored.hash_at(level, index) == tree.hash_at(level, index)
    for index in (0, 255, 256, 599):
        assert merkle.inclusion_proof(index, tree.size, stored.hash_at) == tree.inclusion_proof(
            index
        )


def test_each_body_has_its_own_log_and_body_less_events_the_deployment_log(body):
    other = Body.objects.create(code="993417", name="みなと町", kind=Body.Kind.MUNICIPALITY)
    write_events(2, body_id=body.pk)
    write_events(3, body_id=other.pk)
    write_events(1, body_id=None)
    sequence_now()
    origins = set(Log.objects.values_list("origin", flat=True))
    assert origins == {keys.origin_for("992011"), keys.origin_for("993417"), keys.origin_for(None)}
    for log in Log.objects.all():
        assert_log_consistent(log)
    assert Entry.objects.filter(log__body=other).count() == 4  # 3 + its key event


def test_leaves_are_canonical_and_hold_no_personal_identifiers(body):
    (event,) = write_events(1, body_id=body.pk)
    sequence_now()
    entry = Entry.objects.get(event=event)
    document = json.loads(bytes(entry.leaf))
    assert document["index"] == entry.index == 0
    assert document["origin"] == entry.log.origin
    assert document["type"] == "test.happened"
    assert document["subject"] == {"type": "application", "id": "app-0"}
    assert document["content_sha256"] == event.content_sha256
    assert document["actor"]["kind"] == "resident"
    # The resident's account id never appears; a keyed pseudonym stands for it.
    assert document["actor"]["ref"] == keys.pseudonym("resident", "1000", keys.pseudonym_key())
    assert "1000" not in document["actor"]["ref"]
    assert document["time"].endswith("Z") and len(document["time"]) == 27


def test_a_missing_key_with_demo_keys_off_stops_the_batch_and_keeps_the_queue(
    body, settings, tmp_path
):
    settings.MADOGUCHI_LEDGER_KEY_DIR = str(tmp_path / "empty")
    settings.MADOGUCHI_LEDGER_DEMO_KEYS = False
    settings.MADOGUCHI_LEDGER_PSEUDONYM_KEY = "configured"
    write_events(2, body_id=body.pk)
    with (
        pytest.raises(keys.LedgerKeyMissing, match="madoguchi ledger keygen"),
        transaction.atomic(),
    ):
        sequence_now()
    assert PendingEvent.objects.count() == 2
    assert not Entry.objects.exists()


def test_a_missing_pseudonym_key_is_named_as_a_setting_not_a_signing_key(body, settings, tmp_path):
    settings.MADOGUCHI_LEDGER_KEY_DIR = str(tmp_path)
    settings.MADOGUCHI_LEDGER_DEMO_KEYS = False
    settings.MADOGUCHI_LEDGER_PSEUDONYM_KEY = ""
    keys.write_key(note.Signer.generate(keys.origin_for("992011")), tmp_path)
    write_events(2, body_id=body.pk)
    with pytest.raises(CommandError) as refused:
        call_command("ledger", "sequence")
    message = str(refused.value)
    assert message.startswith("MADOGUCHI_LEDGER_PSEUDONYM_KEY is not set.")
    assert "keygen" not in message and "the environment" not in message
    assert PendingEvent.objects.count() == 2
    assert not Entry.objects.exists()


def test_a_configured_key_is_used_and_a_new_key_is_recorded(body, settings, tmp_path):
    settings.MADOGUCHI_LEDGER_KEY_DIR = str(tmp_path)
    settings.MADOGUCHI_LEDGER_DEMO_KEYS = False
    settings.MADOGUCHI_LEDGER_PSEUDONYM_KEY = "configured"
    origin = keys.origin_for("992011")
    first = note.Signer.generate(origin)
    path = keys.write_key(first, tmp_path)
    write_events(1, body_id=body.pk)
    sequence_now()
    log = Log.objects.get(body=body)
    assert LogKey.objects.get(log=log).verifier_key == first.verifier().to_string()
    assert not LogKey.objects.get(log=log).is_demo
    # Rotation: replace the key file; the change is recorded and ledgered.
    path.unlink()
    second = note.Signer.generate(origin)
    keys.write_key(second, tmp_path)
    write_events(1, body_id=body.pk)
    sequence_now()
    assert list(LogKey.objects.filter(log=log).values_list("verifier_key", flat=True)) == [
        first.verifier().to_string(),
        second.verifier().to_string(),
    ]
    changes = Event.objects.filter(event_type="ledger.signing_key_configured").order_by("id")
    assert changes.last().details["replaces"] == first.verifier().to_string()
    latest = Checkpoint.objects.filter(log=log).order_by("-size").first()
    note.open_checkpoint(latest.note, [second.verifier()])
    with pytest.raises(note.NoteError):
        note.open_checkpoint(latest.note, [first.verifier()])


def test_demo_keys_are_marked(body, settings, tmp_path):
    settings.MADOGUCHI_LEDGER_KEY_DIR = str(tmp_path)
    write_events(1, body_id=body.pk)
    sequence_now()
    (path,) = tmp_path.glob("*.key")
    assert path.name.startswith("DEMO-")
    assert path.read_text().startswith("# DEMO KEY")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert LogKey.objects.get().is_demo


def test_people_in_the_details_are_published_as_their_actor_pseudonyms(body):
    from madoguchi.ledger.check import check_database
    from madoguchi.ledger.services import person, person_id, record_event

    with transaction.atomic():
        assigned = record_event(
            event_type="application.assigned",
            actor_kind="staff",
            actor_id=31,
            subject_type="application",
            subject_id="app-1",
            body_id=body.pk,
            details={"assignee": person("staff", 32), "previous": person("staff", None)},
        )
        acted = record_event(
            event_type="test.acted",
            actor_kind="staff",
            actor_id=32,
            subject_type="application",
            subject_id="app-1",
            body_id=body.pk,
        )
    sequence_now()
    leaf = {e: json.loads(bytes(leaf)) for e, leaf in Entry.objects.values_list("event", "leaf")}
    published = leaf[assigned.pk]["details"]
    assert published["previous"] is None
    # The assignee is the same pseudonym as the same person acting in another entry.
    assert published["assignee"] == {"kind": "staff", "ref": leaf[acted.pk]["actor"]["ref"]}

    # …and the raw id is no value anywhere (a substring test would trip on the hex pseudonym).
    def scalars(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from scalars(item)
        elif isinstance(value, list):
            for item in value:
                yield from scalars(item)
        else:
            yield value

    assert not {32, "32"} & set(scalars(published))
    # The row keeps the account id for the platform, and the check rebuilds the leaf.
    assert person_id(Event.objects.get(pk=assigned.pk).details["assignee"]) == "32"
    assert check_database().problems == []


def test_a_person_is_named_with_a_known_kind():
    from madoguchi.ledger.services import person, person_id

    with pytest.raises(ValueError):
        person("applicant", 3)
    # Events written before people were marked keep bare ids, which read back alike.
    assert person_id(7) == person_id("7") == person_id(person("resident", 7)) == "7"
    assert person_id(None) is None and person_id(person("staff", None)) is None
