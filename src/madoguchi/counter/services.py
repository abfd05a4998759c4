"""Business rules of the resident counter. Views, the API and the CLI call these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.catalogue import conditions
from madoguchi.catalogue.definition import Definition, Page, input_name
from madoguchi.catalogue.errors import FieldError
from madoguchi.catalogue.fieldtypes import FIELD_TYPES, field_type, seal, unseal
from madoguchi.catalogue.japanese import (
    Invalid,
    has_control_characters,
    lookup_postal_code,
    normalize_postal_code,
)
from madoguchi.catalogue.models import Procedure
from madoguchi.files.models import StoredFile
from madoguchi.files.services import (
    ImageRules,
    UploadRejected,
    clean_filename,
    encrypt_stored_file,
    read_stored,
    store_upload,
)
from madoguchi.identity import levels
from madoguchi.identity.services import prefill_values
from madoguchi.ledger.models import Event
from madoguchi.ledger.services import content_hash, person, record_event, require_checkpoint
from madoguchi.notifications.services import notify_staff, queue_email

from . import deadlines, hooks, routing, states
from .models import (
    ApplicantRole,
    Application,
    ApplicationFile,
    CorrectionRequest,
    Decision,
    Message,
    State,
)
from .receipts import new_receipt_number


class CounterError(Exception):
    """A refusal with a message for the resident (Japanese) and for the API (English)."""

    code = "refused"
    status = 409

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(ja)
        self.ja = ja
        self.en = en


class ProcedureClosed(CounterError):
    code = "closed"


class IdentityLevelTooLow(CounterError):
    code = "identity_level"
    status = 403


class NotEditable(CounterError):
    code = "not_editable"


class IncompleteApplication(CounterError):
    code = "incomplete"
    status = 422

    def __init__(self, problems: list[tuple[Page, FieldError]]) -> None:
        super().__init__("入力されていない項目があります。", "Some required answers are missing.")
        self.problems = problems


class SignatureRequired(CounterError):
    """電子署名: the procedure requires the applicant's valid signature over the
    application as it stands (madoguchi.esign; docs/signatures.md)."""

    code = "signature_required"
    status = 422


def _check_signature(application: Application) -> None:
    from madoguchi.esign.services import submission_problem

    problem = submission_problem(application)
    if problem is not None:
        raise SignatureRequired(problem.ja, problem.en)


def _now() -> dt.datetime:
    return timezone.now()


def _check_free_text(text: str) -> None:
    """Messages, reasons and comments: line breaks and tabs, but no other control
    characters (a NUL cannot even be stored by PostgreSQL)."""
    if has_control_characters(text):
        raise CounterError(
            "使用できない制御文字が含まれています。", "The text contains control characters."
        )


def check_open(version, now: dt.datetime | None = None) -> None:
    now = now or _now()
    if not version.accepts_online:
        raise ProcedureClosed(
            "この手続はオンラインでは受け付けていません。窓口でお手続きください。",
            "This procedure is not available online.",
        )
    if version.opens_at and now < version.opens_at:
        opens = timezone.localtime(version.opens_at)
        raise ProcedureClosed(
            f"受付は{opens:%Y年%-m月%-d日 %H:%M}からです。",
            f"Applications open at {opens:%Y-%m-%d %H:%M}.",
        )
    if version.closes_at and now >= version.closes_at:
        closes = timezone.localtime(version.closes_at)
        availability = version.definition.get("availability") or {}
        message = availability.get("closed_message", "")
        message_en = availability.get("closed_message_en", "")
        raise ProcedureClosed(
            f"受付は{closes:%Y年%-m月%-d日 %H:%M}で締め切りました。{message}".strip(),
            f"Applications closed at {closes:%Y-%m-%d %H:%M}. {message_en}".strip(),
        )


def _prefilled_answers(definition: Definition, user) -> dict[str, Any]:
    values = prefill_values(user)
    answers: dict[str, Any] = {}
    for field_id, spec in definition.fields.items():
        source = spec.get("prefill")
        if source and source in values:
            value = values[source]
            if (
                spec["type"] == "name"
                and spec.get("kana", "hiragana") != "none"
                and "family_kana" not in value
            ):
                continue
            if spec["type"] == "choice" and value not in {
                o["value"] for o in definition.options(field_id)
            }:
                continue
            answers[field_id] = value
    return answers


@transaction.atomic
def start_application(
    *,
    procedure: Procedure,
    applicant,
    applicant_role: str = ApplicantRole.SELF,
    subject_person: dict[str, Any] | None = None,
    use_profile: bool = False,
    now: dt.datetime | None = None,
) -> Application:
    version = procedure.current_version
    check_open(version, now)
    allowed_roles = [
        ApplicantRole.SELF,
        *(version.definition.get("proxy") or {}).get("allowed", []),
    ]
    if applicant_role not in allowed_roles:
        raise CounterError(
            "この手続は代理での申請を受け付けていません。",
            "This procedure does not accept proxy applications.",
        )
    definition = version.spec
    answers = _prefilled_answers(definition, applicant) if use_profile else {}
    first = definition.next_page(None, answers)
    return Application.objects.create(
        body=procedure.body,
        procedure=procedure,
        procedure_version=version,
        unit=procedure.unit,
        applicant=applicant,
        applicant_role=applicant_role,
        subject_person=subject_person or {},
        answers=answers,
        use_profile=use_profile,
        current_page=first.id if first else "",
    )


def attach_authority(*, application: Application, upload, actor) -> StoredFile:
    """The 委任状 of an application made with a power of attorney."""
    accept = (application.procedure_version.definition.get("proxy") or {}).get(
        "power_of_attorney_accept", ["image", "pdf"]
    )
    stored = store_upload(upload, owner=actor, accept=accept)
    with transaction.atomic():
        ApplicationFile.objects.create(
            application=application, stored_file=stored, field_id="_authority"
        )
        application.authority_file = stored
        application.save(update_fields=["authority_file", "updated_at"])
    return stored


# --- answering pages --------------------------------------------------------------------


@dataclass
class PageOutcome:
    errors: list[FieldError] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    next_page: Page | None = None
    stay: bool = False  # re-show the same page (an action like "add a child"), no error
    notice: str = ""


def correction_field_ids(definition: Definition, field_ids: list[str]) -> list[str]:
    """The fields a resident may answer during a 補正: those the staff named, and those
    whose display or requirement depends on them (changing 接種 to 済み must let the
    resident give the 接種日), in the order of the definition."""
    chosen = set(field_ids)
    changed = True
    while changed:
        changed = False
        for page in definition.pages:
            page_depends = any(
                field_id in chosen
                for field_id, _leaf in conditions.referenced_fields(page.data.get("show_if"))
            )
            for spec in page.fields:
                if spec["id"] in chosen or spec["type"] == "notice":
                    continue
                referenced = {
                    field_id
                    for key in ("show_if", "required_if")
                    for field_id, _leaf in conditions.referenced_fields(spec.get(key))
                }
                if page_depends or referenced & chosen:
                    chosen.add(spec["id"])
                    changed = True
    return [field_id for field_id in definition.fields if field_id in chosen]


def _editable_fields(application: Application) -> set[str] | None:
    """None when every field is editable (a draft); the named fields during a 補正."""
    if application.state == State.DRAFT:
        return None
    if application.state == State.CORRECTION_REQUESTED:
        correction = application.corrections.filter(answered_at__isnull=True).first()
        if correction is None:
            return set()
        return set(correction_field_ids(application.procedure_version.spec, correction.field_ids))
    raise NotEditable(
        "この申請は受付済みのため変更できません。",
        "This application has been submitted and cannot be changed.",
    )


def _image_rules(spec: dict[str, Any]) -> ImageRules | None:
    rules = spec.get("image")
    if not rules:
        return None
    return ImageRules(
        min_width=rules.get("min_width"),
        min_height=rules.get("min_height"),
        aspect_ratio=rules.get("aspect_ratio"),
        aspect_tolerance=rules.get("aspect_tolerance", 0.05),
    )


def _handle_files(
    application: Application, spec: dict[str, Any], files, removals: list[str], actor
) -> tuple[list[dict], list[FieldError]]:
    current = list(application.answers.get(spec["id"]) or [])
    errors: list[FieldError] = []
    if removals:
        current = [item for item in current if item["id"] not in removals]
    uploads = (
        [
            upload
            for upload in files.getlist(input_name(spec["id"]))
            if upload and upload.size is not None
        ]
        if files
        else []
    )
    limit = spec.get("max_files", 1)
    for upload in uploads:
        # One file allowed: a new upload replaces the earlier one, but only once it has
        # been accepted (a rejected upload must not cost the file already attached).
        replaces = limit == 1 and len(current) >= 1
        if len(current) >= limit and not replaces:
            errors.append(
                FieldError(
                    spec["id"],
                    f"ファイルは{limit}個までです。",
                    f"At most {limit} files.",
                    "max_files",
                )
            )
            break
        max_bytes = int(spec["max_size_mb"] * 1024 * 1024) if spec.get("max_size_mb") else None
        try:
            stored = store_upload(
                upload,
                owner=actor,
                accept=spec["accept"],
                max_bytes=max_bytes,
                image_rules=_image_rules(spec),
                encrypt=bool(spec.get("sensitive")),
            )
        except UploadRejected as exc:
            name = clean_filename(upload.name or "")[:60]
            errors.append(
                FieldError(spec["id"], f"{name}: {exc.ja}", f"{name}: {exc.en}", exc.code)
            )
            continue
        if replaces:
            current = []
        ApplicationFile.objects.create(
            application=application, stored_file=stored, field_id=spec["id"]
        )
        current.append(stored.descriptor())
    return current, errors


def _postal_lookup(raw: dict[str, Any], field_id: str) -> tuple[dict[str, Any], FieldError | None]:
    prefix = input_name(field_id)
    code_key = f"{prefix}-postal_code" if f"{prefix}-postal_code" in raw else prefix
    try:
        code = normalize_postal_code(str(raw.get(code_key, "")))
    except Invalid as exc:
        return raw, FieldError(f"{field_id}.postal_code", exc.ja, exc.en, exc.code)
    found = lookup_postal_code(code)
    if found is None:
        return raw, FieldError(
            f"{field_id}.postal_code",
            "この郵便番号の住所が見つかりません。住所を直接入力してください。",
            "No address found for this postal code; enter the address yourself.",
            "postal_code_unknown",
        )
    raw = dict(raw)
    raw[f"{prefix}-prefecture"] = found.prefecture
    raw[f"{prefix}-city"] = found.city
    raw[f"{prefix}-street"] = found.town
    return raw, None


@transaction.atomic
def save_page(
    *, application: Application, page: Page, data, files=None, action: str = "continue", actor
) -> PageOutcome:
    """Saves what the resident entered on one page.

    Uploaded files are stored at once even if another input on the page is wrong, and the
    text of every input is kept, so a mistake never costs what was already entered.
    """
    application = Application.objects.select_for_update().get(pk=application.pk)
    editable = _editable_fields(application)
    definition = application.procedure_version.spec
    if editable is None:
        check_open(application.procedure_version)
    fields_here = [spec for spec in page.fields if editable is None or spec["id"] in editable]
    scoped_page = Page({**page.data, "fields": fields_here}) if editable is not None else page

    group_counts: dict[str, int] = {}
    outcome = PageOutcome()
    kind, _, argument = action.partition(":")
    for spec in fields_here:
        if spec["type"] == "group":
            raw_count = data.get(f"{input_name(spec['id'])}-count", "")
            count = (
                int(raw_count)
                if str(raw_count).isdigit()
                else max(len(application.answers.get(spec["id"]) or []), spec.get("min_items", 1))
            )
            group_counts[spec["id"]] = count

    removal_list: list[str] = []
    if kind == "add" and argument in group_counts:
        spec = definition.fields[argument]
        group_counts[argument] = min(group_counts[argument] + 1, spec.get("max_items", 50))
        outcome.stay = True
    elif kind == "remove" and argument.count(":") == 1:
        group_id, index_text = argument.split(":")
        if group_id in group_counts and index_text.isdigit():
            data = _remove_group_item(data, group_id, int(index_text), group_counts[group_id])
            group_counts[group_id] = max(group_counts[group_id] - 1, 0)
            outcome.stay = True
    elif kind == "remove_file":
        removal_list = [argument.partition(":")[2]]
        outcome.stay = True

    for spec in fields_here:
        if spec["type"] != "file":
            continue
        removals = (
            removal_list
            if kind == "remove_file" and argument.partition(":")[0] == spec["id"]
            else []
        )
        value, file_errors = _handle_files(application, spec, files, removals, actor)
        application.answers[spec["id"]] = value or None
        outcome.errors.extend(file_errors)

    result = definition.parse_page(
        scoped_page, data, application.answers, group_counts=group_counts
    )
    # The raw inputs are kept in the draft; PostgreSQL cannot store NUL in JSON or text.
    # The errors above have already been computed from what was actually sent.
    result.raw = _without_nul(result.raw)
    outcome.raw = result.raw
    if kind == "lookup":
        outcome.raw, error = _postal_lookup(result.raw, argument)
        outcome.stay = True
        if error:
            outcome.errors.append(error)
        else:
            outcome.notice = "住所を入力しました。番地などを確認・追記してください。"
        application.pending_inputs[page.id] = _pending(page, outcome.raw)
        application.save(update_fields=["answers", "pending_inputs", "updated_at"])
        return outcome

    if outcome.stay:
        application.pending_inputs[page.id] = _pending(page, result.raw)
        application.save(update_fields=["answers", "pending_inputs", "updated_at"])
        return outcome

    if kind == "save":
        # "Save and come back later": keep everything typed, even what is not valid yet.
        for field_id, value in result.values.items():
            if not any(
                error.path == field_id or error.path.startswith(field_id + ".")
                for error in result.errors
            ):
                application.answers[field_id] = value
        application.pending_inputs[page.id] = _pending(page, result.raw)
        application.current_page = page.id
        application.save(update_fields=["answers", "pending_inputs", "current_page", "updated_at"])
        return outcome

    outcome.errors.extend(result.errors)
    context = {**application.answers, **result.values}
    for spec in fields_here:
        missing_file = (
            spec["type"] == "file"
            and definition.field_visible(spec, context)
            and not application.answers.get(spec["id"])
            and definition.field_required(spec, context)
            and not any(error.path == spec["id"] for error in outcome.errors)
        )
        if missing_file:
            outcome.errors.append(FIELD_TYPES["file"].required_error(spec, spec["id"]))
    if outcome.errors:
        application.pending_inputs[page.id] = _pending(page, result.raw)
        application.save(update_fields=["answers", "pending_inputs", "updated_at"])
        return outcome

    application.answers.update(result.values)
    application.pending_inputs.pop(page.id, None)
    if page.id not in application.completed_pages:
        application.completed_pages.append(page.id)
    outcome.next_page = (
        definition.next_page(page.id, application.answers) if editable is None else None
    )
    application.current_page = outcome.next_page.id if outcome.next_page else "_check"
    application.lock_version += 1
    application.save(
        update_fields=[
            "answers",
            "pending_inputs",
            "completed_pages",
            "current_page",
            "lock_version",
            "updated_at",
        ]
    )
    return outcome


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _remove_group_item(data, group_id: str, index: int, count: int):
    """Shifts the inputs of later items down by one, so item `index` disappears."""
    prefix = input_name(group_id)
    copy = {key: (data.getlist(key) if hasattr(data, "getlist") else data[key]) for key in data}
    result: dict[str, Any] = {}
    for key, value in copy.items():
        if key.startswith(prefix + "-") and key != f"{prefix}-count":
            rest = key[len(prefix) + 1 :]
            position, _, name = rest.partition("-")
            if position.isdigit():
                position_number = int(position)
                if position_number == index:
                    continue
                if position_number > index:
                    key = f"{prefix}-{position_number - 1}-{name}"
        result[key] = value[0] if isinstance(value, list) and len(value) == 1 else value
    result[f"{prefix}-count"] = str(max(count - 1, 0))
    return result


def raw_for_page(application: Application, page: Page) -> dict[str, Any]:
    """The inputs of a page as the resident last left them."""
    if page.id in application.pending_inputs:
        return unseal(application.pending_inputs[page.id])
    raw: dict[str, Any] = {}
    for spec in page.fields:
        value = application.answers.get(spec["id"])
        if spec["type"] == "group":
            items = value or [{}] * spec.get("min_items", 1)
            raw[f"{input_name(spec['id'])}-count"] = str(len(items))
            for index, item in enumerate(items):
                for sub in spec["fields"]:
                    raw.update(
                        field_type(sub).raw_from_value(
                            sub,
                            item.get(sub["id"]),
                            input_name(f"{spec['id']}.{index}.{sub['id']}"),
                        )
                    )
        else:
            raw.update(field_type(spec).raw_from_value(spec, value, input_name(spec["id"])))
    return raw


# --- submission -----------------------------------------------------------------------


def _pending(page, raw: dict[str, Any]) -> Any:
    """What was typed on a page, kept in the draft until it is valid: sealed as a whole
    when the page asks for a sensitive answer, which must not rest in clear either."""
    sensitive = any(
        spec.get("sensitive") or any(sub.get("sensitive") for sub in spec.get("fields", ()))
        for spec in page.fields
    )
    return seal(raw) if sensitive else raw


def _notify_submitted(application: Application) -> None:
    version = application.procedure_version
    language = application.applicant.language
    context = {
        "procedure_name": version.name_in(language),
        "receipt_number": application.receipt_number,
        "body_name": application.body.name_in(language),
        "status_url": f"/applications/{application.pk}/",
        "processing_days": version.definition.get("processing_days"),
    }
    queue_email(
        to=application.applicant.email,
        template="application_submitted",
        context=context,
        language=language,
        related_type="application",
        related_id=str(application.pk),
        overrides=version.definition.get("notifications"),
    )


def _link_subject_user(application: Application) -> None:
    proxy = application.procedure_version.definition.get("proxy") or {}
    email = (application.subject_person or {}).get("email")
    if (
        application.applicant_role == ApplicantRole.SELF
        or not proxy.get("subject_can_view")
        or not email
    ):
        return
    from allauth.account.models import EmailAddress

    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=True)
        .select_related("user")
        .first()
    )
    if address and address.user_id != application.applicant_id:
        application.subject_user = address.user


@transaction.atomic
def submit_application(
    *,
    application: Application,
    actor,
    identity_level: str | None,
    now: dt.datetime | None = None,
    on_behalf: dict[str, Any] | None = None,
) -> Application:
    """Submits a draft. Submitting twice (double click, resend, two tabs) returns the
    application that was already submitted instead of creating or changing anything.

    `on_behalf` (書かない窓口): the actor is the staff member who entered it with the
    resident, and the details say how the resident confirmed it; see
    `madoguchi.backoffice.services.confirm_assisted_application`."""
    application = (
        # Only the application's row is locked, not the version, body and applicant rows
        # read with it, which every submission of the procedure shares.
        Application.objects.select_for_update(of=("self",))
        .select_related("procedure_version", "procedure", "body", "applicant")
        .get(pk=application.pk)
    )
    if application.state != State.DRAFT:
        return application
    _submit(application, actor=actor, identity_level=identity_level, now=now, on_behalf=on_behalf)
    return application


RECEIPT_NUMBER_ATTEMPTS = 5


def _submit(
    application: Application,
    *,
    actor,
    identity_level: str | None,
    now: dt.datetime | None,
    on_behalf: dict[str, Any] | None = None,
) -> Event:
    """What submitting does, in the caller's transaction: the checks, the 受付番号, the
    row, the ledger event and the confirmation e-mail. The one place for it, shared by
    submit_application (a draft: its row is updated) and create_and_submit (an
    application created submitted: its row is inserted once, already submitted).
    Returns the event recorded (create_and_submit answers with it as the history)."""
    inserting = application._state.adding
    version = application.procedure_version
    check_open(version, now)
    required_level = version.identity_level
    if not levels.satisfies(identity_level, required_level):
        raise IdentityLevelTooLow(
            f"この手続には{levels.LABELS[required_level]}による本人確認が必要です。",
            f"This procedure requires identity level '{required_level}'.",
        )
    definition = version.spec
    problems = definition.missing_answers(application.answers)
    if (
        application.applicant_role == ApplicantRole.POWER_OF_ATTORNEY
        and not application.authority_file_id
    ):
        problems.append(
            (
                definition.pages[0],
                FieldError(
                    "_authority",
                    "委任状を添付してください。",
                    "Attach the power of attorney.",
                    "required",
                ),
            )
        )
    if problems:
        raise IncompleteApplication(problems)
    if version.definition.get("signature_required"):
        _check_signature(application)
    states.check("submit", application.state)
    application.answers = definition.relevant_answers(application.answers)
    application.answers_sha256 = content_hash(application.answers)
    application.fee_amount = definition.fee(application.answers)
    application.state = State.SUBMITTED
    application.submitted_at = now or _now()
    application.pending_inputs = {}
    _link_subject_user(application)
    day = timezone.localdate(application.submitted_at)
    # Computed, not queried: the calendar is in memory (holidays of the year are cached).
    application.due_date = deadlines.due_date_for(day, version.definition.get("processing_days"))
    for _attempt in range(RECEIPT_NUMBER_ATTEMPTS):
        application.receipt_number = new_receipt_number(day)
        try:
            with transaction.atomic():
                application.save()
            break
        except IntegrityError:
            # An INSERT can also collide on the idempotency key: only a receipt number
            # drawn twice is drawn again; the caller answers for the key.
            if inserting and not _receipt_number_taken(application.receipt_number):
                raise
            continue
    else:
        raise CounterError(
            "受付番号を発行できませんでした。もう一度お試しください。",
            "Could not allocate a receipt number; try again.",
        )
    event = record_event(
        event_type="application.submitted",
        actor_kind="staff" if on_behalf else "resident",
        actor_id=actor.pk,
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        content_sha256=application.answers_sha256,
        details={
            "procedure": application.procedure.identifier,
            "procedure_version": version.number,
            "receipt_number": application.receipt_number,
            "applicant_role": application.applicant_role,
            "files": sorted(
                f["sha256"]
                for value in application.answers.values()
                if isinstance(value, list)
                for f in value
                if isinstance(f, dict) and "sha256" in f
            ),
            **(on_behalf or {}),
        },
    )
    if (version.definition.get("ledger") or {}).get("synchronous"):
        # The procedure's receipt waits for the signed checkpoint including the submission.
        require_checkpoint(event)
    _notify_submitted(application)
    return event


def _receipt_number_taken(receipt_number: str) -> bool:
    return Application.objects.filter(receipt_number=receipt_number).exists()


def _earlier_application(idempotency_key, applicant) -> Application | None:
    """The application an earlier request with this idempotency key created, if any."""
    # The key is unique: [:1] without the ORDER BY that .first() would add.
    found = list(
        Application.objects.filter(idempotency_key=idempotency_key).values_list(
            "pk", "applicant_id"
        )[:1]
    )
    if not found:
        return None
    if found[0][1] != applicant.pk:
        raise CounterError(
            "この冪等キーは使用済みです。", "This idempotency key has already been used."
        )
    return Application.objects.filter(pk=found[0][0]).first()


def create_and_submit(
    *,
    procedure: Procedure,
    applicant,
    answers: dict[str, Any],
    idempotency_key,
    identity_level: str | None,
    submit: bool = True,
) -> tuple[Application, bool]:
    """For the API: create a draft from a whole set of answers and optionally submit it.

    The client's idempotency key is the application's: sending the same request again
    returns the application it created the first time, whatever has changed since (the
    procedure closed, a new version). Returns (application, created). A created
    application carries `history_written`: the events recorded for it here, which are
    its whole history so far.
    """
    # The key is not looked up first: the unique constraint on it tells, at the INSERT,
    # that an earlier request used it, and only then (or when this request is refused)
    # is the earlier application read. A new submission saves that lookup.
    try:
        return _create(
            procedure=procedure,
            applicant=applicant,
            answers=answers,
            idempotency_key=idempotency_key,
            identity_level=identity_level,
            submit=submit,
        ), True
    except (IntegrityError, CounterError):
        # A key sent before (or twice at once: the other request won): answer with the
        # application it created, not with the reason this request failed.
        existing = _earlier_application(idempotency_key, applicant)
        if existing is None:
            raise
        return existing, False


def _create(
    *,
    procedure: Procedure,
    applicant,
    answers: dict[str, Any],
    idempotency_key,
    identity_level: str | None,
    submit: bool,
) -> Application:
    version = procedure.current_version
    check_open(version)
    definition = version.spec
    clean, errors = definition.parse_json_answers(answers)
    if errors:
        # The definition names a field's errors by its id ("owner_phone") and unknown keys
        # by "answers.<key>"; the API answers with paths into the request body throughout.
        raise InvalidAnswers(
            [
                error
                if error.path == "answers" or error.path.startswith("answers.")
                else FieldError(f"answers.{error.path}", error.ja, error.en, error.code)
                for error in errors
            ]
        )
    clean, errors = _resolve_api_files(clean, definition, applicant)
    if errors:
        raise InvalidAnswers(errors)
    application = Application(
        body=procedure.body,
        procedure=procedure,
        procedure_version=version,
        unit_id=procedure.unit_id,
        applicant=applicant,
        answers=clean,
        idempotency_key=idempotency_key,
        current_page="_check",
    )
    application.history_written = []
    with transaction.atomic():
        if submit:
            # Inserted already submitted: one INSERT, no UPDATE of the row just
            # written and no lock to take on it.
            application.history_written.append(
                _submit(application, actor=applicant, identity_level=identity_level, now=None)
            )
        else:
            application.save(force_insert=True)
        for field_id, value in clean.items():
            if definition.fields[field_id]["type"] == "file":
                sensitive = bool(definition.fields[field_id].get("sensitive"))
                for item in value:
                    ApplicationFile.objects.create(
                        application=application, stored_file_id=item["id"], field_id=field_id
                    )
                    if sensitive:
                        # Uploaded through the API before any field named it.
                        encrypt_stored_file(StoredFile.objects.get(pk=item["id"]))
    return application


class InvalidAnswers(CounterError):
    code = "invalid_answers"
    status = 422

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("入力内容に誤りがあります。", "Some answers are not valid.")
        self.errors = errors


def _resolve_api_files(
    answers: dict[str, Any], definition: Definition, applicant
) -> tuple[dict[str, Any], list[FieldError]]:
    from madoguchi.files.services import _check_image

    errors: list[FieldError] = []
    seen: set = set()
    for field_id, value in answers.items():
        spec = definition.fields[field_id]
        if spec["type"] != "file":
            continue
        limit = spec.get("max_files", 1)
        if len(value) > limit:
            errors.append(
                FieldError(
                    f"answers.{field_id}",
                    f"ファイルは{limit}個までです。",
                    f"At most {limit} files.",
                    "max_files",
                )
            )
            continue
        resolved = []
        for index, item in enumerate(value):
            key = _uuid_or_none(item["id"])
            stored = StoredFile.objects.filter(pk=key, owner=applicant).first()
            # A file belongs to one answer of one application (and linking it twice
            # would fail on the unique link, a 500).
            if stored is None or hasattr(stored, "application_link") or key in seen:
                errors.append(
                    FieldError(
                        f"answers.{field_id}.{index}",
                        "ファイルが見つからないか、既に使われています。",
                        "Unknown or already used file id.",
                        "file",
                    )
                )
                continue
            if stored.content_type not in {
                mime for kind in spec["accept"] for mime in _mimes(kind)
            }:
                errors.append(
                    FieldError(
                        f"answers.{field_id}.{index}",
                        "この項目には使えない形式のファイルです。",
                        "This file type is not accepted here.",
                        "type",
                    )
                )
                continue
            seen.add(key)
            # The same checks as an upload through the form: size and the image rules
            # (a school photo of at least 300x400 at 3:4), which POST /api/files cannot
            # know about when the file is stored.
            max_mb = spec.get("max_size_mb")
            rules = _image_rules(spec)
            try:
                if max_mb and stored.size > max_mb * 1024 * 1024:
                    raise UploadRejected(
                        f"ファイルが大きすぎます。{max_mb}MB以下のファイルにしてください。",
                        f"The file is too large; the limit is {max_mb}MB.",
                        "too_large",
                    )
                if rules and stored.content_type.startswith("image/"):
                    _check_image(read_stored(stored), rules)
            except UploadRejected as exc:
                errors.append(FieldError(f"answers.{field_id}.{index}", exc.ja, exc.en, exc.code))
                continue
            resolved.append(stored.descriptor())
        answers[field_id] = resolved
    return answers, errors


def _mimes(kind: str) -> list[str]:
    from madoguchi.files.services import KINDS

    return list(KINDS[kind])


def _uuid_or_none(value: str):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- after submission -------------------------------------------------------------------


class Conflict(CounterError):
    """Someone else acted first (the page was stale): nothing was changed."""

    code = "conflict"
    status = 409


class StateNotAllowed(CounterError):
    code = "state"
    status = 409


def _locked(application: Application, expected_version: int | None = None) -> Application:
    application = (
        Application.objects.select_for_update()
        .select_related("procedure_version", "applicant", "body")
        .get(pk=application.pk)
    )
    if expected_version is not None and application.lock_version != expected_version:
        raise Conflict(
            "他の職員が先にこの申請を更新しました。画面を開き直してから操作してください。",
            "Someone else changed this application first; reload it.",
        )
    return application


def _refuse_state(ja: str = "", en: str = "") -> StateNotAllowed:
    return StateNotAllowed(
        ja or "この状態の申請にはこの操作はできません。",
        en or "This action is not allowed in the current state.",
    )


def _notify_resident(application: Application, template: str, **context: Any) -> None:
    """An e-mail to the applicant that says what happened and where to look; the details
    (reasons, names, answers) stay behind the log-in."""
    version = application.procedure_version
    language = application.applicant.language
    queue_email(
        to=application.applicant.email,
        template=template,
        language=language,
        context={
            "procedure_name": version.name_in(language),
            "receipt_number": application.receipt_number,
            "body_name": application.body.name_in(language),
            "status_url": f"/applications/{application.pk}/",
            **context,
        },
        related_type="application",
        related_id=str(application.pk),
        overrides=version.definition.get("notifications"),
    )


@transaction.atomic
def withdraw_application(*, application: Application, actor, reason: str = "") -> Application:
    application = _locked(application)
    if application.applicant_id != actor.pk:
        raise CounterError("申請した方だけが取り下げられます。", "Only the applicant can withdraw.")
    if application.state == State.WITHDRAWN:
        return application
    _check_free_text(reason)
    if not states.allowed("withdraw", application.state):
        raise CounterError(
            "この申請は既に処理が終わっているため取り下げられません。",
            "This application can no longer be withdrawn.",
        )
    if application.state == State.AWAITING_APPROVAL:
        # The draft decision in its route has nothing left to decide.
        for decision in application.decisions.filter(status=Decision.Status.PENDING):
            routing.cancel(decision=decision, actor=actor)
            decision.status = Decision.Status.WITHDRAWN
            decision.save(update_fields=["status"])
    application.withdrawn_at = _now()
    _set_state(
        application,
        "withdraw",
        actor_kind="resident",
        actor=actor,
        details={"from_staff": False},
        content=reason or None,
        event_type="application.withdrawn",
        update=["withdrawn_at"],
    )
    if reason:
        Message.objects.create(
            application=application, author=actor, body=f"取下げの理由: {reason}"
        )
    try:
        hooks.application_closed(application, actor)
    except CounterError:
        raise
    except Exception as exc:
        # A capability's refusal (records) refuses the withdrawal with its own message.
        if not (hasattr(exc, "ja") and hasattr(exc, "en")):
            raise
        raise CounterError(exc.ja, exc.en) from exc
    _tell_staff(application, "withdrawn")
    return application


@transaction.atomic
def discard_draft(*, application: Application, actor) -> None:
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.state != State.DRAFT or actor.pk not in (
        application.applicant_id,
        application.entered_by_id,
    ):
        raise CounterError("下書きだけを削除できます。", "Only drafts can be deleted.")
    hooks.check_transition(application, "discard")
    application.delete()


@transaction.atomic
def post_message(*, application: Application, author, body: str, from_staff: bool) -> Message:
    body = body.strip()
    if not body:
        raise CounterError("メッセージを入力してください。", "Write a message.")
    if len(body) > 4000:
        raise CounterError(
            "メッセージは4000文字以内で入力してください。", "Use at most 4000 characters."
        )
    _check_free_text(body)
    if application.state == State.DRAFT:
        raise CounterError(
            "申請を送信してからメッセージを送れます。", "Submit the application first."
        )
    message = Message.objects.create(
        application=application, author=author, body=body, from_staff=from_staff
    )
    record_event(
        event_type="application.message_posted",
        actor_kind="staff" if from_staff else "resident",
        actor_id=author.pk,
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        content=body,
        details={"from_staff": from_staff},
    )
    if from_staff:
        _notify_resident(application, "message_from_staff")
    else:
        _tell_staff(application, "message")
    return message


def _tell_staff(application: Application, kind: str) -> None:
    """The assignee hears of what the resident did (a message, a resubmission, a
    withdrawal); unassigned work is announced to the unit by the new-work sweep."""
    # Read again: the caller's copy may predate an assignment made meanwhile.
    assignee_id = (
        Application.objects.filter(pk=application.pk).values_list("assignee_id", flat=True).first()
    )
    if not assignee_id:
        return
    notify_staff(
        users=[assignee_id],
        kind=kind,
        context={
            "procedure_name": application.procedure_version.name,
            "receipt_number": application.receipt_number,
            "url": f"/staff/applications/{application.pk}/",
        },
        related_type="application",
        related_id=str(application.pk),
    )


MAX_REPLY_DAYS = 366


@transaction.atomic
def request_correction(
    *,
    application: Application,
    staff,
    field_ids: list[str],
    message: str,
    reply_by: dt.date | None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> CorrectionRequest:
    """補正: the named fields (answers and attachments) open for the resident; the clock
    of the 標準処理期間 stops until they resubmit."""
    application = _locked(application, expected_version)
    definition = application.procedure_version.spec
    unknown = [field_id for field_id in field_ids if field_id not in definition.fields]
    if not field_ids or unknown:
        raise CounterError("補正する項目を選んでください。", "Choose the fields to correct.")
    if not message.strip():
        raise CounterError("補正の内容を入力してください。", "Explain what to correct.")
    if len(message) > 4000:
        raise CounterError(
            "補正の内容は4000文字以内で入力してください。", "Use at most 4000 characters."
        )
    _check_free_text(message)
    today = timezone.localdate(now) if now else timezone.localdate()
    if reply_by and reply_by < today:
        raise CounterError(
            "回答期限には今日以降の日付を指定してください。",
            "The reply-by date must not be in the past.",
        )
    if reply_by and reply_by > today + dt.timedelta(days=MAX_REPLY_DAYS):
        raise CounterError(
            "回答期限は1年以内の日付を指定してください。",
            "The reply-by date must be within a year.",
        )
    if not states.allowed("request_correction", application.state):
        raise _refuse_state(
            "この状態の申請には補正を依頼できません。",
            "A correction cannot be requested in this state.",
        )
    correction = CorrectionRequest.objects.create(
        application=application,
        requested_by=staff,
        field_ids=list(dict.fromkeys(field_ids)),
        message=message.strip(),
        reply_by=reply_by,
        answers_before={
            field_id: application.answers.get(field_id)
            for field_id in correction_field_ids(definition, field_ids)
        },
    )
    update = _pause_clock(application, today)
    _set_state(
        application,
        "request_correction",
        actor_kind="staff",
        actor=staff,
        details={
            "fields": correction.field_ids,
            "reply_by": reply_by.isoformat() if reply_by else None,
            "open_days_left": application.open_days_left,
        },
        content=message.strip(),
        update=update,
    )
    _notify_resident(
        application,
        "correction_requested",
        reply_by=reply_by,
        status_url=f"/applications/{application.pk}/correction/",
    )
    return correction


def _pause_clock(application: Application, today: dt.date) -> list[str]:
    if application.due_date is None:
        return []
    application.open_days_left = deadlines.open_days_left(application.due_date, today)
    application.clock_paused_on = today
    application.due_date = None
    return ["open_days_left", "clock_paused_on", "due_date"]


def _resume_clock(application: Application, today: dt.date) -> list[str]:
    if application.clock_paused_on is None or application.open_days_left is None:
        return []
    application.due_date = deadlines.resume(today, application.open_days_left)
    application.clock_paused_on = None
    application.open_days_left = None
    return ["open_days_left", "clock_paused_on", "due_date"]


@transaction.atomic
def resubmit(
    *, application: Application, actor, now: dt.datetime | None = None
) -> CorrectionRequest:
    application = _locked(application)
    if application.applicant_id != actor.pk:
        raise CounterError("申請した方だけが再提出できます。", "Only the applicant can resubmit.")
    correction = application.corrections.filter(answered_at__isnull=True).first()
    if application.state != State.CORRECTION_REQUESTED or correction is None:
        raise CounterError(
            "補正を依頼されている申請ではありません。", "No correction has been requested."
        )
    definition = application.procedure_version.spec
    editable = correction_field_ids(definition, correction.field_ids)
    problems = [
        (page, error)
        for page, error in definition.missing_answers(application.answers)
        if error.path.split(".")[0] in editable
    ]
    if problems:
        raise IncompleteApplication(problems)
    if application.procedure_version.definition.get("signature_required"):
        # The corrected application is signed again: the earlier signature is over
        # what the correction changed.
        _check_signature(application)
    changes = []
    for field_id in editable:
        before = correction.answers_before.get(field_id)
        after = application.answers.get(field_id)
        if before != after:
            changes.append({"field": field_id, "before": before, "after": after})
    application.answers = definition.relevant_answers(application.answers)
    application.answers_sha256 = content_hash(application.answers)
    application.fee_amount = definition.fee(application.answers)
    correction.answered_at = now or _now()
    correction.changes = changes
    correction.save(update_fields=["answered_at", "changes"])
    update = ["answers", "answers_sha256", "fee_amount"]
    update += _resume_clock(application, timezone.localdate(correction.answered_at))
    _set_state(
        application,
        "resubmit",
        actor_kind="resident",
        actor=actor,
        details={"changed_fields": [change["field"] for change in changes]},
        content_sha256=application.answers_sha256,
        update=update,
    )
    _tell_staff(application, "resubmitted")
    return correction


def _set_state(
    application: Application,
    name: str,
    *,
    actor_kind: str,
    actor,
    details=None,
    content: Any = None,
    content_sha256: str = "",
    event_type: str = "",
    update: list[str] | tuple[str, ...] = (),
) -> None:
    """Fires a transition of states.py: the new state, the lock version and the event,
    in the caller's transaction."""
    if not states.allowed(name, application.state):
        # Each service checks first with its own message; this is the net under them.
        raise _refuse_state()
    transition = states.TRANSITIONS[name]
    hooks.check_transition(application, name)
    previous = application.state
    application.state = transition.target
    fields = ["state", "updated_at", "lock_version", *update]
    if transition.target in states.DECIDED_STATES:
        application.decided_at = _now()
        fields.append("decided_at")
    if transition.name == "reopen":
        application.decided_at = None
        fields.append("decided_at")
    application.lock_version += 1
    application.save(update_fields=list(dict.fromkeys(fields)))
    record_event(
        event_type=event_type or f"application.{name}",
        actor_kind=actor_kind,
        actor_id=actor.pk if actor is not None else None,
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        content=content,
        content_sha256=content_sha256,
        details={"from": previous, "to": transition.target, **(details or {})},
    )


