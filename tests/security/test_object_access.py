"""Every URL that names an object, generated from the URL configuration, tried by another
resident and by staff of other units (and anonymously): 403, 404, 405 or a redirect to log
in, never the data, and nothing changes.

A URL added with a path parameter and neither a case in CASES nor a place in PUBLIC makes
`test_every_parameterised_url_is_classified` fail: decide who may see it, then add it.

The sample with its applications takes tens of seconds to load, so one test walks all the
cases and reports every violation at once instead of one test per URL.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from ..conftest import login

pytestmark = pytest.mark.django_db

HANAKO = "hanako@example.jp"  # resident A: owns every resident-side object below
TARO = "taro@example.jp"  # resident B
SHIMIN = "shimin.tanto@aoba.example.jp"  # あおば市 市民課
KANKYO = "kankyo.tanto@aoba.example.jp"  # あおば市 生活環境課
KODOMO = "kodomo.tanto@aoba.example.jp"  # あおば市 こども家庭課
FUKUSHI = "fukushi.tanto@sakura.example.jp"  # さくら県 障害福祉課 (another body)
ADMIN = "admin@aoba.example.jp"  # あおば市 システム管理者
BUNSHO = "bunsho@aoba.example.jp"  # あおば市 総務課 文書管理担当
KANKYO_KACHO = "kankyo.kacho@aoba.example.jp"
SHIMIN_KACHO = "shimin.kacho@aoba.example.jp"
# Everyone who tries what is not theirs; a case names who may see it and those are left out.
ATTACKERS = (TARO, SHIMIN, KANKYO, KODOMO, FUKUSHI)


FILE = "file"


@dataclass(frozen=True)
class Case:
    """How to fill in the URL's parameters from the world, who may see the object and what
    they get on GET (None: the URL takes POST only, or its GET changes something)."""

    params: Callable[[dict], dict]
    rightful: tuple[str, ...]
    owner_get: int | None = 200
    api: bool = False
    # The JSON body of an API POST, valid for the rightful person (so that a refusal comes
    # from the access check, not from validation); FILE: a multipart upload.
    body: dict | str | None = None


def _app(key: str) -> Callable[[dict], dict]:
    return lambda w: {"pk": w[key]}


P = "parking"  # hanako's approved parking permit, さくら県 障害福祉課, with a file and a document
D = "dog"  # hanako's dog registration, あおば市 生活環境課, correction requested
PARK_STAFF = (HANAKO, FUKUSHI)
DOG_STAFF = (KANKYO,)

# The resident side: only hanako; staff of the unit handling it have no access through it.
RESIDENT = {
    "counter:detail": Case(_app(P), (HANAKO,)),
    "counter:page": Case(lambda w: {"pk": w[D], "page_id": "dog"}, (HANAKO,), None),
    "counter:check": Case(_app(D), (HANAKO,), None),
    "counter:done": Case(_app(P), (HANAKO,)),
    "counter:withdraw": Case(_app(D), (HANAKO,)),
    "counter:discard": Case(_app(D), (HANAKO,), None),
    "counter:post_message": Case(_app(D), (HANAKO,), None),
    "counter:correction": Case(_app(D), (HANAKO,), None),
    "counter:file": Case(lambda w: {"pk": w[P], "file_id": w["parking_file"]}, (HANAKO,)),
    "payments:detail": Case(lambda w: {"pk": w["paid"]}, (HANAKO,)),
    "payments:cancel": Case(lambda w: {"pk": w["unpaid"]}, (HANAKO,), None),
    "payments:receipt": Case(lambda w: {"pk": w["paid"]}, (HANAKO,)),
    "payments:start": Case(lambda w: {"application_id": w["fee_app"]}, (HANAKO,), None),
    "payments:returned": Case(lambda w: {"pk": w["unpaid"]}, (HANAKO,), None),
    "payments:abandoned": Case(lambda w: {"pk": w["unpaid"]}, (HANAKO,), None),
    "appointments:detail": Case(lambda w: {"pk": w["booking"]}, (HANAKO,)),
    "appointments:cancel": Case(lambda w: {"pk": w["booking"]}, (HANAKO,), None),
    "appointments:ics": Case(lambda w: {"pk": w["booking"]}, (HANAKO,)),
    "issuance:document": Case(lambda w: {"pk": w["document"]}, (HANAKO,)),
    "issuance:download": Case(lambda w: {"pk": w["document"]}, (HANAKO,)),
    "issuance:sign": Case(_app(D), (HANAKO,), None),
    "issuance:sign_demo": Case(_app(D), (HANAKO,), None),
    "issuance:sign_json": Case(_app(D), (HANAKO,), None),
    "issuance:sign_pdf": Case(_app(D), (HANAKO,), None),
    "mfa_remove_webauthn": Case(lambda w: {"pk": w["webauthn"]}, (HANAKO,), None),
    "mfa_edit_webauthn": Case(lambda w: {"pk": w["webauthn"]}, (HANAKO,), None),
    "identity:unlink": Case(lambda w: {"link_id": w["link"]}, (HANAKO,), None),
}

# The staff side: staff of the unit (or body, or role) that the object belongs to.
STAFF = {
    "issuance:staff_document": Case(lambda w: {"pk": w["document"]}, (FUKUSHI,)),
    "issuance:staff_download": Case(lambda w: {"pk": w["document"]}, (FUKUSHI,)),
    "issuance:staff_resend": Case(lambda w: {"pk": w["document"]}, (FUKUSHI,), None),
    "issuance:staff_retry": Case(lambda w: {"pk": w["document"]}, (FUKUSHI,), None),
    "issuance:staff_revoke": Case(lambda w: {"pk": w["document"]}, (FUKUSHI,), None),
    "approvals:detail": Case(lambda w: {"pk": w["instance"]}, (KODOMO,)),
    "approvals:recall": Case(lambda w: {"pk": w["instance"]}, (KODOMO,), None),
    "approvals:act": Case(lambda w: {"step_id": w["step"]}, (KANKYO_KACHO, KANKYO), None),
    "approvals:document": Case(lambda w: {"pk": w["internal"]}, (KODOMO,)),
    "approvals:document_edit": Case(lambda w: {"pk": w["internal"]}, (KODOMO,), None),
    "approvals:document_submit": Case(lambda w: {"pk": w["internal"]}, (KODOMO,), None),
    "approvals:document_recall": Case(lambda w: {"pk": w["internal"]}, (KODOMO,), None),
    "approvals:document_cancel": Case(lambda w: {"pk": w["internal"]}, (KODOMO,), None),
    "approvals:document_attach": Case(lambda w: {"pk": w["internal"]}, (KODOMO,), None),
    "approvals:document_file": Case(
        lambda w: {"pk": w["internal"], "file_id": w["internal_file"]}, (KODOMO,)
    ),
    "approvals:document_remove_file": Case(
        lambda w: {"pk": w["internal"], "file_id": w["internal_file"]}, (KODOMO,), None
    ),
    "approvals:delegation_cancel": Case(lambda w: {"pk": w["delegation"]}, (SHIMIN_KACHO,), None),
    # A body's routes are shown to its staff, not to another body's or to residents.
    "approvals:route": Case(
        lambda w: {"body": "992011", "identifier": w["route"]}, (SHIMIN, KANKYO, KODOMO)
    ),
    # The organisation pages are for the body's administrator.
    "organisation:body": Case(lambda w: {"body": "992011"}, (ADMIN,)),
    "organisation:unit_new": Case(lambda w: {"body": "992011"}, (ADMIN,)),
    "organisation:unit": Case(lambda w: {"body": "992011", "code": "kodomo-katei"}, (ADMIN,)),
    "organisation:unit_edit": Case(
        lambda w: {"body": "992011", "code": "kodomo-katei"}, (ADMIN,), None
    ),
    "organisation:unit_active": Case(
        lambda w: {"body": "992011", "code": "kodomo-katei"}, (ADMIN,), None
    ),
    "organisation:member_add": Case(
        lambda w: {"body": "992011", "code": "kodomo-katei"}, (ADMIN,), None
    ),
    "organisation:member_update": Case(
        lambda w: {"body": "992011", "pk": w["membership"]}, (ADMIN,), None
    ),
    "organisation:member_remove": Case(
        lambda w: {"body": "992011", "pk": w["membership"]}, (ADMIN,), None
    ),
    "organisation:positions": Case(lambda w: {"body": "992011"}, (ADMIN,)),
    "organisation:delegations": Case(lambda w: {"body": "992011"}, (ADMIN,)),
    "organisation:delegation_cancel": Case(
        lambda w: {"body": "992011", "pk": w["delegation"]}, (ADMIN,), None
    ),
    "organisation:grants": Case(lambda w: {"body": "992011"}, (ADMIN,)),
    "organisation:import": Case(lambda w: {"body": "992011"}, (ADMIN,)),
    # 出納: bank statement lines are the body's, resolved by any of its case workers.
    "payments_staff:resolve_bank_line": Case(
        lambda w: {"pk": w["bank_line"]}, (SHIMIN, KANKYO, KODOMO), None
    ),
    "payments_staff:fee": Case(lambda w: {"application_id": w["fee_app"]}, (SHIMIN,)),
    "payments_staff:receipt": Case(lambda w: {"pk": w["paid"]}, (SHIMIN,)),
    "appointments_staff:day": Case(lambda w: {"counter_id": w["counter"]}, (SHIMIN,)),
    "appointments_staff:blocks": Case(lambda w: {"counter_id": w["counter"]}, (SHIMIN,), None),
    "appointments_staff:booking": Case(lambda w: {"pk": w["booking"]}, (SHIMIN,)),
    "appointments_staff:act": Case(lambda w: {"pk": w["booking"]}, (SHIMIN,), None),
    "appointments_staff:move": Case(lambda w: {"pk": w["booking"]}, (SHIMIN,)),
    "appointments_staff:check_in": Case(lambda w: {"token": w["check_in"]}, (SHIMIN,)),
    "records:proposal": Case(lambda w: {"pk": w["proposal"]}, (BUNSHO, KODOMO)),
    "records:file": Case(lambda w: {"pk": w["record_file"]}, (BUNSHO, KODOMO)),
    "records:place_hold": Case(lambda w: {"pk": w["record_file"]}, (BUNSHO, KODOMO), None),
    "records:release_hold": Case(
        lambda w: {"pk": w["record_file"], "hold_id": w["hold"]}, (BUNSHO, KODOMO), None
    ),
    "records:propose": Case(lambda w: {"pk": w["record_file"]}, (BUNSHO, KODOMO), None),
    # Opening a record needs a stated purpose (and, for this one, the right to see a My
    # Number): the rightful 200 is in tests/records/test_access.py.
    "records:record": Case(lambda w: {"pk": w["record"]}, (KODOMO, BUNSHO), None),
    "records:record_original": Case(lambda w: {"pk": w["record"]}, (KODOMO, BUNSHO), None),
    "records:record_file": Case(
        lambda w: {"pk": w["document_record"], "sha256": w["document_record_sha256"]},
        (KODOMO, BUNSHO),
        None,
    ),
    "backoffice:dashboard": Case(lambda w: {"unit_id": w["kodomo_unit"]}, (KODOMO,)),
    "backoffice:detail": Case(_app(D), DOG_STAFF),
    "backoffice:act": Case(_app(D), DOG_STAFF, None),
    "backoffice:assign": Case(_app(D), DOG_STAFF, None),
    "backoffice:request_correction": Case(_app(D), DOG_STAFF, None),
    "backoffice:decide": Case(_app(D), DOG_STAFF, None),
    "backoffice:recall": Case(_app(D), DOG_STAFF, None),
    "backoffice:correct": Case(_app(D), DOG_STAFF, None),
    "backoffice:add_note": Case(_app(D), DOG_STAFF, None),
    "backoffice:post_message": Case(_app(D), DOG_STAFF, None),
    "backoffice:my_number": Case(_app("child"), (KODOMO,), None),
    # The permit's evidence is special personal data: its handler gets 422 without a
    # purpose (the 200 with one: tests/backoffice/test_special_personal_data.py).
    "backoffice:file": Case(lambda w: {"pk": w[P], "file_id": w["parking_file"]}, (FUKUSHI,), 422),
    # The sample's evidence is an image and only PDFs have page previews: 404 for everyone
    # here; the rightful 200 is in tests/counter/test_access_control.py.
    "backoffice:file_preview": Case(
        lambda w: {"pk": w[P], "file_id": w["parking_file"], "page": 1}, (FUKUSHI,), 404
    ),
    # 書かない窓口: the application being entered at the counter by 生活環境課.
    "backoffice:counter_overview": Case(_app("assisted"), DOG_STAFF),
    "backoffice:counter_confirm": Case(_app("assisted"), DOG_STAFF, None),
    "backoffice:counter_print": Case(_app("assisted"), DOG_STAFF),
    "backoffice:outbox_retry": Case(lambda w: {"email_id": w["email"]}, DOG_STAFF, None),
}

# The JSON API, called with each person's bearer token.
API = {
    "api:submit": Case(lambda w: {"application_id": w[D]}, (HANAKO,), None, api=True),
    "api:get_application api/applications/<application_id>": Case(
        lambda w: {"application_id": w[D]}, (HANAKO,), api=True
    ),
    "api:get_instance": Case(lambda w: {"instance_id": w["instance"]}, (KODOMO,), api=True),
    "api:approve": Case(
        lambda w: {"step_id": w["step"]}, (KANKYO_KACHO,), None, True, {"version": 1}
    ),
    "api:return_": Case(
        lambda w: {"step_id": w["step"]},
        (KANKYO_KACHO,),
        None,
        True,
        {"version": 1, "comment": "x"},
    ),
    "api:recall": Case(
        lambda w: {"instance_id": w["instance"]}, (KODOMO,), None, True, {"version": 1}
    ),
    "api:download_document": Case(lambda w: {"document_id": w["document"]}, (HANAKO,), api=True),
    "api:signing_payload": Case(lambda w: {"application_id": w[D]}, (HANAKO,), None, api=True),
    "api:upload_signature": Case(lambda w: {"application_id": w[D]}, (HANAKO,), None, True, FILE),
    "api:get_application api/staff/applications/<application_id>": Case(
        lambda w: {"application_id": w[D]}, DOG_STAFF, api=True
    ),
    "api:act": Case(
        lambda w: {"application_id": w[D]}, DOG_STAFF, None, True, {"action": "start_review"}
    ),
    "api:get_file": Case(lambda w: {"file_id": w["record_file"]}, (BUNSHO, KODOMO), api=True),
    "api:place_hold": Case(
        lambda w: {"file_id": w["record_file"]},
        (BUNSHO,),
        None,
        True,
        {"reason": "audit", "description": "x", "end_event": "y"},
    ),
    "api:propose": Case(
        lambda w: {"file_id": w["record_file"]},
        (BUNSHO,),
        None,
        True,
        {"action": "destroy", "reason": "満了"},
    ),
    "api:execute": Case(lambda w: {"proposal_id": w["proposal"]}, (BUNSHO,), None, api=True),
    "api:cancel": Case(lambda w: {"booking_id": w["booking"]}, (HANAKO,), None, api=True),
    "api:fee": Case(lambda w: {"application_id": w["fee_app"]}, (HANAKO,), api=True),
    "api:start": Case(
        lambda w: {"application_id": w["fee_app"]}, (HANAKO,), None, True, {"method": "card"}
    ),
}

CASES: dict[str, Case] = {**RESIDENT, **STAFF, **API}

# Parameterised URLs that name nothing private, or whose parameter is itself the credential.
PUBLIC = {
    # Published procedures and the start of a new application of one (the applicant's own).
    "catalogue:detail",
    "counter:start",
    "api:get_procedure",
    "api:postal_code",
    # A payment provider's webhook: authenticated by the provider's signature, not a user.
    "payments:webhook",
    # Capability URLs: the unguessable signed token is the credential (a guest booking,
    # allauth's e-mail confirmation and password reset); wrong tokens give 404 in
    # tests/appointments/test_guest.py and allauth's own tests.
    "appointments:verify",
    "appointments:manage",
    "appointments:manage_ics",
    "account_confirm_email",
    "account_reset_password_from_key",
    # A counter's public booking page and its free slots.
    "appointments:guest",
    "api:days",
    # The verification of an issued document and its public register entry (what its QR
    # code opens) are public by design: anyone holding the paper may check it.
    "issuance:verify_document",
    "api:document_record",
    # The requester's own data, by kind; log-in providers by name.
    "identity:my_data_csv",
    "identity:oidc_start",
    "identity:oidc_callback",
    # The transparency ledger and the public records register are public by design.
    "ledger:log",
    "ledger:entry",
    "ledger:checkpoint",
    "ledger:public_key",
    "ledger:tile",
    "api:ledger_log",
    "api:ledger_checkpoint",
    "api:ledger_entries",
    "api:ledger_entry",
    "api:ledger_inclusion_proof",
    "api:ledger_consistency_proof",
    "transparency:register",
    "transparency:register_csv",
    "api:public_register",
}

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def _patterns() -> list[tuple[str, str]]:
    """(name, full route) of every named URL pattern whose route has a parameter."""
    found: list[tuple[str, str]] = []

    def walk(patterns, namespace: str, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                if _PARAM.search(route):
                    assert entry.name, f"unnamed parameterised URL {route}"
                    found.append((f"{namespace}{entry.name}", route))

    walk(get_resolver().url_patterns, "", "")
    return found


def collected() -> dict[str, str]:
    """Key (the URL's name, with its route when two URLs share a name) → route."""
    patterns = _patterns()
    names = [name for name, _route in patterns]
    return {
        (name if names.count(name) == 1 else f"{name} {route}"): route for name, route in patterns
    }


def test_every_parameterised_url_is_classified():
    found = set(collected())
    assert len(found) > 100, "the URL configuration was not read"
    expected = set(CASES) | PUBLIC
    assert not CASES.keys() & PUBLIC
    assert found == expected, (
        f"not covered: {sorted(found - expected)}; gone: {sorted(expected - found)}"
    )


def _url(route: str, params: dict) -> str:
    def fill(match: re.Match) -> str:
        return str(params[match.group(1)])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, route)


