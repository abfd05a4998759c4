"""Counters as YAML: loaded whole or not at all, every mistake named with its path."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from madoguchi.appointments import loading
from madoguchi.appointments.models import Closure, Counter

pytestmark = pytest.mark.django_db

GOOD = """\
body: "993417"
counters:
  - code: chomin-soudan
    name: 町民課 相談窓口
    unit: chominka
    slot_minutes: 20
    capacity: 3
    hours:
      weekdays: ["09:00-12:00"]
      sat: "09:00-11:00"
    closures:
      - {day: 2027-03-15, reason: 庁舎点検}
"""


def test_a_file_is_loaded(sample, tmp_path):
    path = tmp_path / "993417.yaml"
    path.write_text(GOOD, encoding="utf-8")
    call_command("appointments", "load", str(path))
    counter = Counter.objects.get(code="chomin-soudan")
    assert (counter.slot_minutes, counter.capacity) == (20, 3)
    assert sorted({h.weekday for h in counter.hours.all()}) == [0, 1, 2, 3, 4, 5]
    assert Closure.objects.get(counter=counter).day == dt.date(2027, 3, 15)
    # Loading again changes nothing but what changed.
    path.write_text(GOOD.replace("capacity: 3", "capacity: 4"), encoding="utf-8")
    call_command("appointments", "load", str(path))
    assert Counter.objects.get(code="chomin-soudan").capacity == 4
    assert counter.hours.count() == 6


@pytest.mark.parametrize(
    ("change", "where", "ja"),
    [
        (("unit: chominka", "unit: nowhere"), "counters[0].unit", "組織「nowhere」がありません"),
        (('["09:00-12:00"]', '["8:30-12"]'), "counters[0].hours.weekdays[0]", "08:30-12:00 の形式"),
        (('"09:00-11:00"', '"11:00-09:00"'), "counters[0].hours.sat[0]", "終了は開始より後に"),
        (("capacity: 3", "capacity: 0"), "counters[0].capacity", "1〜500の整数"),
        (
            ("    slot_minutes: 20\n", "    slot_minutes: 20\n    colour: red\n"),
            "counters[0].colour",
            "使えない項目",
        ),
        (
            ("reason: 庁舎点検", "why: 庁舎点検"),
            "counters[0].closures[0]",
            "day（2027-03-15）と reason",
        ),
        (('body: "993417"', 'body: "000000"'), "body", "団体「000000」がありません"),
    ],
)
def test_mistakes_are_named_and_nothing_is_loaded(sample, tmp_path, change, where, ja):
    path = tmp_path / "993417.yaml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(loading.CountersRejected) as refused:
        loading.load_file(path)
    (problem,) = refused.value.problems
    assert where in problem and ja in problem and str(path) in problem
    assert not Counter.objects.filter(code="chomin-soudan").exists()
    with pytest.raises(CommandError):
        call_command("appointments", "load", str(path))


def test_a_file_that_is_not_yaml(sample, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"counters: [\n")
    with pytest.raises(loading.CountersRejected):
        loading.load_file(path)
