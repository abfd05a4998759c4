"""Read paths of the back office: the unit's queue, its counts and dashboard, and the
application as staff see it. Every one is scoped to what the requester may see."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.core import calendar
from madoguchi.counter import deadlines
from madoguchi.counter.models import OPEN_STATES, Application, State
from madoguchi.organisation.models import Unit

from . import permissions
from .models import InternalNote

PAGE_SIZE = 50
SORTS = {
    "due_date": (F("due_date").asc(nulls_last=True), "id"),
    "-due_date": (F("due_date").desc(nulls_last=True), "-id"),
    "submitted_at": ("submitted_at", "id"),
    "-submitted_at": ("-submitted_at", "-id"),
    "receipt_number": ("receipt_number",),
}
# When the due date cannot be NULL (a due-date condition), the plain order is the same
# and cheaper to build; PostgreSQL sorts ascending with NULLs last anyway.
PLAIN_SORTS = {**SORTS, "due_date": ("due_date", "id")}
# Marked for the catalogue; translated where shown (the view calls gettext).
SORT_LABELS = {
    "due_date": gettext_noop("処理期限の近い順"),
    "-due_date": gettext_noop("処理期限の遠い順"),
    "submitted_at": gettext_noop("受付の古い順"),
    "-submitted_at": gettext_noop("受付の新しい順"),
    "receipt_number": gettext_noop("受付番号順"),
}
# Plain strings: the enum members cost a lookup each time a query is built.
OPEN = tuple(str(state.value) for state in OPEN_STATES)
STATE_FILTERS = ("open", "all", *[s for s in State.values if s != State.DRAFT])


def due_soon_days() -> int:
    return settings.MADOGUCHI_DUE_SOON_DAYS


def today() -> dt.date:
    return timezone.localdate()


class FilterError(ValueError):
    def __init__(self, errors: dict[str, tuple[str, str]]) -> None:
        super().__init__("invalid queue filter")
        self.errors = errors  # field -> (ja, en)


@dataclass(frozen=True)
class QueueFilter:
    """What a queue shows. Built from the query string or the API's parameters."""

    unit_id: int | None = None
    procedure_id: int | None = None
    state: str = "open"
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    assignee: str = ""  # "", "me", "none" or a user id
    overdue: bool = False
    due_soon: bool = False
    sort: str = "due_date"
    page: int = 1

    def with_page(self, page: int) -> QueueFilter:
        return replace(self, page=page)

    def query(self, **changes: Any) -> dict[str, str]:
        """The query string of this filter (for links), with changes."""
        data = {
            "unit": self.unit_id,
            "procedure": self.procedure_id,
            "state": self.state if self.state != "open" else None,
            "received_from": self.received_from,
            "received_to": self.received_to,
            "due_from": self.due_from,
            "due_to": self.due_to,
            "assignee": self.assignee or None,
            "overdue": "1" if self.overdue else None,
            "due_soon": "1" if self.due_soon else None,
            "sort": self.sort if self.sort != "due_date" else None,
            "page": self.page if self.page != 1 else None,
        }
        data.update(changes)
        return {key: str(value) for key, value in data.items() if value not in (None, "")}


def _date(value: str, name: str, errors: dict) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[name] = (
            "日付は 2026-12-01 の形式で入力してください。",
            "Use a date like 2026-12-01.",
        )
        return None


def _int(value: str, name: str, errors: dict) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        errors[name] = ("数字で指定してください。", "Use a number.")
        return None
    return int(value)


