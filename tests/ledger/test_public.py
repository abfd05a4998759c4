"""The public ledger: pages, the JSON API and the C2SP tlog-tiles layout, checked with the
verifier's own primitives."""

from __future__ import annotations

import base64
import struct

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.ledger import merkle, note
from madoguchi.ledger.models import Log
from madoguchi.ledger.services import sequence_now
from madoguchi.ledger.tiles import tile_path
from madoguchi.organisation.models import Body

from .helpers import leaves_of, write_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(db):
    body = Body.objects.create(code="992011", name="あおば市", kind=Body.Kind.MUNICIPALITY)
    write_events(300, body_id=body.pk)
    sequence_now()
    write_events(20, body_id=body.pk)
    sequence_now()
    return Log.objects.get(body=body)


def _verifier(client: Client) -> note.Verifier:
    text = client.get("/ledger/992011/public-key").content.decode()
    return note.Verifier.from_string(text.splitlines()[0])


def test_the_pages_show_logs_checkpoints_and_entries(log, client):
    home = client.get(reverse("ledger:home"))
    assert home.status_code == 200
    assert "あおば市" in home.content.decode()
    assert "デモ用の鍵" in home.content.decode()  # the tests sign with demo keys
    page = client.get(reverse("ledger:log", args=["992011"]))
    assert page.status_code == 200 and log.origin in page.content.decode()
    entry = client.get(reverse("ledger:entry", args=["992011", 5]))
    assert entry.status_code == 200
    assert merkle.leaf_hash(leaves_of(log)[5]).hex() in entry.content.decode()
    assert client.get(reverse("ledger:entry", args=["992011", 10_000])).status_code == 404
    assert client.get(reverse("ledger:log", args=["123456"])).status_code == 404


def test_the_checkpoint_is_a_signed_note_of_the_whole_log(log, client):
    response = client.get("/ledger/992011/checkpoint")
    assert response["Content-Type"].startswith("text/plain")
    checkpoint, _ = note.open_checkpoint(response.content.decode(), [_verifier(client)])
    leaves = leaves_of(log)
    assert checkpoint.size == len(leaves)
    assert checkpoint.root_hash == merkle.Tree.from_leaves(leaves).root()


def test_api_entries_and_proofs_verify_against_the_checkpoint(log, client):
    latest = client.get("/api/ledger/logs/992011/checkpoint").json()
    checkpoint, _ = note.open_checkpoint(latest["note"], [_verifier(client)])
    entries = client.get("/api/ledger/logs/992011/entries?start=250&end=260").json()
    assert [item["index"] for item in entries] == list(range(250, 260))
    for item in entries:
        leaf = base64.b64decode(item["leaf"])
        proof = client.get(
            f"/api/ledger/logs/992011/proofs/inclusion?index={item['index']}&tree_size={checkpoint.size}"
        ).json()
        merkle.verify_inclusion(
            item["index"],
            checkpoint.size,
            merkle.leaf_hash(leaf),
            [base64.b64decode(p) for p in proof["proof"]],
            checkpoint.root_hash,
        )
    first = client.get("/api/ledger/logs/992011").json()["checkpoint"]["size"]
    assert first == checkpoint.size
    old_size = 301  # the first batch and its key event
    consistency = client.get(
        f"/api/ledger/logs/992011/proofs/consistency?first={old_size}&second={checkpoint.size}"
    ).json()
    merkle.verify_consistency(
        old_size,
        checkpoint.size,
        base64.b64decode(consistency["first_root"]),
        checkpoint.root_hash,
        [base64.b64decode(p) for p in consistency["proof"]],
    )
    assert (
        base64.b64decode(consistency["first_root"])
        == merkle.Tree.from_leaves(leaves_of(log)[:old_size]).root()
    )


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/ledger/logs/999999/checkpoint", 404),
        ("/api/ledger/logs/992011/entries?start=0&end=5000", 400),
        ("/api/ledger/logs/992011/entries?start=-1", 422),
        ("/api/ledger/logs/992011/entries/100000", 404),
        ("/api/ledger/logs/992011/proofs/inclusion?index=400&tree_size=321", 400),
        ("/api/ledger/logs/992011/proofs/inclusion?index=1&tree_size=100000", 400),
        ("/api/ledger/logs/992011/proofs/inclusion?index=x", 422),
        ("/api/ledger/logs/992011/proofs/consistency?first=10&second=5", 400),
    ],
)
def test_impossible_requests_get_a_clear_error(log, client, url, status):
    response = client.get(url)
    assert response.status_code == status, response.content
    assert response.json()["detail"]


def test_tlog_tiles_serve_hashes_and_entry_bundles(log, client):
    leaves = leaves_of(log)
    tree = merkle.Tree.from_leaves(leaves)
    size = len(leaves)  # 322: one full tile of leaves, one partial
    full = client.get(f"/ledger/992011/{tile_path(0, 0)}")
    assert full.status_code == 200
    assert full.content == b"".join(tree.levels[0][:256])
    partial = client.get(f"/ledger/992011/{tile_path(0, 1, size - 256)}")
    assert partial.content == b"".join(tree.levels[0][256:size])
    level_one = client.get(f"/ledger/992011/{tile_path(1, 0, 1)}")
    assert level_one.content == tree.hash_at(8, 0)
    bundle = client.get(f"/ledger/992011/{tile_path('entries', 0)}").content
    decoded, position = [], 0
    while position < len(bundle):
        (length,) = struct.unpack(">H", bundle[position : position + 2])
        decoded.append(bundle[position + 2 : position + 2 + length])
        position += 2 + length
    assert decoded == leaves[:256]
    # Beyond the published tree, or malformed: not found.
    for path in (
        tile_path(0, 2),
        tile_path(0, 1),
        tile_path(1, 0, 2),
        "tile/0/x000/001",
        "tile/a/000",
    ):
        assert client.get(f"/ledger/992011/{path}").status_code == 404, path
