"""`make bench` (spike): the last hours before a web-application deadline, over HTML forms.

Starts gunicorn on a fresh PostgreSQL database with the settings of the submission
benchmark (bench/run.py), creates N residents with verified e-mail addresses and a
password, and lets virtual applicants arrive at a fixed rate (an open arrival: a new one
starts every 1/rate seconds whatever the server answers), stepped from 10/s upwards. Each
applicant does what a browser without JavaScript does for 県立高等学校入学者選抜のウェブ出願
(the sample procedure 990001/highschool-web-application): opens the log-in page and logs
in through its form (CSRF token and cookie), opens the start page and starts, then GETs
every page of the form and POSTs its answers, uploads a face photo (a real 300×400 JPEG)
on the photo page, opens the check page and submits, and opens the 受付 page. One in
twenty submits twice: half of them send the final POST twice at once (a double click),
the other half abandon it after a short time and send it again (a resend).

A step is held when the p99 of all the requests of the applicants who arrived during it is
at most 1 s and no request failed; the rate rises until a step is not held (or
--max-rate). The result is the highest rate held, divided by the requests/s of the
bare-Django baseline (POST /bench/baseline, measured with wrk on the same server in the
same run, exactly as bench/run.py measures it); when already the first step is not held,
lower rates are tried until one is. Afterwards the database must hold exactly
one application per applicant who reached the 受付 page and none twice.

Exit status: 0 when the database check is clean and the server logged no error (whatever
rate was held: that depends on the machine), 1 when not (the result is still written), 2
when the benchmark could not run.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/spike.py`, this folder comes first on sys.path, and its other
# scripts (bench/queue.py) would shadow modules of the standard library.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from html.parser import HTMLParser  # noqa: E402


def _submission_benchmark():
    """bench/run.py, for its server, PostgreSQL, wrk and machine helpers."""
    if "bench_run" in sys.modules:
        return sys.modules["bench_run"]
    spec = importlib.util.spec_from_file_location("bench_run", _HERE / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


_bench = _submission_benchmark()
ROOT = _bench.ROOT
DOCS = _bench.DOCS
BenchError = _bench.BenchError
say = _bench.say
step = _bench.step

START_MARK = "<!-- bench:spike:start -->"
END_MARK = "<!-- bench:spike:end -->"
BODY = "990001"
PROCEDURE = "highschool-web-application"
PROCEDURE_NAME = "県立高等学校入学者選抜のウェブ出願"
P99_LIMIT_MS = 1000.0
PASSWORD = "spike-" + "applicant-password"  # one for all: hashed once (Argon2 is slow)
EMAIL = "spike-{:06d}@example.jp"
# Every REPEAT_EVERY-th applicant submits twice (5%): a double click or a resend.
REPEAT_EVERY = 20
# allauth limits successful log-ins to 30 a minute per IP; every virtual applicant comes
# from 127.0.0.1, so the benchmark's server (only it) allows far more. The check itself
# still runs on each log-in, so its cost is measured.
LOGIN_RATE_LIMIT = "1000000/m/ip"
# Before a step, at most this long for the server to finish what the step before queued.
IDLE_MAX_WAIT = 120.0


# --- the logic (tests/bench/test_spike.py) -------------------------------------------------


def rate_series(low: float, high: float) -> list[float]:
    """The arrival rates between `low` and `high`, ascending: … 1, 1.5, 2, 3, 4, 6, 8, 10,
    15, 20, 30, 40, 60, 80, 100, 150 … (1, 1.5, 2, 3, 4, 6, 8 times a power of ten)."""
    if low <= 0 or high < low:
        raise ValueError("need 0 < low <= high")
    rates: list[float] = []
    decade = 10.0 ** math.floor(math.log10(low))
    while True:
        for factor in (1, 1.5, 2, 3, 4, 6, 8):
            rate = round(factor * decade, 6)
            if rate < low - 1e-9:
                continue
            if rate > high + 1e-9:
                return rates
            rates.append(rate)
        decade *= 10


def next_rate(
    held: list[tuple[float, bool]],
    start: float,
    low: float,
    high: float,
    completed_per_s: float | None = None,
) -> float | None:
    """The rate of the next step, or None when the search is over.

    `held`: the steps so far, (rate, held). Upwards from `start` while each step is held,
    until one is not (or `high` is passed); if already the first step is not held,
    downwards until one is (or below `low`), so that the result still names a rate.
    Falling, `completed_per_s` (applicants of the last step who reached 受付, per second)
    skips the rates above it: a server cannot hold more arrivals than it completes."""
    series = rate_series(low, max(high, start))
    up = [r for r in series if r >= start - 1e-9 and r <= high + 1e-9]
    down = [r for r in reversed(series) if r < start - 1e-9]
    if not held:
        return up[0] if up else None
    rate, ok = held[-1]
    if held[0][1]:  # rising: until a step is not held
        higher = [r for r in up if r > rate + 1e-9]
        return higher[0] if ok and higher else None
    # falling (the first step was not held): until one is
    lower = [r for r in down if r < rate - 1e-9]
    if ok or not lower:
        return None
    if completed_per_s is not None:
        within = [r for r in lower if r <= completed_per_s + 1e-9]
        return within[0] if within else lower[-1]
    return lower[0]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `share` of all values at
    or below it (p99 of 100 values is the 99th smallest). 0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(share * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def step_held(p99_ms: float, errors: int, limit_ms: float = P99_LIMIT_MS) -> bool:
    return errors == 0 and p99_ms <= limit_ms


def highest_held(steps: list[dict]) -> float | None:
    """The highest rate of a step held (the search runs no step above one not held)."""
    rates = [s["rate"] for s in steps if step_held(s["p99_ms"], s["errors"])]
    return max(rates) if rates else None


def check_applications(reached: set[str], submitting: set[str], rows: dict[str, dict]) -> list[str]:
    """Problems with what the applicants left in the database; empty when exact.

    `reached`: applicants who got to the 受付 page; `submitting`: those who sent the final
    POST at least once (reached included); `rows`: per applicant e-mail, its applications
    of the procedure: {"all": n, "submitted": n}. Each applicant who reached the 受付 page
    has exactly one application, submitted; nobody has two; an applicant who never sent the
    final POST has none submitted."""
    problems = []
    for email in sorted(reached):
        counts = rows.get(email, {"all": 0, "submitted": 0})
        if counts["all"] != 1 or counts["submitted"] != 1:
            problems.append(
                f"{email} reached 受付 but has {counts['all']} applications "
                f"({counts['submitted']} submitted)"
            )
    for email, counts in sorted(rows.items()):
        if email in reached:
            continue
        if counts["all"] > 1:
            problems.append(f"{email} has {counts['all']} applications (a duplicate)")
        if counts["submitted"] and email not in submitting:
            problems.append(f"{email} never submitted but has a submitted application")
    return problems


# --- inside Django (run as a subprocess with the benchmark's settings) --------------------


def prepare(count: int) -> dict:
    """`count` residents who can log in with PASSWORD, with verified addresses."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import check_password, make_password

    from madoguchi.catalogue.models import Procedure
    from madoguchi.identity.models import User

    procedure = Procedure.objects.get(body__code=BODY, identifier=PROCEDURE)
    hashed = make_password(PASSWORD)
    created = 0
    for first in range(0, count, 2000):
        emails = [EMAIL.format(n) for n in range(first, min(first + 2000, count))]
        users = User.objects.bulk_create(
            [User(email=email, password=hashed, display_name="") for email in emails]
        )
        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user=user, email=user.email, verified=True, primary=True)
                for user in users
            ]
        )
        created += len(users)
    # What one log-in's password check costs here (Argon2 is slow on purpose).
    checks = []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_SELF)
        began = time.perf_counter()
        check_password(PASSWORD, hashed)
        after = resource.getrusage(resource.RUSAGE_SELF)
        checks.append(
            (
                (time.perf_counter() - began) * 1000,
                (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000,
            )
        )
    wall, cpu = min(checks, key=lambda c: c[1])
    return {
        "residents": created,
        "procedure": procedure.pk,
        "name": str(procedure),
        "password_check_ms": {"wall": wall, "cpu": cpu},
        # "argon2$argon2id$v=19$m=19456,t=2,p=1$salt$hash": the variant and its parameters.
        "password_hash": " ".join(hashed.split("$")[1:4]),
    }


def verify(emails_file: str) -> dict:
    """Per applicant (of those in the file), its applications of the procedure."""
    from django.db.models import Count, Q

    from madoguchi.counter.models import Application, State

    emails = json.loads(Path(emails_file).read_text())
    rows = (
        Application.objects.filter(
            procedure__body__code=BODY,
            procedure__identifier=PROCEDURE,
            applicant__email__in=emails,
        )
        .values("applicant__email")
        .annotate(all=Count("id"), submitted=Count("id", filter=~Q(state=State.DRAFT)))
    )
    submitted = Application.objects.filter(
        procedure__body__code=BODY, procedure__identifier=PROCEDURE, applicant__email__in=emails
    ).exclude(state=State.DRAFT)
    return {
        "rows": {
            row["applicant__email"]: {"all": row["all"], "submitted": row["submitted"]}
            for row in rows
        },
        "submitted": submitted.count(),
        "distinct_receipt_numbers": submitted.values("receipt_number").distinct().count(),
        "without_receipt_number": submitted.filter(receipt_number="").count(),
    }


# --- a browser without JavaScript ---------------------------------------------------------


class FormParser(HTMLParser):
    """The POST forms of a page: action, enctype, the values a browser would send by
    default (hidden and text inputs, checked boxes, selected options) and the buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {
                "method": a.get("method", "get").lower(),
                "action": a.get("action", ""),
                "enctype": a.get("enctype", ""),
                "fields": [],
                "files": [],
                "buttons": [],
            }
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value", "on")))
            elif kind == "file":
                self._form["files"].append(name)
            elif kind == "submit":
                self._form["buttons"].append((name, a.get("value", "")))
            else:
                self._form["fields"].append((name, a.get("value", "")))
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._form["buttons"].append((name or "", a.get("value", "")))
        elif tag == "textarea" and name:
            self._form["fields"].append((name, ""))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            if self._select_first is None:
                self._select_first = a.get("value", "")
            if "selected" in a:
                self._form["fields"].append((self._select, a.get("value", "")))
                self._select_chosen = True

    def handle_endtag(self, tag):
        if tag == "select" and self._select and self._form is not None:
            if not self._select_chosen and self._select_first is not None:
                self._form["fields"].append((self._select, self._select_first))
            self._select = None
        elif tag == "form":
            self._form = None


def post_form(html: str, *, button: str | None = None) -> dict:
    """The page's main POST form (the one with the given button value, or the first).

    A page has other POST forms (the language switch, log-out): the wanted one holds a
    CSRF token and, when asked for, the button."""
    parser = FormParser()
    parser.feed(html)
    forms = [
        form
        for form in parser.forms
        if form["method"] == "post"
        and any(name == "csrfmiddlewaretoken" for name, _ in form["fields"])
        and not form["action"].startswith(("/i18n/", "/account/logout"))
    ]
    if button is not None:
        forms = [f for f in forms if any(value == button for _, value in f["buttons"])]
    if not forms:
        raise ValueError("no such form on the page")
    return forms[0]


def fill(form: dict, answers: dict[str, str], button: tuple[str, str] | None) -> list:
    """The form's default values with `answers` put in, and the button pressed."""
    values = [(name, value) for name, value in form["fields"] if name not in answers]
    values += list(answers.items())
    if button is not None and button[0]:
        values.append(button)
    return values


def photo_jpeg() -> bytes:
    """A 300×400 JPEG (3:4, the minimum size the procedure asks for) of a drawn face."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 400), (235, 238, 242))
    draw = ImageDraw.Draw(image)
    draw.ellipse((90, 70, 210, 210), fill=(224, 188, 160))
    draw.rectangle((60, 230, 240, 400), fill=(40, 60, 110))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


# The answers of every page, by input name (f-<field>[-<part>]); empty parts stay empty.
ANSWERS: dict[str, dict[str, str]] = {
    "applicant": {
        "f-applicant_name-family": "山田",
        "f-applicant_name-given": "太郎",
        "f-applicant_name-family_kana": "やまだ",
        "f-applicant_name-given_kana": "たろう",
        "f-applicant_birth_date-year": "2011",
        "f-applicant_birth_date-month": "8",
        "f-applicant_birth_date-day": "15",
        "f-applicant_address-postal_code": "9990001",
        "f-applicant_address-prefecture": "さくら県",
        "f-applicant_address-city": "あおば市",
        "f-applicant_address-street": "中央一丁目2番3号",
        "f-applicant_address-building": "",
        "f-middle_school": "あおば市立第一中学校",
        "f-graduation": "expected",
    },
    "choices": {"f-first_choice": "aoba-futsu", "f-second_choice": "aoba-rika"},
    "photo": {},
    "guardian": {
        "f-guardian_name-family": "山田",
        "f-guardian_name-given": "花子",
        "f-guardian_name-family_kana": "やまだ",
        "f-guardian_name-given_kana": "はなこ",
        "f-guardian_relationship": "母",
        "f-guardian_phone": "090-1234-5678",
        "f-guardian_same_address": "same",
    },
    "declaration": {"f-declaration": "yes"},
}


@dataclass
class Request:
    what: str
    status: int  # 0: no answer (connection error, timeout)
    ms: float
    error: str = ""


@dataclass
class Applicant:
    index: int
    email: str
    repeat: str = ""  # "", "double" or "resend"
    requests: list[Request] = field(default_factory=list)
    submitting: bool = False
    reached: bool = False
    failed: str = ""

    @property
    def errors(self) -> int:
        return sum(1 for r in self.requests if r.error)


class Failed(Exception):
    pass


class Browser:
    """One applicant's browser: its own cookies and connections; every request timed, and
    redirects followed one request at a time (each is timed like any other)."""

    def __init__(self, base_url: str, applicant: Applicant, timeout: float) -> None:
        import aiohttp

        self.base_url = base_url
        self.applicant = applicant
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base_url])
        self.session = aiohttp.ClientSession(
            base_url=base_url,
            cookie_jar=jar,
            timeout=aiohttp.ClientTimeout(total=timeout),
            headers={"Accept-Language": "ja", "User-Agent": "madoguchi-bench-spike"},
            connector=aiohttp.TCPConnector(limit=6, force_close=True),
        )

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self, what: str, method: str, url: str, *, data=None, expect=(200,), record=True
    ) -> tuple[int, str, str]:
        """(status, Location or "", body); raises Failed on an unexpected answer."""
        import aiohttp

        headers = {"Origin": self.base_url, "Referer": self.base_url + url} if data else {}
        began = time.perf_counter()
        try:
            async with self.session.request(
                method, url, data=data, headers=headers, allow_redirects=False
            ) as response:
                body = await response.text(errors="replace")
                status, location = response.status, response.headers.get("Location", "")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            elapsed = (time.perf_counter() - began) * 1000
            if record:
                self.applicant.requests.append(Request(what, 0, elapsed, type(exc).__name__))
            raise Failed(f"{what}: {type(exc).__name__}: {exc}") from None
        elapsed = (time.perf_counter() - began) * 1000
        ok = status in expect
        if record:
            self.applicant.requests.append(
                Request(what, status, elapsed, "" if ok else f"status {status}")
            )
        if not ok:
            raise Failed(f"{what}: {method} {url} answered {status}: {body[:300]!r}")
        return status, _path(location), body

    async def get(self, what: str, url: str) -> str:
        return (await self.request(what, "GET", url))[2]

    async def submit(
        self,
        what: str,
        url: str,
        html: str,
        answers=None,
        *,
        files=None,
        button: str | None = "continue",
    ) -> str:
        """POSTs the page's form as a browser does; returns where it redirected to."""
        import aiohttp

        form = post_form(html, button=button)
        pressed = next((b for b in form["buttons"] if b[1] == button), None) if button else None
        values = fill(form, answers or {}, pressed)
        if form["enctype"] == "multipart/form-data":
            data = aiohttp.FormData(quote_fields=False, charset="utf-8")
            for name, value in values:
                data.add_field(name, value)
            for name in form["files"]:
                if files and name in files:
                    filename, content, ctype = files[name]
                    data.add_field(name, content, filename=filename, content_type=ctype)
                else:  # an empty file input, as a browser sends it
                    data.add_field(name, b"", filename="", content_type="application/octet-stream")
        else:
            data = aiohttp.FormData(values, charset="utf-8")
        action = form["action"] or url
        _, location, _ = await self.request(what, "POST", action, data=data, expect=(302, 303))
        if not location:
            raise Failed(f"{what}: redirected nowhere")
        return location


def _path(location: str) -> str:
    return re.sub(r"^https?://[^/]+", "", location)


PAGE_RE = re.compile(r"^/applications/(?P<pk>[0-9a-f-]{36})/pages/(?P<page>[a-z0-9_-]+)/")


async def apply(
    base_url: str, applicant: Applicant, photo: bytes, *, timeout: float, resend_after: float
) -> Applicant:
    browser = Browser(base_url, applicant, timeout)
    try:
        await _apply(browser, applicant, photo, resend_after)
    except Failed as exc:
        applicant.failed = str(exc)
    except asyncio.CancelledError:
        applicant.failed = "still running when the step ended"
        applicant.requests.append(Request("unfinished", 0, 0.0, "unfinished"))
        raise
    finally:
        await browser.close()
    return applicant


async def _apply(browser: Browser, applicant: Applicant, photo: bytes, resend_after: float):
    html = await browser.get("login page", "/account/login/")
    where = await browser.submit(
        "log in",
        "/account/login/",
        html,
        {"login": applicant.email, "password": PASSWORD},
        button=None,
    )
    await browser.get("after log-in", where)
    start = f"/procedures/{BODY}/{PROCEDURE}/start/"
    html = await browser.get("start page", start)
    where = await browser.submit("start", start, html, {}, button=None)
    while (match := PAGE_RE.match(where)) is not None:
        page = match["page"]
        html = await browser.get(f"page {page}", where)
        files = {"f-photo": ("photo.jpg", photo, "image/jpeg")} if page == "photo" else None
        where = await browser.submit(
            f"post {page}", where, html, ANSWERS.get(page, {}), files=files
        )
    if not re.match(r"^/applications/[0-9a-f-]{36}/check/$", where):
        raise Failed(f"the pages ended at {where}, not at the check page")
    check = where
    html = await browser.get("check page", check)
    applicant.submitting = True
    if applicant.repeat == "double":
        # A double click: the same form POSTed twice at once, both answers count.
        results = await asyncio.gather(
            browser.submit("submit", check, html, button=None),
            browser.submit("submit (double click)", check, html, button=None),
        )
        where = results[0]
        if results[1] != where:
            raise Failed(f"the two submits went to {results[0]} and {results[1]}")
    elif applicant.repeat == "resend":
        # The answer is late, and the person sends the form again: the first POST is
        # abandoned (its connection closed) after resend_after seconds, answered or not.
        first = asyncio.create_task(browser.submit("submit (abandoned)", check, html, button=None))
        done, _ = await asyncio.wait({first}, timeout=resend_after)
        if not done:
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError, Failed):
                await first
            applicant.requests = [r for r in applicant.requests if r.what != "submit (abandoned)"]
        else:
            first.result()  # raises Failed if it failed
        where = await browser.submit("submit (resend)", check, html, button=None)
    else:
        where = await browser.submit("submit", check, html, button=None)
    if not re.match(r"^/applications/[0-9a-f-]{36}/done/$", where):
        raise Failed(f"submitting led to {where}, not to the 受付 page")
    done_html = await browser.get("受付 page", where)
    if "受付番号" not in done_html:
        raise Failed("the 受付 page shows no 受付番号")
    applicant.reached = True