@transaction.atomic
def staff_transition(
    *,
    application: Application,
    staff,
    name: str,
    comment: str = "",
    expected_version: int | None = None,
) -> Application:
    """A staff action without more input than a comment: start review, or a decision
    taken directly (approve / reject with the comment as reason)."""
    if name in ("approve", "reject"):
        decide(
            application=application,
            staff=staff,
            outcome=name,
            reason=comment if name == "reject" else "",
            comment=comment if name == "approve" else "",
            expected_version=expected_version,
        )
        return Application.objects.get(pk=application.pk)
    application = _locked(application, expected_version)
    transition = states.TRANSITIONS.get(name)
    if transition is None or name != "start_review":
        raise CounterError("この操作はできません。", "This action is not available.")
    if not states.allowed(name, application.state):
        raise _refuse_state()
    _check_free_text(comment)
    _set_state(
        application,
        name,
        actor_kind="staff",
        actor=staff,
        details={"has_comment": bool(comment.strip())},
    )
    if comment.strip():
        Message.objects.create(
            application=application, author=staff, body=comment.strip(), from_staff=True
        )
    _notify_resident(application, "status_changed", state_label=State(application.state).label)
    return application


@transaction.atomic
def assign(
    *, application: Application, actor, assignee, expected_version: int | None = None
) -> Application:
    """Claim (assignee = actor), assign, reassign or release (assignee None). Who may be
    assigned is the back office's rule; this keeps the record."""
    application = _locked(application, expected_version)
    if application.state not in states.OPEN:
        raise _refuse_state(
            "処理が終わった申請の担当者は変更できません。",
            "A decided application cannot be reassigned.",
        )
    previous = application.assignee_id
    new = assignee.pk if assignee is not None else None
    if previous == new:
        return application
    application.assignee = assignee
    application.lock_version += 1
    application.save(update_fields=["assignee", "lock_version", "updated_at"])
    record_event(
        event_type="application.assigned",
        actor_kind="staff",
        actor_id=actor.pk,
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        details={
            "assignee": person("staff", new),
            "previous": person("staff", previous),
            "claimed": new == actor.pk,
        },
    )
    if assignee is not None and new != actor.pk:
        notify_staff(
            users=[new],
            kind="assigned",
            context={
                "procedure_name": application.procedure_version.name,
                "receipt_number": application.receipt_number,
                "url": f"/staff/applications/{application.pk}/",
            },
            related_type="application",
            related_id=str(application.pk),
        )
    return application


