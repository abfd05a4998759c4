"""The canonical form of an application: the exact bytes an applicant signs.

    canonical bytes = RFC 8785 (JCS) of
    {
      "format": "madoguchi.application/1",
      "application": "<application UUID>",
      "body": "<全国地方公共団体コード>",
      "procedure": "<procedure id>",
      "procedure_version": <version number>,
      "applicant_role": "self" | "legal_representative" | "power_of_attorney",
      "subject_person": {...},            # the person applied for (proxy applications)
      "answers": {...}                    # what is submitted: answers of visible fields only
    }
    digest = SHA-256(canonical bytes), shown to the applicant in hexadecimal

Attachments are bound by the SHA-256 in their descriptors; a My Number is bound by the
SHA-256 of its stored ciphertext (never the number itself, which a signing app and this
document must not carry): {"last4": "1234", "ciphertext_sha256": "..."}.
See docs/signatures.md.
"""

from __future__ import annotations

import hashlib
from typing import Any

from madoguchi.catalogue.fieldtypes import unseal_all
from madoguchi.ledger.jcs import canonicalize

FORMAT = "madoguchi.application/1"


def _protect_my_number(value: Any) -> Any:
    if isinstance(value, dict) and "ciphertext" in value:
        return {
            "last4": value.get("last4", ""),
            "ciphertext_sha256": hashlib.sha256(str(value["ciphertext"]).encode()).hexdigest(),
        }
    return value


def _answers(definition, answers: dict[str, Any]) -> dict[str, Any]:
    # A sensitive answer is signed as what the resident entered, not as its ciphertext
    # (which changes when the keys are rotated).
    relevant = unseal_all(definition.relevant_answers(answers))
    for field_id, spec in definition.fields.items():
        if field_id not in relevant:
            continue
        if spec["type"] == "my_number":
            relevant[field_id] = _protect_my_number(relevant[field_id])
        elif spec["type"] == "group":
            numbers = [sub["id"] for sub in spec["fields"] if sub["type"] == "my_number"]
            if numbers:
                relevant[field_id] = [
                    {
                        key: _protect_my_number(item) if key in numbers else item
                        for key, item in entry.items()
                    }
                    for entry in relevant[field_id]
                ]
    return relevant


def application_payload(application) -> dict[str, Any]:
    version = application.procedure_version
    return {
        "format": FORMAT,
        "application": str(application.pk),
        "body": application.body.code,
        "procedure": application.procedure.identifier,
        "procedure_version": version.number,
        "applicant_role": application.applicant_role,
        "subject_person": application.subject_person or {},
        "answers": _answers(version.spec, application.answers or {}),
    }


def canonical_bytes(application) -> bytes:
    return canonicalize(application_payload(application))


def canonical_sha256(application) -> str:
    return hashlib.sha256(canonical_bytes(application)).hexdigest()