# --- the load -----------------------------------------------------------------------------


@dataclass
class StepResult:
    rate: float
    seconds: float
    applicants: list[Applicant]
    wall_s: float
    cpu: dict[str, float]

    @property
    def latencies(self) -> list[float]:
        return [r.ms for a in self.applicants for r in a.requests if not r.error]

    @property
    def errors(self) -> int:
        return sum(a.errors for a in self.applicants)

    def summary(self) -> dict:
        lat = self.latencies
        reached = sum(1 for a in self.applicants if a.reached)
        errors = self.errors
        kinds: dict[str, int] = {}
        for a in self.applicants:
            for r in a.requests:
                if r.error:
                    kinds[r.error] = kinds.get(r.error, 0) + 1
        return {
            "rate": self.rate,
            "applicants": len(self.applicants),
            "reached": reached,
            "requests": sum(len(a.requests) for a in self.applicants),
            "errors": errors,
            "error_kinds": kinds,
            "first_failure": next((a.failed for a in self.applicants if a.failed), ""),
            "median_by_kind": median_by_kind(self.applicants),
            "p50_ms": percentile(lat, 0.50),
            "p90_ms": percentile(lat, 0.90),
            "p99_ms": percentile(lat, 0.99) if not errors or lat else float("inf"),
            "max_ms": max(lat, default=0.0),
            "wall_s": self.wall_s,
            "completed_per_s": reached / self.wall_s if self.wall_s else 0.0,
            "cpu": self.cpu,
        }