# --- decisions --------------------------------------------------------------------------


def _head_title(body) -> str:
    if body.kind == "prefecture":
        return f"{body.name}知事"
    for suffix in ("市", "町", "村", "区"):
        if body.name.endswith(suffix):
            return f"{body.name}長"
    return f"{body.name}の長"


def default_instruction(body) -> str:
    """教示 (行政不服審査法 第82条, 行政事件訴訟法 第46条) when a procedure defines none."""
    head = _head_title(body)
    return (
        "この決定に不服がある場合は、この決定があったことを知った日の翌日から起算して"
        f"3か月以内に、{head}に対して審査請求をすることができます。\n"
        "この決定の取消しを求める訴えは、この決定があったことを知った日（審査請求をした"
        "場合は、その裁決があったことを知った日）の翌日から起算して6か月以内に、"
        f"{body.name}を被告として（訴訟において{body.name}を代表する者は{head}となります。）"
        "提起することができます。"
    )


def instruction_for(application: Application, outcome: str) -> str:
    """The 教示 text a decision carries: the procedure's for a rejection (its
    `instruction`), none for an approval or a 返戻."""
    if outcome != Decision.Outcome.REJECT:
        return ""
    defined = application.procedure_version.definition.get("instruction")
    if isinstance(defined, dict):
        defined = defined.get("reject")
    return (defined or default_instruction(application.body)).strip()


