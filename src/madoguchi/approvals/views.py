"""Staff pages of 電子決裁: my items to approve, an approval's page with its actions, internal
documents, my deputies and the routes. Thin: every change goes through the services; a
refused action shows the page again with the message and everything that was typed."""

from __future__ import annotations

from functools import lru_cache, wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.files.services import open_stored
from madoguchi.identity import services as identity
from madoguchi.ledger.services import person_id
from madoguchi.organisation import selectors as organisation
from madoguchi.organisation import services as organisation_services
from madoguchi.organisation.forms import FormError, delegation_form
from madoguchi.organisation.models import Unit

from . import numbering, registry, selectors, services
from .models import ApprovalInstance, ApprovalStep, InternalDocument, Route, StepKind


@lru_cache(maxsize=1)
def _layout() -> str:
    """The back office's staff layout (its menu and styles) when it is installed."""
    try:
        get_template("backoffice/base.html")
    except TemplateDoesNotExist:
        return "approvals/layout_fallback.html"
    return "backoffice/base.html"


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {**context, "layout": _layout()}, status=status)


STATE_CSS = {
    "in_progress": "under_review",
    "completed": "approved",
    "approved": "approved",
    "returned": "correction_requested",
    "recalled": "draft",
    "draft": "draft",
    "in_approval": "under_review",
    "cancelled": "withdrawn",
}
SKIP_REASONS = {
    "condition": gettext_lazy("条件に当たらないため省略"),
    "drafter_rank": gettext_lazy("起案者の職位以下のため省略"),
    "drafter": gettext_lazy("起案者ご本人のため省略"),
    "no_holder": gettext_lazy("該当する職がないため省略"),
    "after_final": gettext_lazy("決裁権者より後のため不要"),
}
EVENT_LABELS = {
    "approval.started": gettext_lazy("起案"),
    "approval.step_approved": gettext_lazy("承認"),
    "approval.returned": gettext_lazy("差戻し"),
    "approval.recalled": gettext_lazy("引上げ"),
    "approval.resubmitted": gettext_lazy("再提出"),
    "approval.completed": gettext_lazy("決裁完了"),
    "approval.cancelled": gettext_lazy("取りやめ"),
    "approval.aborted": gettext_lazy("中止"),
}


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not organisation.is_staff_member(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


def _message(error) -> str:
    return error.en if _english() else error.ja


def _int(value, default=None):
    text = str(value or "").strip()
    return int(text) if text.isdigit() else default


# --- inbox and an approval's page -------------------------------------------------------


@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    items = selectors.actionable_steps(request.user)
    drafted = selectors.drafted_by(request.user).filter(
        state__in=["in_progress", "returned", "recalled"]
    )
    context = {
        "items": [_item(item) for item in items],
        "drafted": [(instance, STATE_CSS.get(instance.state, "")) for instance in drafted[:50]],
        "deputies_for": organisation.acting_for(request.user),
        "my_deputies": organisation.current_deputies(request.user),
        "section": "inbox",
    }
    return _render(request, "approvals/inbox.html", context)


def _kind_label(kind: str) -> str:
    return registry.get_kind(kind).label if registry.is_registered(kind) else kind


def _item(item: selectors.Actionable) -> dict:
    step, instance = item.step, item.step.instance
    return {
        "step": step,
        "instance": instance,
        "kind": _kind_label(instance.kind),
        "stage": step.stage + 1,
        "stages": instance.stage_count,
        "on_behalf_of": item.on_behalf_of,
    }


def _instance(request: HttpRequest, pk) -> ApprovalInstance:
    instance = selectors.instance_for(request.user, pk)
    if instance is None:
        raise Http404
    return instance


def _stages(instance: ApprovalInstance) -> list[dict]:
    rows = list(selectors.steps_of(instance).filter(round=instance.round))
    stages = []
    for index, stage in enumerate(instance.stages):
        stages.append(
            {
                "number": index + 1,
                "label": stage["label"],
                "final": stage["final"],
                "consultation": stage["kind"] == StepKind.CONSULTATION,
                "approvers": [approver["label"] for approver in stage["approvers"]],
                "current": instance.state == "in_progress" and index == instance.current_stage,
                "steps": [row for row in rows if row.stage == index],
            }
        )
    return stages


def _history(instance: ApprovalInstance) -> list[dict]:
    events = list(selectors.history(instance))
    principals = {event.pk: person_id(event.details.get("on_behalf_of")) for event in events}
    named = {e.actor_id for e in events} | set(principals.values())
    people = {
        str(user.pk): user
        for user in get_user_model().objects.filter(
            pk__in=[int(ref) for ref in named if ref and ref.isdigit()]
        )
    }
    result = []
    for event in events:
        behalf = principals[event.pk]
        result.append(
            {
                "label": EVENT_LABELS.get(event.event_type, event.event_type),
                "at": event.occurred_at,
                "actor": people.get(event.actor_id),
                "on_behalf_of": people.get(behalf) if behalf else None,
                "step": event.details.get("step", ""),
                "to": event.details.get("to", ""),
                "round": event.details.get("round"),
                "sha": event.content_sha256,
            }
        )
    return result


def _detail_context(request: HttpRequest, instance: ApprovalInstance, **extra) -> dict:
    mine = [
        item
        for item in selectors.actionable_steps(request.user)
        if item.step.instance_id == instance.pk
    ]
    kind = registry.get_kind(instance.kind) if registry.is_registered(instance.kind) else None
    rounds = list(
        selectors.steps_of(instance).filter(round__lt=instance.round).order_by("round", "stage")
    )
    context = {
        "instance": instance,
        "state_css": STATE_CSS.get(instance.state, ""),
        "kind_label": _kind_label(instance.kind),
        "subject_url": kind.subject_url(instance) if kind and kind.subject_url else "",
        "stages": _stages(instance),
        "skipped": [
            {**item, "reason_label": SKIP_REASONS.get(item["reason"], item["reason"])}
            for item in (instance.plan or {}).get("skipped", [])
        ],
        "earlier_rounds": rounds,
        "mine": mine,
        "is_drafter": instance.drafter_id == request.user.pk,
        "can_recall": instance.drafter_id == request.user.pk and instance.state == "in_progress",
        "history": _history(instance),
        "errors": [],
        "typed": {},
        "section": "inbox",
    }
    context.update(extra)
    refused = context.get("refused_step")
    context["refused_orphan"] = refused is not None and all(
        item.step.pk != refused.pk for item in mine
    )
    return context


@staff_required
def detail(request: HttpRequest, pk) -> HttpResponse:
    instance = _instance(request, pk)
    return _render(request, "approvals/detail.html", _detail_context(request, instance))


@staff_required
@require_POST
def act(request: HttpRequest, step_id: int) -> HttpResponse:
    step = ApprovalStep.objects.select_related("instance").filter(pk=step_id).first()
    if step is None or not selectors.can_view(request.user, step.instance):
        raise Http404
    if request.POST.get("action") == "approve" and registry.needs_reauthentication(
        step.instance.kind
    ):
        return _act_after_reauthentication(request, step)
    return _act(request, step)


def _act(request: HttpRequest, step: ApprovalStep) -> HttpResponse:
    action = request.POST.get("action", "")
    comment = request.POST.get("comment", "")[:4000]
    version = _int(request.POST.get("version"), -1)
    behalf_id = _int(request.POST.get("on_behalf_of"))
    principal = get_user_model().objects.filter(pk=behalf_id).first() if behalf_id else None
    try:
        if action == "approve":
            services.approve_step(
                step=step,
                actor=request.user,
                expected_version=version,
                comment=comment,
                on_behalf_of=principal,
            )
            messages.success(request, _("承認しました。"))
        elif action == "return":
            services.return_step(
                step=step,
                actor=request.user,
                expected_version=version,
                comment=comment,
                to=request.POST.get("to", "previous"),
                on_behalf_of=principal,
            )
            messages.success(request, _("差し戻しました。"))
        else:
            raise services.InvalidInput(
                "操作を選んでください。", "Choose an action.", field="action"
            )
    except services.ApprovalError as exc:
        instance = ApprovalInstance.objects.get(pk=step.instance_id)
        field = getattr(exc, "field", "") or "comment"
        context = _detail_context(
            request,
            instance,
            errors=[
                FormError(
                    f"comment-{step.pk}" if field == "comment" else f"{field}-{step.pk}",
                    _message(exc),
                )
            ],
            typed={
                "step": step.pk,
                "comment": comment,
                "action": action,
                "to": request.POST.get("to", ""),
            },
            refused_step=step,
        )
        return _render(request, "approvals/detail.html", context, status=exc.status)
    if selectors.can_view(request.user, step.instance):
        return redirect("approvals:detail", pk=step.instance_id)
    return redirect("approvals:inbox")


# The POST is kept while the approver re-authenticates, then carried out (act runs again).
_act_after_reauthentication = identity.require_recent_auth(_act)


@staff_required
@require_POST
def recall(request: HttpRequest, pk) -> HttpResponse:
    instance = _instance(request, pk)
    try:
        services.recall_approval(
            instance=instance,
            actor=request.user,
            expected_version=_int(request.POST.get("version"), -1),
            comment=request.POST.get("comment", "")[:4000],
        )
        messages.success(request, _("引き上げました。"))
    except services.ApprovalError as exc:
        context = _detail_context(request, instance, errors=[FormError("recall", _message(exc))])
        return _render(request, "approvals/detail.html", context, status=exc.status)
    kind = registry.get_kind(instance.kind) if registry.is_registered(instance.kind) else None
    if kind and kind.subject_url:
        return redirect(kind.subject_url(instance))
    return redirect("approvals:detail", pk=instance.pk)


# --- internal documents -----------------------------------------------------------------


def _document(request: HttpRequest, pk) -> InternalDocument:
    document = selectors.document_for(request.user, pk)
    if document is None:
        raise Http404
    return document


def _drafting_units(user) -> list[Unit]:
    return [
        membership.unit
        for membership in organisation.memberships_of(user)
        if membership.unit.is_active
    ]


def _document_routes(user) -> list[Route]:
    bodies = {unit.body_id: unit.body for unit in _drafting_units(user)}
    routes: list[Route] = []
    for body in bodies.values():
        routes.extend(selectors.routes_for_kind(body, services.INTERNAL_DOCUMENT))
    return routes


@staff_required
def documents(request: HttpRequest) -> HttpResponse:
    queryset = selectors.documents_visible_to(request.user).order_by("-updated_at")
    state = request.GET.get("state", "")
    if state in STATE_CSS:
        queryset = queryset.filter(state=state)
    return _render(
        request,
        "approvals/documents.html",
        {
            "documents": [(doc, STATE_CSS.get(doc.state, "")) for doc in queryset[:200]],
            "state": state,
            "section": "documents",
        },
    )


def _document_form_values(request: HttpRequest) -> dict:
    return {
        "unit": request.POST.get("unit", ""),
        "title": request.POST.get("title", "")[:400],
        "text": request.POST.get("text", "")[:40000],
        "amount": request.POST.get("amount", "")[:40],
        "route": request.POST.get("route", ""),
    }


def _route_from(value: str, routes: list[Route]) -> Route | None:
    return next((route for route in routes if str(route.pk) == value), None)


def _form_context(request, *, values, errors, document=None) -> dict:
    return {
        "values": values,
        "errors": errors,
        "units": _drafting_units(request.user),
        "routes": _document_routes(request.user),
        "document": document,
        "section": "documents",
    }


@staff_required
def document_new(request: HttpRequest) -> HttpResponse:
    units = _drafting_units(request.user)
    if request.method != "POST":
        values = {
            "unit": str(units[0].pk) if units else "",
            "title": "",
            "text": "",
            "amount": "",
            "route": "",
        }
        return _render(
            request,
            "approvals/document_form.html",
            _form_context(request, values=values, errors=[]),
        )
    values = _document_form_values(request)
    unit = next((u for u in units if str(u.pk) == values["unit"]), None)
    errors: list[FormError] = []
    if unit is None:
        errors.append(FormError("unit", _("起案する組織を選んでください。")))
    else:
        try:
            document = services.create_document(
                actor=request.user,
                unit=unit,
                title=values["title"],
                text=values["text"],
                amount=values["amount"],
                route=_route_from(values["route"], _document_routes(request.user)),
            )
            messages.success(
                request, _("起案文書を保存しました。添付ファイルを付けて、回付してください。")
            )
            return redirect("approvals:document", pk=document.pk)
        except services.ApprovalError as exc:
            errors.append(FormError(getattr(exc, "field", "") or "title", _message(exc)))
    return _render(
        request,
        "approvals/document_form.html",
        _form_context(request, values=values, errors=errors),
        status=422,
    )


@staff_required
def document_edit(request: HttpRequest, pk) -> HttpResponse:
    document = _document(request, pk)
    if document.drafter_id != request.user.pk or not document.is_editable:
        raise Http404
    if request.method != "POST":
        values = {
            "unit": str(document.unit_id),
            "title": document.title,
            "text": document.text,
            "amount": "" if document.amount is None else str(document.amount),
            "route": str(document.route_id or ""),
            "version": document.version,
        }
        return _render(
            request,
            "approvals/document_form.html",
            _form_context(request, values=values, errors=[], document=document),
        )
    values = {**_document_form_values(request), "version": request.POST.get("version", "")}
    try:
        services.update_document(
            document=document,
            actor=request.user,
            expected_version=_int(values["version"], -1),
            title=values["title"],
            text=values["text"],
            amount=values["amount"],
            route=_route_from(values["route"], _document_routes(request.user)),
        )
        messages.success(request, _("起案文書を保存しました。"))
        return redirect("approvals:document", pk=document.pk)
    except services.ApprovalError as exc:
        errors = [FormError(getattr(exc, "field", "") or "title", _message(exc))]
        return _render(
            request,
            "approvals/document_form.html",
            _form_context(request, values=values, errors=errors, document=document),
            status=exc.status,
        )


def _document_context(request: HttpRequest, document: InternalDocument, **extra) -> dict:
    instance = selectors.instances_of(services.INTERNAL_DOCUMENT, document.pk).first()
    context = {
        "document": document,
        "state_css": STATE_CSS.get(document.state, ""),
        "attachments": document.attachments.select_related("stored_file"),
        "instance": instance,
        "stages": _stages(instance) if instance else [],
        "is_drafter": document.drafter_id == request.user.pk,
        "fiscal_year_label": numbering.fiscal_year_label(document.fiscal_year)
        if document.fiscal_year
        else "",
        "errors": [],
        "section": "documents",
    }
    context.update(extra)
    return context


@staff_required
def document(request: HttpRequest, pk) -> HttpResponse:
    item = _document(request, pk)
    return _render(request, "approvals/document.html", _document_context(request, item))


def _document_action(request: HttpRequest, pk, run, success: str) -> HttpResponse:
    item = _document(request, pk)
    try:
        run(item)
        messages.success(request, success)
    except services.ApprovalError as exc:
        context = _document_context(
            request,
            item,
            errors=[FormError(getattr(exc, "field", "") or "actions", _message(exc))],
            typed_comment=request.POST.get("comment", "")[:4000],
        )
        return _render(request, "approvals/document.html", context, status=exc.status)
    return redirect("approvals:document", pk=item.pk)


@staff_required
@require_POST
def document_submit(request: HttpRequest, pk) -> HttpResponse:
    return _document_action(
        request,
        pk,
        lambda item: services.submit_document(
            document=item,
            actor=request.user,
            expected_version=_int(request.POST.get("version"), -1),
            comment=request.POST.get("comment", "")[:4000],
        ),
        _("決裁に回しました。"),
    )


@staff_required
@require_POST
def document_recall(request: HttpRequest, pk) -> HttpResponse:
    def run(item):
        instance = selectors.open_instance_of(services.INTERNAL_DOCUMENT, item.pk)
        if instance is None:
            raise services.Conflict("決裁中ではありません。", "The document is not in approval.")
        services.recall_approval(
            instance=instance,
            actor=request.user,
            expected_version=_int(request.POST.get("version"), -1),
        )

    return _document_action(request, pk, run, _("引き上げました。内容を直して再度回付できます。"))


@staff_required
@require_POST
def document_cancel(request: HttpRequest, pk) -> HttpResponse:
    return _document_action(
        request,
        pk,
        lambda item: services.cancel_document(
            document=item,
            actor=request.user,
            expected_version=_int(request.POST.get("version"), -1),
        ),
        _("廃案にしました。"),
    )


@staff_required
@require_POST
def document_attach(request: HttpRequest, pk) -> HttpResponse:
    def run(item):
        upload = request.FILES.get("file")
        if upload is None:
            raise services.InvalidInput(
                "添付するファイルを選んでください。", "Choose a file to attach.", field="file"
            )
        services.attach_file(document=item, actor=request.user, upload=upload)

    return _document_action(request, pk, run, _("ファイルを添付しました。"))


@staff_required
@require_POST
def document_remove_file(request: HttpRequest, pk, file_id) -> HttpResponse:
    return _document_action(
        request,
        pk,
        lambda item: services.remove_attachment(document=item, actor=request.user, file_id=file_id),
        _("添付ファイルを外しました。"),
    )


@staff_required
def document_file(request: HttpRequest, pk, file_id) -> FileResponse:
    item = _document(request, pk)
    link = selectors.attachment_of(item, file_id)
    if link is None:
        raise Http404
    stored = link.stored_file
    response = FileResponse(
        open_stored(stored), content_type=stored.content_type, filename=stored.original_name
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- my deputies (代決者の指定) ------------------------------------------------------------


@staff_required
def delegations(request: HttpRequest) -> HttpResponse:
    memberships = list(organisation.memberships_of(request.user))
    units = [membership.unit for membership in memberships]
    values: dict = {}
    errors: list[FormError] = []
    status = 200
    if request.method == "POST":
        values, errors, parsed = delegation_form(request, body_units=units)
        if not errors:
            body = parsed["unit"].body if parsed["unit"] else units[0].body
            try:
                organisation_services.create_delegation(
                    actor=request.user,
                    principal=request.user,
                    deputy=parsed["deputy"],
                    starts_at=parsed["starts_at"],
                    ends_at=parsed["ends_at"],
                    body=body,
                    unit=parsed["unit"],
                )
                messages.success(request, _("代決者を指定しました。"))
                return redirect("approvals:delegations")
            except organisation_services.OrganisationError as exc:
                errors.append(FormError(getattr(exc, "field", "") or "deputy", _message(exc)))
        status = 422
    context = {
        "given": organisation.delegations_given(request.user)[:50],
        "received": organisation.delegations_received(request.user),
        "done_for_me": selectors.deputy_actions(request.user)[:50],
        "units": units,
        "values": values,
        "errors": errors,
        "now": timezone.now(),
        "section": "delegations",
    }
    return _render(request, "approvals/delegations.html", context, status=status)


@staff_required
@require_POST
def delegation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    delegation = organisation.delegations_given(request.user).filter(pk=pk).first()
    if delegation is None:
        raise Http404
    organisation_services.cancel_delegation(actor=request.user, delegation=delegation)
    messages.success(request, _("代決者の指定を取り消しました。"))
    return redirect("approvals:delegations")


# --- routes (read-only) -----------------------------------------------------------------


def _bodies(user):
    return {
        membership.unit.body_id: membership.unit.body
        for membership in organisation.memberships_of(user)
    }


@staff_required
def routes(request: HttpRequest) -> HttpResponse:
    listed = []
    for body in _bodies(request.user).values():
        for route in selectors.routes_of_body(body):
            listed.append(
                {
                    "route": route,
                    "version": route.current_version,
                    "kinds": [_kind_label(kind) for kind in route.current_version.subjects],
                }
            )
    return _render(request, "approvals/routes.html", {"routes": listed, "section": "routes"})


@staff_required
def route(request: HttpRequest, body: str, identifier: str) -> HttpResponse:
    owner = next((b for b in _bodies(request.user).values() if b.code == body), None)
    found = Route.objects.filter(body=owner, identifier=identifier).first() if owner else None
    if found is None or found.current_version is None:
        raise Http404
    definition = found.current_version.definition
    final_rules = definition.get("final") or [{"step": definition["steps"][-1]["id"]}]
    steps = []
    for step in definition["steps"]:
        approvers = [step["approver"]] if "approver" in step else step.get("consult", [])
        steps.append(
            {
                "id": step["id"],
                "label": step["label"],
                "consultation": "consult" in step,
                "approvers": [_approver_text(owner, spec) for spec in approvers],
                "when": step.get("when"),
                "optional": step.get("optional", False),
                "final_when": [
                    rule.get("when", "") for rule in final_rules if rule["step"] == step["id"]
                ],
            }
        )
    return _render(
        request,
        "approvals/route.html",
        {
            "route": found,
            "version": found.current_version,
            "versions": found.versions.order_by("-number"),
            "steps": steps,
            "kinds": [_kind_label(kind) for kind in found.current_version.subjects],
            "section": "routes",
        },
    )


def _approver_text(body, spec: dict) -> str:
    parts = []
    if spec.get("position"):
        position = organisation.position_by_code(spec["position"])
        parts.append(position.name if position else spec["position"])
    if spec.get("role"):
        from madoguchi.organisation.roles import spec as role_spec

        parts.append(role_spec(spec["role"]).label)
    unit_code = spec.get("unit", "drafter")
    if unit_code == "drafter":
        where = _("起案者の組織（またはその上位）")
    else:
        owner = organisation.body_by_code(spec["body"]) if spec.get("body") else body
        unit = organisation.unit_by_code(owner, unit_code) if owner else None
        where = f"{owner.name if owner and owner != body else ''}{unit.name if unit else unit_code}"
    return f"{where}の{'・'.join(parts)}"
