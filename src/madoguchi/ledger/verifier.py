"""The offline verifier of a ledger export: Python's standard library plus `cryptography`.

    python verifier.py EXPORT_DIR --public-key KEYS.txt [--content]
    madoguchi ledger verify EXPORT_DIR --public-key KEYS.txt [--content]

It trusts nothing in the export except what the given public keys signed. For every log
in the bundle it checks every checkpoint's signature (a checkpoint signed by another key
is refused), reports a fork (two checkpoints of one size with different roots),
recomputes every checkpoint's root from the leaves (so successive checkpoints are
consistent: each tree extends the one before), checks that no entry lies beyond the last
signed tree, and with --content that the stored files and records still hash to what
their entries say. On a failure it names the first bad entry. Exit status: 0 when all
is well, 1 on any failure, 2 when the export cannot be read at all.

This file and the three modules beside it (merkle.py, note.py, jcs.py) import nothing
from Django or the rest of madoguchi; the export copies all four into tools/ so that an
auditor can run them on a machine without the platform.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from dataclasses import dataclass, field
from operator import itemgetter, methodcaller
from pathlib import Path

try:  # as part of the madoguchi package
    from . import merkle, note
except ImportError:  # as a script beside its three modules (tools/ of an export)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import merkle  # type: ignore[no-redef]
    import note  # type: ignore[no-redef]

FORMAT = "madoguchi-ledger-export/1"
HASH = merkle.HASH_SIZE


class ExportUnreadable(Exception):
    """The export is missing or malformed: nothing can be verified."""


@dataclass
class Problem:
    log: str
    message: str
    entry: int | None = None

    def __str__(self) -> str:
        where = f"entry {self.entry}: " if self.entry is not None else ""
        return f"[{self.log}] {where}{self.message}"


@dataclass
class LogReport:
    origin: str
    entries: int = 0
    checkpoints: int = 0
    largest_signed: int = 0
    content_checked: int = 0
    content_disposed: int = 0
    content_unavailable: int = 0
    content_missing: int = 0
    # The leaves proven by the signed checkpoints (a prefix of the entries).
    verified_size: int = 0
    readable: bool = False
    problems: list[Problem] = field(default_factory=list)

    @property
    def first_bad_entry(self) -> int | None:
        indices = [p.entry for p in self.problems if p.entry is not None]
        return min(indices) if indices else None


# --- fast hashing of many leaves --------------------------------------------------------

CHUNK = 4 * 1024 * 1024  # larger buffers cost more in page faults than they save


def _hash_lines(data: bytes) -> bytes:
    """The concatenated SHA-256(0x00 ‖ line) of newline-terminated lines, in C loops: one
    replace prefixes every line with 0x00, one split cuts them into the hash inputs."""
    pieces = (b"\x00" + data[:-1].replace(b"\n", b"\n\x00")).split(b"\n")
    return b"".join(map(methodcaller("digest"), map(hashlib.sha256, pieces)))


def leaf_hashes_of_file(path: Path) -> tuple[bytes, int]:
    """The leaf hashes of an entries file (32 bytes each, concatenated) and their number,
    read in chunks so that memory stays small whatever the size of the log."""
    hashes = bytearray()
    rest = b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            rest = chunk[cut:]
            if cut:
                hashes += _hash_lines(chunk[:cut])
    if rest:
        raise ExportUnreadable(f"{path.name} does not end with a newline")
    return bytes(hashes), len(hashes) // HASH


def _next_level(level: bytes) -> bytes:
    """The parents of the complete pairs of a level, each H(0x01 ‖ left ‖ right)."""
    pairs = len(level) // (2 * HASH)
    if not pairs:
        return b""
    # Cut into left ‖ right pairs and prefix each with 0x01, in C loops.
    pair_bytes = map(itemgetter(0), struct.iter_unpack(f"{2 * HASH}s", level[: pairs * 2 * HASH]))
    inputs = map(b"\x01".__add__, pair_bytes)
    return b"".join(map(methodcaller("digest"), map(hashlib.sha256, inputs)))


class Levels:
    """Every complete subtree hash of a tree, level by level, each level one bytes object."""

    def __init__(self, leaf_hashes: bytes) -> None:
        self.levels = [leaf_hashes]
        while len(self.levels[-1]) > HASH:
            self.levels.append(_next_level(self.levels[-1]))

    def hash_at(self, level: int, index: int) -> bytes:
        return self.levels[level][index * HASH : (index + 1) * HASH]

    def root(self, size: int) -> bytes:
        return merkle.root_hash(size, self.hash_at)


# --- reading an export -----------------------------------------------------------------


def read_public_keys(path: Path) -> list[note.Verifier]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ExportUnreadable(
            f"{path} is not a public key file (not UTF-8 text: {exc.reason} at byte {exc.start})"
        ) from exc
    except OSError as exc:
        raise ExportUnreadable(f"cannot read the public key file {path}: {exc}") from exc
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(note.Verifier.from_string(line))
        except note.NoteError as exc:
            raise ExportUnreadable(f"{path}, line {number}: {exc}") from exc
    if not keys:
        raise ExportUnreadable(f"{path} holds no public key")
    return keys


def _read_manifest(directory: Path) -> dict:
    path = directory / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportUnreadable(f"cannot read {path}: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise ExportUnreadable(f"{path}: not a {FORMAT} export")
    return manifest


@dataclass
class SignedCheckpoint:
    file: str
    checkpoint: note.Checkpoint


def _read_checkpoints(
    log_dir: Path, origin: str, keys: list[note.Verifier], report: LogReport
) -> list[SignedCheckpoint]:
    result = []
    files = sorted((log_dir / "checkpoints").glob("*.txt"))
    if not files:
        report.problems.append(Problem(origin, "the export has no checkpoint for this log"))
    for path in files:
        try:
            checkpoint, _opened = note.open_checkpoint(path.read_text(), keys)
        except (note.NoteError, OSError, UnicodeDecodeError) as exc:
            report.problems.append(Problem(origin, f"checkpoint {path.name} is refused: {exc}"))
            continue
        if checkpoint.origin != origin:
            report.problems.append(
                Problem(origin, f"checkpoint {path.name} is of another log ({checkpoint.origin})")
            )
            continue
        result.append(SignedCheckpoint(path.name, checkpoint))
    result.sort(key=lambda item: item.checkpoint.size)
    report.checkpoints = len(result)
    return result


def _report_forks(checkpoints: list[SignedCheckpoint], report: LogReport) -> None:
    by_size: dict[int, SignedCheckpoint] = {}
    for item in checkpoints:
        seen = by_size.setdefault(item.checkpoint.size, item)
        if seen.checkpoint.root_hash != item.checkpoint.root_hash:
            report.problems.append(
                Problem(
                    report.origin,
                    f"fork: checkpoints {seen.file} and {item.file} both sign a tree of "
                    f"size {item.checkpoint.size} with different roots",
                )
            )


def _first_difference(a: bytes, b: bytes) -> int | None:
    """The first index at which two concatenations of hashes differ."""
    for index in range(min(len(a), len(b)) // HASH):
        if a[index * HASH : (index + 1) * HASH] != b[index * HASH : (index + 1) * HASH]:
            return index
    return None


def _diagnose(
    entries_path: Path,
    computed: bytes,
    stored: bytes | None,
    checkpoints: list[SignedCheckpoint],
    origin: str,
    failing: SignedCheckpoint,
    good_size: int,
) -> Problem:
    """Names the first bad entry when a signed root does not match the leaves."""
    size = failing.checkpoint.size
    count = len(computed) // HASH
    largest = checkpoints[-1].checkpoint.size
    # The stored leaf hashes (the platform's hash tiles) are trusted only if they rebuild
    # every signed root: then they say exactly which leaf changed.
    if stored is not None and len(stored) >= largest * HASH:
        stored_levels = Levels(stored[: largest * HASH])
        if all(
            stored_levels.root(item.checkpoint.size) == item.checkpoint.root_hash
            for item in checkpoints
        ):
            index = _first_difference(computed, stored)
            if index is not None:
                return Problem(
                    origin,
                    "its bytes do not hash to the leaf the signed tree holds "
                    "(changed, inserted, deleted or moved)",
                    entry=index,
                )
            if count < size:
                return Problem(
                    origin,
                    f"missing: the export has {count} entries, the signed tree {size}",
                    entry=count,
                )
    # Without trusted hashes: each leaf names its own index and origin.
    with entries_path.open("rb") as handle:
        for index, line in enumerate(handle):
            if index < good_size:
                continue
            if index >= size:
                break
            try:
                document = json.loads(line)
            except ValueError:
                return Problem(origin, "the leaf is not JSON", entry=index)
            if document.get("index") != index or document.get("origin") != origin:
                return Problem(
                    origin,
                    f"the leaf says it is entry {document.get('index')} of {document.get('origin')}",
                    entry=index,
                )
    if count < size:
        return Problem(
            origin, f"missing: the export has {count} entries, the signed tree {size}", entry=count
        )
    return Problem(
        origin,
        f"the leaves do not rebuild the signed root of size {size} ({failing.file}); "
        f"the bad entry is among entries {good_size}…{size - 1}",
        entry=good_size,
    )


# The event that records an approved 廃棄 and the details key of the hashes it erased:
# the only evidence the verifier accepts that content was lawfully disposed of. The
# export's content/index.json is not signed, so its "disposed" is a claim, not a proof.
DESTROYED_EVENT = "records.destroyed"
DESTROYED_KEY = "content_hashes"


def _hash_list(details: object, key: str) -> list[str]:
    values = details.get(key) if isinstance(details, dict) else None
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, str) and len(v) == 64]


def disposed_by_log(entries_path: Path, size: int) -> set[str]:
    """The hashes that the signed leaves (the first `size`) record as destroyed by an
    approved disposition: a records.destroyed entry's content_hashes."""
    found: set[str] = set()
    try:
        handle = entries_path.open("rb")
    except OSError:
        return found
    with handle:
        for index, line in enumerate(handle):
            if index >= size:
                break
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict) and document.get("type") == DESTROYED_EVENT:
                found.update(_hash_list(document.get("details"), DESTROYED_KEY))
    return found