def _check_decision_text(outcome: str, reason: str, comment: str) -> None:
    if outcome not in Decision.Outcome.values:
        raise CounterError("決定の内容を選んでください。", "Choose the decision.")
    if outcome in (Decision.Outcome.REJECT, Decision.Outcome.RETURN) and not reason.strip():
        raise CounterError(
            "不承認・返戻の理由を入力してください。", "Give the reason for the decision."
        )
    for text in (reason, comment):
        if len(text) > 4000:
            raise CounterError("4000文字以内で入力してください。", "Use at most 4000 characters.")
        _check_free_text(text)


@transaction.atomic
def decide(
    *,
    application: Application,
    staff,
    outcome: str,
    reason: str = "",
    comment: str = "",
    expected_version: int | None = None,
) -> Decision:
    """A decision taken directly (no approval route): approve, reject with the reason and
    the 教示, or return (返戻) with the reason. Final at once."""
    _check_decision_text(outcome, reason, comment)
    application = _locked(application, expected_version)
    name = states.DIRECT_DECISION[outcome]
    if not states.allowed(name, application.state):
        raise _refuse_state()
    decision = Decision.objects.create(
        application=application,
        outcome=outcome,
        status=Decision.Status.FINAL,
        reason=reason.strip(),
        comment=comment.strip(),
        instruction=instruction_for(application, outcome),
        drafted_by=staff,
        decided_at=_now(),
    )
    _set_state(
        application,
        name,
        actor_kind="staff",
        actor=staff,
        details={"decision": decision.pk, "outcome": outcome, "route": None},
        content=_decision_content(decision),
    )
    _announce_decision(application, decision)
    return decision


