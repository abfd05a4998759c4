"""Storing uploads safely: type by content, size limits, image checks, clean names."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
import zlib
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image

from madoguchi.core.crypto import decrypt_bytes, encrypt_bytes
from madoguchi.ledger.services import record_event

from .models import StoredFile

KINDS = {
    "image": {"image/jpeg": "JPEG", "image/png": "PNG"},
    "pdf": {"application/pdf": "PDF"},
}
KIND_LABELS = {"image": ("画像（JPEG・PNG）", "images (JPEG, PNG)"), "pdf": ("PDF", "PDF")}
MAX_IMAGE_PIXELS = 40_000_000


@dataclass(frozen=True)
class UploadRejected(Exception):
    ja: str
    en: str
    code: str

    def __str__(self) -> str:
        return self.ja


@dataclass(frozen=True)
class ImageRules:
    min_width: int | None = None
    min_height: int | None = None
    aspect_ratio: str | None = None
    aspect_tolerance: float = 0.05


def clean_filename(name: str) -> str:
    """A display name: no path, no control or bidi characters, at most 100 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.strip().strip(".")
    if len(name) > 100:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 95 - len(ext)] + "…" + dot + ext) if dot and len(ext) <= 10 else name[:100]
    return name or "file"


def _format_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}MB".replace(".0MB", "MB")
    return f"{max(1, size // 1024)}KB"


def _detect(head: bytes) -> str | None:
    kind = filetype.guess(head)
    return kind.mime if kind else None


def _check_image(data: bytes, rules: ImageRules | None) -> tuple[int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise UploadRejected(
                        "画像の画素数が大きすぎます。",
                        "The image has too many pixels.",
                        "image_pixels",
                    )
                image.verify()
        except UploadRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadRejected(
                "画像の画素数が大きすぎます。", "The image has too many pixels.", "image_pixels"
            ) from exc
        except Exception as exc:
            raise UploadRejected(
                "画像ファイルが壊れているか、読み取れません。",
                "The image is damaged or unreadable.",
                "image_broken",
            ) from exc
    if rules:
        if (rules.min_width and width < rules.min_width) or (
            rules.min_height and height < rules.min_height
        ):
            raise UploadRejected(
                f"画像が小さすぎます（{width}×{height}画素）。横{rules.min_width or 0}×縦{rules.min_height or 0}画素以上の画像にしてください。",
                f"The image is too small ({width}x{height}); use at least {rules.min_width or 0}x{rules.min_height or 0} pixels.",
                "image_too_small",
            )
        if rules.aspect_ratio:
            across, down = (int(part) for part in rules.aspect_ratio.split(":"))
            expected = across / down
            actual = width / height
            if abs(actual - expected) / expected > rules.aspect_tolerance:
                raise UploadRejected(
                    f"画像の縦横の比率が違います。横:縦 = {across}:{down} の画像にしてください（この画像は {width}×{height}）。",
                    f"Use an image with width:height = {across}:{down} (this one is {width}x{height}).",
                    "image_aspect",
                )
    return width, height


_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia)\b")
_PDF_NAME_ESCAPE = re.compile(rb"(/[^\s/<>\[\]()%{}]*)")
_PDF_STREAM_START = re.compile(rb"stream\r?\n")
_PDF_OBJSTM_MAX_BYTES = 16 * 1024 * 1024


def _pdf_names_decoded(data: bytes) -> bytes:
    """PDF names may spell any character as #xx (/J#61vaScript is /JavaScript)."""

    def decode(match: re.Match[bytes]) -> bytes:
        return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), match[1])

    return _PDF_NAME_ESCAPE.sub(decode, data)


