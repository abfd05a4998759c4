"""The logic of bench/spike.py: the rate search, the p99, the form filling and the
duplicate check. The load itself runs only in `make bench`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, filename: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


spike = _load("bench_spike", "spike.py")


def test_rate_series_is_one_one_and_a_half_two_three_four_six_eight_per_decade():
    assert spike.rate_series(10, 100) == [10, 15, 20, 30, 40, 60, 80, 100]
    assert spike.rate_series(1, 12) == [1, 1.5, 2, 3, 4, 6, 8, 10]
    assert spike.rate_series(12, 35) == [15, 20, 30]
    with pytest.raises(ValueError):
        spike.rate_series(0, 10)


def _search(outcome, start=10, low=1, high=100):
    """Runs next_rate against a server that holds the rates for which outcome() is true."""
    history = []
    while (rate := spike.next_rate(history, start, low, high)) is not None:
        history.append((rate, outcome(rate)))
        assert len(history) < 50
    return history


def test_search_rises_until_a_step_is_not_held():
    history = _search(lambda rate: rate <= 30)
    assert [rate for rate, _ in history] == [10, 15, 20, 30, 40]
    steps = [{"rate": r, "p99_ms": 500 if ok else 1500, "errors": 0} for r, ok in history]
    assert spike.highest_held(steps) == 30


def test_search_stops_at_the_highest_rate():
    history = _search(lambda rate: True, high=20)
    assert [rate for rate, _ in history] == [10, 15, 20]


def test_search_falls_when_the_first_step_is_not_held():
    history = _search(lambda rate: rate <= 3)
    assert history == [(10, False), (8, False), (6, False), (4, False), (3, True)]
    steps = [{"rate": r, "p99_ms": 500 if ok else 1500, "errors": 0} for r, ok in history]
    assert spike.highest_held(steps) == 3


def test_falling_skips_the_rates_above_what_the_server_completed():
    # 10/s not held, and only 3.5 applicants/s reached 受付: 8/s and 6/s cannot hold.
    assert spike.next_rate([(10, False)], 10, 1, 100, completed_per_s=3.5) == 3
    assert spike.next_rate([(10, False)], 10, 1, 100, completed_per_s=0.2) == 1
    assert spike.next_rate([(10, False), (3, True)], 10, 1, 100, completed_per_s=3) is None
    # Rising, the completed rate does not matter.
    assert spike.next_rate([(10, True)], 10, 1, 100, completed_per_s=2) == 15


def test_search_gives_up_below_the_lowest_rate():
    history = _search(lambda rate: False, low=4)
    assert [rate for rate, _ in history] == [10, 8, 6, 4]
    steps = [{"rate": r, "p99_ms": 1500, "errors": 0} for r, _ in history]
    assert spike.highest_held(steps) is None


def test_a_step_with_an_error_is_not_held_whatever_its_p99():
    assert spike.step_held(999.0, 0)
    assert spike.step_held(1000.0, 0)
    assert not spike.step_held(1000.1, 0)
    assert not spike.step_held(10.0, 1)


def test_p99_is_the_nearest_rank():
    values = list(range(1, 101))  # 1 … 100
    assert spike.percentile(values, 0.99) == 99
    assert spike.percentile(values, 0.50) == 50
    assert spike.percentile(list(reversed(values)), 1.0) == 100
    # With fewer than 100 values, p99 is the largest: one slow request is not hidden.
    assert spike.percentile([10.0] * 49 + [5000.0], 0.99) == 5000.0
    assert spike.percentile([], 0.99) == 0.0


def test_duplicate_check():
    reached = {"a@x", "b@x"}
    submitting = reached | {"c@x"}
    exact = {"a@x": {"all": 1, "submitted": 1}, "b@x": {"all": 1, "submitted": 1}}
    assert spike.check_applications(reached, submitting, exact) == []
    # c@x sent the final POST without an answer: its application may exist, once.
    assert (
        spike.check_applications(reached, submitting, {**exact, "c@x": {"all": 1, "submitted": 1}})
        == []
    )
    twice = {**exact, "b@x": {"all": 2, "submitted": 2}}
    assert spike.check_applications(reached, submitting, twice) == [
        "b@x reached 受付 but has 2 applications (2 submitted)"
    ]
    missing = {"a@x": {"all": 1, "submitted": 1}}
    assert spike.check_applications(reached, submitting, missing) == [
        "b@x reached 受付 but has 0 applications (0 submitted)"
    ]
    draft_only = {**exact, "a@x": {"all": 1, "submitted": 0}}
    assert len(spike.check_applications(reached, submitting, draft_only)) == 1
    unreached = {**exact, "c@x": {"all": 2, "submitted": 1}, "d@x": {"all": 1, "submitted": 1}}
    assert spike.check_applications(reached, submitting, unreached) == [
        "c@x has 2 applications (a duplicate)",
        "d@x never submitted but has a submitted application",
    ]


def test_the_main_form_is_filled_as_a_browser_sends_it():
    html = """
    <form method="post" action="/i18n/setlang/"><input type="hidden" name="csrfmiddlewaretoken"
      value="t"><select name="language"><option value="ja">日本語</option></select></form>
    <form method="post" enctype="multipart/form-data">
      <input type="hidden" name="csrfmiddlewaretoken" value="tok">
      <input name="f-a" value="kept"><input name="f-b" value="old">
      <input type="checkbox" name="f-c" value="yes"><input type="radio" name="f-d" value="1">
      <input type="radio" name="f-d" value="2" checked>
      <select name="f-e"><option value="x">X</option><option value="y" selected>Y</option></select>
      <select name="f-f"><option value="p">P</option><option value="q">Q</option></select>
      <input type="file" name="f-photo">
      <button type="submit" name="action" value="continue">次へ</button>
      <button type="submit" name="action" value="save">保存</button>
    </form>"""
    form = spike.post_form(html, button="continue")
    assert form["enctype"] == "multipart/form-data"
    assert form["files"] == ["f-photo"]
    values = spike.fill(form, {"f-b": "new"}, ("action", "continue"))
    assert dict(values) == {
        "csrfmiddlewaretoken": "tok",
        "f-a": "kept",
        "f-b": "new",
        "f-d": "2",
        "f-e": "y",
        "f-f": "p",
        "action": "continue",
    }
    with pytest.raises(ValueError):
        spike.post_form(html, button="nothing-like-this")


def test_one_in_twenty_applicants_submits_twice_alternately_double_and_resend():
    applicants = spike.make_applicants(0, 80)
    repeats = [(a.index, a.repeat) for a in applicants if a.repeat]
    assert repeats == [(19, "double"), (39, "resend"), (59, "double"), (79, "resend")]


def test_the_photo_is_a_jpeg_of_the_size_the_procedure_asks_for():
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(spike.photo_jpeg()))
    assert image.format == "JPEG"
    assert image.size == (300, 400)
