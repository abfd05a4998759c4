"""Deliverable templates rendered to PDF/A-2b with WeasyPrint, stamped with a QR code.

Each template (`deliverable.template` in a procedure definition) is an HTML file under
`templates/issuance/documents/` with its own print CSS; the fonts and the common rules come
from `document_base_css()`. Rendering is serialised per process: WeasyPrint's font
configuration is shared between documents (loading the fonts once is what makes a page
take tens of milliseconds, not seconds) and is not meant for concurrent use.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from . import fonts

# The geta mark: the customary sign in Japanese print for a character that cannot be set.
FALLBACK_MARK = "〓"
DEFAULT_TEMPLATE = "notice"
PDF_VARIANT = "pdf/a-2b"
_render_lock = threading.Lock()
STYLE_DIR = Path(__file__).parent / "templates" / "issuance" / "documents"


@dataclass(frozen=True)
class DocumentTemplate:
    name: str
    label: str
    build: Callable[[dict[str, Any]], dict[str, Any]]
    # Whether the template prints uploaded images (read from storage only then).
    images: bool = False


def _identity(context: dict[str, Any]) -> dict[str, Any]:
    return context


def _exam_ticket(context: dict[str, Any]) -> dict[str, Any]:
    # The photo the applicant uploaded, embedded in the PDF: the 受検票 is checked against
    # the candidate's face at the door.
    context["photo"] = context["images"].get("photo", "")
    return context


TEMPLATES: dict[str, DocumentTemplate] = {
    t.name: t
    for t in (
        DocumentTemplate("notice", "許可書・通知書（A4）", _identity),
        DocumentTemplate("permit-card", "利用証（はがき大のカード）", _identity),
        DocumentTemplate("certificate-of-residence", "住民票の写し（A4）", _identity),
        DocumentTemplate("exam-admission-ticket", "受検票（A4）", _exam_ticket, images=True),
    )
}


def template_for(name: str | None) -> DocumentTemplate:
    return TEMPLATES.get(name or DEFAULT_TEMPLATE) or TEMPLATES[DEFAULT_TEMPLATE]


def visible_text(text: str) -> str:
    """Replaces characters no document font can draw by 〓, so that nothing is ever left
    as an empty box or silently taken from a font of the host."""
    missing = set(fonts.uncovered_characters(text))
    if not missing:
        return text
    return "".join(FALLBACK_MARK if char in missing else char for char in text)


def _visible(value: Any) -> Any:
    if isinstance(value, str):
        return visible_text(value)
    if isinstance(value, list):
        return [_visible(item) for item in value]
    if isinstance(value, dict):
        return {key: _visible(item) for key, item in value.items()}
    return value


def qr_data_uri(text: str) -> str:
    import segno

    # Error correction M survives a crease or a smudge on a printed copy. A PNG at 8 px
    # per module, not SVG: WeasyPrint draws an SVG QR code module by module, ten times
    # the cost; at 24 mm the PNG still prints at over 300 dpi.
    return segno.make(text, error="m", micro=False).png_data_uri(scale=8, border=0)


def verification_url(document_id) -> str:
    return f"{settings.MADOGUCHI_BASE_URL.rstrip('/')}/verify/{document_id}/"


def head_of_body(body) -> str:
    """The title that issues the body's documents: 知事, 市長, 町長, 村長, 区長."""
    name = body.name
    if body.kind == "prefecture":
        return f"{name}知事"
    for suffix, title in (("市", "市長"), ("町", "町長"), ("村", "村長"), ("区", "区長")):
        if name.endswith(suffix):
            return f"{name[: -len(suffix)]}{title}"
    return f"{name}長"


def _image_data_uri(stored_file) -> str:
    from madoguchi.files.services import read_stored

    data = read_stored(stored_file)
    return f"data:{stored_file.content_type};base64,{base64.b64encode(data).decode()}"