def _world() -> dict:
    from allauth.mfa.models import Authenticator

    from madoguchi.appointments.models import Booking
    from madoguchi.appointments.services import check_in_token
    from madoguchi.approvals.models import (
        ApprovalInstance,
        ApprovalStep,
        InternalDocument,
        InternalDocumentFile,
        Route,
    )
    from madoguchi.backoffice.services import start_assisted_application
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter.models import Application
    from madoguchi.files.services import store_upload
    from madoguchi.identity.models import IdentityLink, User
    from madoguchi.issuance.models import IssuedDocument
    from madoguchi.notifications.models import OutboundEmail
    from madoguchi.organisation.models import Delegation, StaffMembership, Unit
    from madoguchi.payments.models import BankReceipt, Payment
    from madoguchi.records import services as records
    from madoguchi.records.models import DispositionProposal, Record, RecordFile
    from madoguchi.sample.services import load_sample

    from ..counter.uploads import pdf

    load_sample(with_applications=True)
    hanako = User.objects.get(email=HANAKO)
    # The parking permit whose document is issued and not revoked (the sample revokes one).
    document = IssuedDocument.objects.get(
        application__applicant=hanako, unit__code="shogai-fukushi", revoked_at=None
    )
    parking = document.application
    dog = Application.objects.get(applicant=hanako, state="correction_requested")
    child = Application.objects.get(applicant=hanako, procedure__identifier="child-allowance")
    paid = Payment.objects.get(fee__application__applicant=hanako, fee__state="paid")
    unpaid = Payment.objects.exclude(pk=paid.pk).get(fee__application__applicant=hanako)
    booking = Booking.objects.get(user=hanako)
    kodomo = Unit.objects.get(body__code="992011", code="kodomo-katei")
    internal = InternalDocument.objects.get(unit=kodomo)
    kodomo_staff = User.objects.get(email=KODOMO)
    stored = store_upload(
        SimpleUploadedFile("添付.pdf", pdf(), content_type="application/pdf"),
        owner=kodomo_staff,
        accept=["pdf"],
        max_bytes=10_000_000,
    )
    InternalDocumentFile.objects.create(document=internal, stored_file=stored)
    record_file = RecordFile.objects.get(unit=kodomo)
    bunsho = User.objects.get(email=BUNSHO)
    hold = records.place_hold(
        actor=bunsho,
        file=record_file,
        reason="audit",
        description="監査のため",
        end_event="監査の終了",
    )
    proposal = DispositionProposal.objects.create(
        file=record_file, action="destroy", reason="満了", proposed_by=bunsho, unit=kodomo
    )
    document_record = Record.objects.get(file=record_file, kind="issued_document")
    # 書かない窓口: an application being entered by 生活環境課 for hanako.
    assisted = start_assisted_application(
        staff=User.objects.get(email=KANKYO),
        procedure=procedure_by_identifier("992011", "dog-registration"),
        resident=hanako,
    )
    webauthn = Authenticator.objects.create(
        user=hanako, type=Authenticator.Type.WEBAUTHN, data={"name": "鍵", "credential": {}}
    )
    link = IdentityLink.objects.create(
        user=hanako, provider="mynumber", issuer="https://idp.example.jp", subject="s-1"
    )
    return {
        P: parking.pk,
        "parking_file": parking.answers["evidence_files"][0]["id"],
        D: dog.pk,
        "child": child.pk,
        "assisted": assisted.pk,
        "paid": paid.pk,
        "unpaid": unpaid.pk,
        "fee_app": unpaid.fee.application_id,
        "booking": booking.pk,
        "check_in": check_in_token(booking),
        "counter": booking.counter_id,
        "document": document.pk,
        "instance": ApprovalInstance.objects.get(kind="internal_document", drafter_unit=kodomo).pk,
        "step": ApprovalStep.objects.get(unit__code="seikatsu-kankyo", state="pending").pk,
        "internal": internal.pk,
        "internal_file": stored.pk,
        "delegation": Delegation.objects.get().pk,
        "route": Route.objects.filter(body__code="992011").first().identifier,
        "membership": StaffMembership.objects.get(user=kodomo_staff).pk,
        "bank_line": BankReceipt.objects.create(
            body=paid.body,
            received_on=dt.date.today(),
            amount=300,
            payer="ﾔﾏﾀﾞ ﾊﾅｺ",
            line_sha256="0" * 64,
            match=BankReceipt.Match.UNMATCHED,
            imported_by=User.objects.get(email=SHIMIN),
        ).pk,
        "record_file": record_file.pk,
        "hold": hold.pk,
        "proposal": proposal.pk,
        "record": Record.objects.get(file=record_file, kind="application").pk,
        "document_record": document_record.pk,
        "document_record_sha256": document_record.files[0]["sha256"],
        "kodomo_unit": kodomo.pk,
        "email": OutboundEmail.objects.filter(related_id=str(dog.pk)).first().pk,
        "webauthn": webauthn.pk,
        "link": link.pk,
    }


