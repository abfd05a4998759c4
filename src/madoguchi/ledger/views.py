"""Public pages of the ledger (/ledger/): checkpoints, entries and their proofs, and the
C2SP tlog-tiles layout (checkpoint, tile/<L>/<N>, tile/entries/<N>) for tools.

Nothing here is personal: leaves hold hashes and pseudonyms only (decision 0010).
"""

from __future__ import annotations

import base64
import json
import struct

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import merkle, selectors
from .models import Log
from .sequencer import TILE_WIDTH
from .tiles import MissingTile, TileHashes, parse_tile_index


def _log(name: str) -> Log:
    log = selectors.log_by_name(name)
    if log is None:
        raise Http404
    return log


def log_name(log: Log) -> str:
    return log.body.code if log.body_id else "deployment"


def _text(
    body: str | bytes, *, content_type: str = "text/plain; charset=utf-8", cache: str = "no-cache"
):
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = cache
    response["Access-Control-Allow-Origin"] = "*"  # public data, for browser-based verifiers
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    items = []
    for log in selectors.logs():
        latest = selectors.latest_checkpoint(log)
        items.append(
            {
                "log": log,
                "name": log_name(log),
                "checkpoint": latest,
                "keys": list(selectors.public_keys(log)),
            }
        )
    return render(request, "ledger/home.html", {"items": items})


@require_GET
def log_detail(request: HttpRequest, name: str) -> HttpResponse:
    log = _log(name)
    latest = selectors.latest_checkpoint(log)
    size = latest.size if latest else 0
    # The newest entries first, 50 a page.
    paginator = Paginator(range(size - 1, -1, -1), 50)
    page = paginator.get_page(request.GET.get("page"))
    indices = list(page)
    rows = []
    if indices:
        by_index = {
            entry.index: entry
            for entry in selectors.entries(log, min(indices), max(indices) + 1).select_related(
                "event"
            )
        }
        rows = [by_index[i] for i in indices if i in by_index]
    context = {
        "log": log,
        "name": log_name(log),
        "checkpoint": latest,
        "keys": list(selectors.public_keys(log)),
        "page": page,
        "rows": rows,
    }
    return render(request, "ledger/log.html", context)


@require_GET
def entry_detail(request: HttpRequest, name: str, index: int) -> HttpResponse:
    log = _log(name)
    entry = selectors.entry_at(log, index)
    latest = selectors.latest_checkpoint(log)
    if entry is None or latest is None or index >= latest.size:
        raise Http404
    leaf = bytes(entry.leaf)
    proof = selectors.inclusion_proof(log, index, latest.size)
    context = {
        "log": log,
        "name": log_name(log),
        "entry": entry,
        "leaf_text": json.dumps(json.loads(leaf), ensure_ascii=False, indent=2),
        "leaf_hash": merkle.leaf_hash(leaf).hex(),
        "checkpoint": latest,
        "first_checkpoint": selectors.checkpoint_covering(log, index),
        "proof": [item.hex() for item in proof],
    }
    return render(request, "ledger/entry.html", context)


# --- C2SP tlog-tiles -------------------------------------------------------------------


@require_GET
def checkpoint(request: HttpRequest, name: str) -> HttpResponse:
    latest = selectors.latest_checkpoint(_log(name))
    if latest is None:
        raise Http404
    return _text(latest.note)


@require_GET
def public_key(request: HttpRequest, name: str) -> HttpResponse:
    keys = selectors.public_keys(_log(name))
    return _text("".join(f"{key.verifier_key}\n" for key in keys))


@require_GET
def tile(request: HttpRequest, name: str, path: str) -> HttpResponse:
    log = _log(name)
    parts = path.split("/")
    latest = selectors.latest_checkpoint(log)
    if latest is None or len(parts) < 2:
        raise Http404
    try:
        index, width = parse_tile_index(parts[1:])
    except ValueError:
        raise Http404 from None
    immutable = "public, max-age=31536000, immutable"
    if parts[0] == "entries":
        start = index * TILE_WIDTH
        count = width or TILE_WIDTH
        if start + count > latest.size:
            raise Http404
        leaves = [bytes(e.leaf) for e in selectors.entries(log, start, start + count)]
        if len(leaves) != count:
            raise Http404
        bundle = b"".join(struct.pack(">H", len(leaf)) + leaf for leaf in leaves)
        return _text(bundle, content_type="application/octet-stream", cache=immutable)
    if not parts[0].isdigit() or parts[0] != str(int(parts[0])):
        raise Http404
    level = int(parts[0])
    count = width or TILE_WIDTH
    # The nodes of tree level 8·level that exist in the published tree.
    available = latest.size >> (8 * level)
    if index * TILE_WIDTH + count > available:
        raise Http404
    try:
        hashes = TileHashes(log).hashes(level, index * TILE_WIDTH, count)
    except MissingTile:
        raise Http404 from None
    return _text(b"".join(hashes), content_type="application/octet-stream", cache=immutable)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()