def _pdf_object_streams(data: bytes):
    """The inflated contents of the object streams (/Type /ObjStm) of a PDF: PDF 1.5
    writers keep dictionaries, actions included, compressed in them."""
    budget = _PDF_OBJSTM_MAX_BYTES
    for match in _PDF_STREAM_START.finditer(data):
        head = data[max(0, match.start() - 2048) : match.start()]
        head = _pdf_names_decoded(head[head.rfind(b"obj") + 3 :] if b"obj" in head else head)
        if b"/ObjStm" not in head:
            continue
        end = data.find(b"endstream", match.end())
        body = data[match.end() : end if end >= 0 else len(data)]
        filters = re.findall(rb"/(\w+Decode)\b", head)
        if filters not in ([], [b"FlateDecode"]):
            raise UploadRejected(
                "PDFの内容を確認できませんでした。印刷用に保存し直したPDFを添付してください。",
                "The PDF could not be checked; save it again for printing.",
                "pdf_unreadable",
            )
        if filters:
            inflater = zlib.decompressobj()
            try:
                body = inflater.decompress(body, budget + 1)
            except zlib.error:
                continue  # unreadable for a PDF reader as well
        budget -= len(body)
        if budget < 0:
            raise UploadRejected(
                "PDFの内容を確認できませんでした。印刷用に保存し直したPDFを添付してください。",
                "The PDF could not be checked; save it again for printing.",
                "pdf_unreadable",
            )
        yield body


def _check_pdf(data: bytes) -> None:
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise UploadRejected(
            "PDFファイルが壊れているか、途中で切れています。",
            "The PDF is damaged or truncated.",
            "pdf_broken",
        )
    # Active content has no place in an attachment to an application: looked for in the
    # file as written and in its compressed object streams, with names decoded.
    for text in (data, *_pdf_object_streams(data)):
        if _PDF_ACTIVE.search(_pdf_names_decoded(text)):
            raise UploadRejected(
                "スクリプトや埋め込みファイルを含むPDFは受け付けられません。印刷用に保存し直したPDFを添付してください。",
                "PDFs with scripts or embedded files are not accepted; save it again for printing.",
                "pdf_active_content",
            )