def median_by_kind(applicants: list[Applicant]) -> dict[str, float]:
    """The median latency of each kind of request (log in, post photo …), answered ones."""
    kinds: dict[str, list[float]] = {}
    for applicant in applicants:
        for request in applicant.requests:
            if not request.error:
                kinds.setdefault(request.what, []).append(request.ms)
    return {what: percentile(values, 0.5) for what, values in kinds.items()}


async def run_step(
    base_url: str,
    applicants: list[Applicant],
    rate: float,
    photo: bytes,
    *,
    timeout: float,
    resend_after: float,
    drain: float,
) -> float:
    """Starts the applicants at `rate` per second, on a fixed schedule (not waiting for
    answers), then waits at most `drain` seconds for the last ones. Returns the wall time."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    tasks = []
    for n, applicant in enumerate(applicants):
        delay = began + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(
            asyncio.create_task(
                apply(base_url, applicant, photo, timeout=timeout, resend_after=resend_after)
            )
        )
    _, pending = await asyncio.wait(tasks, timeout=drain) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return loop.time() - began


def make_applicants(first: int, count: int) -> list[Applicant]:
    result = []
    for index in range(first, first + count):
        repeat = ""
        if index % REPEAT_EVERY == REPEAT_EVERY - 1:
            repeat = "double" if (index // REPEAT_EVERY) % 2 == 0 else "resend"
        result.append(Applicant(index=index, email=EMAIL.format(index), repeat=repeat))
    return result


# --- the report ---------------------------------------------------------------------------


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start != -1 and end != -1 and end > start:
        text = text[:start] + section + text[end + len(END_MARK) :].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text)


def _ms(value: float) -> str:
    return "—" if value == float("inf") else f"{value:.0f}"


def report(result: dict) -> str:
    best = result["best_rate"]
    base = result["baseline"]
    steps = result["steps"]
    db = result["db"]
    per_applicant = result["requests_per_applicant"]
    if best is None:
        headline = (
            f"**Result: no step held**, down to {min(s['rate'] for s in steps):g} applicants/s"
            if steps
            else "**Result: no step ran**"
        )
    else:
        headline = (
            f"**Result: {best:g} applicants/s held** (p99 ≤ 1 s, no errors) — "
            f"**ratio {best / base['ok_per_s']:.3f}** to the baseline's "
            f"{base['ok_per_s']:.0f} requests/s; counted in requests, "
            f"{best * per_applicant:.0f} requests/s ({best * per_applicant / base['ok_per_s']:.2f}"
            " × the baseline)"
        )
    start = result["start_rate"]
    if (
        steps
        and steps[0]["rate"] == start
        and not step_held(steps[0]["p99_ms"], steps[0]["errors"])
    ):
        stopped = f"{start:g}/s, the first step, was not held, so lower rates were tried" + (
            " until one was" if best is not None else f" down to {steps[-1]['rate']:g}/s"
        )
    elif steps and not step_held(steps[-1]["p99_ms"], steps[-1]["errors"]):
        stopped = f"the rate stopped rising at {steps[-1]['rate']:g}/s, the first step not held"
    else:
        stopped = f"every step up to --max-rate {result['max_rate']:g}/s was held"
    lines = [
        START_MARK,
        f"## A deadline spike on the web application ({PROCEDURE_NAME}; `make bench`, "
        "bench/spike.py)",
        "",
        "_Written by `bench/spike.py`; the text between the markers is replaced on each run._",
        "",
        headline
        + f"; {stopped}. Database check: "
        + ("**exact**" if not result["problems"] else "**PROBLEMS**")
        + ".",
        "",
        f"- Date: {result['date']}",
        f"- Command: `{result['command']}`",
        f"- Machine: {result['machine']}",
        f"- Software: Python {platform.python_version()}, Django {result['django']}, "
        f"PostgreSQL {result['postgres']}, gunicorn {result['gunicorn']}, aiohttp "
        f"{result['aiohttp']}, {result['wrk']}",
        f"- Code: commit {result['revision']}",
        "",
        "| arrival rate (applicants/s) | applicants | reached 受付 | requests | errors | "
        "p50 / p90 / **p99** / max (ms) | held | CPU per applicant: server / PostgreSQL / "
        "load generator | machine busy / other processes | waited for an idle server |",
        "|---:|---:|---:|---:|---:|---|:-:|---|---|---:|",
    ]
    for s in steps:
        cpu = s["cpu"]
        n = max(s["applicants"], 1)
        lines.append(
            f"| {s['rate']:g} | {s['applicants']} | {s['reached']} | {s['requests']} | "
            f"{s['errors']}{' (' + ', '.join(f'{k}: {v}' for k, v in s['error_kinds'].items()) + ')' if s['error_kinds'] else ''} | "
            f"{_ms(s['p50_ms'])} / {_ms(s['p90_ms'])} / **{_ms(s['p99_ms'])}** / "
            f"{_ms(s['max_ms'])} | {'yes' if step_held(s['p99_ms'], s['errors']) else 'no'} | "
            f"{cpu['server'] * 1000 / n:.0f} / {cpu['postgres'] * 1000 / n:.0f} / "
            f"{cpu['client'] * 1000 / n:.0f} ms | "
            f"{cpu['busy_share']:.0%} / {cpu['other_share']:.0%} | "
            f"{s['idle_wait_s']:.0f} s{'' if s['idle_wait_s'] < IDLE_MAX_WAIT - 1 else ' (not idle)'} |"
        )
    shown = next((s for s in steps if s["rate"] == best), steps[0] if steps else None)
    if shown and shown["median_by_kind"]:
        lines += [
            "",
            f"Median latency by request at the rate of {shown['rate']:g} applicants/s: "
            + ", ".join(f"{what} {ms:.0f} ms" for what, ms in shown["median_by_kind"].items())
            + ".",
        ]
    lines += [
        "",
        f"Baseline (`POST /bench/baseline`, the bare Django view of bench/run.py, on the same "
        f"server in the same run): **{base['ok_per_s']:.0f} requests/s**, p99 "
        f"{base['p99_ms']:.1f} ms, {base['not_ok']} non-2xx, measured with "
        f"`{shlex.join(base['command'])}`.",
        "",
        f"Database check after the run: {db['applicants_reached']} applicants reached the 受付 "
        f"page ({db['repeaters_reached']} of them submitted twice: "
        f"double click {db['double_reached']}, resend {db['resend_reached']}); "
        f"{db['submitted']} submitted applications of the procedure with "
        f"{db['distinct_receipt_numbers']} distinct 受付番号; applicants with more than one "
        f"application: {db['duplicates']} — "
        + (
            "exactly one application per applicant who reached 受付."
            if not result["problems"]
            else "**problems:** " + "; ".join(p.replace("|", "/") for p in result["problems"][:10])
        ),
        f"Server log: {result['log'] or 'no errors'}.",
        "",
        "How it ran:",
        "",
        f"- Server: `{result['gunicorn_cmd']}` on PostgreSQL (a fresh database, the sample "
        "without applications), with bench/run.py's production-like settings (`DEBUG=0`, "
        "`TASKS_BACKEND=database`, secure cookies, CSRF, database sessions), and one "
        f"difference: `MADOGUCHI_LOGIN_RATE_LIMIT={LOGIN_RATE_LIMIT}`. allauth allows 30 "
        "successful log-ins a minute per IP address, and every virtual applicant comes from "
        "127.0.0.1; the limit is raised for this server only (the check still runs on each "
        "log-in), the failed-log-in limits are unchanged.",
        f"- {result['residents']} residents created beforehand (e-mail verified, one password "
        "hashed once with Argon2); applicant n is spike-n@example.jp, each used once. One "
        f"password check ({result.get('password_hash', 'Argon2id')}, memory-hard on purpose; "
        "decision 0023) took "
        f"{result['password_check_ms']['cpu']:.0f} ms of CPU "
        f"({result['password_check_ms']['wall']:.0f} ms of wall time) in this run, outside the "
        "server: the log-in POST pays it, and it alone limits the log-ins a core can do.",
        f"- Open arrival: a new applicant every 1/rate s for {result['step_seconds']:g} s per "
        f"step, whatever the server answers; then up to {result['drain']:g} s for the last "
        "ones to finish (one still running then counts as an error). The rate starts at "
        f"{start:g}/s and rises through 1, 1.5, 2, 3, 4, 6, 8 × 10ⁿ (up to "
        f"{result['max_rate']:g}/s) while each step is held; when already the first is "
        f"not, it falls through the same series (down to {result['min_rate']:g}/s, skipping "
        "the rates above the one at which the step before completed applicants) until one "
        "is. Before each step the server is left to finish what a step before queued, and "
        f"PostgreSQL gets a `CHECKPOINT`. Warm-up: {result['warmup']} applicants, one a "
        "second, not counted (its last two submit twice, a double click and a resend, and "
        "every one of them must reach 受付, or the run stops).",
        f"- Each applicant ({per_applicant:.0f} requests, redirects followed one by one and "
        "each timed): the log-in page and its form (CSRF token and cookie), the start page "
        "and its form, each of the five pages (GET, then POST of its form as a browser sends "
        "it, multipart on the photo page with a 300×400 JPEG drawn with Pillow), the check "
        "page and its form, the 受付 page. One in twenty POSTs the final form twice: at once "
        "(a double click; both answers must lead to the 受付 page) or abandoning the first "
        f"after {result['resend_after']:g} s and sending it again (a resend). Not part of "
        "the walk: static files (a browser has them cached after the first page) and paying "
        "the 入学検定料 after 受付.",
        "- A step is held when the p99 of all the requests of its applicants is at most "
        "1 s and none failed (any status other than the expected one, a connection error or "
        "a timeout of "
        f"{result['timeout']:g} s). The ratio divides the highest rate held (applicants/s) by "
        "the baseline's requests/s; an applicant makes "
        f"{per_applicant:.0f} requests, the baseline one.",
        "- The load generator (one asyncio process with aiohttp) runs on the same machine "
        "and shares its cores with the server and PostgreSQL. **The machine is shared with "
        "other agents' work** (see “other processes” in the table): the numbers are lower "
        "than on an idle machine, and move between runs.",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start-rate", type=float, default=10, help="applicants/s (10)")
    parser.add_argument("--max-rate", type=float, default=100, help="the last step (100)")
    parser.add_argument(
        "--min-rate",
        type=float,
        default=1,
        help="when the first step is not held, lower rates are tried down to this (1)",
    )
    parser.add_argument("--step-seconds", type=float, default=20, help="arrivals per step (20 s)")
    parser.add_argument(
        "--drain", type=float, default=30, help="seconds to wait for a step's last applicants (30)"
    )
    parser.add_argument("--timeout", type=float, default=30, help="per request (30 s)")
    parser.add_argument(
        "--resend-after",
        type=float,
        default=0.2,
        help="a resend abandons its first submit after this (0.2 s)",
    )
    parser.add_argument("--warmup", type=int, default=10, help="applicants before measuring")
    parser.add_argument("--baseline-duration", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (baseline)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--database", default="madoguchi_bench_spike")
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--quiet-threshold", type=float, default=0.15)
    parser.add_argument("--max-wait", type=float, default=60)
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--verify", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.prepare and not args.verify:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.database):
            parser.error("--database: lower-case letters, digits and _ only")
        try:
            rate_series(args.min_rate, args.max_rate)
        except ValueError:
            parser.error("--min-rate must be positive and at most --max-rate")
        if not args.min_rate <= args.start_rate <= args.max_rate:
            parser.error("--start-rate must lie between --min-rate and --max-rate")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.prepare or args.verify:
        import django

        django.setup()
        print(json.dumps(prepare(args.prepare) if args.prepare else verify(args.verify)))
        return 0
    if shutil_which("wrk") is None:
        say("bench: wrk is not installed. Run `make system-deps` (as root) to install it.")
        return 2
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGHUP, _raise_exit)
    try:
        return run(args)
    except BenchError as exc:
        say(f"bench: {exc}")
        return 2


def shutil_which(name: str):
    import shutil

    return shutil.which(name)


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    planned = rate_series(args.min_rate, args.max_rate)
    residents = args.warmup + sum(math.ceil(r * args.step_seconds) for r in planned)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    pg = _bench.Postgres(args.pg_host, args.pg_port, args.pg_user)
    step(f"PostgreSQL at {pg.host}:{pg.port}")
    postgres_version = pg.ensure_up()
    step(f"fresh database {args.database}")
    pg.recreate(args.database)
    port = _bench._free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-spike-") as tmp:
        tmpdir = Path(tmp)
        # bench/run.py's settings, with the log-in limit per IP raised (see LOGIN_RATE_LIMIT).
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "MADOGUCHI_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": pg.url(args.database),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TASKS_BACKEND": "database",
            "MADOGUCHI_BENCH": "1",
            "MADOGUCHI_DATA_DIR": str(tmpdir / "data"),
            "LOG_LEVEL": "WARNING",
            "MADOGUCHI_EXTRA_PREFECTURES": "さくら県",
            "MADOGUCHI_DEMO_IDENTITY": "1",
            "MADOGUCHI_ALLOW_DEMO_IN_PRODUCTION": "1",
            "MADOGUCHI_LOGIN_RATE_LIMIT": LOGIN_RATE_LIMIT,
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DEBUG_SQL", "DATABASE_CONN_MAX_AGE", "CACHE_URL", "EMAIL_HOST"):
            env.pop(name, None)
        manage = [sys.executable, "-m", "madoguchi"]
        step("migrate, createcachetable, collectstatic, sample load")
        _bench._run([*manage, "migrate", "--no-input", "-v0"], env=env, what="migrate")
        # The pages are HTML with hashed static URLs (whitenoise's manifest), as deployed.
        _bench._run([*manage, "collectstatic", "--no-input", "-v0"], env=env, what="collectstatic")
        _bench._run([*manage, "createcachetable"], env=env, what="createcachetable")
        _bench._run(
            [*manage, "sample", "load", "--force", "--without-applications"],
            env=env,
            what="sample load",
        )
        step(f"{residents} residents")
        prepared = json.loads(
            _bench._run(
                [sys.executable, __file__, "--prepare", str(residents)], env=env, what="prepare"
            )
        )
        bench_prepared = json.loads(
            _bench._run([*manage, "benchmark", "prepare"], env=env, what="benchmark prepare")
        )
        payload_file = tmpdir / "payload.json"
        payload_file.write_bytes(json.dumps(bench_prepared["payload"], ensure_ascii=False).encode())
        gunicorn_args = [
            "--workers", str(args.workers),
            "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}",
            "--backlog", "2048",
            "--worker-tmp-dir", "/dev/shm" if Path("/dev/shm").is_dir() else str(tmpdir),
            "--timeout", "60",
            "--log-level", "warning",
            "madoguchi.wsgi:application",
        ]  # fmt: skip
        server = _bench.Server(
            [sys.executable, "-m", "gunicorn", *gunicorn_args],
            env,
            tmpdir / "gunicorn.log",
            base_url,
        )
        try:
            step(f"gunicorn, {args.workers} sync workers, on {base_url}")
            server.start()
            result = _measure(
                args, pg, server, base_url, env, payload_file, bench_prepared["token"], planned
            )
        finally:
            step("stopping gunicorn")
            server.stop()
            if not args.keep_database:
                with contextlib.suppress(Exception):
                    pg.drop(args.database)
    import aiohttp
    import django
    import gunicorn

    result.update(
        residents=prepared["residents"],
        password_check_ms=prepared["password_check_ms"],
        password_hash=prepared.get("password_hash", "Argon2id"),
        postgres=postgres_version,
        gunicorn_cmd=shlex.join(["gunicorn", *gunicorn_args]),
        gunicorn=gunicorn.__version__,
        django=django.get_version(),
        aiohttp=aiohttp.__version__,
        wrk=_bench.wrk_version(),
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=_invocation(),
        machine=_machine(),
        revision=_bench.git_revision(),
        start_rate=args.start_rate,
        min_rate=args.min_rate,
        max_rate=args.max_rate,
        step_seconds=args.step_seconds,
        drain=args.drain,
        warmup=args.warmup,
        timeout=args.timeout,
        resend_after=args.resend_after,
    )
    section = report(result)
    say("")
    say(section)
    if not args.no_docs:
        write_docs(section)
        say(f"  written to {DOCS.relative_to(ROOT)}")
    # No target for the rate (it depends on the machine): only a wrong database fails.
    return 1 if result["problems"] else 0


def _invocation() -> str:
    if os.environ.get("MAKELEVEL") and len(sys.argv) == 1:
        return "make bench"
    return shlex.join([".venv/bin/python", "bench/spike.py", *sys.argv[1:]])


def _machine() -> str:
    info = _bench.machine()
    return f"{info['cores']} cores ({info['cpu_model']}), {info['ram']} RAM, {info['os']}"


def wait_server_idle(server_pgid: int, max_wait: float) -> float:
    """Waits (at most max_wait s) until the server's processes use less than a tenth of a
    core: requests left queued by a step not held (their applicants gave up) are done.
    Returns the seconds waited."""
    began = time.monotonic()

    def used() -> float:
        server, _ = _bench._process_ticks(server_pgid, None)
        return sum(sum(ticks) for ticks in server.values()) / _bench.CLOCK_TICKS

    last = used()
    while time.monotonic() - began < max_wait:
        time.sleep(1.0)
        now = used()
        if now - last < 0.1:
            break
        last = now
    return time.monotonic() - began


def _measure(args, pg, server, base_url, env, payload_file, token, planned) -> dict:
    import aiohttp  # noqa: F401 - fail early if the client is missing

    photo = photo_jpeg()
    step(f"warm-up: {args.warmup} applicants, one a second")
    warm = make_applicants(0, args.warmup)
    if len(warm) >= 3:
        # Every run tries both ways of submitting twice before it measures anything.
        warm[-2].repeat, warm[-1].repeat = "double", "resend"
    if warm:
        asyncio.run(
            run_step(base_url, warm, 1.0, photo, timeout=args.timeout,
                     resend_after=args.resend_after, drain=max(args.drain, 300))
        )  # fmt: skip
        failed = [a for a in warm if not a.reached]
        if failed:
            raise BenchError(
                f"{len(failed)} of {len(warm)} warm-up applicants failed: {failed[0].failed}\n"
                f"{server.log_tail()}"
            )
    step("baseline: warm-up, then POST /bench/baseline with wrk")
    common = {
        "base_url": base_url,
        "payload_file": payload_file,
        "token": token,
        "args": args,
        "server_pgid": server.process.pid,
    }
    _bench.run_wrk(name="warm-up baseline", path=_bench.BASELINE_PATH, duration=5, **common)
    pg.checkpoint()
    _bench.wait_for_quiet(args.quiet_threshold, args.max_wait)
    base = _bench.run_wrk(
        name="baseline", path=_bench.BASELINE_PATH, duration=args.baseline_duration, **common
    )
    say(f"    {base.ok_per_s:.1f} requests/s, p99 {base.latency_ms['p99']:.1f} ms")

    everyone = list(warm)
    steps: list[dict] = []
    first = args.warmup
    history: list[tuple[float, bool]] = []
    completed: float | None = None
    while (
        rate := next_rate(history, args.start_rate, args.min_rate, args.max_rate, completed)
    ) is not None:
        count = math.ceil(rate * args.step_seconds)
        applicants = make_applicants(first, count)
        first += count
        everyone += applicants
        # Requests of a step not held may still queue in the server: it starts idle.
        idle = wait_server_idle(server.process.pid, IDLE_MAX_WAIT)
        pg.checkpoint()
        _bench.wait_for_quiet(args.quiet_threshold, args.max_wait)
        step(f"{rate:g} applicants/s for {args.step_seconds:g} s ({count} applicants)")
        client_before = resource.getrusage(resource.RUSAGE_SELF)
        with _bench.CpuMeter(server.process.pid, args.database) as meter:
            wall = asyncio.run(
                run_step(base_url, applicants, rate, photo, timeout=args.timeout,
                         resend_after=args.resend_after, drain=args.drain)
            )  # fmt: skip
        use = meter.use()
        cores = len(os.sched_getaffinity(0))
        use["busy_share"] = min(use["busy"] / (use["wall"] * cores), 1.0) if use["wall"] else 0
        # This process (the load generator) is neither the server nor other work.
        client_after = resource.getrusage(resource.RUSAGE_SELF)
        use["client"] = (client_after.ru_utime + client_after.ru_stime) - (
            client_before.ru_utime + client_before.ru_stime
        )
        use["other"] = max(use["other"] - use["client"], 0.0)
        use["other_share"] = use["other"] / (use["wall"] * cores) if use["wall"] else 0.0
        summary = StepResult(rate, args.step_seconds, applicants, wall, use).summary()
        summary["idle_wait_s"] = idle
        steps.append(summary)
        history.append((rate, step_held(summary["p99_ms"], summary["errors"])))
        completed = summary["completed_per_s"]
        say(
            f"    reached 受付 {summary['reached']}/{summary['applicants']}, "
            f"{summary['requests']} requests, {summary['errors']} errors, p50 "
            f"{_ms(summary['p50_ms'])} ms, p99 {_ms(summary['p99_ms'])} ms"
            + (f"; first failure: {summary['first_failure'][:300]}" if summary["errors"] else "")
        )
    wait_server_idle(server.process.pid, IDLE_MAX_WAIT)

    # Requests of one applicant who went through once (every one makes the same).
    plain = [a for a in everyone if a.reached and not a.repeat]
    per_applicant = len(plain[0].requests) if plain else 0

    step("checking the database")
    emails_file = Path(env["MADOGUCHI_DATA_DIR"]).parent / "emails.json"
    emails_file.write_text(json.dumps([a.email for a in everyone]))
    db = json.loads(
        _bench._run([sys.executable, __file__, "--verify", str(emails_file)], env=env,
                    what="verify")
    )  # fmt: skip
    reached = {a.email for a in everyone if a.reached}
    submitting = {a.email for a in everyone if a.submitting}
    problems = check_applications(reached, submitting, db["rows"])
    if db["distinct_receipt_numbers"] != db["submitted"] or db["without_receipt_number"]:
        problems.append(
            f"{db['submitted']} submitted applications, {db['distinct_receipt_numbers']} "
            f"distinct 受付番号, {db['without_receipt_number']} without one"
        )
    log = server.log_problems()
    if log:
        say("server log errors:\n" + "\n".join(log[:40]))
        problems.append(f"{len(log)} error lines in the server log")
    db_summary = {
        "applicants_reached": len(reached),
        "repeaters_reached": sum(1 for a in everyone if a.reached and a.repeat),
        "double_reached": sum(1 for a in everyone if a.reached and a.repeat == "double"),
        "resend_reached": sum(1 for a in everyone if a.reached and a.repeat == "resend"),
        "submitted": db["submitted"],
        "distinct_receipt_numbers": db["distinct_receipt_numbers"],
        "duplicates": sum(1 for counts in db["rows"].values() if counts["all"] > 1),
    }
    if problems:
        say("database check problems:\n  " + "\n  ".join(problems[:20]))
    return {
        "steps": steps,
        "best_rate": highest_held(steps),
        "baseline": {
            "ok_per_s": base.ok_per_s,
            "p99_ms": base.latency_ms["p99"],
            "not_ok": base.not_ok,
            "command": base.command,
        },
        "requests_per_applicant": per_applicant,
        "db": db_summary,
        "problems": problems,
        "log": "; ".join(line[:200] for line in log[:3]),
    }


if __name__ == "__main__":
    sys.exit(main())