def parse_filter(data) -> QueueFilter:
    """A filter from a query string; unknown or malformed values raise FilterError with a
    message per field (never a 500), except `page`, which falls back to the first."""
    errors: dict[str, tuple[str, str]] = {}
    state = (data.get("state") or "open").strip()
    if state not in STATE_FILTERS:
        errors["state"] = ("状態の指定が正しくありません。", "Unknown state.")
        state = "open"
    sort = (data.get("sort") or "due_date").strip()
    if sort not in SORTS:
        errors["sort"] = ("並べ替えの指定が正しくありません。", "Unknown sort order.")
        sort = "due_date"
    assignee = (data.get("assignee") or "").strip()
    if assignee not in ("", "me", "none") and not (assignee.isdigit() and len(assignee) < 12):
        errors["assignee"] = ("担当者の指定が正しくありません。", "Unknown assignee.")
        assignee = ""
    page_text = str(data.get("page") or "1")
    result = QueueFilter(
        unit_id=_int(data.get("unit", ""), "unit", errors),
        procedure_id=_int(data.get("procedure", ""), "procedure", errors),
        state=state,
        received_from=_date(data.get("received_from", ""), "received_from", errors),
        received_to=_date(data.get("received_to", ""), "received_to", errors),
        due_from=_date(data.get("due_from", ""), "due_from", errors),
        due_to=_date(data.get("due_to", ""), "due_to", errors),
        assignee=assignee,
        overdue=(data.get("overdue") or "") in ("1", "on", "true", "yes"),
        due_soon=(data.get("due_soon") or "") in ("1", "on", "true", "yes"),
        sort=sort,
        page=min(int(page_text), 100_000) if page_text.isdigit() and int(page_text) > 0 else 1,
    )
    for start, end in (("received_from", "received_to"), ("due_from", "due_to")):
        low, high = getattr(result, start), getattr(result, end)
        if low and high and low > high:
            errors[end] = (
                "終わりの日付は始まりの日付以降にしてください。",
                "The end date must not be before the start date.",
            )
    if errors:
        raise FilterError(errors)
    return result


# --- the units a staff member works in ----------------------------------------------------


def queue_units(user) -> QuerySet[Unit]:
    """The units whose queue the user may open, with their body, in organisation order."""
    return permissions.units_with(user, permissions.VIEW).select_related("body").order_by("path")


def default_unit(user) -> Unit | None:
    """The unit the queue opens on: the primary membership's if it has a queue, else the
    first one."""
    units = list(queue_units(user))
    if not units:
        return None
    from madoguchi.organisation.selectors import memberships_of

    primary = memberships_of(user).filter(is_primary=True).values_list("unit_id", flat=True)
    by_id = {unit.pk: unit for unit in units}
    for unit_id in primary:
        if unit_id in by_id:
            return by_id[unit_id]
    return units[0]


# --- the queue ----------------------------------------------------------------------------


def queue(unit: Unit, flt: QueueFilter, *, user, on: dt.date | None = None) -> QuerySet:
    """The applications of one unit that match the filter, sorted (unpaginated).

    The conditions go into one filter() so that the query is built (and compiled) once;
    the list of a unit's overdue work is the page staff open most."""
    on = on or today()
    where: dict[str, object] = {"unit_id": unit.pk}
    exclude_drafts = False
    if flt.overdue or flt.due_soon:
        # Both only make sense while the office holds the application; the clock-stopped
        # ones (補正 waiting) have no due date and fall out here.
        where["state__in"] = OPEN
        if flt.state not in ("open", "all"):
            where["state"] = flt.state
        if flt.overdue and flt.due_soon:
            where["due_date__lte"] = _soon_limit(on)
        elif flt.overdue:
            where["due_date__lt"] = on
        else:
            where["due_date__gte"] = on
            where["due_date__lte"] = _soon_limit(on)
    elif flt.state == "open":
        where["state__in"] = OPEN
    elif flt.state == "all":
        exclude_drafts = True
    else:
        where["state"] = flt.state
    if flt.procedure_id:
        where["procedure_id"] = flt.procedure_id
    if flt.received_from:
        where["submitted_at__gte"] = _start_of(flt.received_from)
    if flt.received_to:
        where["submitted_at__lt"] = _start_of(flt.received_to + dt.timedelta(1))
    if flt.due_from:
        where["due_date__gte"] = max(flt.due_from, where.get("due_date__gte", flt.due_from))
    if flt.due_to:
        where["due_date__lte"] = min(flt.due_to, where.get("due_date__lte", flt.due_to))
    if flt.assignee == "me":
        where["assignee_id"] = user.pk
    elif flt.assignee == "none":
        where["assignee__isnull"] = True
    elif flt.assignee:
        where["assignee_id"] = int(flt.assignee)
    queryset = Application.objects.filter(**where)
    if exclude_drafts:
        queryset = queryset.exclude(state=State.DRAFT)
    no_nulls = any(key.startswith("due_date__") for key in where)
    return queryset.order_by(*(PLAIN_SORTS if no_nulls else SORTS)[flt.sort])


