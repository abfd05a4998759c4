"""The JSON API: one client of the services, like the HTML views."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from madoguchi.appointments.api import router as appointments_router
from madoguchi.approvals.api import router as approvals_router
from madoguchi.approvals.services import ApprovalError, InvalidInput
from madoguchi.backoffice.api import router as staff_router
from madoguchi.catalogue.api import router as catalogue_router
from madoguchi.core.views import RETRY_AFTER_SECONDS
from madoguchi.counter.api import router as counter_router
from madoguchi.counter.services import CounterError, IncompleteApplication, InvalidAnswers
from madoguchi.issuance.api import router as issuance_router
from madoguchi.ledger.api import router as ledger_router
from madoguchi.payments.api import router as payments_router
from madoguchi.records.api import router as records_router


class ErrorItemOut(Schema):
    path: str
    message: str
    message_en: str
    code: str


class ErrorOut(Schema):
    """Every 4xx answer of the API, whatever raised it (the handlers below)."""

    detail: str
    code: str
    errors: list[ErrorItemOut]


ERROR_STATUSES = {
    "400": "The request cannot be read",
    "401": "Authentication required",
    "403": "Not allowed for this user",
    "404": "Not found, or not this user's",
    "409": "Not possible in the object's present state",
    "422": "Invalid input; `errors` names each field",
    "429": "Too many requests",
}
# Documented with the form they take, though the server also accepts full-width digits,
# 〒 and other dashes (catalogue.japanese.normalize_postal_code).
PARAMETER_PATTERNS = {("/postal-codes/{code}", "code"): r"^[0-9]{3}-?[0-9]{4}$"}


def document_errors(schema: dict[str, Any], path_prefix: str) -> dict[str, Any]:
    """Add the error answers to every operation of the OpenAPI document, so that clients
    (and schemathesis) can check them: ninja documents only the success answers."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    generated = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(generated.pop("$defs", {}))
    schemas["ErrorOut"] = generated
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                documented = responses.get(status)
                if documented is None:
                    responses[status] = {
                        "description": description,
                        "content": {"application/json": {"schema": error}},
                    }
                    continue
                # An answer documented with its own body (422 of a signature check) may
                # still be a validation error of the request.
                content = documented.setdefault("content", {}).setdefault("application/json", {})
                own = content.get("schema")
                content["schema"] = {"anyOf": [own, error]} if own else error
            for parameter in operation.get("parameters", []):
                local = path.removeprefix(path_prefix.rstrip("/"))
                pattern = PARAMETER_PATTERNS.get((local, parameter.get("name")))
                if pattern:
                    parameter.setdefault("schema", {})["pattern"] = pattern
    return schema


class MadoguchiAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_errors(schema, path_prefix)


api = MadoguchiAPI(
    title="madoguchi API",
    version="1",
    description="Procedures, applications and their status. Errors are JSON: "
    '{"detail": message, "code": code, "errors": [{"path", "message", "message_en", "code"}]}.',
    urls_namespace="api",
)
api.add_router("", catalogue_router)
api.add_router("", counter_router)
api.add_router("", approvals_router)
api.add_router("", issuance_router)
api.add_router("", staff_router)
api.add_router("", ledger_router)
api.add_router("", records_router)
api.add_router("", appointments_router)
api.add_router("", payments_router)


def _error(
    request: HttpRequest, status: int, detail: str, code: str, errors: list[dict] | None = None
):
    return api.create_response(
        request, {"detail": detail, "code": code, "errors": errors or []}, status=status
    )


@api.exception_handler(CounterError)
def counter_error(request: HttpRequest, exc: CounterError):
    errors: list[dict] = []
    if isinstance(exc, InvalidAnswers):
        errors = [error.as_dict() for error in exc.errors]
    if isinstance(exc, IncompleteApplication):
        errors = [
            {**error.as_dict(), "path": f"answers.{error.path}"} for _page, error in exc.problems
        ]
    return _error(request, exc.status, f"{exc.en} / {exc.ja}", exc.code, errors)


@api.exception_handler(ApprovalError)
def approval_error(request: HttpRequest, exc: ApprovalError):
    errors: list[dict] = []
    if isinstance(exc, InvalidInput) and exc.field:
        errors = [{"path": exc.field, "message": exc.ja, "message_en": exc.en, "code": exc.code}]
    return _error(request, exc.status, f"{exc.en} / {exc.ja}", exc.code, errors)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError):
    errors = []
    for item in exc.errors:
        location = [str(part) for part in item.get("loc", [])]
        if location[:1] == ["body"] and len(location) > 2:
            # ("body", <parameter name>, field, ...): paths name fields of the JSON body,
            # like the answer paths of the services ("answers.owner_phone").
            location = location[2:]
        errors.append(
            {
                "path": ".".join(location),
                "message": item.get("msg", ""),
                "message_en": item.get("msg", ""),
                "code": item.get("type", "invalid"),
            }
        )
    return _error(
        request,
        422,
        "The request is not valid / リクエストの形式が正しくありません",
        "invalid_request",
        errors,
    )


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request: HttpRequest, exc: Exception):
    response = _error(
        request,
        503,
        "The service is briefly unavailable; try again / ただいま一時的に利用できません",
        "unavailable",
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError):
    return _error(request, exc.status_code, str(exc), "http_error")


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError):
    return _error(request, 401, "Authentication required / ログインが必要です", "unauthenticated")
