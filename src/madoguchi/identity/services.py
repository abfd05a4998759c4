"""Accounts, profiles, log-ins at external providers, sessions and staff log-in rules."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from madoguchi.core.languages import is_site_language
from madoguchi.ledger.services import record_event

from . import levels
from .models import IdentityLink, ResidentProfile, StaffSecurityPolicy, User


class IdentityError(Exception):
    """A refusal with a message for the person (`ja`) and one for API clients (`en`)."""

    status = 400
    code = "identity_error"

    def __init__(self, ja: str, en: str, *, code: str | None = None) -> None:
        super().__init__(en)
        self.ja, self.en = ja, en
        if code:
            self.code = code


class NotPermitted(IdentityError):
    status = 403
    code = "forbidden"


class ReauthenticationRequired(IdentityError):
    """Raised where a redirect is not possible (the JSON API, a service): the person must
    prove again who they are before this action."""

    status = 401
    code = "reauthentication_required"

    def __init__(self) -> None:
        super().__init__(
            "この操作の前に、もう一度本人確認（パスワードまたは2段階認証）をしてください。",
            "Re-authenticate before this action.",
        )


# --- the profile ----------------------------------------------------------------------


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
# Profile fields behind each prefill key, to tell whether a prefilled value was verified.
PREFILL_FIELDS = {
    "profile.name": ("family_name", "given_name"),
    "profile.birth_date": ("birth_date",),
    "profile.sex": ("sex",),
    "profile.address": ("prefecture", "city", "street"),
}


def value_source(profile: ResidentProfile, key: str) -> dict[str, Any]:
    """Where one value of the profile came from: {"by", "provider", "label", "verified",
    "at"}. Profiles saved before sources were dictionaries hold a plain word."""
    source = (profile.sources or {}).get(key)
    if isinstance(source, dict):
        return source
    if isinstance(source, str):
        return {"by": source, "verified": False}
    return {}


def verified_prefill(user: User) -> dict[str, dict[str, Any]]:
    """Prefill keys whose every value was verified by an identity provider (My Number
    Card), with the source, for marking them where they are used."""
    profile = ResidentProfile.objects.filter(user=user).first()
    if profile is None:
        return {}
    verified = {}
    for prefill_key, keys in PREFILL_FIELDS.items():
        sources = [value_source(profile, key) for key in keys]
        if all(source.get("verified") for source in sources) and all(
            getattr(profile, key) for key in keys
        ):
            verified[prefill_key] = sources[0]
    return verified


def _same_value(answer: Any, verified: Any) -> bool:
    if isinstance(verified, dict):
        keys = [k for k in ("family", "given", "prefecture", "city", "street") if k in verified]
        return isinstance(answer, dict) and all(answer.get(k) == verified[k] for k in keys)
    return answer == verified


def verified_answers(application) -> dict[str, str]:
    """Answers of a resident's own application that are still exactly the values an
    identity provider verified (prefilled from the profile with consent): field id → the
    provider's label, for marking them on the check-answers page."""
    if not getattr(application, "use_profile", False) or application.applicant_role != "self":
        return {}
    verified = verified_prefill(application.applicant)
    if not verified:
        return {}
    values = prefill_values(application.applicant)
    marked = {}
    for field_id, spec in application.procedure_version.spec.fields.items():
        key = spec.get("prefill")
        answer = application.answers.get(field_id)
        if key in verified and answer is not None and _same_value(answer, values.get(key)):
            marked[field_id] = str(verified[key].get("label", ""))
    return marked


@transaction.atomic
def update_profile(
    *,
    user: User,
    values: dict[str, Any],
    source: str = "resident",
    provider=None,
) -> ResidentProfile:
    """Saves profile values; each changed value remembers where it came from. Values from
    an identity provider (`provider`) are marked as verified by it."""
    profile = profile_of(user)
    changed = []
    now = timezone.localtime().isoformat(timespec="seconds")
    for key in PROFILE_FIELDS:
        if key not in values:
            continue
        if provider is not None and key != "date_style":
            # A provider's value is recorded even when it equals what was typed: it is now
            # verified.
            profile.sources[key] = {
                "by": "provider",
                "provider": provider.name,
                "label": provider.label,
                "verified": True,
                "at": now,
            }
        if getattr(profile, key) != values[key]:
            setattr(profile, key, values[key])
            changed.append(key)
            if key != "date_style" and provider is None:
                profile.sources[key] = {"by": source, "verified": False, "at": now}
    if changed or provider is not None:
        profile.save()
    if changed:
        record_event(
            event_type="profile.updated",
            actor_kind="system" if provider is not None else "resident",
            actor_id=user.pk,
            subject_type="person",
            subject_id=user.pk,
            details={
                "fields": sorted(changed),
                "source": f"provider:{provider.name}" if provider is not None else source,
            },
        )
    return profile


