"""`madoguchi sample load --if-empty`, the step of `make run` that fills an empty database."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from madoguchi.catalogue.models import Procedure
from madoguchi.counter.models import Application
from madoguchi.identity.models import User
from madoguchi.organisation.models import Body


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


def test_an_empty_database_gets_the_sample_and_the_log_ins_are_printed(db, debug_on, capsys):
    assert not Body.objects.exists()
    call_command("sample", "load", "--if-empty")
    out = capsys.readouterr().out
    assert "Sample municipality loaded." in out
    assert "hanako@example.jp" in out and "shimin.tanto@aoba.example.jp" in out
    assert "madoguchi-demo-2026" in out and "identity demo-totp" in out
    assert Body.objects.filter(code="992011").exists()
    assert Procedure.objects.filter(identifier="juminhyo-copy").exists()
    assert User.objects.get(email="hanako@example.jp").check_password("madoguchi-demo-2026")
    assert Application.objects.exists()  # the sample applications, for the staff pages


def test_a_database_with_data_is_left_as_it_is(db, debug_on, capsys):
    call_command("sample", "load", "--if-empty")
    hanako = User.objects.get(email="hanako@example.jp")
    hanako.set_password("changed-by-the-resident")
    hanako.save()
    counts = (Body.objects.count(), Procedure.objects.count(), Application.objects.count())
    capsys.readouterr()
    call_command("sample", "load", "--if-empty")
    out = capsys.readouterr().out
    assert "the sample was not loaded again" in out
    assert "hanako@example.jp" in out  # the log-ins are printed on every start
    assert (Body.objects.count(), Procedure.objects.count(), Application.objects.count()) == counts
    hanako.refresh_from_db()
    assert hanako.check_password("changed-by-the-resident")


def test_with_debug_off_the_sample_is_refused_without_force(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="demo passwords"):
        call_command("sample", "load", "--if-empty")
    assert not Body.objects.exists()
