"""Administration of the organisation (組織管理) for a body's administrators: units, members
with their positions and roles, positions, delegations (代決), the history of role grants,
and the CSV import. Every change goes through the services, which ledger it."""

from __future__ import annotations

from functools import lru_cache, wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import roles as role_specs
from . import selectors, services
from .forms import FormError, delegation_form
from .models import Body, Role, StaffMembership, Unit


@lru_cache(maxsize=1)
def _layout() -> str:
    """The back office's staff layout (its menu and styles) when it is installed."""
    try:
        get_template("backoffice/base.html")
    except TemplateDoesNotExist:
        return "organisation/layout_fallback.html"
    return "backoffice/base.html"


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {**context, "layout": _layout()}, status=status)


def _message(error) -> str:
    return error.en if (get_language() or "ja").startswith("en") else error.ja


def administrator_required(view):
    """The body named in the URL must be one the user administers; otherwise it does not
    exist for them (404), like everything else a URL names."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, body: str, *args, **kwargs):
        found = (
            selectors.bodies_for_role(request.user, Role.ADMINISTRATOR).filter(code=body).first()
        )
        if found is None:
            raise Http404
        return view(request, found, *args, **kwargs)

    return wrapper


def _base(body: Body, section: str, **extra) -> dict:
    return {"body": body, "section": section, "errors": [], "values": {}, **extra}


def _unit(body: Body, code: str) -> Unit:
    unit = selectors.unit_by_code(body, code)
    if unit is None:
        raise Http404
    return unit


@login_required
def home(request: HttpRequest) -> HttpResponse:
    bodies = list(selectors.bodies_for_role(request.user, Role.ADMINISTRATOR))
    if not bodies:
        raise Http404
    if len(bodies) == 1:
        return redirect("organisation:body", body=bodies[0].code)
    return _render(request, "organisation/home.html", {"bodies": bodies, "section": "units"})


def _tree(body: Body) -> list[dict]:
    counts: dict[int, int] = {}
    for unit_id in StaffMembership.objects.filter(unit__body=body).values_list(
        "unit_id", flat=True
    ):
        counts[unit_id] = counts.get(unit_id, 0) + 1
    return [
        {
            "unit": unit,
            "indent": "\u3000" * (unit.path.count("/") - 3),
            "members": counts.get(unit.pk, 0),
        }
        for unit in selectors.units_of_body(body).select_related("parent")
    ]


@administrator_required
def body_home(request: HttpRequest, body: Body) -> HttpResponse:
    return _render(request, "organisation/body.html", _base(body, "units", tree=_tree(body)))


UNIT_FIELDS = ("code", "name", "kind", "parent", "name_en", "document_symbol", "email", "phone")


def _unit_values(request: HttpRequest) -> dict:
    return {key: request.POST.get(key, "")[:300] for key in UNIT_FIELDS}


def _parent(body: Body, code: str) -> Unit | None:
    return selectors.unit_by_code(body, code) if code else None


@administrator_required
def unit_new(request: HttpRequest, body: Body) -> HttpResponse:
    context = _base(
        body,
        "units",
        units=selectors.units_of_body(body, active_only=True),
        kinds=Unit.Kind.choices,
    )
    if request.method != "POST":
        context["values"] = {"kind": "division", "parent": request.GET.get("parent", "")}
        return _render(request, "organisation/unit_form.html", context)
    values = _unit_values(request)
    try:
        unit = services.create_unit(
            actor=request.user,
            body=body,
            code=values["code"],
            name=values["name"],
            kind=values["kind"],
            parent=_parent(body, values["parent"]),
            name_en=values["name_en"],
            document_symbol=values["document_symbol"],
            email=values["email"],
            phone=values["phone"],
        )
    except services.OrganisationError as exc:
        context.update(
            values=values, errors=[FormError(getattr(exc, "field", "") or "code", _message(exc))]
        )
        return _render(request, "organisation/unit_form.html", context, status=exc.status)
    messages.success(request, _("組織を登録しました。"))
    return redirect("organisation:unit", body=body.code, code=unit.code)


def _unit_context(body: Body, unit: Unit, **extra) -> dict:
    members = list(selectors.members_of(unit))
    roles: dict[int, set[str]] = {}
    for grant in selectors.active_grants(unit=unit):
        roles.setdefault(grant.user_id, set()).add(grant.role)
    return _base(
        body,
        "units",
        unit=unit,
        members=[(member, roles.get(member.user_id, set())) for member in members],
        positions=selectors.positions(),
        roles=[(code, spec.label) for code, spec in role_specs.ROLES.items()],
        units=selectors.units_of_body(body, active_only=True).exclude(path__startswith=unit.path),
        children=unit.children.all(),
        kinds=Unit.Kind.choices,
        unit_values={key: getattr(unit, key) for key in UNIT_FIELDS if key != "parent"}
        | {"parent": unit.parent.code if unit.parent_id else ""},
        **extra,
    )


@administrator_required
def unit_detail(request: HttpRequest, body: Body, code: str) -> HttpResponse:
    unit = _unit(body, code)
    return _render(request, "organisation/unit.html", _unit_context(body, unit))


@administrator_required
@require_POST
def unit_edit(request: HttpRequest, body: Body, code: str) -> HttpResponse:
    unit = _unit(body, code)
    values = _unit_values(request)
    try:
        parent = _parent(body, values["parent"])
        if values["parent"] and parent is None:
            raise services.InvalidValue(
                "上位組織を選び直してください。", "Choose the parent again.", field="parent"
            )
        services.update_unit(
            actor=request.user,
            unit=unit,
            name=values["name"],
            kind=values["kind"],
            parent=parent,
            name_en=values["name_en"],
            document_symbol=values["document_symbol"],
            email=values["email"],
            phone=values["phone"],
        )
    except services.OrganisationError as exc:
        context = _unit_context(
            body,
            unit,
            errors=[FormError(f"unit-{getattr(exc, 'field', '') or 'name'}", _message(exc))],
        )
        context["unit_values"] = values
        return _render(request, "organisation/unit.html", context, status=exc.status)
    messages.success(request, _("組織の情報を更新しました。"))
    return redirect("organisation:unit", body=body.code, code=unit.code)


@administrator_required
@require_POST
def unit_active(request: HttpRequest, body: Body, code: str) -> HttpResponse:
    unit = _unit(body, code)
    active = request.POST.get("active") == "1"
    try:
        services.set_unit_active(actor=request.user, unit=unit, active=active)
    except services.OrganisationError as exc:
        context = _unit_context(body, unit, errors=[FormError("retire", _message(exc))])
        return _render(request, "organisation/unit.html", context, status=exc.status)
    messages.success(request, _("組織を再開しました。") if active else _("組織を廃止しました。"))
    return redirect("organisation:unit", body=body.code, code=unit.code)


@administrator_required
@require_POST
def member_add(request: HttpRequest, body: Body, code: str) -> HttpResponse:
    unit = _unit(body, code)
    values = {
        "email": request.POST.get("email", "")[:254],
        "name": request.POST.get("name", "")[:200],
        "position": request.POST.get("position", ""),
        "roles": request.POST.getlist("roles"),
    }
    try:
        services.enrol_staff(
            actor=request.user,
            unit=unit,
            email=values["email"],
            name=values["name"],
            position=values["position"],
            roles=[role for role in values["roles"] if role in role_specs.ROLES],
        )
    except services.OrganisationError as exc:
        context = _unit_context(
            body,
            unit,
            errors=[FormError(f"new-{getattr(exc, 'field', '') or 'email'}", _message(exc))],
            new_member=values,
        )
        return _render(request, "organisation/unit.html", context, status=exc.status)
    messages.success(request, _("職員を所属させました。"))
    return redirect("organisation:unit", body=body.code, code=unit.code)


def _membership(body: Body, pk: int) -> StaffMembership:
    membership = (
        StaffMembership.objects.filter(pk=pk, unit__body=body)
        .select_related("unit", "user")
        .first()
    )
    if membership is None:
        raise Http404
    return membership


@administrator_required
@require_POST
def member_update(request: HttpRequest, body: Body, pk: int) -> HttpResponse:
    membership = _membership(body, pk)
    try:
        services.update_membership(
            actor=request.user,
            membership=membership,
            position=request.POST.get("position", ""),
            roles=[role for role in request.POST.getlist("roles") if role in role_specs.ROLES],
        )
    except services.OrganisationError as exc:
        context = _unit_context(
            body, membership.unit, errors=[FormError(f"member-{membership.pk}", _message(exc))]
        )
        return _render(request, "organisation/unit.html", context, status=exc.status)
    messages.success(request, _("職と役割を更新しました。"))
    return redirect("organisation:unit", body=body.code, code=membership.unit.code)


@administrator_required
@require_POST
def member_remove(request: HttpRequest, body: Body, pk: int) -> HttpResponse:
    membership = _membership(body, pk)
    try:
        services.remove_membership(actor=request.user, membership=membership)
    except services.OrganisationError as exc:
        context = _unit_context(
            body, membership.unit, errors=[FormError(f"member-{membership.pk}", _message(exc))]
        )
        return _render(request, "organisation/unit.html", context, status=exc.status)
    messages.success(request, _("所属を解除しました。"))
    return redirect("organisation:unit", body=body.code, code=membership.unit.code)


# --- positions --------------------------------------------------------------------------


@administrator_required
def positions(request: HttpRequest, body: Body) -> HttpResponse:
    context = _base(body, "positions", positions=selectors.positions())
    if request.method == "POST":
        values = {
            key: request.POST.get(key, "")[:100] for key in ("code", "name", "name_en", "rank")
        }
        try:
            if request.POST.get("position"):
                key = request.POST["position"]
                position = selectors.positions().filter(pk=key).first() if key.isdigit() else None
                if position is None:
                    raise Http404
                services.update_position(
                    actor=request.user,
                    body=body,
                    position=position,
                    name=values["name"],
                    name_en=values["name_en"],
                    rank=values["rank"],
                )
                messages.success(request, _("職を更新しました。"))
            else:
                services.create_position(
                    actor=request.user,
                    body=body,
                    code=values["code"],
                    name=values["name"],
                    name_en=values["name_en"],
                    rank=values["rank"],
                )
                messages.success(request, _("職を追加しました。"))
            return redirect("organisation:positions", body=body.code)
        except services.OrganisationError as exc:
            prefix = (
                f"position-{request.POST.get('position')}-" if request.POST.get("position") else ""
            )
            context.update(
                values=values,
                editing=request.POST.get("position", ""),
                errors=[FormError(f"{prefix}{getattr(exc, 'field', '') or 'name'}", _message(exc))],
            )
            return _render(request, "organisation/positions.html", context, status=exc.status)
    return _render(request, "organisation/positions.html", context)


# --- delegations ------------------------------------------------------------------------


@administrator_required
def delegations(request: HttpRequest, body: Body) -> HttpResponse:
    User = get_user_model()
    context = _base(
        body,
        "delegations",
        delegations=selectors.delegations_of_body(body)[:200],
        now=timezone.now(),
        units=selectors.units_of_body(body, active_only=True),
    )
    if request.method == "POST":
        values, errors, parsed = delegation_form(request, body_units=list(context["units"]))
        values["principal"] = request.POST.get("principal", "")[:254]
        principal = User.objects.filter(email__iexact=values["principal"].strip()).first()
        if principal is None:
            errors.insert(
                0, FormError("principal", _("代決される職員のメールアドレスを入力してください。"))
            )
        if not errors:
            try:
                services.create_delegation(
                    actor=request.user,
                    principal=principal,
                    deputy=parsed["deputy"],
                    starts_at=parsed["starts_at"],
                    ends_at=parsed["ends_at"],
                    body=body,
                    unit=parsed["unit"],
                )
                messages.success(request, _("代決者を指定しました。"))
                return redirect("organisation:delegations", body=body.code)
            except services.OrganisationError as exc:
                errors.append(FormError(getattr(exc, "field", "") or "principal", _message(exc)))
        context.update(values=values, errors=errors)
        return _render(request, "organisation/delegations.html", context, status=422)
    return _render(request, "organisation/delegations.html", context)


@administrator_required
@require_POST
def delegation_cancel(request: HttpRequest, body: Body, pk: int) -> HttpResponse:
    delegation = selectors.delegations_of_body(body).filter(pk=pk).first()
    if delegation is None:
        raise Http404
    services.cancel_delegation(actor=request.user, delegation=delegation)
    messages.success(request, _("代決者の指定を取り消しました。"))
    return redirect("organisation:delegations", body=body.code)


# --- role history and import ------------------------------------------------------------


@administrator_required
def grants(request: HttpRequest, body: Body) -> HttpResponse:
    return _render(
        request,
        "organisation/grants.html",
        _base(body, "grants", grants=selectors.grant_history(body=body)[:500]),
    )


@administrator_required
def import_csv(request: HttpRequest, body: Body) -> HttpResponse:
    context = _base(body, "import", problems=[], report=None)
    if request.method != "POST":
        return _render(request, "organisation/import.html", context)
    units_file, staff_file = request.FILES.get("units"), request.FILES.get("staff")
    dry_run = request.POST.get("mode", "dry_run") != "apply"
    remove_missing = request.POST.get("remove_missing") == "1"
    context["values"] = {
        "mode": "apply" if not dry_run else "dry_run",
        "remove_missing": remove_missing,
    }
    if units_file is None and staff_file is None:
        context["errors"] = [FormError("units", _("組織か職員の CSV ファイルを選んでください。"))]
        return _render(request, "organisation/import.html", context, status=422)
    try:
        report = services.import_organisation(
            actor=request.user,
            body=body,
            units_csv=units_file.read() if units_file else None,
            staff_csv=staff_file.read() if staff_file else None,
            remove_missing=remove_missing,
            dry_run=dry_run,
            units_name=units_file.name if units_file else "units.csv",
            staff_name=staff_file.name if staff_file else "staff.csv",
        )
    except services.ImportRejected as exc:
        context["problems"] = exc.problems
        context["errors"] = [FormError("problems", _message(exc))]
        return _render(request, "organisation/import.html", context, status=422)
    except services.OrganisationError as exc:
        context["errors"] = [FormError(getattr(exc, "field", "") or "units", _message(exc))]
        return _render(request, "organisation/import.html", context, status=exc.status)
    context["report"] = report
    if not dry_run:
        messages.success(request, _("取り込みました。"))
    return _render(request, "organisation/import.html", context)
