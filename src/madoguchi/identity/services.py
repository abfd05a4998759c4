from __future__ import annotations

from typing import Any

from django.db import transaction

from madoguchi.ledger.services import record_event

from .models import ResidentProfile, User


def profile_of(user: User) -> ResidentProfile:
    profile, _created = ResidentProfile.objects.get_or_create(user=user)
    return profile


def prefill_values(user: User) -> dict[str, Any]:
    """Values a definition's `prefill: profile.*` may take, from the resident's profile."""
    profile = ResidentProfile.objects.filter(user=user).first()
    values: dict[str, Any] = {
        "profile.email": user.email,
        "profile.display_name": user.display_name or None,
    }
    if profile is None:
        return values
    if profile.family_name and profile.given_name:
        name = {"family": profile.family_name, "given": profile.given_name}
        if profile.family_name_kana and profile.given_name_kana:
            name |= {"family_kana": profile.family_name_kana, "given_kana": profile.given_name_kana}
        values["profile.name"] = name
    if profile.birth_date:
        values["profile.birth_date"] = profile.birth_date.isoformat()
    if profile.sex:
        values["profile.sex"] = profile.sex
    if profile.postal_code:
        values["profile.postal_code"] = profile.postal_code
    if profile.prefecture and profile.city and profile.street:
        values["profile.address"] = {
            "postal_code": profile.postal_code,
            "prefecture": profile.prefecture,
            "city": profile.city,
            "street": profile.street,
            "building": profile.building,
        }
    if profile.phone:
        values["profile.phone"] = profile.phone
    return {key: value for key, value in values.items() if value not in (None, "")}


PROFILE_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "postal_code",
    "prefecture",
    "city",
    "street",
    "building",
    "phone",
    "date_style",
)


@transaction.atomic
def update_profile(
    *, user: User, values: dict[str, Any], source: str = "resident"
) -> ResidentProfile:
    profile = profile_of(user)
    changed = []
    for key in PROFILE_FIELDS:
        if key in values and getattr(profile, key) != values[key]:
            setattr(profile, key, values[key])
            changed.append(key)
            if key != "date_style":
                profile.sources[key] = source
    if changed:
        profile.save()
        record_event(
            event_type="profile.updated",
            actor_kind="resident",
            actor_id=user.pk,
            subject_type="person",
            subject_id=user.pk,
            details={"fields": sorted(changed), "source": source},
        )
    return profile


def authenticate_api_token(raw: str) -> User | None:
    from .models import ApiToken

    if not raw or not raw.startswith("mdg_") or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.active()
        .select_related("user")
        .filter(token_sha256=ApiToken.hash(raw))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token.user
