"""POST /api/files, then naming the file in an application's answers (the school photo)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.counter.models import Application, ApplicationFile
from madoguchi.files.models import StoredFile
from tests.counter.uploads import pdf, png

from .payloads import bearer, error_paths, highschool, post_application

pytestmark = pytest.mark.django_db

HIGHSCHOOL = {"body": "990001", "procedure": "highschool-web-application"}


def upload(client, token, content: bytes, name="photo.png", accept=None):
    data = {"file": SimpleUploadedFile(name, content)}
    if accept is not None:
        data["accept"] = accept
    return client.post("/api/files", data, headers=bearer(token))


def test_upload_then_apply_with_the_photo(client, hanako, hanako_token, highschool_open):
    uploaded = upload(client, hanako_token, png(300, 400), name="../../証明写真.png")
    assert uploaded.status_code == 201, uploaded.content.decode()
    descriptor = uploaded.json()
    assert descriptor["content_type"] == "image/png"
    assert descriptor["name"] == "証明写真.png"  # no path from the client's name
    stored = StoredFile.objects.get(pk=descriptor["id"])
    assert stored.owner == hanako and stored.sha256 == descriptor["sha256"]

    response = post_application(
        client, token=hanako_token, **HIGHSCHOOL, answers=highschool([descriptor["id"]])
    )
    assert response.status_code == 201, response.content.decode()
    assert response.json()["state"] == "submitted"
    application = Application.objects.get(pk=response.json()["id"])
    assert application.answers["photo"] == [descriptor]
    link = ApplicationFile.objects.get(stored_file=stored)
    assert link.application == application and link.field_id == "photo"


def test_a_file_cannot_be_used_twice(client, hanako_token, highschool_open):
    file_id = upload(client, hanako_token, png(300, 400)).json()["id"]
    first = post_application(
        client, token=hanako_token, **HIGHSCHOOL, answers=highschool([file_id])
    )
    assert first.status_code == 201
    second = post_application(
        client, token=hanako_token, **HIGHSCHOOL, answers=highschool([file_id])
    )
    assert second.status_code == 422
    assert error_paths(second) == {"answers.photo.0"}
    assert Application.objects.count() == 1


def test_the_same_file_twice_in_one_application_is_refused_not_500(
    client, hanako_token, highschool_open
):
    file_id = upload(client, hanako_token, png(300, 400)).json()["id"]
    answers = highschool([file_id, file_id])
    response = post_application(client, token=hanako_token, **HIGHSCHOOL, answers=answers)
    assert response.status_code == 422, response.content.decode()
    assert any(path.startswith("answers.photo") for path in error_paths(response))
    assert Application.objects.count() == 0


def test_a_file_of_someone_else_is_refused(client, hanako_token, taro_token, highschool_open):
    taros = upload(client, taro_token, png(300, 400)).json()["id"]
    response = post_application(
        client, token=hanako_token, **HIGHSCHOOL, answers=highschool([taros])
    )
    assert response.status_code == 422
    assert error_paths(response) == {"answers.photo.0"}
    assert not ApplicationFile.objects.exists()
    # Taro can still use his own file.
    own = post_application(client, token=taro_token, **HIGHSCHOOL, answers=highschool([taros]))
    assert own.status_code == 201, own.content.decode()


@pytest.mark.parametrize("file_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_file_ids_are_refused(client, hanako_token, highschool_open, file_id):
    response = post_application(
        client, token=hanako_token, **HIGHSCHOOL, answers=highschool([file_id])
    )
    assert response.status_code == 422
    assert error_paths(response) == {"answers.photo.0"}


def test_a_pdf_is_not_accepted_as_the_photo(client, hanako_token, highschool_open):
    file_id = upload(client, hanako_token, pdf(), name="photo.pdf").json()["id"]
    response = post_application(
        client, token=hanako_token, **HIGHSCHOOL, answers=highschool([file_id])
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "type"


@pytest.mark.parametrize(("width", "height"), [(30, 40), (400, 400)])
def test_the_photo_rules_of_the_field_apply_to_api_uploads(
    client, hanako_token, highschool_open, width, height
):
    """The form refuses a photo that is too small or not 3:4; so must the API."""
    file_id = upload(client, hanako_token, png(width, height)).json()["id"]
    response = post_application(
        client, token=hanako_token, **HIGHSCHOOL, answers=highschool([file_id])
    )
    assert response.status_code == 422, response.content.decode()
    assert error_paths(response) == {"answers.photo.0"}
    assert response.json()["errors"][0]["code"] in ("image_too_small", "image_aspect")
    assert Application.objects.count() == 0


def test_more_files_than_the_field_allows_are_refused(client, hanako_token, highschool_open):
    ids = [upload(client, hanako_token, png(300, 400)).json()["id"] for _ in range(2)]
    response = post_application(client, token=hanako_token, **HIGHSCHOOL, answers=highschool(ids))
    assert response.status_code == 422, response.content.decode()
    assert "answers.photo" in error_paths(response)


@pytest.mark.parametrize(
    ("content", "name", "accept", "code"),
    [
        (b"", "empty.png", None, "empty"),
        (b"MZ\x90\x00 not an image", "virus.png", None, "type"),
        (png(10, 10)[:40], "broken.png", None, "image_broken"),
        (pdf(), "doc.pdf", "image", "type"),
    ],
)
def test_rejected_uploads_are_422_json(client, hanako_token, content, name, accept, code):
    response = upload(client, hanako_token, content, name=name, accept=accept)
    assert response.status_code == 422, response.content.decode()
    data = response.json()
    assert data["errors"][0]["path"] == "file"
    assert data["errors"][0]["code"] == code
    assert not StoredFile.objects.exists()


def test_upload_without_a_file_or_with_a_bad_accept_is_422(client, hanako_token):
    missing = client.post("/api/files", {}, headers=bearer(hanako_token))
    assert missing.status_code == 422
    assert missing.json()["code"] == "invalid_request"
    bad_accept = upload(client, hanako_token, png(), accept="exe")
    assert bad_accept.status_code == 422
    assert bad_accept.json()["detail"]