@transaction.atomic
def propose_decision(
    *,
    application: Application,
    staff,
    outcome: str,
    reason: str = "",
    comment: str = "",
    expected_version: int | None = None,
) -> Decision:
    """起案: the case worker's draft decision, which the approval route decides on. The
    caller (the back office) starts the route in the same transaction."""
    _check_decision_text(outcome, reason, comment)
    application = _locked(application, expected_version)
    if not states.allowed("propose_decision", application.state):
        raise _refuse_state()
    decision = Decision.objects.create(
        application=application,
        outcome=outcome,
        status=Decision.Status.PENDING,
        reason=reason.strip(),
        comment=comment.strip(),
        instruction=instruction_for(application, outcome),
        drafted_by=staff,
    )
    _set_state(
        application,
        "propose_decision",
        actor_kind="staff",
        actor=staff,
        details={"decision": decision.pk, "outcome": outcome},
        content=_decision_content(decision),
    )
    return decision


def pending_decision(application: Application) -> Decision | None:
    return application.decisions.filter(status=Decision.Status.PENDING).first()


@transaction.atomic
def complete_decision(
    *, application: Application, decision: Decision, actor, details: dict | None = None
) -> Decision:
    """The route approved the draft: the decision becomes final. `details` says who
    approved and for whom (代決), from the route."""
    application = _locked(application)
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    if decision.application_id != application.pk or decision.status != Decision.Status.PENDING:
        raise _refuse_state("この決定案は決裁中ではありません。", "This draft is not pending.")
    name = states.ROUTE_DECISION[decision.outcome]
    if not states.allowed(name, application.state):
        raise _refuse_state()
    decision.status = Decision.Status.FINAL
    decision.decided_at = _now()
    decision.save(update_fields=["status", "decided_at"])
    _set_state(
        application,
        name,
        actor_kind="staff",
        actor=actor,
        details={
            "decision": decision.pk,
            "outcome": decision.outcome,
            "route": decision.approval_reference,
            **(details or {}),
        },
        content=_decision_content(decision),
    )
    _announce_decision(application, decision)
    return decision