def store_upload(
    upload,
    *,
    owner,
    accept: list[str],
    max_bytes: int | None = None,
    image_rules: ImageRules | None = None,
    encrypt: bool = False,
) -> StoredFile:
    """Validates and stores an uploaded file, or raises UploadRejected with the reason.
    With `encrypt` (an attachment of special personal data) the stored bytes are
    encrypted with the configured keys; the size and hash are the clear content's."""
    limit = min(
        max_bytes or settings.MADOGUCHI_UPLOAD_MAX_BYTES, settings.MADOGUCHI_UPLOAD_MAX_BYTES
    )
    allowed = {mime: label for kind in accept for mime, label in KINDS[kind].items()}
    allowed_text_ja = "・".join(KIND_LABELS[kind][0] for kind in accept)
    allowed_text_en = ", ".join(KIND_LABELS[kind][1] for kind in accept)
    if upload.size == 0:
        raise UploadRejected("ファイルが空です。", "The file is empty.", "empty")
    if upload.size > limit:
        raise UploadRejected(
            f"ファイルが大きすぎます（{_format_size(upload.size)}）。{_format_size(limit)}以下のファイルにしてください。",
            f"The file is too large ({_format_size(upload.size)}); the limit is {_format_size(limit)}.",
            "too_large",
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(
            f"ファイルが大きすぎます。{_format_size(limit)}以下のファイルにしてください。",
            f"The file is too large; the limit is {_format_size(limit)}.",
            "too_large",
        )
    mime = _detect(data[:8192])
    if mime not in allowed:
        raise UploadRejected(
            f"このファイルの形式は受け付けられません。{allowed_text_ja}のファイルを選んでください。",
            f"This file type is not accepted; choose {allowed_text_en}.",
            "type",
        )
    width = height = None
    if mime.startswith("image/"):
        width, height = _check_image(data, image_rules)
    elif mime == "application/pdf":
        _check_pdf(data)
    stored = StoredFile(
        owner=owner if getattr(owner, "is_authenticated", False) else None,
        original_name=clean_filename(getattr(upload, "name", "") or "file"),
        content_type=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        encrypted=encrypt,
    )
    stored.file.save("upload", ContentFile(encrypt_bytes(data) if encrypt else data), save=False)
    with transaction.atomic():
        stored.save()
        # "File stored" is ledgered: its hash, never its name (the name may be personal).
        record_event(
            event_type="file.stored",
            actor_kind=_uploader_kind(stored.owner),
            actor_id=stored.owner_id,
            subject_type="file",
            subject_id=stored.pk,
            content_sha256=stored.sha256,
            details={"content_type": mime, "size": stored.size},
        )
    return stored


def _uploader_kind(owner) -> str:
    from madoguchi.organisation.selectors import is_staff_member

    if owner is None:
        return "system"
    return "staff" if is_staff_member(owner) else "resident"


def open_stored(stored: StoredFile):
    """The clear content of a stored file, as a binary file object (decrypted in memory
    when the file is stored encrypted; uploads are at most a few megabytes)."""
    if stored.encrypted:
        with stored.file.open("rb") as handle:
            return io.BytesIO(decrypt_bytes(handle.read()))
    return stored.file.open("rb")


def read_stored(stored: StoredFile) -> bytes:
    with open_stored(stored) as handle:
        return handle.read()


def encrypt_stored_file(stored: StoredFile) -> bool:
    """Encrypts a file stored in clear (an upload named later in a sensitive field, through
    the API). The encrypted copy is written first; the clear one is deleted only after the
    commit, so a rollback leaves the file readable as before. Whether it changed."""
    if stored.encrypted or not stored.file:
        return False
    with stored.file.open("rb") as handle:
        data = handle.read()
    old_name, storage = stored.file.name, stored.file.storage
    stored.file.save("upload", ContentFile(encrypt_bytes(data)), save=False)
    stored.encrypted = True
    stored.save(update_fields=["file", "encrypted"])
    transaction.on_commit(lambda: storage.delete(old_name))
    return True


def rotate_encrypted_files(keyring, *, rotate: bool, batch_size: int):
    """The key rotation of files stored encrypted (core.keyrotation): each file is one
    token; one under an older key is written anew before its row points to it, and the
    old bytes go after the commit. Resumable: a file already rotated is counted current."""
    from madoguchi.core.keyrotation import Counts

    counts = Counts()
    last = None
    while True:
        queryset = StoredFile.objects.filter(encrypted=True).exclude(file="").order_by("pk")
        if last is not None:
            queryset = queryset.filter(pk__gt=last)
        keys = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not keys:
            return counts
        last = keys[-1]
        with transaction.atomic():
            for stored in StoredFile.objects.select_for_update().filter(pk__in=keys):
                counts.rows += 1
                with stored.file.open("rb") as handle:
                    token = handle.read().decode("ascii", "replace")
                kind = keyring.classify(token)
                setattr(counts, kind, getattr(counts, kind) + 1)
                if rotate and kind == "old":
                    old_name, storage = stored.file.name, stored.file.storage
                    new = keyring.rotate(token).encode()
                    stored.file.save("upload", ContentFile(new), save=False)
                    stored.save(update_fields=["file"])
                    transaction.on_commit(lambda n=old_name, s=storage: s.delete(n))
                    counts.rotated += 1


def erase_stored_file(stored: StoredFile) -> None:
    """廃棄 of a file (records disposition): its bytes and its name are removed; the row
    stays, with the size, the type and the SHA-256 that the ledger holds, as evidence of
    what was lawfully destroyed. The bytes go after the commit, so a rolled-back
    disposal loses nothing."""
    from django.db import transaction

    name = stored.file.name
    storage = stored.file.storage
    stored.original_name = "（廃棄済み）"
    stored.file = ""
    stored.save(update_fields=["original_name", "file"])
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def probe_storage() -> None:
    """Writes, reads back and deletes a small file in the file storage (a health check).

    Raises what the storage raises (a read-only or full disk, an unreachable bucket), or
    OSError when the bytes read back differ. The probe's name is random and lives under
    health/, apart from uploads, so two nodes probing at once never meet."""
    import secrets

    from django.core.files.storage import default_storage

    payload = secrets.token_bytes(16)
    name = default_storage.save(f"health/probe-{secrets.token_hex(8)}", ContentFile(payload))
    try:
        with default_storage.open(name, "rb") as handle:
            if handle.read() != payload:
                raise OSError("the storage returned other bytes than were written")
    finally:
        default_storage.delete(name)
