"""Due dates from the 標準処理期間 in open days (weekends, national holidays and 年末年始
excluded), the clock that stops while a 補正 waits on the resident and restarts on
resubmission, and how the queue shows late and soon-due work."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.backoffice import selectors
from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.core import calendar
from madoguchi.counter import deadlines, services
from madoguchi.counter.models import Application
from madoguchi.identity import levels

from ..conftest import login

D = dt.date
JST = zoneinfo.ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        (D(2026, 12, 4), 7, D(2026, 12, 15)),  # Friday: counting starts on Monday
        (D(2026, 12, 5), 1, D(2026, 12, 7)),  # received on a Saturday
        (D(2026, 11, 2), 1, D(2026, 11, 4)),  # 11/3 文化の日 is skipped
        (D(2026, 12, 25), 3, D(2027, 1, 5)),  # 12/28, then 年末年始 12/29–1/3, 1/4, 1/5
        (D(2026, 9, 18), 1, D(2026, 9, 24)),  # 敬老の日, 国民の休日, 秋分の日 (9/21–23)
        (D(2026, 12, 4), 0, D(2026, 12, 4)),  # a period of 0 days: the day itself
    ],
)
def test_due_date_in_open_days(received, days, due):
    assert deadlines.due_date_for(received, days) == due


def test_no_standard_period_no_due_date():
    assert deadlines.due_date_for(D(2026, 12, 4), None) is None


def test_the_clock_stops_for_a_correction_and_restarts_on_resubmission():
    due = deadlines.due_date_for(D(2026, 12, 1), 7)
    assert due == D(2026, 12, 10)
    # 補正 on Thursday 12/3: 12/4, 7, 8, 9, 10 are left.
    left = deadlines.open_days_left(due, D(2026, 12, 3))
    assert left == 5
    # The resident answers on 12/24: five open days after it, across 年末年始.
    assert deadlines.resume(D(2026, 12, 24), left) == D(2027, 1, 6)


def test_an_application_late_at_the_correction_stays_as_late():
    due = D(2026, 12, 10)
    left = deadlines.open_days_left(due, D(2026, 12, 14))  # two open days late (11, 14)
    assert left == -2
    resumed = deadlines.resume(D(2026, 12, 17), left)
    assert resumed == D(2026, 12, 15)
    assert deadlines.open_days_left(resumed, D(2026, 12, 17)) == -2


@given(
    st.dates(min_value=D(2020, 1, 1), max_value=D(2035, 12, 31)),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=-20, max_value=60),
)
def test_pausing_keeps_the_open_days_left(received, days, pause_after, resume_after):
    """Whenever the 補正 comes and however long the resident takes, the open days left
    after the restart are those left at the pause."""
    due = deadlines.due_date_for(received, days)
    paused = received + dt.timedelta(days=pause_after)
    left = deadlines.open_days_left(due, paused)
    restart = calendar.next_open_day(paused + dt.timedelta(days=max(resume_after, 0)))
    assert deadlines.open_days_left(deadlines.resume(restart, left), restart) == left


def test_due_status_for_the_queue():
    status = deadlines.status(
        due_date=D(2026, 12, 10),
        paused=False,
        days_left_at_pause=None,
        today=D(2026, 12, 8),
        soon_days=2,
        running=True,
    )
    assert (status.days_left, status.due_soon, status.overdue) == (2, True, False)
    late = deadlines.status(
        due_date=D(2026, 12, 10),
        paused=False,
        days_left_at_pause=None,
        today=D(2026, 12, 14),
        soon_days=2,
        running=True,
    )
    assert (late.overdue, late.days_late, late.css) == (True, 2, "overdue")
    paused = deadlines.status(
        due_date=None,
        paused=True,
        days_left_at_pause=4,
        today=D(2026, 12, 14),
        soon_days=2,
        running=True,
    )
    assert (paused.paused, paused.overdue, paused.days_left, paused.css) == (
        True,
        False,
        4,
        "paused",
    )
    decided = deadlines.status(
        due_date=D(2026, 12, 10),
        paused=False,
        days_left_at_pause=None,
        today=D(2026, 12, 14),
        soon_days=2,
        running=False,
    )
    assert not decided.overdue


# --- through the services ------------------------------------------------------------------


def _at(day: D, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=JST)


def _submitted_on(applicant, day: D) -> Application:
    """犬の登録 (標準処理期間 7日) submitted at 10:00 JST on `day`."""
    from .conftest import DOG

    draft, _created = services.create_and_submit(
        procedure=procedure_by_identifier("992011", "dog-registration"),
        applicant=applicant,
        answers=DOG,
        idempotency_key=uuid.uuid4(),
        identity_level=levels.ACCOUNT,
        submit=False,
    )
    return services.submit_application(
        application=draft, actor=applicant, identity_level=levels.ACCOUNT, now=_at(day)
    )


@pytest.mark.django_db
def test_submission_correction_and_resubmission_keep_the_due_date(hanako, kankyo_staff):
    application = _submitted_on(hanako, D(2026, 12, 1))
    assert application.due_date == D(2026, 12, 10)
    services.request_correction(
        application=application,
        staff=kankyo_staff,
        field_ids=["dog_name"],
        message="お名前の字をご確認ください。",
        reply_by=D(2026, 12, 18),
        now=_at(D(2026, 12, 3)),
    )
    application.refresh_from_db()
    assert application.due_date is None
    assert (application.clock_paused_on, application.open_days_left) == (D(2026, 12, 3), 5)
    status = selectors.due_status(application, on=D(2027, 1, 20))
    assert status.paused and not status.overdue  # waiting on the resident is never late
    services.resubmit(application=application, actor=hanako, now=_at(D(2026, 12, 24)))
    application.refresh_from_db()
    assert application.due_date == D(2027, 1, 6)
    assert application.clock_paused_on is None and application.open_days_left is None


@pytest.mark.django_db
def test_the_queue_shows_late_and_soon_due_work(hanako, kankyo_staff):
    on = calendar.next_open_day(dt.date.today())
    application = _submitted_on(hanako, on)
    unit = application.unit
    due = application.due_date
    flt = selectors.QueueFilter(unit_id=unit.pk)
    overdue = selectors.QueueFilter(unit_id=unit.pk, overdue=True)
    soon = selectors.QueueFilter(unit_id=unit.pk, due_soon=True)

    def listed(flt, day):
        page = selectors.queue_page(unit, flt, user=kankyo_staff, on=day)
        return [(row.application.pk, row.due.css) for row in page.rows]

    assert listed(flt, on) == [(application.pk, "")]
    assert listed(soon, on) == [] and listed(overdue, on) == []
    two_before = calendar.add_open_days(on, 5)  # seven open days: two left on the 5th
    assert listed(soon, two_before) == [(application.pk, "due-soon")]
    after = due + dt.timedelta(days=1)
    assert listed(overdue, after) == [(application.pk, "overdue")]
    assert listed(soon, after) == []
    counts = selectors.unit_counts(unit, on=after)
    assert (counts.overdue, counts.due_soon) == (1, 0)
    # The page says it too (today's view).
    page = login(kankyo_staff).get(reverse("backoffice:detail", args=[application.pk]))
    assert due.isoformat() in page.content.decode()


@given(
    st.dates(min_value=D(1995, 1, 1), max_value=D(2060, 12, 31)),
    st.dates(min_value=D(1995, 1, 1), max_value=D(2060, 12, 31)),
)
def test_the_fast_count_agrees_with_the_calendar(a, b):
    assert deadlines.open_days_left(b, a) == calendar.open_days_between(a, b)
