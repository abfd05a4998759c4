"""The visit on the resident's application pages (counter.hooks): book it, or see it."""

from __future__ import annotations

from madoguchi.catalogue.fieldtypes import localized
from madoguchi.counter.hooks import Panel

from . import selectors, services


def appointment_panel(request, application) -> Panel | None:
    spec = application.procedure_version.definition.get("appointment")
    if not spec:
        return None
    counter = services.counter_for_procedure(application.procedure)
    if counter is None:
        return None
    return Panel(
        "appointments/panel.html",
        {
            "application": application,
            "counter": counter,
            "spec": spec,
            "note": localized(spec, "note"),
            "booking": selectors.active_booking_for_application(application),
            "own": application.applicant_id == request.user.pk,
            "closed": application.state in ("withdrawn", "rejected", "returned", "approved"),
        },
    )
