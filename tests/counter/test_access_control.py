"""Access control of every URL that names an application or a file, generated from the
URL configuration: a URL added without a case here makes these tests fail."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from madoguchi.counter.models import Application, Message

from ..conftest import login
from .helpers import fill_dog_registration, fill_parking, submit
from .uploads import pdf, upload

pytestmark = pytest.mark.django_db

NAMESPACES = ("counter", "backoffice")


def _object_params(pattern) -> set[str]:
    names = set(pattern.regex.groupindex)
    return {name for name in names if name == "pk" or name.endswith("_id") or name == "file"}


def object_url_names() -> set[str]:
    """Every named URL of the counter and the back office whose route names an object."""
    found: set[str] = set()

    def walk(patterns, namespace: str | None, prefix_params: set[str]) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(
                    entry.url_patterns,
                    entry.namespace or namespace,
                    prefix_params | _object_params(entry.pattern),
                )
            elif (
                isinstance(entry, URLPattern)
                and namespace in NAMESPACES
                and prefix_params | _object_params(entry.pattern)
            ):
                assert entry.name, f"unnamed object URL {entry.pattern}"
                found.add(f"{namespace}:{entry.name}")

    walk(get_resolver().url_patterns, None, set())
    return found


# For each object URL: extra arguments, and what its rightful user gets (GET, POST).
# None: the method is not allowed (405) for anybody.
COUNTER = {
    "counter:detail": ({}, 200, 200),
    "counter:page": ({"page_id": "evidence"}, 302, 302),
    "counter:check": ({}, 302, 302),
    "counter:done": ({}, 200, 200),
    "counter:withdraw": ({}, 200, 302),
    "counter:discard": ({}, None, 302),
    "counter:post_message": ({}, None, 302),
    "counter:correction": ({}, 302, 302),
    "counter:file": ({"file_id": "FILE"}, 200, 200),
}
# The staff member of the parking permit's unit is a case worker (no approver role), and
# the application is submitted: a decision or its correction is refused with 403 (no
# role) or 409 (not in this state: with an approval route the draft is refused before the
# role is needed). The 書かない窓口 pages exist only for a draft being entered: 404.
REFUSED = frozenset({403, 409})
BACKOFFICE = {
    "backoffice:detail": ({}, 200, 200),
    "backoffice:act": ({}, None, 302),
    "backoffice:assign": ({}, None, 302),
    "backoffice:request_correction": ({}, None, 302),
    "backoffice:decide": ({}, None, REFUSED),
    "backoffice:recall": ({}, None, 409),
    "backoffice:correct": ({}, None, REFUSED),
    "backoffice:add_note": ({}, None, 302),
    "backoffice:my_number": ({}, None, 409),  # the parking permit asks for none
    "backoffice:post_message": ({}, None, 302),
    # The permit's evidence is special personal data: its unit's handler opens it only
    # with a purpose (tests/backoffice/test_special_personal_data.py), so 422 without one.
    "backoffice:file": ({"file_id": "FILE"}, 422, 422),
    "backoffice:file_preview": ({"file_id": "FILE", "page": 1}, 422, None),
    "backoffice:counter_overview": ({}, 404, 404),
    "backoffice:counter_confirm": ({}, 404, 404),
    "backoffice:counter_print": ({}, 404, 404),
}
CASES = {**COUNTER, **BACKOFFICE}
# Object URLs that do not name an application (a unit, an e-mail): their isolation is
# tested in tests/backoffice/test_isolation.py.
OTHER_OBJECTS = {"backoffice:dashboard", "backoffice:outbox_retry"}
POST_DATA = {
    "counter:withdraw": {"reason": "テスト"},
    "counter:post_message": {"body": "こんにちは"},
    "counter:page": {"f-evidence_files": "", "action": "continue"},
    "backoffice:act": {"action": "start_review"},
    "backoffice:assign": {"assignee": "me"},
    "backoffice:request_correction": {
        "fields": ["category"],
        "message": "確認してください",
        "reply_by": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
    },
    "backoffice:decide": {"outcome": "return", "reason": "管轄が違います"},
    "backoffice:correct": {"kind": "reopen", "correction_reason": "誤り"},
    "backoffice:add_note": {"body": "メモ"},
    "backoffice:my_number": {"field": "category", "purpose": "review"},
    "backoffice:post_message": {"body": "職員から"},
}


def test_every_object_url_has_a_case():
    found = object_url_names()
    assert found, "the URL configuration was not read"
    expected = set(CASES) | OTHER_OBJECTS
    assert found == expected, (
        f"not covered: {sorted(found - expected)}; gone: {sorted(expected - found)}"
    )


def _expect(status: int, expected) -> bool:
    expected = expected or 405
    return status in expected if isinstance(expected, frozenset) else status == expected


@pytest.fixture
def world(hanako, django_capture_on_commit_callbacks):
    """hanako's submitted parking permit (さくら県 障害福祉課) with a file, and her
    submitted dog registration (あおば市 生活環境課)."""
    client = login(hanako)
    parking = fill_parking(client, [upload("手帳.pdf", pdf())])
    dog = fill_dog_registration(client)
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, parking)
        submit(client, dog)
    parking_app = Application.objects.get(pk=parking)
    return {
        "parking": parking,
        "parking_file": parking_app.answers["evidence_files"][0]["id"],
        "dog": dog,
    }


def _url(name: str, pk, file_id) -> str:
    extra, _get, _post = CASES[name]
    kwargs = {"pk": pk, **extra}
    if "file_id" in kwargs:
        kwargs["file_id"] = file_id
    return reverse(name, kwargs=kwargs)


def _status(client: Client, method: str, name: str, url: str) -> int:
    if method == "get":
        return client.get(url).status_code
    return client.post(url, POST_DATA.get(name, {})).status_code


def _snapshot():
    return sorted(
        (str(a.pk), a.state, a.lock_version, str(a.answers)) for a in Application.objects.all()
    ), Message.objects.count()


def _assert_not_found(client: Client, name: str, pk, file_id) -> None:
    """Another person's object: 404, exactly like an object that does not exist; a method
    refused for every object (405) is refused the same way, revealing nothing."""
    for method in ("get", "post"):
        missing = _status(client, method, name, _url(name, uuid.uuid4(), uuid.uuid4()))
        got = _status(client, method, name, _url(name, pk, file_id))
        assert missing in (404, 405), (name, method, missing)
        assert got == missing, (name, method, got)


@pytest.mark.parametrize("name", sorted(object_url_names() - OTHER_OBJECTS))
def test_another_resident_gets_not_found(name, world, taro):
    before = _snapshot()
    _assert_not_found(login(taro), name, world["parking"], world["parking_file"])
    _assert_not_found(login(taro, level="mynumber_card"), name, world["dog"], world["parking_file"])
    assert _snapshot() == before


@pytest.mark.parametrize("name", sorted(object_url_names() - OTHER_OBJECTS))
def test_anonymous_visitors_are_sent_to_log_in(name, world):
    for method in ("get", "post"):
        response = getattr(Client(), method)(_url(name, world["parking"], world["parking_file"]))
        assert response.status_code == 302, (name, method)
        assert response["Location"].startswith("/account/login/"), (name, method)


@pytest.mark.parametrize("name", sorted(COUNTER))
def test_the_applicant_gets_their_own(name, world, hanako):
    _extra, get_status, post_status = CASES[name]
    client = login(hanako)
    url = _url(name, world["parking"], world["parking_file"])
    assert client.get(url).status_code == (get_status or 405)
    assert _status(client, "post", name, url) == (post_status or 405)


@pytest.mark.parametrize("name", sorted(COUNTER))
def test_staff_have_no_access_through_the_resident_counter(name, world, prefecture_staff):
    # Even the staff who handle it: the counter is only for the applicant (and subject).
    _assert_not_found(login(prefecture_staff), name, world["parking"], world["parking_file"])


def test_a_file_of_another_application_is_not_found_under_this_one(world, hanako, kankyo_staff):
    client = login(hanako)
    assert (
        client.get(reverse("counter:file", args=[world["dog"], world["parking_file"]])).status_code
        == 404
    )
    staff = login(kankyo_staff)
    assert (
        staff.get(
            reverse("backoffice:file", args=[world["dog"], world["parking_file"]])
        ).status_code
        == 404
    )


@pytest.mark.parametrize("name", sorted(BACKOFFICE))
def test_staff_of_other_units_get_not_found(
    name, world, shimin_staff, kankyo_staff, prefecture_staff, hanako
):
    before = _snapshot()
    # The parking permit belongs to さくら県 障害福祉課: not あおば市's staff.
    for user in (shimin_staff, kankyo_staff, hanako):
        _assert_not_found(login(user), name, world["parking"], world["parking_file"])
    # The dog registration belongs to あおば市 生活環境課: not 市民課, not the prefecture.
    for user in (shimin_staff, prefecture_staff, hanako):
        _assert_not_found(login(user), name, world["dog"], world["parking_file"])
    assert _snapshot() == before


@pytest.mark.parametrize("name", sorted(BACKOFFICE))
def test_the_right_staff_get_access(name, world, prefecture_staff):
    _extra, get_status, post_status = CASES[name]
    client = login(prefecture_staff)
    # Just logged in with the second factor, as allauth records it (My Number asks for it).
    session = client.session
    session["account_authentication_methods"] = [{"method": "mfa", "at": time.time()}]
    session["account_authentication_methods_user"] = session["_auth_user_id"]
    session.save()
    url = _url(name, world["parking"], world["parking_file"])
    assert _expect(client.get(url).status_code, get_status), name
    assert _expect(_status(client, "post", name, url), post_status), name


def test_the_right_staff_get_the_dog_registration(world, kankyo_staff):
    client = login(kankyo_staff)
    assert client.get(reverse("backoffice:detail", args=[world["dog"]])).status_code == 200
    response = client.post(
        reverse("backoffice:act", args=[world["dog"]]), {"action": "start_review"}
    )
    assert response.status_code == 302
    assert Application.objects.get(pk=world["dog"]).state == "under_review"


def _security_records(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "madoguchi.security"]


def test_attempts_on_another_persons_objects_are_logged_without_personal_data(
    world, hanako, taro, shimin_staff, caplog
):
    """The 404 that hides another's application from a resident or from staff of another
    unit is logged with who tried and what (ASVS 7.2); the rightful owner's visits and
    anonymous visitors (sent to log in) are not."""
    from madoguchi.identity.models import ApiToken

    caplog.set_level("WARNING", logger="madoguchi.security")
    assert login(hanako).get(reverse("counter:detail", args=[world["parking"]])).status_code == 200
    assert Client().get(reverse("counter:detail", args=[world["parking"]])).status_code == 302
    assert _security_records(caplog) == []

    assert login(taro).get(reverse("counter:detail", args=[world["parking"]])).status_code == 404
    staff = login(shimin_staff)
    assert staff.get(reverse("backoffice:detail", args=[world["dog"]])).status_code == 404
    _token, raw = ApiToken.issue(user=taro, name="tests")
    response = Client().get(
        f"/api/applications/{world['dog']}", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 404

    records = _security_records(caplog)
    assert len(records) == 3, records
    resident, member_of_staff, api = records
    assert f"GET counter:detail by user {taro.pk} (pk={world['parking']})" in resident
    assert f"GET backoffice:detail by user {shimin_staff.pk} (pk={world['dog']})" in member_of_staff
    assert f"by user {taro.pk}" in api and str(world["dog"]) in api
    for record in records:
        assert record.startswith("access refused or not found: 404")
        for personal in (taro.email, hanako.email, "山田", "花子"):
            assert personal not in record


def test_values_of_a_url_that_are_not_ids_are_left_out_of_the_security_log(hanako, caplog):
    """A postal code the resident typed (404 when unknown), a guest's booking token, or a
    line break that would forge a second line: only ids are logged."""
    caplog.set_level("WARNING", logger="madoguchi.security")
    client = login(hanako)
    assert client.get("/api/postal-codes/0000000").status_code == 404
    assert client.get("/appointments/manage/secret-token%0AFORGED/").status_code == 404
    records = _security_records(caplog)
    assert len(records) == 2, records
    postal, booking = records
    assert f"by user {hanako.pk} (code=…)" in postal and "0000000" not in postal
    assert "(token=…)" in booking
    assert "secret" not in booking and "FORGED" not in booking and "\n" not in booking
