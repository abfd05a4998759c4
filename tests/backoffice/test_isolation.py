"""Unit isolation: staff of one unit never see another unit's applications, dashboard or
e-mails — unless a step of the approval route gives them that one item."""

from __future__ import annotations

import pytest
from django.urls import reverse

from madoguchi.approvals import selectors as approvals
from madoguchi.approvals import services as engine
from madoguchi.backoffice import services
from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.counter.models import Application, State
from madoguchi.notifications.models import OutboundEmail

from ..conftest import login
from .conftest import submit_dog, user

pytestmark = pytest.mark.django_db


def test_a_dashboard_is_only_for_its_units_staff(hanako, kankyo_staff, shimin_staff):
    unit = submit_dog(hanako).unit
    url = reverse("backoffice:dashboard", args=[unit.pk])
    assert login(kankyo_staff).get(url).status_code == 200
    assert login(shimin_staff).get(url).status_code == 404
    assert login(hanako).get(url).status_code == 404
    assert (
        login(kankyo_staff).get(reverse("backoffice:dashboard", args=[999999])).status_code == 404
    )
    # Nor its queue or export by naming the unit.
    for name in ("backoffice:queue", "backoffice:export"):
        assert login(shimin_staff).get(reverse(name) + f"?unit={unit.pk}").status_code == 404


def test_an_email_is_resent_only_by_its_units_staff(hanako, kankyo_staff, shimin_staff):
    application = submit_dog(hanako)
    email = OutboundEmail.objects.get(related_id=str(application.pk))
    OutboundEmail.objects.filter(pk=email.pk).update(status=OutboundEmail.Status.FAILED)
    url = reverse("backoffice:outbox_retry", args=[email.pk])
    assert login(shimin_staff).post(url).status_code == 404
    assert login(hanako).post(url).status_code == 404
    assert login(kankyo_staff).get(url).status_code == 405
    assert login(kankyo_staff).post(url).status_code == 302
    assert login(kankyo_staff).post(reverse("backoffice:outbox_retry", args=[0])).status_code == 404


CONSULTATION_ROUTE = """
schema_version: 1
id: noise-consultation
body: "992011"
name: 特定建設作業の決裁（市民課と合議）
subjects: [application_decision]
steps:
  - id: gogi
    label: 市民課合議
    consult:
      - {position: director, unit: shiminka}
  - id: kacho
    label: 生活環境課長決裁
    approver: {position: director}
"""


@pytest.fixture
def consulted_procedure(simple_procedure, tmp_path):
    """The simple procedure, now with a route whose 合議 step is 市民課's."""
    from madoguchi.approvals.services import load_routes
    from madoguchi.catalogue.services import load_catalogue

    from .conftest import SIMPLE

    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "noise-consultation.yaml").write_text(CONSULTATION_ROUTE, encoding="utf-8")
    load_routes(routes)
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    (catalogue / "noise-notice.yaml").write_text(
        SIMPLE.replace(
            "processing_days: 5", "processing_days: 5\napproval_route: noise-consultation"
        ),
        encoding="utf-8",
    )
    assert load_catalogue(catalogue).new_versions == ["992011/noise-notice"]
    return procedure_by_identifier("992011", "noise-notice")


def test_a_consulted_unit_sees_the_item_it_is_asked_about_only(
    consulted_procedure, hanako, kankyo_staff, kankyo_kacho
):
    """合議: 市民課長 is asked about 生活環境課's draft. They see that application, not
    生活環境課's queue or its other applications, and may not process it."""
    from .conftest import submit_simple

    shimin_kacho = user("shimin.kacho@aoba.example.jp")
    asked, other = submit_simple(hanako), submit_simple(hanako)
    client = login(shimin_kacho)
    detail = reverse("backoffice:detail", args=[asked.pk])
    assert client.get(detail).status_code == 404
    services.start_review(application=asked, staff=kankyo_staff)
    services.decide(application=asked, staff=kankyo_staff, outcome="approve")
    assert client.get(detail).status_code == 200
    assert client.get(reverse("backoffice:detail", args=[other.pk])).status_code == 404
    queue = client.get(reverse("backoffice:queue") + "?state=all").content.decode()
    assert str(asked.pk) not in queue and str(other.pk) not in queue
    with pytest.raises(services.Forbidden):
        services.claim(application=Application.objects.get(pk=asked.pk), staff=shimin_kacho)
    # A note from the consulted unit is possible (the question it has).
    services.add_note(
        application=Application.objects.get(pk=asked.pk),
        staff=shimin_kacho,
        body="市民課として異議なし",
    )
    for approver in (shimin_kacho, kankyo_kacho):
        step = next(
            item.step
            for item in approvals.actionable_steps(approver)
            if item.step.instance.kind == "application_decision"
        )
        engine.approve_step(step=step, actor=approver, expected_version=step.version)
    assert Application.objects.get(pk=asked.pk).state == State.APPROVED
    assert client.get(detail).status_code == 200  # whoever acted may see it afterwards
    assert client.get(reverse("backoffice:detail", args=[other.pk])).status_code == 404
