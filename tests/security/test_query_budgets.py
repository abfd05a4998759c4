"""Query budgets of every page, generated from the URL configuration: each resident, staff
and public page that someone may open is measured (SQL queries of one GET, after a warm
one) against its budget, in the sample world of test_object_access, and measured again
after the world has grown (more applications, messages, notes, bookings) — a page whose
count changes with the rows it lists has an N+1.

A URL added without a budget here or a place in NOT_PAGES makes
`test_every_page_has_a_budget` fail. A budget is the count measured when it was set (the
larger of SQLite's and PostgreSQL's); raise it deliberately, and say why in the commit, when
a page really needs another query.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from ..conftest import login
from ..counter.helpers import application_id_from, fill_juminhyo, start
from . import test_object_access as access

pytestmark = pytest.mark.django_db

H, T = access.HANAKO, access.TARO
SHIMIN, KANKYO, KODOMO, FUKUSHI = access.SHIMIN, access.KANKYO, access.KODOMO, access.FUKUSHI
ADMIN, BUNSHO = access.ADMIN, access.BUNSHO
ANONYMOUS = None


@dataclass(frozen=True)
class Page:
    """Who opens the page, its budget, and how to fill in its parameters from the world
    (None: as test_object_access.CASES fills them)."""

    viewer: str | None
    budget: int
    params: Callable[[dict], dict] | None = None
    query: str | Callable[[dict], str] = ""


def _draft(page_id: str) -> Callable[[dict], dict]:
    return lambda w: {"pk": w["draft"], "page_id": page_id}


PAGES: dict[str, Page] = {
    # Public pages.
    "core:home": Page(ANONYMOUS, 1),
    "core:accessibility": Page(ANONYMOUS, 0),
    "catalogue:list": Page(ANONYMOUS, 2),
    "catalogue:list ?q": Page(ANONYMOUS, 2, query="q=犬"),
    "catalogue:detail": Page(
        ANONYMOUS, 1, lambda w: {"body_code": "992011", "identifier": "dog-registration"}
    ),
    "issuance:verify": Page(ANONYMOUS, 0),
    "issuance:verify_document": Page(ANONYMOUS, 7, lambda w: {"pk": w["document"]}),
    "ledger:home": Page(ANONYMOUS, 9),
    "ledger:log": Page(ANONYMOUS, 4, lambda w: {"name": w["log"]}),
    "ledger:entry": Page(ANONYMOUS, 6, lambda w: {"name": w["log"], "index": 0}),
    "transparency:bodies": Page(ANONYMOUS, 1),
    "transparency:register": Page(ANONYMOUS, 3, lambda w: {"code": "992011"}),
    "transparency:register_csv": Page(ANONYMOUS, 2, lambda w: {"code": "992011"}),
    "appointments:guest": Page(
        ANONYMOUS, 5, lambda w: {"body_code": "992011", "code": w["counter_code"]}
    ),
    "operations:health": Page(ANONYMOUS, 4),
    # The resident's own pages.
    "core:home (resident)": Page(H, 4),
    "counter:my_applications": Page(H, 4),
    "counter:start": Page(H, 6, lambda w: {"body_code": "992011", "identifier": "juminhyo-copy"}),
    "counter:page": Page(H, 4, _draft("requester")),
    "counter:page target": Page(H, 4, _draft("target")),
    "counter:page certificate": Page(H, 4, _draft("certificate")),
    "counter:check": Page(H, 11, lambda w: {"pk": w["draft"]}),
    "issuance:sign": Page(H, 9, lambda w: {"pk": w["draft"]}),
    "counter:detail": Page(H, 14),
    "counter:detail (correction)": Page(H, 15, lambda w: {"pk": w[access.D]}),
    "counter:correction": Page(H, 5, lambda w: {"pk": w[access.D]}),
    "counter:done": Page(H, 8),
    "counter:withdraw": Page(H, 4),
    "counter:file": Page(H, 4),
    "payments:mine": Page(H, 4),
    "payments:detail": Page(H, 8),
    "payments:receipt": Page(H, 6),
    "appointments:mine": Page(H, 4),
    "appointments:new": Page(H, 8, query=lambda w: f"counter={w['counter']}"),
    "appointments:detail": Page(H, 5),
    "appointments:ics": Page(H, 3),
    "issuance:my_documents": Page(H, 4),
    "issuance:document": Page(H, 6),
    "issuance:download": Page(H, 3),
    "identity:account": Page(H, 6),
    "identity:profile": Page(H, 4),
    "identity:my_data": Page(H, 3),
    "identity:my_data_json": Page(H, 10),
    "identity:my_data_csv": Page(H, 3, lambda w: {"name": "profile"}),
    "identity:delete_account": Page(H, 5),
    "access_log:mine": Page(H, 7),
    "usersessions_list": Page(H, 4),
    # allauth's pages, as ours wrap them (templates, adapters, middleware).
    "account_login": Page(ANONYMOUS, 0),
    "account_signup": Page(ANONYMOUS, 0),
    "account_reset_password": Page(ANONYMOUS, 0),
    "account_reset_password_done": Page(ANONYMOUS, 0),
    "account_email": Page(H, 5),
    "account_change_password": Page(H, 3),
    "account_logout": Page(H, 3),
    "mfa_index": Page(H, 5),
    "mfa_list_webauthn": Page(H, 4),
    # Staff pages.
    "backoffice:home": Page(KANKYO, 16),
    "backoffice:queue": Page(KANKYO, 22),
    "backoffice:queue ?filtered": Page(KANKYO, 22, query="state=submitted&q=山田"),
    "backoffice:export": Page(KANKYO, 15),
    "backoffice:detail": Page(KANKYO, 32),
    "backoffice:dashboard": Page(KODOMO, 17),
    "backoffice:counter_start": Page(KANKYO, 11),
    "backoffice:counter_overview": Page(KANKYO, 9),
    "backoffice:counter_print": Page(KANKYO, 9),
    "backoffice:outbox": Page(KANKYO, 12),
    "backoffice:notification_settings": Page(KANKYO, 9),
    "staff_security:policy": Page(ADMIN, 10),
    "approvals:inbox": Page(KODOMO, 16),
    "approvals:detail": Page(KODOMO, 18),
    "approvals:documents": Page(KODOMO, 12),
    "approvals:document_new": Page(KODOMO, 12),
    "approvals:document": Page(KODOMO, 15),
    "approvals:document_file": Page(KODOMO, 12),
    "approvals:delegations": Page(access.SHIMIN_KACHO, 12),
    "approvals:routes": Page(KODOMO, 10),
    "approvals:route": Page(SHIMIN, 14),
    "organisation:body": Page(ADMIN, 11),
    "organisation:unit": Page(ADMIN, 16),
    "organisation:unit_new": Page(ADMIN, 10),
    "organisation:positions": Page(ADMIN, 10),
    "organisation:delegations": Page(ADMIN, 11),
    "organisation:grants": Page(ADMIN, 10),
    "organisation:import": Page(ADMIN, 9),
    "payments_staff:home": Page(SHIMIN, 38),
    "payments_staff:export": Page(SHIMIN, 10, query=lambda w: f"from={w['today']}&to={w['today']}"),
    "payments_staff:bank": Page(SHIMIN, 14),
    "payments_staff:fee": Page(SHIMIN, 15),
    "payments_staff:receipt": Page(SHIMIN, 19),
    "appointments_staff:home": Page(SHIMIN, 12),
    "appointments_staff:day": Page(SHIMIN, 12),
    "appointments_staff:booking": Page(SHIMIN, 19),
    "appointments_staff:move": Page(SHIMIN, 15),
    "appointments_staff:check_in": Page(SHIMIN, 18),
    "issuance:staff_document": Page(FUKUSHI, 17),
    "issuance:staff_download": Page(FUKUSHI, 15),
    "records:register": Page(BUNSHO, 14),
    "records:register_csv": Page(BUNSHO, 10),
    "records:expired": Page(BUNSHO, 10),
    "records:proposals": Page(BUNSHO, 11),
    "records:proposal": Page(BUNSHO, 10),
    "records:file": Page(BUNSHO, 18),
}

# Named URLs that are not pages of ours to budget, and why.
NOT_PAGES = {
    # POST only, or a GET that changes something (a redirect to a page measured above).
    *(
        key
        for key, case in access.CASES.items()
        if case.owner_get is None
        and not case.api
        and key not in {"counter:check", "counter:correction", "counter:page", "issuance:sign"}
    ),
    "backoffice:bulk_approve",
    "set_language",
    "identity:step_up",
    "identity:reauthenticate",
    "identity:staff_second_factor",
    "identity:oidc_start",
    "identity:oidc_callback",
    "identity:oidc_link",
    "identity:oidc_link_confirm",
    "identity:oidc_signup",
    "payments:webhook",
    # A liveness probe answers without the database by design; the metrics need the
    # scraper's token (tests/operations).
    "operations:live",
    "operations:metrics",
    # Redirects to the administrator's body page (organisation:body, measured).
    "organisation:home",
    # Capability URLs reached from an e-mail (the token is the credential); they render
    # the same templates as the booking pages measured above.
    "appointments:verify",
    "appointments:manage",
    "appointments:manage_ics",
    # Needs a PDF with pages (the sample's evidence is an image): tests/counter covers it.
    "backoffice:file_preview",
    # Opening special personal data or a record needs a stated purpose first (a 422 form).
    "backoffice:file",
    # allauth's steps in the middle of a flow (a code, a key, a second factor being set
    # up or asked for): each needs the state of the flow before it and redirects without.
    "account_inactive",
    "account_reauthenticate",
    "account_email_verification_sent",
    "account_set_password",
    "account_confirm_login_code",
    "account_confirm_email",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "mfa_authenticate",
    "mfa_reauthenticate",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_add_webauthn",
    "mfa_reauthenticate_webauthn",
    "mfa_login_webauthn",
    # Ledger machine endpoints: fixed work per request, covered by tests/ledger.
    "ledger:checkpoint",
    "ledger:public_key",
    "ledger:tile",
}

# The JSON API (its submission's statements are budgeted in tests/api) is not walked here.
_SKIPPED_PREFIXES = ("api:", "socialaccount_", "headless")


def _named_urls() -> dict[str, str]:
    """Every named URL pattern (name → route), namespaced."""
    found: dict[str, str] = {}

    def walk(patterns, namespace: str, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and entry.name:
                found.setdefault(f"{namespace}{entry.name}", prefix + str(entry.pattern))

    walk(get_resolver().url_patterns, "", "")
    return found


def _url_name(key: str) -> str:
    return key.split(" ")[0]


def test_every_page_has_a_budget():
    names = {
        name for name in _named_urls() if name != "None" and not name.startswith(_SKIPPED_PREFIXES)
    }
    assert len(names) > 100, "the URL configuration was not read"
    budgeted = {_url_name(key) for key in PAGES}
    assert not budgeted & NOT_PAGES, sorted(budgeted & NOT_PAGES)
    missing = names - budgeted - NOT_PAGES
    gone = {name for name in budgeted | NOT_PAGES if not name.startswith(_SKIPPED_PREFIXES)} - names
    assert not missing and not gone, f"no budget: {sorted(missing)}; gone: {sorted(gone)}"


def _url(route: str, params: dict, query: str) -> str:
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(params[m.group(1)]), route)
    return f"{path}?{query}" if query else path


def _params(key: str, page: Page, world: dict) -> dict:
    if page.params is not None:
        return page.params(world)
    case = access.CASES.get(_url_name(key))
    return case.params(world) if case else {}


def _measure(clients: dict, routes: dict, world: dict) -> tuple[dict[str, int], list[str]]:
    counts: dict[str, int] = {}
    failures: list[str] = []
    for key, page in PAGES.items():
        query = page.query(world) if callable(page.query) else page.query
        url = _url(routes[_url_name(key)], _params(key, page, world), query)
        client = clients[page.viewer]
        warm = client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            if response.streaming:  # a streamed export queries while it is read
                b"".join(response.streaming_content)
        if response.status_code != 200 or warm.status_code != 200:
            failures.append(f"{key}: {page.viewer} got {response.status_code} on {url}")
        counts[key] = len(queries)
    return counts, failures


def _submit_dogs(applicant, count: int) -> None:
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.identity import levels

    dog = procedure_by_identifier("992011", "dog-registration")
    for _ in range(count):
        counter.create_and_submit(
            procedure=dog,
            applicant=applicant,
            answers={
                "owner_name": {
                    "family": "山田",
                    "given": "花子",
                    "family_kana": "やまだ",
                    "given_kana": "はなこ",
                },
                "owner_address": {
                    "postal_code": "9990001",
                    "prefecture": "さくら県",
                    "city": "あおば市",
                    "street": "中央一丁目2番3号",
                    "building": "",
                },
                "owner_phone": "090-1234-5678",
                "dog_location": "same",
                "dog_name": "ポチ",
                "breed": "柴犬",
                "coat_colour": "赤",
                "dog_sex": "オス",
                "has_microchip": "no",
                "vaccinated": "no",
                "delivery": "mail",
            },
            idempotency_key=uuid.uuid4(),
            identity_level=levels.ACCOUNT,
        )


def _grow(world: dict, clients: dict) -> None:
    """More of everything the pages list: applications of both residents, messages and
    notes on the applications shown, bookings."""
    from madoguchi.counter.models import Application
    from madoguchi.identity.models import User

    hanako, taro = User.objects.get(email=H), User.objects.get(email=T)
    _submit_dogs(hanako, 3)
    _submit_dogs(taro, 3)
    from madoguchi.counter import services as counter

    for pk in (world[access.P], world[access.D]):
        application = Application.objects.get(pk=pk)
        for number in range(3):
            counter.post_message(
                application=application, author=hanako, body=f"質問{number}", from_staff=False
            )
    fill_juminhyo(clients[H])
    application_id_from(start(clients[H], "992011", "dog-registration"))


def test_every_page_within_its_budget_whatever_it_lists(django_capture_on_commit_callbacks):
    from madoguchi.appointments.models import Counter
    from madoguchi.identity.models import User

    with django_capture_on_commit_callbacks(execute=True):
        world = access._world()
    viewers = {page.viewer for page in PAGES.values()} - {ANONYMOUS}
    level = {H: "mynumber_card"}
    clients = {
        email: login(User.objects.get(email=email), level=level.get(email)) for email in viewers
    }
    from django.test import Client

    clients[ANONYMOUS] = Client()
    world["draft"] = uuid.UUID(fill_juminhyo(clients[H]))
    world["log"] = "992011"
    world["today"] = dt.date.today().isoformat()
    world["counter_code"] = Counter.objects.get(pk=world["counter"]).code
    routes = _named_urls()
    few, failures = _measure(clients, routes, world)
    assert not failures, "\n".join(failures)
    with django_capture_on_commit_callbacks(execute=True):
        _grow(world, clients)
    many, failures = _measure(clients, routes, world)
    assert not failures, "\n".join(failures)
    grown = {key: (few[key], many[key]) for key in PAGES if many[key] != few[key]}
    assert not grown, f"queries grow with the rows listed (few → many): {grown}"
    over = {key: (many[key], PAGES[key].budget) for key in PAGES if many[key] > PAGES[key].budget}
    assert not over, f"over budget (queries, budget): {over}"