def remember_language(user: User, language: str | None) -> bool:
    """Keeps the language the person chose on the site for the e-mails sent to them.
    Anything but a language of the site is ignored (returns False)."""
    if not is_site_language(language):
        return False
    if user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language
    return True


def authenticate_api_token(raw: str) -> User | None:
    from .models import ApiToken

    if not raw or not raw.startswith("mdg_") or len(raw) > 100:
        return None
    # The user, through the token that is not revoked, in one query: at most one row
    # (the hash is unique), [:1] without the ORDER BY of .first(). The expiry is compared
    # here rather than in SQL (ApiToken.objects.active()), the same rule with a cheaper
    # query on the API's every request.
    found = list(
        User.objects.filter(
            api_tokens__token_sha256=ApiToken.hash(raw), api_tokens__revoked_at__isnull=True
        ).annotate(token_expires_at=F("api_tokens__expires_at"))[:1]
    )
    if not found:
        return None
    user = found[0]
    if user.token_expires_at is not None and user.token_expires_at <= timezone.now():
        return None
    return user if user.is_active else None


# --- sessions and re-authentication ---------------------------------------------------

LAST_SEEN_KEY = "madoguchi_last_seen"
STAFF_KEY = "madoguchi_is_staff"


def authentication_records(request) -> list[dict]:
    """allauth's record of how the person proved who they are in this session."""
    from allauth.account.internal.flows.login import get_authentication_records

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return get_authentication_records(request, user)