# Rows that must not change when someone tries what is not theirs. Logs written by the
# attempt itself (ledger events, access logs, sessions, e-mails) are not among them.
WATCHED = (
    "counter.Application",
    "counter.Message",
    "counter.Decision",
    "counter.CorrectionRequest",
    "payments.Payment",
    "payments.Fee",
    "payments.BankReceipt",
    "appointments.Booking",
    "appointments.Counter",
    "approvals.ApprovalInstance",
    "approvals.ApprovalStep",
    "approvals.InternalDocument",
    "approvals.InternalDocumentFile",
    "organisation.Unit",
    "organisation.StaffMembership",
    "organisation.Delegation",
    "organisation.RoleGrant",
    "records.RecordFile",
    "records.LegalHold",
    "records.DispositionProposal",
    "issuance.IssuedDocument",
    "identity.IdentityLink",
    "mfa.Authenticator",
)


def _snapshot() -> list:
    return [list(apps.get_model(label).objects.order_by("pk").values_list()) for label in WATCHED]


# Log in, or prove it again (a second factor, a fresh password) before anything is looked up.
_LOG_IN = (
    "/account/login/",
    "/account/reauthenticate/",
    "/account/2fa/",
    "/account/confirm-again/",
)


def _refused(response) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    return response.status_code == 302 and response["Location"].startswith(_LOG_IN)


