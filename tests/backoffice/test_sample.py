"""`make run`'s sample gives the back office something to show: late and soon-due work, a
claimed item, a draft decision in the 課長's route, an application entered at the counter."""

from __future__ import annotations

import pytest

from madoguchi.approvals import selectors as approvals
from madoguchi.backoffice import selectors
from madoguchi.counter.models import Application, Channel, State

from .conftest import user


@pytest.mark.django_db(transaction=True)
def test_the_sample_fills_the_queue(django_capture_on_commit_callbacks):
    from madoguchi.sample.services import load_sample

    with django_capture_on_commit_callbacks(execute=True):
        load_sample(with_applications=True)
    tanto, kacho = user("kankyo.tanto@aoba.example.jp"), user("kankyo.kacho@aoba.example.jp")
    unit = selectors.default_unit(tanto)
    counts = selectors.unit_counts(unit)
    assert counts.overdue >= 1 and counts.due_soon >= 1
    assert counts.by_state.get(State.AWAITING_APPROVAL) == 1
    assert selectors.my_work(tanto)
    assert Application.objects.filter(channel=Channel.COUNTER, state=State.SUBMITTED).count() == 1
    assert any(
        item.step.instance.kind == "application_decision"
        for item in approvals.actionable_steps(kacho)
    )