def had_second_factor_at_log_in(request) -> bool:
    """Whether the person already had a second factor when they last proved who they are.
    One enrolled since (a resident adding their first passkey, then shown their recovery
    codes) could not have been used then, and the password stays proof enough for a while."""
    from allauth.mfa.models import Authenticator

    records = authentication_records(request)
    if not records:
        return has_second_factor(request.user)
    last = max(float(record.get("at", 0)) for record in records)
    first_factor = (
        Authenticator.objects.filter(user=request.user)
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return first_factor is not None and first_factor.timestamp() <= last


def record_authentication(request, user: User, method: str, **details) -> None:
    from allauth.account.internal.flows.login import record_authentication as record

    record(request, user, method, **details)


def recently_authenticated(
    request, *, max_age: int | None = None, second_factor: bool = False
) -> bool:
    """Whether the person proved who they are (log-in, password, second factor, a provider)
    within `max_age` seconds; with `second_factor`, with a second factor or a provider."""
    limit = settings.MADOGUCHI_REAUTH_MAX_AGE if max_age is None else max_age
    now = time.time()
    for record in authentication_records(request):
        # A provider counts as a second factor only where it reached `mfa` or the card.
        strong = record.get("method") == "mfa" or (
            record.get("method") == "oidc"
            and record.get("level") in (levels.MFA, levels.MYNUMBER_CARD)
        )
        if second_factor and not strong:
            continue
        if now - float(record.get("at", 0)) < limit:
            return True
    return False


def has_second_factor(user: User) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return is_mfa_enabled(user)


def ensure_recent_auth(request) -> None:
    """For the JSON API and services: raises ReauthenticationRequired unless the person
    re-authenticated recently (with a second factor, if they have one)."""
    user = request.user
    if not recently_authenticated(request, second_factor=has_second_factor(user)):
        raise ReauthenticationRequired


def require_recent_auth(view=None, *, max_age: int | None = None):
    """Decorates a view of a sensitive action (viewing My Number, approving disposition,
    changing keys, deleting an account): unless the person proved who they are within
    MADOGUCHI_REAUTH_MAX_AGE seconds, they are asked to do so again, and the request —
    a POST with what was typed, too — continues once they have.

    People with a second factor (all staff) must use it; a password alone is not enough.
    """

    def decorate(function):
        @wraps(function)
        def wrapper(request, *args, **kwargs):
            from allauth.account.internal.flows.reauthentication import suspend_request
            from django.contrib.auth.views import redirect_to_login
            from django.http import JsonResponse
            from django.urls import reverse

            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if recently_authenticated(
                request, max_age=max_age, second_factor=has_second_factor(user)
            ):
                return function(request, *args, **kwargs)
            if request.path.startswith("/api/"):
                error = ReauthenticationRequired()
                return JsonResponse(
                    {"detail": f"{error.en} / {error.ja}", "code": error.code, "errors": []},
                    status=401,
                )
            return suspend_request(request, reverse("identity:reauthenticate"))

        return wrapper

    return decorate(view) if view is not None else decorate


def start_session(request, user: User) -> None:
    """What a fresh log-in sets in the session: when it was last used, and whether it is a
    staff member's (whose sessions end sooner and need a second factor)."""
    request.session[LAST_SEEN_KEY] = time.time()
    request.session[STAFF_KEY] = is_staff_member(user)


def track_session(request) -> None:
    """Lists the session on the account page (allauth does it for its own log-ins)."""
    from allauth.usersessions.models import UserSession

    UserSession.objects.create_from_request(request)


def idle_limit_minutes(request) -> int:
    if request.session.get(STAFF_KEY):
        minutes = staff_requirements(request.user).idle_minutes
    else:
        minutes = settings.MADOGUCHI_RESIDENT_IDLE_MINUTES
    return max(1, minutes)


# --- staff ------------------------------------------------------------------------------


def is_staff_member(user: User) -> bool:
    from madoguchi.organisation.selectors import is_staff_member as member

    return member(user)


@dataclass
class StaffRequirements:
    require_passkey: bool = False
    idle_minutes: int = 30
    bodies: list[str] = field(default_factory=list)


def staff_requirements(user: User) -> StaffRequirements:
    """The strictest policy of the bodies a staff member works for."""
    from madoguchi.organisation.selectors import memberships_of

    body_ids = {m.unit.body_id for m in memberships_of(user)}
    policies = list(StaffSecurityPolicy.objects.filter(body_id__in=body_ids))
    minutes = [settings.MADOGUCHI_STAFF_IDLE_MINUTES]
    minutes += [p.idle_minutes for p in policies if p.idle_minutes]
    return StaffRequirements(
        require_passkey=any(p.require_passkey for p in policies),
        idle_minutes=min(minutes),
        bodies=[str(p.body_id) for p in policies if p.require_passkey],
    )


def has_passkey(user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).exists()


def administered_bodies(user: User):
    """Bodies whose staff log-in policy the user may set: those they administer."""
    from madoguchi.organisation.models import Role
    from madoguchi.organisation.selectors import bodies_for_role

    return bodies_for_role(user, Role.ADMINISTRATOR)


def policy_of(body) -> StaffSecurityPolicy:
    return StaffSecurityPolicy.objects.filter(body=body).first() or StaffSecurityPolicy(body=body)


@transaction.atomic
def set_staff_policy(
    *, actor: User, body, require_passkey: bool, idle_minutes: int | None
) -> StaffSecurityPolicy:
    if not administered_bodies(actor).filter(pk=body.pk).exists():
        raise NotPermitted(
            "この団体の職員のログイン方針を変更する権限（システム管理者）がありません。",
            "You are not an administrator of this body.",
        )
    if idle_minutes is not None and not 5 <= idle_minutes <= 24 * 60:
        raise IdentityError(
            "無操作でログアウトするまでの分数は5から1440の間で入力してください。",
            "The idle timeout must be between 5 and 1440 minutes.",
            code="idle_minutes",
        )
    policy, _created = StaffSecurityPolicy.objects.select_for_update().get_or_create(body=body)
    before = {"require_passkey": policy.require_passkey, "idle_minutes": policy.idle_minutes}
    policy.require_passkey = require_passkey
    policy.idle_minutes = idle_minutes
    policy.save()
    after = {"require_passkey": require_passkey, "idle_minutes": idle_minutes}
    if before != after or _created:
        record_event(
            event_type="identity.staff_policy_changed",
            actor_kind="staff",
            actor_id=actor.pk,
            subject_type="body",
            subject_id=body.pk,
            body_id=body.pk,
            details={"before": before, "after": after},
        )
    return policy


def may_remove_authenticator(authenticator) -> bool:
    """Staff keep at least one second factor (a passkey, where their body requires one);
    recovery codes alone are not a factor to work with."""
    from allauth.mfa.models import Authenticator

    user = authenticator.user
    if not settings.MADOGUCHI_STAFF_MFA_REQUIRED or not is_staff_member(user):
        return True
    others = Authenticator.objects.filter(user=user).exclude(pk=authenticator.pk)
    others = others.exclude(type=Authenticator.Type.RECOVERY_CODES)
    if staff_requirements(user).require_passkey:
        others = others.filter(type=Authenticator.Type.WEBAUTHN)
    return authenticator.type == Authenticator.Type.RECOVERY_CODES or others.exists()


def record_authenticator_change(*, user: User, authenticator, added: bool) -> None:
    with transaction.atomic():
        record_event(
            event_type="identity.second_factor_added"
            if added
            else "identity.second_factor_removed",
            actor_kind="staff" if is_staff_member(user) else "resident",
            actor_id=user.pk,
            subject_type="person",
            subject_id=user.pk,
            details={"type": authenticator.type},
        )


# --- log-ins at external providers -----------------------------------------------------


def link_for(*, issuer: str, subject: str) -> IdentityLink | None:
    return (
        IdentityLink.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    )


def links_of(user: User):
    return IdentityLink.objects.filter(user=user).order_by("created_at")


@transaction.atomic
def link_identity(*, user: User, provider, issuer: str, subject: str) -> IdentityLink:
    """Links a provider's log-in to an account whose control the person has just proved."""
    existing = link_for(issuer=issuer, subject=subject)
    if existing is not None:
        if existing.user_id != user.pk:
            raise NotPermitted(
                "このログインは別のアカウントに連携されています。",
                "This log-in is linked to another account.",
                code="linked_elsewhere",
            )
        return existing
    if IdentityLink.objects.filter(user=user, provider=provider.name).exists():
        raise IdentityError(
            f"このアカウントには別の{provider.label}のログインが連携されています。"
            "連携を解除してからもう一度お試しください。",
            "Another log-in of this provider is linked to the account.",
            code="provider_already_linked",
        )
    link = IdentityLink.objects.create(
        user=user, provider=provider.name, issuer=issuer, subject=subject
    )
    record_event(
        event_type="identity.linked",
        actor_kind="resident",
        actor_id=user.pk,
        subject_type="person",
        subject_id=user.pk,
        details={"provider": provider.name},
    )
    return link


@transaction.atomic
def unlink_identity(*, user: User, link_id: int) -> None:
    link = IdentityLink.objects.select_for_update().filter(pk=link_id, user=user).first()
    if link is None:
        raise IdentityError("連携が見つかりません。", "No such link.", code="not_found")
    if not user.has_usable_password() and links_of(user).count() == 1:
        raise IdentityError(
            "この連携を解除すると、このアカウントにログインする方法がなくなります。"
            "先にパスワードを設定してください。",
            "Set a password before removing the only way to log in.",
            code="last_login_method",
        )
    provider = link.provider
    link.delete()
    record_event(
        event_type="identity.unlinked",
        actor_kind="resident",
        actor_id=user.pk,
        subject_type="person",
        subject_id=user.pk,
        details={"provider": provider},
    )


def touch_link(link: IdentityLink) -> None:
    IdentityLink.objects.filter(pk=link.pk).update(last_login_at=timezone.now())


def apply_provider_claims(*, user: User, authenticated) -> list[str]:
    """Puts the values the provider vouched for into the profile, marked as verified;
    returns the scopes whose values did not come (to tell the person)."""
    from .claims import map_claims

    provider = authenticated.provider
    mapped = map_claims(provider.claims, authenticated.claims, provider.scopes)
    if mapped.values:
        update_profile(user=user, values=mapped.values, provider=provider)
    return mapped.missing


@transaction.atomic
def create_account_for_provider(*, email: str, authenticated) -> User:
    """A new account for a person who logged in at a provider and has none: the provider
    proves who they are; the e-mail address is for messages and is verified by mail."""
    from allauth.account.models import EmailAddress

    email = email.strip().lower()
    if (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    ):
        raise IdentityError(
            "このメールアドレスのアカウントがすでにあります。そのアカウントにログインしてから連携してください。",
            "An account with this address exists; log in to it to link.",
            code="email_taken",
        )
    user = User.objects.create_user(email=email, password=None)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    record_event(
        event_type="account.created",
        actor_kind="resident",
        actor_id=user.pk,
        subject_type="person",
        subject_id=user.pk,
        details={"via": f"provider:{authenticated.provider.name}"},
    )
    link_identity(
        user=user,
        provider=authenticated.provider,
        issuer=authenticated.issuer,
        subject=authenticated.subject,
    )
    return user


def staff_user_for_provider(*, authenticated) -> User | None:
    """The staff account a directory log-in belongs to: by a link made before, or, where
    the operator trusts the directory's addresses, by its verified e-mail address."""
    from .claims import map_claims

    link = link_for(issuer=authenticated.issuer, subject=authenticated.subject)
    if link is not None:
        return link.user
    provider = authenticated.provider
    if not provider.link_by_email:
        return None
    mapped = map_claims(provider.claims, authenticated.claims, provider.scopes)
    if not (mapped.email and mapped.email_verified):
        return None
    user = User.objects.filter(email__iexact=mapped.email, is_active=True).first()
    if user is None or not is_staff_member(user):
        return None
    link_identity(
        user=user, provider=provider, issuer=authenticated.issuer, subject=authenticated.subject
    )
    return user


# --- demo -------------------------------------------------------------------------------


def enroll_demo_totp(*, user: User, secret: str) -> None:
    """A TOTP authenticator with a known secret, for the sample staff of `make run` only."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, secret)


def totp_code(secret: str, at: float | None = None) -> str:
    """The current code of a TOTP secret (RFC 6238: 30-second steps, six digits)."""
    import base64
    import hashlib
    import hmac
    import struct

    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"
