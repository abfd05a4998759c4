"""The sample municipality's routes, delegations and internal documents (called by
`madoguchi.sample.services.load_sample`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from madoguchi.organisation import selectors as organisation
from madoguchi.organisation import services as organisation_services
from madoguchi.organisation.models import StaffMembership

from . import selectors, services
from .models import InternalDocument


def load_sample(
    *, routes: Path, delegations: list[tuple[str, str, int]], with_documents: bool
) -> None:
    services.load_routes(routes)
    User = get_user_model()
    now = timezone.now()
    for principal_email, deputy_email, days in delegations:
        principal = User.objects.get(email=principal_email)
        deputy = User.objects.get(email=deputy_email)
        if organisation.delegation_between(principal, deputy, at=now):
            continue
        membership = StaffMembership.objects.filter(user=principal).select_related("unit").first()
        organisation_services.create_delegation(
            actor=None,
            principal=principal,
            deputy=deputy,
            starts_at=now - dt.timedelta(minutes=1),
            ends_at=now + dt.timedelta(days=days),
            body=membership.unit.body,
        )
    if with_documents and not InternalDocument.objects.exists():
        _documents()


def _documents() -> None:
    """Two 起案文書 on their way: one waiting for the 市民課長 (whose deputy may 代決), one
    of 800,000 円 in 合議 with 財政課 and 総務課."""
    from madoguchi.organisation.models import Body, Unit

    User = get_user_model()
    aoba = Body.objects.get(code="992011")
    routes = {route.identifier: route for route in selectors.routes_of_body(aoba)}
    for email, unit_code, route, title, text, amount in (
        (
            "shimin.tanto@aoba.example.jp",
            "shiminka",
            "internal-general",
            "市民課窓口の案内表示の更新について（伺い）",
            "窓口の案内表示を、やさしい日本語と英語の併記に更新してよろしいか伺います。",
            None,
        ),
        (
            "kodomo.tanto@aoba.example.jp",
            "kodomo-katei",
            "internal-finance",
            "子育て支援ガイドブック印刷製本の支出負担行為について",
            "子育て支援ガイドブック3,000部の印刷製本を発注したいので伺います。",
            800000,
        ),
    ):
        drafter = User.objects.get(email=email)
        document = services.create_document(
            actor=drafter,
            unit=Unit.objects.get(body=aoba, code=unit_code),
            title=title,
            text=text,
            amount=amount,
            route=routes[route],
        )
        services.submit_document(
            document=document, actor=drafter, expected_version=document.version
        )
