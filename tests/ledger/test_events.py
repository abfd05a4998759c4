"""Events the issue lists that this capability writes itself: a stored file."""

from __future__ import annotations

import pytest

from madoguchi.files.services import store_upload
from madoguchi.ledger.models import Event

from ..counter.uploads import pdf, upload

pytestmark = pytest.mark.django_db


def test_a_stored_file_is_ledgered_by_its_hash_never_its_name(hanako, shimin_staff):
    stored = store_upload(upload("山田花子の診断書.pdf", pdf()), owner=hanako, accept=["pdf"])
    event = Event.objects.get(event_type="file.stored", subject_id=str(stored.pk))
    assert (event.actor_kind, event.actor_id) == ("resident", str(hanako.pk))
    assert event.content_sha256 == stored.sha256
    assert "山田" not in str(event.details) and event.details["size"] == stored.size
    by_staff = store_upload(upload("x.pdf", pdf()), owner=shimin_staff, accept=["pdf"])
    assert (
        Event.objects.get(subject_id=str(by_staff.pk), event_type="file.stored").actor_kind
        == "staff"
    )
