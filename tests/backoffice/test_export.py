"""CSV export of a filtered queue: UTF-8 with a BOM, streamed, formula injection
neutralised, only the unit's own applications."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.backoffice import export
from madoguchi.core.csvsafe import safe_cell
from madoguchi.counter.models import Application

from ..conftest import login
from .conftest import submit_dog

pytestmark = pytest.mark.django_db


def _rows(response) -> list[list[str]]:
    data = b"".join(response.streaming_content)
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_export_is_a_streamed_csv_with_a_bom(hanako, kankyo_staff):
    mine = [submit_dog(hanako) for _ in range(3)]
    other = submit_dog(hanako, body="993417")
    response = login(kankyo_staff).get(reverse("backoffice:export"))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="queue-seikatsu-kankyo-'
    )
    rows = _rows(response)
    assert rows[0] == list(export.HEADER)
    receipts = {row[0] for row in rows[1:]}
    assert receipts == {item.receipt_number for item in mine}
    assert other.receipt_number not in receipts
    assert rows[1][1] == "犬の登録申請" and rows[1][3] == "受付済み"


def test_the_export_follows_the_filter(hanako, kankyo_staff):
    first, second = submit_dog(hanako), submit_dog(hanako)
    from madoguchi.backoffice import services

    services.claim(application=second, staff=kankyo_staff)
    response = login(kankyo_staff).get(reverse("backoffice:export") + "?assignee=me")
    assert [row[0] for row in _rows(response)[1:]] == [second.receipt_number]
    response = login(kankyo_staff).get(reverse("backoffice:export") + "?due_to=yesterday")
    assert response.status_code == 302  # back to the queue, where the error is explained
    assert first.pk


def test_cells_that_look_like_formulas_are_neutralised(hanako, kankyo_staff):
    item = submit_dog(hanako)
    kankyo_staff.display_name = '=HYPERLINK("http://x")'
    kankyo_staff.save(update_fields=["display_name"])
    Application.objects.filter(pk=item.pk).update(assignee=kankyo_staff)
    rows = _rows(login(kankyo_staff).get(reverse("backoffice:export")))
    assert rows[1][8] == '\'=HYPERLINK("http://x")'


@given(st.text(max_size=20))
def test_neutralise(value):
    cleaned = safe_cell(value)
    assert not str(cleaned).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert str(cleaned).endswith(value)
    assert safe_cell(-3) == -3  # numbers stay numbers


def test_the_export_reads_the_database_in_chunks(hanako, kankyo_staff, django_assert_num_queries):
    """The rows come from a cursor read in chunks, one row at a time, never a list of the
    whole queue (bench/queue.py measures the memory of 100,000 rows)."""
    for _ in range(5):
        submit_dog(hanako)
    unit = Application.objects.first().unit
    from madoguchi.backoffice.selectors import QueueFilter

    stream = export.stream(unit, QueueFilter(unit_id=unit.pk), user=kankyo_staff)
    with django_assert_num_queries(0):
        header = next(stream)  # nothing is read before the first line is sent
    assert header.startswith("\ufeff受付番号")
    with django_assert_num_queries(1):
        lines = list(stream)
    assert len(lines) == 5
