"""Stored XSS and formula injection, generated from the models and the URL configuration:
every free-text column of every model (and every text answer of every application) in the
sample world of test_object_access is overwritten with a payload that is both HTML and a
spreadsheet formula, then every page of test_query_budgets is opened by its viewer. No page
may carry a payload's tag raw, and no CSV cell may start with = + - @.

Each payload carries its own number, so the test also reports which columns were shown at
all: a column added later is poisoned and checked without anyone listing it.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.apps import apps
from django.db import DatabaseError, models, transaction
from django.test import Client

from ..conftest import login
from . import test_object_access as access
from . import test_query_budgets as budgets

pytestmark = pytest.mark.django_db

# Columns the code reads as identifiers or formats rather than shows as text: overwriting
# them would test a broken world, not escaping.
NOT_FREE_TEXT = re.compile(
    r"(^|_)(code|codes|identifier|sha256|hash|digest|key|token|password|origin|"
    r"receipt_number|reference_number|number|page|current_page|path|mime|mimetype|"
    r"content_type|language|locale|provider|issuer|subject|session_key|ip|method|"
    r"status|state|kind|type|action|event_type|version|currency|scheme|level|"
    r"algorithm|format|template|route|slug|uid|fingerprint|nonce|serial|url|reference|id)$"
)
TEXT_TYPES = {"text", "long_text", "name", "address"}
RAW = ("<script>alert(", "<img src=x onerror")


def _payload(number: int) -> str:
    return f"=1+{number}<script>alert({number})</script><img src=x onerror=alert({number})>"


def _escaped(number: int) -> str:
    return f"&lt;script&gt;alert({number})&lt;/script&gt;"


def _poison_columns(labels: dict[int, str]) -> None:
    for model in apps.get_models():
        if not model.__module__.startswith("madoguchi.") or model._meta.app_label == "ledger":
            continue
        for field in model._meta.concrete_fields:
            if (
                not isinstance(field, (models.CharField, models.TextField))
                or isinstance(field, (models.SlugField, models.EmailField, models.URLField))
                or field.choices
                or field.unique
                or field.primary_key
                or NOT_FREE_TEXT.search(field.name)
            ):
                continue
            number = len(labels) + 1
            payload = _payload(number)
            if field.max_length is not None and field.max_length < len(payload):
                continue
            try:
                with transaction.atomic():
                    changed = model.objects.update(**{field.name: payload})
            except DatabaseError:  # an append-only table refuses, as it should
                continue
            if changed:
                labels[number] = f"{model._meta.label}.{field.name}"


def _poison_answers(labels: dict[int, str]) -> None:
    from madoguchi.counter.models import Application

    for application in Application.objects.select_related("procedure_version"):
        definition = application.procedure_version.spec
        answers = dict(application.answers)
        for field_id, spec in definition.fields.items():
            if spec["type"] not in TEXT_TYPES or spec.get("sensitive") or field_id not in answers:
                continue
            number = len(labels) + 1
            labels[number] = f"answer {application.procedure.identifier}.{field_id}"
            value = answers[field_id]
            if isinstance(value, dict):
                answers[field_id] = {
                    part: _payload(number) if part not in ("postal_code",) and text else text
                    for part, text in value.items()
                }
            elif isinstance(value, str):
                answers[field_id] = _payload(number)
        Application.objects.filter(pk=application.pk).update(answers=answers)


def _csv_cells(text: str):
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        yield from row


def test_no_stored_payload_runs_anywhere(django_capture_on_commit_callbacks):
    from madoguchi.appointments.models import Counter
    from madoguchi.identity.models import User

    with django_capture_on_commit_callbacks(execute=True):
        world = access._world()
    viewers = {page.viewer for page in budgets.PAGES.values()} - {None}
    clients: dict = {
        email: login(
            User.objects.get(email=email), level={access.HANAKO: "mynumber_card"}.get(email)
        )
        for email in viewers
    }
    clients[None] = Client()
    for client in clients.values():
        client.raise_request_exception = False
    from ..counter.helpers import fill_juminhyo

    world["draft"] = fill_juminhyo(clients[access.HANAKO])
    world["log"] = "992011"
    world["today"] = __import__("datetime").date.today().isoformat()
    world["counter_code"] = Counter.objects.get(pk=world["counter"]).code

    labels: dict[int, str] = {}
    _poison_columns(labels)
    _poison_answers(labels)
    assert len(labels) > 50, labels

    routes = budgets._named_urls()
    failures: list[str] = []
    shown: set[int] = set()
    shown_in_csv: set[int] = set()
    for key, page in budgets.PAGES.items():
        query = page.query(world) if callable(page.query) else page.query
        url = budgets._url(routes[budgets._url_name(key)], budgets._params(key, page, world), query)
        response = clients[page.viewer].get(url)
        if response.status_code != 200:
            failures.append(f"{key}: {response.status_code} on {url}")
            continue
        content_type = response.get("Content-Type", "")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if content_type.startswith("text/csv"):
            text = body.decode("utf-8")
            for cell in _csv_cells(text):
                if cell[:1] in ("=", "+", "-", "@") and "alert(" in cell:
                    failures.append(f"{key}: CSV cell starts a formula: {cell[:60]!r}")
            shown_in_csv.update(int(n) for n in re.findall(r"'=1\+(\d+)<script>", text))
        elif content_type.startswith("text/html"):
            html = body.decode("utf-8")
            for tag in RAW:
                if tag in html:
                    where = html.index(tag)
                    failures.append(f"{key}: raw {html[max(0, where - 80) : where + 60]!r}")
            shown.update(int(n) for n in re.findall(r"&lt;script&gt;alert\((\d+)\)", html))
    assert not failures, "\n".join(failures)
    answers = {n for n, label in labels.items() if label.startswith("answer ")}
    assert answers & shown, "no application's answer was shown on any page"
    assert shown_in_csv, "no payload reached a CSV export (neutralised)"
    # The control: the payloads really were shown, escaped (58 of 125 when this was written;
    # the others are columns no page shows, or answers of applications no viewer opens).
    assert len(shown | shown_in_csv) >= 40, (
        f"only {len(shown)} of {len(labels)} payloads were shown anywhere; never shown: "
        f"{sorted(labels[n] for n in set(labels) - shown - shown_in_csv)}"
    )
    _e_mails_carry_payloads_inert(django_capture_on_commit_callbacks)


def _e_mails_carry_payloads_inert(capture_on_commit) -> None:
    """E-mails written now, from the poisoned rows (procedure, body and unit names): the
    text part shows a payload as typed (plain text is not HTML), the HTML part escaped,
    the subject without tags."""
    from django.core import mail

    from madoguchi.counter import services as counter
    from madoguchi.counter.models import Application
    from madoguchi.identity.models import User
    from madoguchi.notifications.services import deliver_due

    mail.outbox.clear()
    dog = Application.objects.get(applicant__email=access.HANAKO, state="correction_requested")
    with capture_on_commit(execute=True):
        counter.post_message(
            application=dog,
            author=User.objects.get(email=access.KANKYO),
            body=_payload(0),
            from_staff=True,
        )
    deliver_due()
    assert mail.outbox, "no e-mail was sent"
    assert any("<script>alert(" in message.body for message in mail.outbox), (
        "no payload reached an e-mail, so this shows nothing"
    )
    for message in mail.outbox:
        for tag in RAW:
            assert tag not in message.subject, message.subject
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                for tag in RAW:
                    assert tag not in content, f"HTML part of {message.subject!r}: raw {tag!r}"
        assert "&lt;script&gt;" not in message.body, "the text part is HTML-escaped"