def _check_content(
    directory: Path,
    entries_path: Path,
    origin: str,
    report: LogReport,
    disposed: set[str] | None = None,
) -> None:
    """Every hash a leaf commits to is one of: present in the export and hashing to it;
    disposed of, which only a signed records.destroyed entry can say; or, for a hash
    that names no stored file (answers, messages, reasons: the platform keeps no bytes
    for them), not in the export. A file a leaf lists in `files` that is neither present
    nor disposed of by the log, and anything the index claims disposed of or missing
    without such an entry, is a failure naming the hash and the first entry citing it."""
    index_path = directory / "content" / "index.json"
    try:
        states = json.loads(index_path.read_text())
        if not isinstance(states, dict):
            raise ValueError("not an object")
    except (OSError, ValueError):
        report.problems.append(
            Problem(
                origin, "--content: the export has no content/index.json (export with --content)"
            )
        )
        return
    if disposed is None:
        disposed = disposed_by_log(entries_path, report.verified_size)
    checked: dict[str, bool] = {}
    reported: set[str] = set()
    with entries_path.open("rb") as handle:
        lines = [line.rstrip(b"\n") for line in handle]
    for position, line in enumerate(lines):
        try:
            document = json.loads(line)
        except ValueError:
            report.problems.append(Problem(origin, "the leaf is not JSON", entry=position))
            continue
        files = set(_hash_list(document.get("details"), "files"))
        for value in referenced_hashes(document):
            state = states.get(value, "unavailable")
            if state != "present":
                if value in disposed:
                    report.content_disposed += 1
                    continue
                if state == "disposed":
                    claim = (
                        "is claimed disposed of by the export, but no records.destroyed "
                        "entry of the signed log disposes of it"
                    )
                elif state == "missing":
                    claim = (
                        "is missing: the platform holds no bytes for it and no "
                        "records.destroyed entry of the signed log disposes of it"
                    )
                elif value in files:
                    claim = (
                        "is a file this entry lists but it is not in the export, and no "
                        "records.destroyed entry of the signed log disposes of it"
                    )
                else:
                    # A hash of content the platform never keeps as bytes.
                    report.content_unavailable += 1
                    continue
                report.content_missing += 1
                if value not in reported:
                    reported.add(value)
                    report.problems.append(
                        Problem(origin, f"content {value} {claim}", entry=position)
                    )
                continue
            if value not in checked:
                path = directory / "content" / value
                try:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                except OSError:
                    digest = ""
                checked[value] = digest == value
            report.content_checked += 1
            if not checked[value]:
                report.problems.append(
                    Problem(
                        origin,
                        f"stored content {value[:16]}… no longer hashes to what the entry says",
                        entry=position,
                    )
                )