def _soon_limit(on: dt.date) -> dt.date:
    return calendar.add_open_days(on, due_soon_days())


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


LIST_COLUMNS = (
    "id",
    "receipt_number",
    "state",
    "submitted_at",
    "due_date",
    "clock_paused_on",
    "open_days_left",
    "channel",
    "lock_version",
    "unit_id",
    "assignee_id",
    "procedure_version__name",
    "assignee__display_name",
    "assignee__email",
)
_STATE_LABELS = dict(State.choices)


@dataclass(frozen=True, slots=True)
class _Named:
    name: str


@dataclass(frozen=True, slots=True)
class _Person:
    display_name: str
    email: str


@dataclass(slots=True)
class QueueItem:
    """One row of a queue: the columns a queue shows (no answers, no resident's data),
    read as plain values rather than models, which a page of fifty rows reads many times
    a minute. It answers what templates and the API ask of an application's row."""

    pk: uuid.UUID
    receipt_number: str | None
    state: str
    submitted_at: dt.datetime | None
    due_date: dt.date | None
    clock_paused_on: dt.date | None
    open_days_left: int | None
    channel: str
    lock_version: int
    unit_id: int
    assignee_id: int | None
    procedure_version: _Named
    assignee: _Person | None

    @property
    def id(self) -> uuid.UUID:
        return self.pk

    def get_state_display(self) -> str:
        return str(_STATE_LABELS.get(self.state, self.state))


def listing(queryset: QuerySet) -> list[QueueItem]:
    """Evaluates a (sliced) queryset of applications as queue rows, in one query."""
    items = []
    for (
        pk,
        receipt_number,
        state,
        submitted_at,
        due_date,
        clock_paused_on,
        open_days_left,
        channel,
        lock_version,
        unit_id,
        assignee_id,
        procedure_name,
        assignee_name,
        assignee_email,
    ) in queryset.values_list(*LIST_COLUMNS):
        items.append(
            QueueItem(
                pk,
                receipt_number,
                state,
                submitted_at,
                due_date,
                clock_paused_on,
                open_days_left,
                channel,
                lock_version,
                unit_id,
                assignee_id,
                _Named(procedure_name),
                _Person(assignee_name, assignee_email) if assignee_id else None,
            )
        )
    return items


@dataclass
class QueueRow:
    application: QueueItem
    due: deadlines.DueStatus


@dataclass
class QueuePage:
    rows: list[QueueRow]
    number: int
    has_next: bool
    filter: QueueFilter
    unit: Unit
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def queue_page(
    unit: Unit, flt: QueueFilter, *, user, on: dt.date | None = None, size: int = PAGE_SIZE
) -> QueuePage:
    """One page of the queue: one query (no COUNT over the unit: a page asks for one row
    more than it shows to know whether there is a next one)."""
    on = on or today()
    start = (flt.page - 1) * size
    items = listing(queue(unit, flt, user=user, on=on)[start : start + size + 1])
    soon = due_soon_days()
    rows = [QueueRow(item, due_status(item, on=on, soon_days=soon)) for item in items[:size]]
    return QueuePage(rows, flt.page, len(items) > size, flt, unit)


def due_status(
    application: Application | QueueItem, *, on: dt.date | None = None, soon_days: int | None = None
) -> deadlines.DueStatus:
    return deadlines.status(
        due_date=application.due_date,
        paused=application.clock_paused_on is not None,
        days_left_at_pause=application.open_days_left,
        today=on or today(),
        soon_days=due_soon_days() if soon_days is None else soon_days,
        running=application.state in OPEN,
    )


# --- counts and the dashboard -------------------------------------------------------------


@dataclass
class UnitCounts:
    unit: Unit
    by_state: dict[str, int]
    overdue: int
    due_soon: int
    unassigned: int

    @property
    def open(self) -> int:
        return sum(self.by_state.get(state, 0) for state in OPEN_STATES)