@transaction.atomic
def send_back_decision(
    *, application: Application, decision: Decision, actor, recalled: bool, comment: str = ""
) -> Application:
    """差戻し of the draft to the drafter by the route, or 引上げ by the drafter: the review
    continues; the draft is kept, marked withdrawn."""
    application = _locked(application)
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    if decision.application_id != application.pk or decision.status != Decision.Status.PENDING:
        raise _refuse_state("この決定案は決裁中ではありません。", "This draft is not pending.")
    _check_free_text(comment)
    decision.status = Decision.Status.WITHDRAWN
    decision.save(update_fields=["status"])
    _set_state(
        application,
        "recall_decision" if recalled else "route_send_back",
        actor_kind="staff",
        actor=actor,
        details={"decision": decision.pk, "has_comment": bool(comment.strip())},
        content=comment.strip() or None,
    )
    return application


def current_decision(application: Application) -> Decision | None:
    return application.decisions.filter(status=Decision.Status.FINAL).first()


@transaction.atomic
def amend_decision(
    *,
    application: Application,
    staff,
    reason: str,
    comment: str = "",
    correction_reason: str,
    expected_version: int | None = None,
) -> Decision:
    """訂正: a clerical error in a decision's text (its reason or comment) is corrected by a
    new decision that supersedes it; the outcome cannot change this way (that needs
    `reopen_decision`). The old text stays, and the correction is recorded."""
    application = _locked(application, expected_version)
    current = current_decision(application)
    if application.state not in states.DECIDED_STATES or current is None:
        raise _refuse_state("決定済みの申請ではありません。", "The application is not decided.")
    if not correction_reason.strip():
        raise CounterError("訂正の理由を入力してください。", "Give the reason for the correction.")
    _check_decision_text(current.outcome, reason, comment)
    _check_free_text(correction_reason)
    current.status = Decision.Status.SUPERSEDED
    current.save(update_fields=["status"])
    amended = Decision.objects.create(
        application=application,
        outcome=current.outcome,
        status=Decision.Status.FINAL,
        reason=reason.strip(),
        comment=comment.strip(),
        instruction=current.instruction,
        drafted_by=staff,
        decided_at=_now(),
        approval_reference=current.approval_reference,
        supersedes=current,
        correction_reason=correction_reason.strip()[:4000],
    )
    application.lock_version += 1
    application.save(update_fields=["lock_version", "updated_at"])
    record_event(
        event_type="application.decision_amended",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        content=_decision_content(amended),
        details={
            "decision": amended.pk,
            "supersedes": current.pk,
            "previous_sha256": content_hash(_decision_content(current)),
            "correction_reason_sha256": content_hash(amended.correction_reason),
        },
    )
    _notify_resident(application, "decision_corrected", state_label=State(application.state).label)
    return amended


