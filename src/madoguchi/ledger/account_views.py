"""The resident's page: who looked at my data, when and why."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from madoguchi.organisation.models import Role

from . import selectors
from .models import AccessPurpose, AccessWhat


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.accesses_to(request.user), 50).get_page(request.GET.get("page"))
    from madoguchi.organisation.selectors import positions

    position_names = {position.code: position.name for position in positions()}
    rows = []
    for row in selectors.access_rows(page):
        item = row.log
        rows.append(
            {
                "at": item.at,
                "body": item.unit.body.name,
                "unit": item.unit.name,
                "position": position_names.get(item.position, item.position),
                "roles": [str(Role(code).label) for code in item.roles if code in Role.values],
                "name": (item.actor.display_name or "") if row.show_name else "",
                "what": AccessWhat(item.what).label,
                "object_type": item.object_type,
                "object_id": item.object_id,
                "purpose": AccessPurpose(item.purpose).label if item.purpose else "",
                "entry": row.entry,
            }
        )
    return render(request, "ledger/access_log.html", {"page": page, "rows": rows})
