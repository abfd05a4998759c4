"""The public JSON API of the ledger: logs, checkpoints, entries and proofs.

No authentication and no personal data (leaves hold hashes and pseudonyms). Hashes and
leaves are base64, as in C2SP checkpoints; hex copies are given for people.
"""

from __future__ import annotations

import base64
import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from . import merkle, selectors
from .models import Log

router = Router(tags=["ledger"])
MAX_ENTRIES = 1000


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class KeyOut(Schema):
    verifier_key: str
    first_size: int
    demo: bool


class CheckpointOut(Schema):
    origin: str
    size: int
    root_hash: str = Field(description="base64")
    root_hash_hex: str
    note: str = Field(description="The C2SP signed note (tlog-checkpoint)")
    signed_at: dt.datetime


class LogOut(Schema):
    name: str = Field(description="The body code, or 'deployment'")
    origin: str
    body: str | None
    keys: list[KeyOut]
    checkpoint: CheckpointOut | None


class EntryOut(Schema):
    index: int
    leaf: str = Field(description="The exact leaf bytes, base64 (RFC 8785 canonical JSON)")
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ leaf), base64")
    leaf_hash_hex: str


class InclusionOut(Schema):
    index: int
    tree_size: int
    leaf_hash: str
    proof: list[str] = Field(description="The audit path, base64, bottom-up (RFC 9162)")
    root_hash: str


class ConsistencyOut(Schema):
    first: int
    second: int
    proof: list[str]
    first_root: str
    second_root: str


class EntriesQuery(Schema):
    start: int = Field(0, ge=0)
    end: int | None = Field(None, ge=0, description=f"exclusive; at most {MAX_ENTRIES} entries")


class InclusionQuery(Schema):
    index: int = Field(ge=0)
    tree_size: int | None = Field(None, ge=1, description="default: the latest checkpoint")


class ConsistencyQuery(Schema):
    first: int = Field(ge=0)
    second: int | None = Field(None, ge=0, description="default: the latest checkpoint")


def _log(name: str) -> Log:
    log = selectors.log_by_name(name)
    if log is None:
        raise HttpError(404, f"No ledger named {name!r} / 台帳が見つかりません")
    return log


def _name(log: Log) -> str:
    return log.body.code if log.body_id else "deployment"


def _checkpoint_out(checkpoint) -> dict | None:
    if checkpoint is None:
        return None
    root = bytes.fromhex(checkpoint.root_hash)
    return {
        "origin": checkpoint.log.origin,
        "size": checkpoint.size,
        "root_hash": _b64(root),
        "root_hash_hex": checkpoint.root_hash,
        "note": checkpoint.note,
        "signed_at": checkpoint.created_at,
    }


def _log_out(log: Log) -> dict:
    return {
        "name": _name(log),
        "origin": log.origin,
        "body": log.body.code if log.body_id else None,
        "keys": [
            {"verifier_key": k.verifier_key, "first_size": k.first_size, "demo": k.is_demo}
            for k in selectors.public_keys(log)
        ],
        "checkpoint": _checkpoint_out(selectors.latest_checkpoint(log)),
    }


def _latest_size(log: Log) -> int:
    latest = selectors.latest_checkpoint(log)
    return latest.size if latest else 0


@router.get("/ledger/logs", response=list[LogOut], auth=None, url_name="ledger_logs")
def list_logs(request: HttpRequest):
    return [_log_out(log) for log in selectors.logs()]


@router.get("/ledger/logs/{name}", response=LogOut, auth=None, url_name="ledger_log")
def get_log(request: HttpRequest, name: str):
    return _log_out(_log(name))


@router.get(
    "/ledger/logs/{name}/checkpoint",
    response=CheckpointOut,
    auth=None,
    url_name="ledger_checkpoint",
)
def get_checkpoint(request: HttpRequest, name: str):
    checkpoint = selectors.latest_checkpoint(_log(name))
    if checkpoint is None:
        raise HttpError(404, "The ledger has no checkpoint yet / まだ記録がありません")
    return _checkpoint_out(checkpoint)


@router.get(
    "/ledger/logs/{name}/entries", response=list[EntryOut], auth=None, url_name="ledger_entries"
)
def list_entries(request: HttpRequest, name: str, query: Query[EntriesQuery]):
    log = _log(name)
    size = _latest_size(log)
    requested_end = query.end if query.end is not None else query.start + MAX_ENTRIES
    end = min(size, requested_end)
    if requested_end - query.start > MAX_ENTRIES:
        raise HttpError(
            400, f"At most {MAX_ENTRIES} entries at a time / 一度に{MAX_ENTRIES}件までです"
        )
    result = []
    for entry in selectors.entries(log, query.start, end):
        leaf = bytes(entry.leaf)
        value = merkle.leaf_hash(leaf)
        result.append(
            {
                "index": entry.index,
                "leaf": _b64(leaf),
                "leaf_hash": _b64(value),
                "leaf_hash_hex": value.hex(),
            }
        )
    return result


@router.get(
    "/ledger/logs/{name}/entries/{index}",
    response=EntryOut,
    auth=None,
    url_name="ledger_entry",
)
def get_entry(request: HttpRequest, name: str, index: int):
    log = _log(name)
    entry = selectors.entry_at(log, index)
    if entry is None or index >= _latest_size(log):
        raise HttpError(404, f"No entry {index} / その番号の記録はありません")
    leaf = bytes(entry.leaf)
    value = merkle.leaf_hash(leaf)
    return {
        "index": index,
        "leaf": _b64(leaf),
        "leaf_hash": _b64(value),
        "leaf_hash_hex": value.hex(),
    }


@router.get(
    "/ledger/logs/{name}/proofs/inclusion",
    response=InclusionOut,
    auth=None,
    url_name="ledger_inclusion_proof",
)
def get_inclusion_proof(request: HttpRequest, name: str, query: Query[InclusionQuery]):
    log = _log(name)
    size = query.tree_size or _latest_size(log)
    try:
        proof = selectors.inclusion_proof(log, query.index, size)
        root = selectors.root_at(log, size)
    except selectors.ProofUnavailable as exc:
        raise HttpError(400, f"{exc} / 証明を作れません") from None
    entry = selectors.entry_at(log, query.index)
    return {
        "index": query.index,
        "tree_size": size,
        "leaf_hash": _b64(merkle.leaf_hash(bytes(entry.leaf))),
        "proof": [_b64(item) for item in proof],
        "root_hash": _b64(root),
    }


@router.get(
    "/ledger/logs/{name}/proofs/consistency",
    response=ConsistencyOut,
    auth=None,
    url_name="ledger_consistency_proof",
)
def get_consistency_proof(request: HttpRequest, name: str, query: Query[ConsistencyQuery]):
    log = _log(name)
    second = query.second if query.second is not None else _latest_size(log)
    try:
        proof = selectors.consistency_proof(log, query.first, second)
        first_root = selectors.root_at(log, query.first)
        second_root = selectors.root_at(log, second)
    except selectors.ProofUnavailable as exc:
        raise HttpError(400, f"{exc} / 証明を作れません") from None
    return {
        "first": query.first,
        "second": second,
        "proof": [_b64(item) for item in proof],
        "first_root": _b64(first_root),
        "second_root": _b64(second_root),
    }
