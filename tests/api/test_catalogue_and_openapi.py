"""The public endpoints (procedures, postal codes) and the OpenAPI document."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from .payloads import DOG, bearer, post_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def response_validator(spec: dict, path: str, method: str, status: int) -> Draft202012Validator:
    """A validator for a documented response body, with the document's components."""
    schema = spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"][
        "schema"
    ]
    root = {**schema, "components": spec["components"]}
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root)


def test_procedures_list_and_search(client, sample):
    everything = client.get("/api/procedures")
    assert everything.status_code == 200
    ids = {(p["body"], p["id"]) for p in everything.json()}
    assert {("992011", "dog-registration"), ("992011", "juminhyo-copy")} <= ids

    dogs = client.get("/api/procedures", {"q": "犬"}).json()
    assert dogs and {p["id"] for p in dogs} == {"dog-registration"}
    assert {p["body"] for p in dogs} == {"992011", "993417"}
    by_reading = client.get("/api/procedures", {"q": "じゅうみんひょう"}).json()
    assert by_reading and by_reading[0]["id"] == "juminhyo-copy"
    one_body = client.get("/api/procedures", {"q": "犬", "body": "993417"}).json()
    assert [(p["body"], p["id"]) for p in one_body] == [("993417", "dog-registration")]
    assert client.get("/api/procedures", {"q": "存在しない手続ぴよぴよ"}).json() == []
    # A very long query is cut, not an error.
    assert client.get("/api/procedures", {"q": "犬" * 5000}).status_code == 200


def test_procedure_detail_returns_the_definition(client, sample):
    response = client.get("/api/procedures/992011/dog-registration")
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "犬の登録申請"
    assert data["identity_level"] == "account"
    assert data["accepting"] is True
    pages = data["definition"]["pages"]
    assert [page["id"] for page in pages] == ["owner", "dog", "rabies"]
    assert "owner_phone" in {field["id"] for field in pages[0]["fields"]}

    missing = client.get("/api/procedures/992011/no-such-procedure")
    assert missing.status_code == 404
    assert missing.json()["code"] == "http_error" and missing.json()["detail"]


def test_postal_codes(client, db):
    found = client.get("/api/postal-codes/1000001")
    assert found.status_code == 200
    assert found.json() == {
        "postal_code": "1000001",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "千代田",
    }
    assert client.get("/api/postal-codes/100-0001").json()["town"] == "千代田"
    for bad in ("12", "abcdefg", "10000011", "%E3%80%80"):
        response = client.get(f"/api/postal-codes/{bad}")
        assert response.status_code == 422, bad
        assert response.json()["detail"]
    unknown = client.get("/api/postal-codes/0000000")
    assert unknown.status_code == 404
    assert unknown.json()["detail"]


def test_openapi_documents_the_api(openapi):
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"] and openapi["info"]["version"]
    paths = openapi["paths"]
    expected = {
        "/api/procedures": {"get"},
        "/api/procedures/{body}/{identifier}": {"get"},
        "/api/applications": {"get", "post"},
        "/api/applications/{application_id}": {"get"},
        "/api/applications/{application_id}/submit": {"post"},
        "/api/files": {"post"},
        "/api/postal-codes/{code}": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path

    create = paths["/api/applications"]["post"]
    key = [p for p in create["parameters"] if p["name"] == "Idempotency-Key"]
    assert key and key[0]["in"] == "header" and key[0]["required"] is True
    assert {"200", "201"} <= set(create["responses"])
    assert {"TokenAuth": []} in create["security"]
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert "security" not in paths["/api/procedures"]["get"]  # public

    for schema in openapi["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_responses_match_the_openapi_schemas(client, openapi, hanako_token):
    listing = client.get("/api/procedures")
    response_validator(openapi, "/api/procedures", "get", 200).validate(listing.json())

    detail = client.get("/api/procedures/992011/dog-registration")
    response_validator(openapi, "/api/procedures/{body}/{identifier}", "get", 200).validate(
        detail.json()
    )

    created = post_application(client, token=hanako_token, answers=DOG)
    validator = response_validator(openapi, "/api/applications", "post", 201)
    validator.validate(created.json())
    # The validator is not vacuous: a wrong body is refused.
    assert list(validator.iter_errors({**created.json(), "state": 3}))

    mine = client.get("/api/applications", headers=bearer(hanako_token))
    response_validator(openapi, "/api/applications", "get", 200).validate(mine.json())

    postal = client.get("/api/postal-codes/1000001")
    response_validator(openapi, "/api/postal-codes/{code}", "get", 200).validate(postal.json())


def test_error_answers_are_documented_and_match(client, openapi, hanako_token):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "409", "422"):
                assert status in operation["responses"], (method, path, status)

    missing = client.get(
        "/api/applications/00000000-0000-0000-0000-000000000000", headers=bearer(hanako_token)
    )
    assert missing.status_code == 404
    validator = response_validator(openapi, "/api/applications/{application_id}", "get", 404)
    validator.validate(missing.json())
    assert list(validator.iter_errors({"detail": "x"}))  # code and errors are required

    invalid = client.get("/api/postal-codes/12")
    assert invalid.status_code == 422
    response_validator(openapi, "/api/postal-codes/{code}", "get", 422).validate(invalid.json())
    code = openapi["paths"]["/api/postal-codes/{code}"]["get"]["parameters"][0]
    assert code["schema"]["pattern"] == r"^[0-9]{3}-?[0-9]{4}$"


def test_every_schema_name_is_used_once():
    """ninja names a component after its class: two `FileOut`s made /api/files document
    the records file's schema."""
    import importlib
    import pkgutil

    from ninja import Schema

    import madoguchi

    owners: dict[str, set[str]] = {}
    for module in pkgutil.iter_modules(madoguchi.__path__):
        try:
            api_module = importlib.import_module(f"madoguchi.{module.name}.api")
        except ModuleNotFoundError:
            continue
        for name, value in vars(api_module).items():
            defined_here = getattr(value, "__module__", None) == api_module.__name__
            if defined_here and isinstance(value, type) and issubclass(value, Schema):
                owners.setdefault(name, set()).add(api_module.__name__)
    assert owners, "no schema found"
    assert {name: mods for name, mods in owners.items() if len(mods) > 1} == {}