def referenced_hashes(document: dict) -> list[str]:
    """The SHA-256 hashes a leaf commits to: its content hash and its files' hashes."""
    found = []
    content = document.get("content_sha256")
    if isinstance(content, str) and len(content) == 64:
        found.append(content)
    details = document.get("details")
    if isinstance(details, dict):
        for key in ("files", "content_hashes"):
            values = details.get(key)
            if isinstance(values, list):
                found.extend(v for v in values if isinstance(v, str) and len(v) == 64)
    return found


def verify_log(
    directory: Path,
    entry: dict,
    keys: list[note.Verifier],
    *,
    content: bool = False,
    disposed: set[str] | None = None,
) -> LogReport:
    origin = entry["origin"]
    report = LogReport(origin=origin)
    log_dir = directory / entry["path"]
    trusted = [key for key in keys if key.name == origin]
    if not trusted:
        report.problems.append(
            Problem(origin, "no public key for this origin in the key file (refusing to trust it)")
        )
        return report
    checkpoints = _read_checkpoints(log_dir, origin, trusted, report)
    _report_forks(checkpoints, report)
    entries_path = log_dir / "entries.jsonl"
    try:
        computed, count = leaf_hashes_of_file(entries_path)
    except OSError as exc:
        report.problems.append(Problem(origin, f"cannot read entries.jsonl: {exc}"))
        return report
    except ExportUnreadable as exc:
        report.problems.append(Problem(origin, str(exc)))
        return report
    report.entries = count
    report.readable = True
    hashes_path = log_dir / "hashes.bin"
    stored = hashes_path.read_bytes() if hashes_path.exists() else None
    if not checkpoints:
        return report
    report.largest_signed = checkpoints[-1].checkpoint.size
    levels = Levels(computed)
    good_size = 0
    for item in checkpoints:
        size = item.checkpoint.size
        if size <= count and levels.root(size) == item.checkpoint.root_hash:
            good_size = max(good_size, size)
            continue
        report.problems.append(
            _diagnose(entries_path, computed, stored, checkpoints, origin, item, good_size)
        )
        break
    else:
        if count > report.largest_signed:
            report.problems.append(
                Problem(
                    origin,
                    f"not covered by any signed checkpoint (the last signs {report.largest_signed} entries)",
                    entry=report.largest_signed,
                )
            )
    report.verified_size = good_size
    if content:
        _check_content(directory, entries_path, origin, report, disposed)
    return report


