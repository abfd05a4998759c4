"""`madoguchi ledger export DIR`: the bundle an auditor verifies offline (docs/ledger.md).

manifest.json               format, time, the logs and their sizes
README.txt                  what this is and how to verify it
logs/<name>/entries.jsonl   the exact leaf bytes, one per line, in index order
logs/<name>/hashes.bin      the leaf hashes of the platform's hash tiles (32 bytes each)
logs/<name>/checkpoints/    every signed checkpoint up to the exported size
logs/<name>/public-keys.txt the keys the log says it signed with (do not trust these:
                            verify with the keys the body publishes)
content/                    with --content: the files and records the entries hash
tools/                      the verifier and its modules (standard library + cryptography)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from . import content as content_registry
from . import selectors
from .models import Entry, Log
from .tiles import TileHashes
from .verifier import FORMAT, referenced_hashes

TOOLS = ("verifier.py", "merkle.py", "note.py", "jcs.py")
README = """madoguchi ledger export ({format})

Each logs/<name>/ holds one body's append-only Merkle log (RFC 9162): entries.jsonl has
the exact bytes of every leaf (RFC 8785 canonical JSON, one per line), checkpoints/ the
signed tree heads (C2SP tlog-checkpoint in C2SP signed notes, Ed25519).

To verify, with Python 3.11+ and the `cryptography` package only, and the public key the
body publishes (not the public-keys.txt of this bundle):

    python tools/verifier.py . --public-key THE_BODYS_KEY.txt [--content]

The verifier names the first bad entry and exits with status 1 on any failure.
"""


class ExportError(Exception):
    pass


@dataclass
class ExportResult:
    directory: Path
    logs: list[dict]
    content_files: int = 0


def _name(log: Log) -> str:
    return log.body.code if log.body_id else "deployment"


def _write_log(log: Log, directory: Path) -> dict | None:
    latest = selectors.latest_checkpoint(log)
    if latest is None:
        return None
    size = latest.size
    target = directory / "logs" / _name(log)
    (target / "checkpoints").mkdir(parents=True)
    written = 0
    with (target / "entries.jsonl").open("wb") as handle:
        rows = (
            Entry.objects.filter(log=log, index__lt=size)
            .order_by("index")
            .values_list("index", "leaf")
            .iterator(chunk_size=5000)
        )
        for index, leaf in rows:
            if index != written:
                raise ExportError(f"{log.origin}: entry {written} is missing in the database")
            handle.write(bytes(leaf) + b"\n")
            written += 1
    if written != size:
        raise ExportError(f"{log.origin}: {written} entries for a signed size of {size}")
    (target / "hashes.bin").write_bytes(b"".join(TileHashes(log).leaf_hashes(size)))
    for checkpoint in selectors.checkpoints(log).filter(size__lte=size):
        name = f"{checkpoint.size:020d}-{checkpoint.root_hash[:16]}.txt"
        (target / "checkpoints" / name).write_text(checkpoint.note)
    (target / "public-keys.txt").write_text(
        "".join(f"{key.verifier_key}\n" for key in selectors.public_keys(log))
    )
    return {"name": _name(log), "origin": log.origin, "size": size, "path": f"logs/{_name(log)}"}


def _write_content(directory: Path, logs: list[dict]) -> int:
    target = directory / "content"
    target.mkdir()
    states: dict[str, str] = {}
    for item in logs:
        with (directory / item["path"] / "entries.jsonl").open("rb") as handle:
            for line in handle:
                for digest in referenced_hashes(json.loads(line)):
                    if digest in states:
                        continue
                    found = content_registry.lookup(digest)
                    if isinstance(found, bytes):
                        (target / digest).write_bytes(found)
                        states[digest] = "present"
                    elif found == content_registry.DISPOSED:
                        states[digest] = "disposed"
                    elif found == content_registry.MISSING:
                        states[digest] = "missing"
                    else:
                        states[digest] = "unavailable"
    (target / "index.json").write_text(json.dumps(states, indent=0, sort_keys=True))
    return sum(1 for state in states.values() if state == "present")


def export_ledger(
    directory: Path, *, names: list[str] | None = None, content: bool = False
) -> ExportResult:
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} is a file: export into a new directory")
    if directory.exists() and any(directory.iterdir()):
        raise ExportError(f"{directory} is not empty: export into a new directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {directory}: {exc.strerror}") from exc
    logs = []
    for log in selectors.logs():
        if names and _name(log) not in names:
            continue
        item = _write_log(log, directory)
        if item:
            logs.append(item)
    if not logs:
        raise ExportError("there is nothing to export: no log has a checkpoint yet")
    result = ExportResult(directory=directory, logs=logs)
    if content:
        result.content_files = _write_content(directory, logs)
    tools = directory / "tools"
    tools.mkdir()
    here = Path(__file__).resolve().parent
    for name in TOOLS:
        shutil.copyfile(here / name, tools / name)
    manifest = {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "logs": logs,
        "content": content,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    (directory / "README.txt").write_text(README.format(format=FORMAT))
    return result