def answer_fields(
    application, *, images: bool = True
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The answers as {field id: {label, value}} shown as on the staff page, and the
    uploaded images as data URIs by field id."""
    from madoguchi.catalogue.fieldtypes import DisplayContext, field_type, localized

    definition = application.procedure_version.spec
    context = DisplayContext(date_style="wareki", reveal_sensitive=False)
    result: dict[str, dict[str, str]] = {}
    found: dict[str, str] = {}
    want_images = images
    for field_id, spec in definition.fields.items():
        value = application.answers.get(field_id)
        if value is None or spec["type"] in ("notice", "group"):
            if spec["type"] == "group" and value:
                result[field_id] = {
                    "label": localized(spec, "label"),
                    "value": "",
                    "group_items": [
                        {
                            sub["id"]: field_type(sub).display(sub, item.get(sub["id"]), context)
                            for sub in spec["fields"]
                            if sub["type"] not in ("notice", "file", "group")
                        }
                        for item in value
                    ],
                }
            continue
        if spec["type"] == "file":
            if want_images:
                found.update(_first_image(application, field_id, value))
            continue
        shown = field_type(spec).display(spec, value, context)
        entry: dict[str, Any] = {"label": localized(spec, "label"), "value": shown}
        if spec["type"] == "name" and isinstance(value, dict):
            entry["name"] = f"{value.get('family', '')}　{value.get('given', '')}".strip()
            entry["kana"] = f"{value.get('family_kana', '')}　{value.get('given_kana', '')}".strip()
        result[field_id] = entry
    return result, found


def _first_image(application, field_id: str, value) -> dict[str, str]:
    for item in value or []:
        if str(item.get("content_type", "")).startswith("image/"):
            link = application.files.select_related("stored_file").filter(stored_file_id=item["id"])
            first = link.first()
            if first is not None:
                return {field_id: _image_data_uri(first.stored_file)}
    return {}


def document_context(document, *, demo: bool) -> dict[str, Any]:
    application = document.application
    template = template_for(document.template)
    fields, images = answer_fields(application, images=template.images)
    issued_on = timezone.localdate(document.issued_at or timezone.now())
    from madoguchi.catalogue.japanese import format_wareki

    body = document.body
    unit = document.unit
    deliverable = application.procedure_version.definition.get("deliverable") or {}
    context = {
        "document": {
            "id": str(document.id),
            "number": document.number,
            "title": document.title,
            "issued_on": format_wareki(issued_on),
            "valid_until": format_wareki(document.valid_until) if document.valid_until else "",
        },
        "body": {"name": body.name, "head": head_of_body(body), "code": body.code},
        "unit": {"name": unit.name, "phone": unit.phone, "email": unit.email},
        "procedure": application.procedure_version.name,
        "receipt_number": application.receipt_number or "",
        "submitted_on": format_wareki(timezone.localdate(application.submitted_at))
        if application.submitted_at
        else "",
        "decided_on": format_wareki(timezone.localdate(application.decided_at))
        if application.decided_at
        else "",
        "fields": fields,
        "listed": [fields[f] for f in deliverable.get("fields", []) if f in fields],
        "addressee": next(
            (entry["name"] for entry in fields.values() if "name" in entry),
            "",
        ),
        "verify_url": verification_url(document.id),
        "demo": demo,
    }
    context = _visible(context)
    context["images"] = images
    context["qr"] = qr_data_uri(context["verify_url"])
    return template.build(context)


def fiscal_year_of(date: dt.date) -> int:
    return date.year if date.month >= 4 else date.year - 1


# --- HTML to PDF -------------------------------------------------------------------------


def document_base_css() -> str:
    return fonts.font_face_css() + "\n" + (STYLE_DIR / "base.css").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _weasy() -> tuple[Any, Any]:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts.check_fonts()
    font_config = FontConfiguration()
    stylesheet = CSS(string=document_base_css(), font_config=font_config, url_fetcher=_fetcher())
    return font_config, stylesheet


# Freed before the interpreter tears its modules down (WeasyPrint's finaliser needs them).
atexit.register(_weasy.cache_clear)


def _allowed_paths() -> set[str]:
    return {str(font.path.resolve()) for font in fonts.font_files()}


def _fetcher():
    from weasyprint.urls import URLFetcher

    class DocumentFetcher(URLFetcher):
        """Documents load nothing but data: URIs and the font files: no network, no
        other file, whatever a template or an answer might contain."""

        def fetch(self, url, headers=None):
            if url.startswith("file://"):
                path = str(Path(url[len("file://") :]).resolve())
                if path not in _allowed_paths():
                    raise ValueError("documents load no files but their fonts")
            return super().fetch(url, headers)

    return DocumentFetcher(allowed_protocols={"data", "file"}, fail_on_errors=True)


def _producer_for_signing(document, pdf) -> None:
    """PDF/A wants the Producer of the Info dictionary equal to the XMP's. pyHanko sets
    the XMP's to its own name when it signs and keeps an Info Producer that already
    names it: so the Info Producer names it from the start."""
    import pydyf
    from pyhanko.pdf_utils.metadata.model import VENDOR

    pdf.info["Producer"] = pydyf.String(VENDOR)


def html_to_pdf(
    html: str,
    *,
    variant: str | None = PDF_VARIANT,
    attachments: list | None = None,
    for_signing: bool = True,
) -> bytes:
    from weasyprint import HTML

    with _render_lock:
        font_config, stylesheet = _weasy()
        document = HTML(string=html, url_fetcher=_fetcher(), base_url="/")
        return document.write_pdf(
            stylesheets=[stylesheet],
            font_config=font_config,
            pdf_variant=variant,
            custom_metadata=True,
            attachments=attachments,
            uncompressed_pdf=False,
            finisher=_producer_for_signing if for_signing else None,
        )


def render_html(template: str, context: Mapping[str, Any]) -> str:
    with translation.override("ja"):
        return render_to_string(f"issuance/documents/{template_for(template).name}.html", context)


def application_for_signing(application, *, demo: bool) -> bytes:
    """The PDF a resident signs (PAdES) instead of a detached signature: the answers for
    reading, and the canonical bytes of the application as its embedded file, which is
    what the signature is checked against. PDF/A-3b, which allows embedded files."""
    import io

    from weasyprint import Attachment

    from madoguchi.catalogue.fieldtypes import DisplayContext
    from madoguchi.esign import canonical
    from madoguchi.esign.validation import EMBEDDED_NAME

    content = canonical.canonical_bytes(application)
    definition = application.procedure_version.spec
    context = _visible(
        {
            "procedure": application.procedure_version.name,
            "body": {"name": application.body.name},
            "application_id": str(application.pk),
            "created_on": _today_wareki(),
            "sha256": canonical.canonical_sha256(application),
            "embedded_name": EMBEDDED_NAME,
            "demo": demo,
        }
    )
    context["sections"] = definition.display_rows(
        application.answers, DisplayContext(date_style="wareki", reveal_sensitive=True)
    )
    with translation.override("ja"):
        html = render_to_string("issuance/documents/application-for-signing.html", context)
    attachment = Attachment(
        file_obj=io.BytesIO(content),
        name=EMBEDDED_NAME,
        description="申請内容（RFC 8785 JSON）",
        relationship="Source",
    )
    return html_to_pdf(html, variant="pdf/a-3b", attachments=[attachment], for_signing=False)


def _today_wareki() -> str:
    from madoguchi.catalogue.japanese import format_wareki

    return format_wareki(timezone.localdate())


def render_document(document, *, demo: bool) -> bytes:
    """The unsigned PDF of an issued document."""
    context = document_context(document, demo=demo)
    return html_to_pdf(render_html(document.template, context))