@transaction.atomic
def reopen_decision(
    *,
    application: Application,
    staff,
    correction_reason: str,
    expected_version: int | None = None,
) -> Application:
    """取消し: the decision is revoked by the recorded correction procedure and the review
    reopens; the revoked decision is kept."""
    application = _locked(application, expected_version)
    if not correction_reason.strip():
        raise CounterError(
            "取消しの理由を入力してください。", "Give the reason for the revocation."
        )
    _check_free_text(correction_reason)
    if not states.allowed("reopen", application.state):
        raise _refuse_state("決定済みの申請ではありません。", "The application is not decided.")
    current = current_decision(application)
    if current is not None:
        current.status = Decision.Status.REVOKED
        current.correction_reason = correction_reason.strip()[:4000]
        current.save(update_fields=["status", "correction_reason"])
    _set_state(
        application,
        "reopen",
        actor_kind="staff",
        actor=staff,
        details={"decision": current.pk if current else None},
        content=correction_reason.strip(),
    )
    _notify_resident(application, "decision_revoked", state_label=State(application.state).label)
    return application


def _decision_content(decision: Decision) -> dict[str, str]:
    return {
        "outcome": decision.outcome,
        "reason": decision.reason,
        "comment": decision.comment,
        "instruction": decision.instruction,
    }


def _announce_decision(application: Application, decision: Decision) -> None:
    """The resident reads the decision (reason, 教示) on their page, and a comment as a
    message; the e-mail only says that there is a decision."""
    if decision.comment:
        Message.objects.create(
            application=application,
            author=decision.drafted_by,
            body=decision.comment,
            from_staff=True,
        )
    _notify_resident(application, "decision_made", state_label=State(application.state).label)
