"""Fixtures of the approval tests: staff of the sample by short names, a subject kind of
the tests' own that records its callbacks, and routes written inline."""

from __future__ import annotations

import textwrap

import pytest

from madoguchi.approvals import registry, services
from madoguchi.approvals.models import ApprovalStep, StepState
from madoguchi.identity.models import User
from madoguchi.organisation import services as organisation
from madoguchi.organisation.models import Body, Unit

STAFF = {
    "tanto": "shimin.tanto@aoba.example.jp",  # 市民課 担当
    "kakaricho": "shimin.kakaricho@aoba.example.jp",  # 証明係長
    "kacho": "shimin.kacho@aoba.example.jp",  # 市民課長
    "hosa": "shimin.hosa@aoba.example.jp",  # 市民課長補佐 (the 課長's deputy in the sample)
    "bucho": "shimin.bucho@aoba.example.jp",  # 市民生活部長
    "somu": "somu.kacho@aoba.example.jp",  # 総務課長
    "zaisei": "zaisei.kacho@aoba.example.jp",  # 財政課長
    "kodomo_tanto": "kodomo.tanto@aoba.example.jp",
    "kodomo_kacho": "kodomo.kacho@aoba.example.jp",
    "kankyo": "kankyo.tanto@aoba.example.jp",
    "minato": "chomin.tanto@minato.example.jp",
    "admin": "admin@aoba.example.jp",
}


class People(dict):
    def __getattr__(self, name):
        return self[name]


@pytest.fixture
def people(sample) -> People:
    return People({key: User.objects.get(email=email) for key, email in STAFF.items()})


@pytest.fixture
def aoba(sample) -> Body:
    return Body.objects.get(code="992011")


def unit(code: str, body: str = "992011") -> Unit:
    return Unit.objects.get(body__code=body, code=code)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int | None]] = []

    def hook(self, name: str):
        def callback(*, instance, actor):
            self.calls.append((name, instance.subject_id, actor.pk if actor else None))

        return callback

    def names(self) -> list[str]:
        return [name for name, _subject, _actor in self.calls]


@pytest.fixture
def recorder():
    """A subject kind `test_subject` whose callbacks are recorded."""
    found = Recorder()
    registry.register_kind(
        "test_subject",
        label="テスト案件",
        on_completed=found.hook("completed"),
        on_returned=found.hook("returned"),
        on_recalled=found.hook("recalled"),
        on_cancelled=found.hook("cancelled"),
        context_fields={"amount": "金額"},
    )
    yield found
    registry.unregister_kind("test_subject")


@pytest.fixture
def route(tmp_path, aoba):
    """Loads a route written inline (YAML without the common header) and returns it."""

    def load(body_yaml: str, *, identifier: str = "test-route", body: str = "992011"):
        folder = tmp_path / f"routes-{identifier}"
        folder.mkdir(exist_ok=True)
        header = f'schema_version: 1\nid: {identifier}\nbody: "{body}"\nname: テストルート\n'
        (folder / f"{identifier}.yaml").write_text(
            header + textwrap.dedent(body_yaml), encoding="utf-8"
        )
        services.load_routes(folder)
        from madoguchi.approvals.selectors import route_for

        return route_for(Body.objects.get(code=body), identifier)

    return load


_counter = {"n": 0}


def start(route_version, drafter, *, drafter_unit=None, context=None, kind="test_subject"):
    _counter["n"] += 1
    return services.start_approval(
        kind=kind,
        subject_id=f"subject-{_counter['n']}",
        route=route_version,
        drafter=drafter,
        drafter_unit=drafter_unit or drafter.memberships.first().unit,
        title="テストの起案",
        context=context,
    )


def pending(instance) -> list[ApprovalStep]:
    return list(
        ApprovalStep.objects.filter(
            instance=instance, state=StepState.PENDING, superseded_at__isnull=True
        ).order_by("pk")
    )


def only_pending(instance) -> ApprovalStep:
    steps = pending(instance)
    assert len(steps) == 1, steps
    return steps[0]


def approve(instance, actor, **kwargs):
    step = only_pending(instance)
    return services.approve_step(step=step, actor=actor, expected_version=step.version, **kwargs)


def make_member(user, unit_, position: str, roles=()):
    organisation.add_membership(actor=None, user=user, unit=unit_, position=position)
    if roles:
        organisation.set_roles(actor=None, user=user, unit=unit_, roles=roles)
    return user


def new_staff(email: str, unit_, position: str, roles=()):
    user = organisation.ensure_staff_user(email=email, name=email.split("@")[0])
    return make_member(user, unit_, position, roles)