def _api(method: str, url: str, body, headers: dict):
    if method == "get":
        return Client().get(url, **headers)
    if body == FILE:
        upload = SimpleUploadedFile("signature.p7s", b"0" * 64)
        return Client().post(url, {"file": upload}, **headers)
    headers = {**headers, "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    return Client().post(url, body or {}, content_type="application/json", **headers)


def test_nobody_else_gets_an_object(django_capture_on_commit_callbacks):
    from madoguchi.identity.models import ApiToken, User

    with django_capture_on_commit_callbacks(execute=True):
        world = _world()
    routes = collected()
    people = {email: User.objects.get(email=email) for email in {*ATTACKERS, HANAKO}}
    for case in CASES.values():
        for email in case.rightful:
            people.setdefault(email, User.objects.get(email=email))
    tokens = {email: ApiToken.issue(user=user, name="tests")[1] for email, user in people.items()}
    level = {TARO: "mynumber_card", HANAKO: "mynumber_card"}
    clients = {email: login(user, level=level.get(email)) for email, user in people.items()}
    failures: list[str] = []
    for key, case in sorted(CASES.items()):
        url = _url(routes[key], case.params(world))
        # The rightful person gets the object, so the URL above really names it.
        if case.owner_get is not None:
            owner = case.rightful[0]
            if case.api:
                got = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {tokens[owner]}")
            else:
                got = clients[owner].get(url)
            if got.status_code != case.owner_get:
                failures.append(f"{key}: {owner} got {got.status_code} on GET {url}")
        attackers = [email for email in ATTACKERS if email not in case.rightful]
        before = _snapshot()
        for email in [*attackers, None]:
            for method in ("get", "post"):
                if case.api:
                    headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[email]}"} if email else {}
                    response = _api(method, url, case.body, headers)
                else:
                    client = clients[email] if email else Client()
                    response = getattr(client, method)(url)
                if not _refused(response):
                    failures.append(
                        f"{key}: {email or 'anonymous'} got {response.status_code} on "
                        f"{method.upper()} {url} {response.get('Location', '')}"
                    )
        if _snapshot() != before:
            failures.append(f"{key}: a refused request changed data")
    assert not failures, "\n".join(failures)
