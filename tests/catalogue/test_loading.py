"""Loading the catalogue: versions, idempotency, immutability and all-or-nothing."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from madoguchi.catalogue.models import Procedure, ProcedureVersion
from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.catalogue.services import CatalogueRejected, definition_hash, load_catalogue
from madoguchi.counter import services as counter
from madoguchi.counter.models import Application, State
from madoguchi.identity import levels
from madoguchi.ledger.models import Event
from madoguchi.organisation.models import Body, Unit

from .test_validation import BASE, SAMPLE_CATALOGUE, changed

pytestmark = pytest.mark.django_db

DOG_ANSWERS = {
    "owner_name": {
        "family": "山田",
        "given": "花子",
        "family_kana": "やまだ",
        "given_kana": "はなこ",
    },
    "owner_address": {
        "postal_code": "9990001",
        "prefecture": "さくら県",
        "city": "あおば市",
        "street": "中央一丁目2番3号",
        "building": "",
    },
    "owner_phone": "090-1234-5678",
    "dog_location": "same",
    "dog_name": "ポチ",
    "breed": "柴犬",
    "coat_colour": "赤",
    "dog_sex": "オス",
    "has_microchip": "no",
    "vaccinated": "no",
    "delivery": "mail",
}

NEW_DOG_FIELD = """\
      - id: dog_name
        type: text
        label: 犬の名前
        label_en: "Dog's name"
        max_length: 30
      - id: dog_nickname
        type: text
        label: 呼び名
        required: false