def verify_export(
    directory: Path, keys: list[note.Verifier], *, content: bool = False
) -> list[LogReport]:
    manifest = _read_manifest(directory)
    logs = manifest.get("logs")
    if not isinstance(logs, list) or not logs:
        raise ExportUnreadable("the manifest lists no logs")
    reports = [verify_log(directory, entry, keys) for entry in logs]
    if content:
        # A disposition is recorded in the body's log; the hashes it destroyed are
        # gathered from every log's signed leaves before any content is judged.
        disposed: set[str] = set()
        for entry, report in zip(logs, reports, strict=True):
            if report.verified_size:
                entries_path = directory / entry["path"] / "entries.jsonl"
                disposed |= disposed_by_log(entries_path, report.verified_size)
        for entry, report in zip(logs, reports, strict=True):
            if report.readable:
                entries_path = directory / entry["path"] / "entries.jsonl"
                _check_content(directory, entries_path, report.origin, report, disposed)
    return reports


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or out
    parser = argparse.ArgumentParser(
        prog="verifier.py", description="Verify a madoguchi ledger export offline."
    )
    parser.add_argument("directory", type=Path, help="the export (madoguchi ledger export DIR)")
    parser.add_argument(
        "--public-key",
        type=Path,
        required=True,
        help="the body's published verifier key(s), one per line",
    )
    parser.add_argument(
        "--content",
        action="store_true",
        help="also check that the exported files and records hash to what their entries say",
    )
    args = parser.parse_args(argv)
    try:
        keys = read_public_keys(args.public_key)
        reports = verify_export(args.directory, keys, content=args.content)
    except ExportUnreadable as exc:
        print(f"error: {exc}", file=err)
        return 2
    failed = False
    for report in reports:
        status = "FAILED" if report.problems else "ok"
        line = (
            f"{status}: {report.origin}: {report.entries} entries, "
            f"{report.checkpoints} signed checkpoints (largest {report.largest_signed})"
        )
        if args.content:
            line += (
                f", content: {report.content_checked} checked, "
                f"{report.content_disposed} lawfully disposed, "
                f"{report.content_unavailable} not in the export"
            )
            if report.content_missing:
                line += f", {report.content_missing} missing or disposed of without a record"
        print(line, file=out)
        if report.problems:
            failed = True
            if report.first_bad_entry is not None:
                print(f"  first bad entry: {report.first_bad_entry}", file=out)
            for problem in report.problems:
                print(f"  {problem}", file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
