"""Every transition of the application's state machine, from every state: allowed where
states.py says so (the new state, its event, a new lock version), refused everywhere else
(a 409 refusal, nothing changed, no event)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.counter import services, states
from madoguchi.counter.models import Application, CorrectionRequest, Decision, State
from madoguchi.identity import levels
from madoguchi.ledger.models import Event

from .conftest import submit_simple

pytestmark = pytest.mark.django_db

ROUTE_OUTCOME = {"route_approve": "approve", "route_reject": "reject", "route_return": "return"}


ROUTE_TRANSITIONS = ("route_send_back", "recall_decision", *ROUTE_OUTCOME)


def _in_state(
    applicant, staff, state: str, *, pending_outcome: str = "approve", pending: bool = False
) -> Application:
    """An application of the simple procedure put in `state` with what that state has
    (a pending 補正, a draft decision in a route, a final decision). With `pending`, a
    draft decision exists whatever the state: the route's callbacks act on one, and
    must refuse when the application is no longer waiting for it."""
    if state == State.DRAFT:
        application, _created = services.create_and_submit(
            procedure=procedure_by_identifier("992011", "noise-notice"),
            applicant=applicant,
            answers={"site": "中央一丁目", "starts_on": "2027-01-20"},
            idempotency_key=uuid.uuid4(),
            identity_level=levels.ACCOUNT,
            submit=False,
        )
    else:
        application = submit_simple(applicant)
        Application.objects.filter(pk=application.pk).update(state=state)
    if state == State.CORRECTION_REQUESTED:
        CorrectionRequest.objects.create(
            application=application, requested_by=staff, field_ids=["site"], message="x"
        )
    if state == State.AWAITING_APPROVAL or pending:
        Decision.objects.create(
            application=application,
            outcome=pending_outcome,
            reason="理由",
            drafted_by=staff,
            status=Decision.Status.PENDING,
        )
    if state in states.DECIDED_STATES:
        Decision.objects.create(
            application=application,
            outcome={"approved": "approve", "rejected": "reject"}.get(state, "return"),
            reason="理由",
            drafted_by=staff,
            status=Decision.Status.FINAL,
            decided_at=timezone.now(),
        )
    return Application.objects.get(pk=application.pk)


def _fire(name: str, application: Application, applicant, staff):
    reply_by = timezone.localdate() + dt.timedelta(days=7)
    pending = services.pending_decision(application)
    calls = {
        "submit": lambda: services.submit_application(
            application=application, actor=applicant, identity_level=levels.ACCOUNT
        ),
        "start_review": lambda: services.staff_transition(
            application=application, staff=staff, name="start_review"
        ),
        "request_correction": lambda: services.request_correction(
            application=application,
            staff=staff,
            field_ids=["site"],
            message="場所を番地まで",
            reply_by=reply_by,
        ),
        "resubmit": lambda: services.resubmit(application=application, actor=applicant),
        "approve": lambda: services.decide(application=application, staff=staff, outcome="approve"),
        "reject": lambda: services.decide(
            application=application, staff=staff, outcome="reject", reason="要件を満たさない"
        ),
        "return_to_applicant": lambda: services.decide(
            application=application, staff=staff, outcome="return", reason="管轄外"
        ),
        "propose_decision": lambda: services.propose_decision(
            application=application, staff=staff, outcome="approve"
        ),
        "route_send_back": lambda: services.send_back_decision(
            application=application, decision=pending, actor=staff, recalled=False
        ),
        "recall_decision": lambda: services.send_back_decision(
            application=application, decision=pending, actor=staff, recalled=True
        ),
        "reopen": lambda: services.reopen_decision(
            application=application, staff=staff, correction_reason="事実の誤認"
        ),
        "withdraw": lambda: services.withdraw_application(application=application, actor=applicant),
    }
    for route_name in ROUTE_OUTCOME:
        calls[route_name] = lambda: services.complete_decision(
            application=application, decision=pending, actor=staff
        )
    return calls[name]()


CASES = [(name, state) for name in states.TRANSITIONS for state in State.values]


def test_every_transition_is_tested():
    assert {name for name, _state in CASES} == set(states.TRANSITIONS)
    assert len(CASES) == len(states.TRANSITIONS) * len(State.values)


@pytest.mark.parametrize(("name", "state"), CASES)
def test_transition(name, state, simple_procedure, hanako, kankyo_kacho):
    application = _in_state(
        hanako,
        kankyo_kacho,
        state,
        pending_outcome=ROUTE_OUTCOME.get(name, "approve"),
        pending=name in ROUTE_TRANSITIONS,
    )
    before = Application.objects.get(pk=application.pk)
    events_before = Event.objects.filter(subject_id=str(application.pk)).count()
    transition = states.TRANSITIONS[name]
    event_type = {"withdraw": "application.withdrawn", "submit": "application.submitted"}.get(
        name, f"application.{name}"
    )
    if state in transition.source:
        _fire(name, application, hanako, kankyo_kacho)
        after = Application.objects.get(pk=application.pk)
        assert after.state == transition.target
        if name == "submit":
            assert after.submitted_at and after.receipt_number and after.due_date
        else:
            # A page opened before the change is now stale.
            assert after.lock_version > before.lock_version
        event = Event.objects.filter(subject_id=str(application.pk), event_type=event_type).last()
        assert event is not None
        if name != "submit":
            assert event.details["from"] == state and event.details["to"] == transition.target
        return
    idempotent = (name == "submit" and state != State.DRAFT) or (
        name == "withdraw" and state == State.WITHDRAWN
    )
    if idempotent:
        # Sending the same request again (a double click) returns what is there.
        _fire(name, application, hanako, kankyo_kacho)
    else:
        with pytest.raises(services.CounterError) as refused:
            _fire(name, application, hanako, kankyo_kacho)
        assert refused.value.status == 409 and refused.value.ja
    after = Application.objects.get(pk=application.pk)
    assert (after.state, after.lock_version) == (before.state, before.lock_version)
    assert Event.objects.filter(subject_id=str(application.pk)).count() == events_before
