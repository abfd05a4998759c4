"""What each role permits, and how far from its unit it reaches.

Roles are code, not data: a permission means something only where the code checks it, so
a role an administrator invented could grant nothing. Who holds a role, and where, is data
(`RoleGrant`), edited by administrators and ledgered.

Scope: a role held in a unit applies to that unit and every unit below it (a 課 role
covers its 係), except the body-wide roles, which apply to every unit of the body.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Role

UNIT = "unit"
BODY = "body"

# Permissions checked by the code.
VIEW_APPLICATIONS = "applications.view"
PROCESS_APPLICATIONS = "applications.process"
DECIDE = "approvals.decide"
MANAGE_RECORDS = "records.manage"
MANAGE_PROCEDURES = "procedures.manage"
MANAGE_ORGANISATION = "organisation.manage"
# Seeing a My Number in clear, or an answer or attachment a procedure marks `sensitive`.
VIEW_SPECIAL_PERSONAL_DATA = "personal_data.view_special"


@dataclass(frozen=True)
class RoleSpec:
    code: str
    scope: str
    permissions: frozenset[str]
    label_en: str

    @property
    def label(self) -> str:
        return str(Role(self.code).label)


ROLES: dict[str, RoleSpec] = {
    spec.code: spec
    for spec in (
        RoleSpec(
            Role.CASE_WORKER,
            UNIT,
            frozenset({VIEW_APPLICATIONS, PROCESS_APPLICATIONS}),
            "Case worker",
        ),
        RoleSpec(Role.APPROVER, UNIT, frozenset({VIEW_APPLICATIONS, DECIDE}), "Approver"),
        RoleSpec(Role.RECORDS_OFFICER, BODY, frozenset({MANAGE_RECORDS}), "Records officer"),
        RoleSpec(Role.PROCEDURE_AUTHOR, BODY, frozenset({MANAGE_PROCEDURES}), "Procedure author"),
        RoleSpec(Role.ADMINISTRATOR, BODY, frozenset({MANAGE_ORGANISATION}), "Administrator"),
        RoleSpec(
            Role.PERSONAL_DATA_HANDLER,
            UNIT,
            frozenset({VIEW_SPECIAL_PERSONAL_DATA}),
            "Special personal data handler",
        ),
    )
}


def spec(role: str) -> RoleSpec:
    try:
        return ROLES[role]
    except KeyError:
        raise LookupError(f"unknown role {role!r}") from None


def roles_with(permission: str) -> list[str]:
    return [code for code, item in ROLES.items() if permission in item.permissions]


def role_by_text(text: str) -> str | None:
    """A role from its code or its Japanese or English label (for CSV files)."""
    cleaned = text.strip()
    for code, item in ROLES.items():
        if cleaned in (code, item.label, item.label_en) or cleaned.lower() == item.label_en.lower():
            return code
    return None