"""


def copy_sample(tmp_path: Path) -> Path:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(SAMPLE_CATALOGUE, catalogue)
    return catalogue


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    file.write_text(text.replace(old, new), encoding="utf-8")


def version_numbers() -> dict[str, list[int]]:
    result: dict[str, list[int]] = {}
    for version in ProcedureVersion.objects.select_related("procedure__body").order_by("number"):
        key = f"{version.procedure.body.code}/{version.procedure.identifier}"
        result.setdefault(key, []).append(version.number)
    return result


SAMPLE_LABELS = [
    "990001/highschool-web-application",
    "990001/omoiyari-parking",
    "992011/child-allowance",
    "992011/dog-registration",
    "992011/income-certificate",
    "992011/juminhyo-copy",
    "993417/dog-registration",
]


def test_first_load_creates_version_1_of_everything(sample):
    assert version_numbers() == {label: [1] for label in SAMPLE_LABELS}
    for procedure in Procedure.objects.select_related("current_version", "unit"):
        version = procedure.current_version
        assert version.number == 1
        assert version.procedure_id == procedure.pk
        assert version.definition["id"] == procedure.identifier
        assert version.definition_sha256 == definition_hash(version.definition)
        assert procedure.unit.code == version.definition["department"]
    juminhyo = procedure_by_identifier("992011", "juminhyo-copy").current_version
    assert juminhyo.name == "住民票の写し等の交付請求"
    assert juminhyo.name_kana == "じゅうみんひょうのうつしとうのこうふせいきゅう"
    assert juminhyo.life_events == ["moving", "certificates"]
    assert juminhyo.identity_level == "mynumber_card"
    assert "じゅうみんひょう" in juminhyo.search_reading
    assert juminhyo.source_path.endswith("992011/juminhyo-copy.yaml")
    assert Event.objects.filter(event_type="procedure.version_published").count() == 7


def test_loading_unchanged_definitions_creates_nothing(sample, tmp_path):
    events = Event.objects.count()
    report = load_catalogue(SAMPLE_CATALOGUE)
    assert report.created == [] and report.new_versions == []
    assert sorted(report.unchanged) == SAMPLE_LABELS
    # A copy elsewhere, with a changed comment and layout, is the same definition.
    catalogue = copy_sample(tmp_path)
    edit(
        catalogue / "992011" / "dog-registration.yaml",
        "# 犬の登録申請",
        "# 犬の登録（コメントだけ変更）",
    )
    edit(
        catalogue / "992011" / "dog-registration.yaml",
        "life_events: [pets, moving]",
        "life_events:\n  - pets\n  - moving",
    )
    report = load_catalogue(catalogue)
    assert sorted(report.unchanged) == SAMPLE_LABELS
    assert version_numbers() == {label: [1] for label in SAMPLE_LABELS}
    assert Event.objects.count() == events


def test_a_changed_definition_becomes_version_2(sample, tmp_path):
    procedure = procedure_by_identifier("992011", "dog-registration")
    v1 = procedure.current_version
    catalogue = copy_sample(tmp_path)
    dog = catalogue / "992011" / "dog-registration.yaml"
    edit(dog, NEW_DOG_FIELD.split("      - id: dog_nickname")[0], NEW_DOG_FIELD)
    edit(dog, "name: 犬の登録申請", "name: 犬の登録の申請")

    report = load_catalogue(catalogue)
    assert report.new_versions == ["992011/dog-registration"]
    assert report.created == []
    assert len(report.unchanged) == 6

    procedure.refresh_from_db()
    v2 = procedure.current_version
    assert v2.pk != v1.pk and v2.number == 2
    assert "dog_nickname" in v2.spec.fields
    assert v2.name == "犬の登録の申請"
    assert v2.source_path == str(dog)
    # Version 1 is untouched.
    v1_again = ProcedureVersion.objects.get(pk=v1.pk)
    assert "dog_nickname" not in v1_again.spec.fields
    assert v1_again.name == "犬の登録申請"
    assert v1_again.definition_sha256 == v1.definition_sha256
    # The other body's procedure with the same identifier is another procedure.
    assert procedure_by_identifier("993417", "dog-registration").current_version.number == 1
    event = Event.objects.filter(
        event_type="procedure.version_published", subject_id=str(procedure.pk)
    ).latest("pk")
    assert event.details == {"identifier": "dog-registration", "version": 2}
    assert event.content_sha256 == v2.definition_sha256

    # Loading the same again creates nothing more; going back is a new version 3.
    assert load_catalogue(catalogue).new_versions == []
    report = load_catalogue(SAMPLE_CATALOGUE)
    assert report.new_versions == ["992011/dog-registration"]
    procedure.refresh_from_db()
    assert procedure.current_version.number == 3
    assert procedure.current_version.definition == v1.definition
    assert version_numbers()["992011/dog-registration"] == [1, 2, 3]


def test_moving_a_procedure_to_another_unit(sample, tmp_path):
    catalogue = copy_sample(tmp_path)
    edit(
        catalogue / "992011" / "dog-registration.yaml",
        "department: seikatsu-kankyo",
        "department: shiminka",
    )
    load_catalogue(catalogue)
    procedure = procedure_by_identifier("992011", "dog-registration")
    assert procedure.unit.code == "shiminka"
    assert procedure.current_version.number == 2


def test_a_version_cannot_be_saved_twice(sample):
    version = procedure_by_identifier("992011", "juminhyo-copy").current_version
    original = dict(version.definition)
    version.definition = {**original, "name": "改ざん"}
    version.name = "改ざん"
    with pytest.raises(ValueError, match="immutable"):
        version.save()
    with pytest.raises(ValueError, match="immutable"):
        version.save(update_fields=["name"])
    stored = ProcedureVersion.objects.get(pk=version.pk)
    assert stored.name == "住民票の写し等の交付請求"
    assert stored.definition == original


def test_two_versions_cannot_share_a_number(sample):
    version = procedure_by_identifier("992011", "juminhyo-copy").current_version
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcedureVersion.objects.create(
            procedure=version.procedure,
            number=version.number,
            definition=version.definition,
            definition_sha256="0" * 64,
            name=version.name,
            name_kana=version.name_kana,
            category=version.category,
            identity_level=version.identity_level,
            channel=version.channel,
        )


def test_one_bad_file_among_good_ones_loads_nothing(sample, tmp_path):
    catalogue = copy_sample(tmp_path)
    edit(catalogue / "992011" / "dog-registration.yaml", "amount: 3000", "amount: 3500")
    (catalogue / "992011" / "new.yaml").write_text(BASE, encoding="utf-8")
    bad = catalogue / "993417" / "broken.yaml"
    bad.write_text(changed("        min: 1\n", "        min: one\n"), encoding="utf-8")
    before = version_numbers()
    events = Event.objects.count()

    with pytest.raises(CatalogueRejected) as caught:
        load_catalogue(catalogue)
    assert [(p.file, p.line, p.path) for p in caught.value.problems] == [
        (str(bad), 33, "pages[0].fields[2].min")
    ]
    assert version_numbers() == before
    assert (
        procedure_by_identifier("992011", "dog-registration").current_version.definition["fee"][
            "amount"
        ]
        == 3000
    )
    assert not Procedure.objects.filter(identifier="test-procedure").exists()
    assert Event.objects.count() == events


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        (
            'body: "992011"',
            'body: "999999"',
            "body",
            "団体コード 999999 の団体が登録されていません。",
        ),
        (
            "department: shiminka",
            "department: nowhere",
            "department",
            "あおば市に組織コード「nowhere」の組織がありません。",
        ),
        (
            "department: shiminka",
            "department: shogai-fukushi",
            "department",
            "あおば市に組織コード「shogai-fukushi」",
        ),
    ],
)
def test_unknown_body_or_unit_loads_nothing(sample, tmp_path, old, new, path, words):
    catalogue = copy_sample(tmp_path)
    good = catalogue / "992011" / "good.yaml"
    good.write_text(changed("id: test-procedure", "id: good-procedure"), encoding="utf-8")
    wrong = catalogue / "wrong.yaml"
    wrong.write_text(changed(old, new), encoding="utf-8")
    before = version_numbers()
    with pytest.raises(CatalogueRejected) as caught:
        load_catalogue(catalogue)
    problems = caught.value.problems
    assert [(p.file, p.path) for p in problems] == [(str(wrong), path)]
    assert problems[0].ja.startswith(words)
    assert version_numbers() == before
    assert not Procedure.objects.filter(
        identifier__in=["good-procedure", "test-procedure"]
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_half_way_rolls_back_everything(tmp_path):
    """No test transaction around this one: only load_catalogue's own keeps the first
    procedure out when the second fails. The failure is real: a stray version 1 of a
    procedure without a current version makes the insert of its version 1 collide."""
    body = Body.objects.create(code="992011", name="あおば市", kind=Body.Kind.MUNICIPALITY)
    unit = Unit.objects.create(body=body, code="shiminka", name="市民課", kind=Unit.Kind.DIVISION)
    blocked = Procedure.objects.create(body=body, identifier="zzz-last", unit=unit)
    ProcedureVersion.objects.create(
        procedure=blocked,
        number=1,
        definition={},
        definition_sha256="0" * 64,
        name="残骸",
        name_kana="ざんがい",
        category="テスト",
        identity_level="account",
        channel="online",
    )
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "a.yaml").write_text(changed("id: test-procedure", "id: aaa-first"), encoding="utf-8")
    (folder / "z.yaml").write_text(changed("id: test-procedure", "id: zzz-last"), encoding="utf-8")
    with pytest.raises(IntegrityError):
        load_catalogue(folder)
    assert not Procedure.objects.filter(identifier="aaa-first").exists()
    assert ProcedureVersion.objects.count() == 1
    assert not Event.objects.filter(event_type="procedure.version_published").exists()


def test_loading_with_own_body_and_unit(tmp_path):
    body = Body.objects.create(code="992011", name="あおば市", kind=Body.Kind.MUNICIPALITY)
    unit = Unit.objects.create(body=body, code="shiminka", name="市民課", kind=Unit.Kind.DIVISION)
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "test.yaml").write_text(BASE, encoding="utf-8")
    report = load_catalogue(folder, actor_id="staff-7")
    assert report.created == ["992011/test-procedure"]
    procedure = Procedure.objects.get(body=body, identifier="test-procedure")
    assert procedure.unit == unit
    version = procedure.current_version
    assert version.number == 1
    assert version.opens_at.isoformat() == "2026-04-01T00:00:00+00:00"
    assert version.closes_at.isoformat() == "2026-05-01T08:00:00+00:00"
    assert version.channel == "online"
    event = Event.objects.get(event_type="procedure.version_published")
    assert (event.actor_kind, event.actor_id, event.body_id) == ("staff", "staff-7", body.pk)


def test_application_keeps_the_version_it_was_made_under(sample, hanako, tmp_path):
    procedure = procedure_by_identifier("992011", "dog-registration")
    v1 = procedure.current_version
    submitted, created = counter.create_and_submit(
        procedure=procedure,
        applicant=hanako,
        answers=DOG_ANSWERS,
        idempotency_key=uuid.uuid4(),
        identity_level=levels.ACCOUNT,
    )
    assert created and submitted.state == State.SUBMITTED
    draft = counter.start_application(procedure=procedure, applicant=hanako)
    assert draft.procedure_version_id == v1.pk

    catalogue = copy_sample(tmp_path)
    dog = catalogue / "992011" / "dog-registration.yaml"
    edit(dog, NEW_DOG_FIELD.split("      - id: dog_nickname")[0], NEW_DOG_FIELD)
    edit(dog, "        label: 犬の名前\n", "        label: 犬のなまえ（新）\n")
    load_catalogue(catalogue)
    procedure.refresh_from_db()
    assert procedure.current_version.number == 2

    for application in (submitted, draft):
        application = Application.objects.select_related("procedure_version").get(pk=application.pk)
        assert application.procedure_version_id == v1.pk
        assert application.procedure_version.number == 1

    application = Application.objects.select_related("procedure_version").get(pk=submitted.pk)
    sections = application.procedure_version.spec.display_rows(application.answers)
    rows = {row["id"]: row for section in sections for row in section["rows"]}
    assert "dog_nickname" not in rows
    assert rows["dog_name"]["label"] == "犬の名前"
    assert rows["dog_name"]["value"] == "ポチ"
    assert rows["owner_phone"]["value"] == "090-1234-5678"
    assert rows["owner_name"]["value"] == "山田 花子（やまだ はなこ）"
    assert [section["page"].id for section in sections] == ["owner", "dog", "rabies"]
    # The same answers shown with version 2 would have the new label.
    v2_rows = {
        row["id"]: row
        for section in procedure.current_version.spec.display_rows(application.answers)
        for row in section["rows"]
    }
    assert v2_rows["dog_name"]["label"] == "犬のなまえ（新）"

    # A new application uses version 2.
    newer = counter.start_application(procedure=procedure, applicant=hanako)
    assert newer.procedure_version.number == 2