def unit_counts(unit: Unit, *, on: dt.date | None = None) -> UnitCounts:
    on = on or today()
    by_state = {
        row["state"]: row["n"]
        for row in Application.objects.filter(unit_id=unit.pk)
        .exclude(state=State.DRAFT)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
    }
    open_items = Application.objects.filter(unit_id=unit.pk, state__in=OPEN_STATES)
    figures = open_items.aggregate(
        overdue=Count("id", filter=Q(due_date__lt=on)),
        due_soon=Count("id", filter=Q(due_date__gte=on, due_date__lte=_soon_limit(on))),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
    )
    return UnitCounts(
        unit, by_state, figures["overdue"], figures["due_soon"], figures["unassigned"]
    )


def dashboard(unit: Unit, *, on: dt.date | None = None) -> dict[str, Any]:
    """The unit's dashboard: counts, late and soon-due work, by procedure and assignee."""
    on = on or today()
    open_items = Application.objects.filter(unit_id=unit.pk, state__in=OPEN_STATES)
    soon = _soon_limit(on)
    by_procedure = list(
        open_items.order_by()
        .values("procedure_id", "procedure__current_version__name")
        .annotate(
            n=Count("id"),
            overdue=Count("id", filter=Q(due_date__lt=on)),
            due_soon=Count("id", filter=Q(due_date__gte=on, due_date__lte=soon)),
        )
        .order_by("-n")
    )
    by_assignee = list(
        open_items.order_by()
        .values("assignee_id", "assignee__display_name", "assignee__email")
        .annotate(
            n=Count("id"),
            overdue=Count("id", filter=Q(due_date__lt=on)),
            due_soon=Count("id", filter=Q(due_date__gte=on, due_date__lte=soon)),
        )
        .order_by("-n")
    )
    late = listing(open_items.filter(due_date__lt=on).order_by("due_date", "id")[:10])
    coming = listing(
        open_items.filter(due_date__gte=on, due_date__lte=soon).order_by("due_date", "id")[:10]
    )
    return {
        "counts": unit_counts(unit, on=on),
        "by_procedure": by_procedure,
        "by_assignee": by_assignee,
        "late": [QueueRow(item, due_status(item, on=on)) for item in late],
        "coming": [QueueRow(item, due_status(item, on=on)) for item in coming],
        "soon_limit": soon,
    }


def my_work(user, *, on: dt.date | None = None, limit: int = 20) -> list[QueueRow]:
    on = on or today()
    items = listing(
        Application.objects.filter(assignee_id=user.pk, state__in=OPEN_STATES).order_by(
            *SORTS["due_date"]
        )[:limit]
    )
    return [QueueRow(item, due_status(item, on=on)) for item in items]


# --- one application ------------------------------------------------------------------------


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def application_for_staff(user, application_id) -> Application | None:
    """The submitted application, when the user's role reaches its unit or the approval
    route gives it to them; None otherwise (the views answer 404, never 403, so that
    the existence of another unit's application is not revealed)."""
    key = _uuid(application_id)
    if key is None or not getattr(user, "is_authenticated", False):
        return None
    application = (
        Application.objects.exclude(state=State.DRAFT)
        .select_related("procedure_version", "procedure", "body", "unit", "applicant", "assignee")
        .filter(pk=key)
        .first()
    )
    if application is None or not permissions.can_view(user, application):
        return None
    return application


def notes(application: Application) -> QuerySet[InternalNote]:
    return InternalNote.objects.filter(application=application).select_related("author")


def assignable_staff(unit: Unit):
    """Who may be given work of the unit: the people whose case-worker role reaches it."""
    from django.contrib.auth import get_user_model

    from madoguchi.organisation.selectors import ancestors

    unit_ids = [item.pk for item in ancestors(unit)]
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            role_grants__unit_id__in=unit_ids,
            role_grants__role__in=permissions.roles.roles_with(permissions.PROCESS),
            role_grants__revoked_at__isnull=True,
        )
        .distinct()
        .order_by("display_name", "email")
    )
