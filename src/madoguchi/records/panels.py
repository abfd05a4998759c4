"""The resident's pages show where their application is in the ledger (issue 4: "each
resident's application page shows the entry index and an inclusion proof link")."""

from __future__ import annotations

from madoguchi.counter.hooks import Panel
from madoguchi.ledger.selectors import subject_entries


def ledger_panel(request, application) -> Panel | None:
    if application.receipt_number is None:
        return None
    return Panel(
        template="ledger/_panel.html",
        context=subject_entries(subject_type="application", subject_id=application.pk),
    )
