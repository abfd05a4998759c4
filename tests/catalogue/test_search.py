"""Japanese search over the sample catalogue, as a resident types it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from madoguchi.catalogue import search, selectors
from madoguchi.catalogue.services import load_catalogue

from .test_validation import changed

pytestmark = pytest.mark.django_db


def found(query: str, **filters) -> list[str]:
    return [f"{p.body.code}/{p.identifier}" for p in selectors.search_procedures(query, **filters)]


JUMINHYO_QUERIES = [
    "じゅうみんひょう",
    "住民票 写し",
    "住民票の写し",
    "住民票　写し",
    "ジュウミンヒョウ",
    "ｼﾞｭｳﾐﾝﾋｮｳ",
    "ｼﾞｭｳﾐﾝﾋｮｳ ｳﾂｼ",
    "じゅうみんひょう うつし",
    "住民票",
    " 住民票の写し ",
]


@pytest.mark.parametrize("query", JUMINHYO_QUERIES)
def test_juminhyo_is_found_first(sample, query):
    results = found(query)
    assert results and results[0] == "992011/juminhyo-copy"


@pytest.mark.parametrize("query", ["いぬ", "犬", "イヌ", "ｲﾇ", "犬の登録", "いぬ とうろく"])
def test_dog_registration(sample, query):
    assert found(query)[:2] == ["992011/dog-registration", "993417/dog-registration"]


@pytest.mark.parametrize("query", ["児童手当", "じどうてあて", "ジドウテアテ"])
def test_child_allowance(sample, query):
    assert found(query)[0] == "992011/child-allowance"


@pytest.mark.parametrize("query", ["ほげほげ", "qwerty", "宇宙旅行", "ぴよぴよぴよ", "zzz 住民票"])
def test_nonsense_finds_nothing(sample, query):
    assert found(query) == []


def test_every_word_must_match(sample):
    """「住民票 犬」: no procedure is about both."""
    assert found("住民票 犬") == []


def test_empty_query_lists_everything(sample):
    assert len(found("")) == 7
    assert len(found("   ")) == 7


def test_life_event_filter(sample):
    assert sorted(found("", life_event="pets")) == [
        "992011/dog-registration",
        "993417/dog-registration",
    ]
    assert found("", life_event="childcare") == ["992011/child-allowance"]
    assert sorted(found("", life_event="certificates")) == [
        "992011/income-certificate",
        "992011/juminhyo-copy",
    ]
    assert sorted(found("", life_event="moving")) == [
        "992011/child-allowance",
        "992011/dog-registration",
        "992011/juminhyo-copy",
        "993417/dog-registration",
    ]
    assert found("", life_event="death") == []
    assert found("いぬ", life_event="childcare") == []
    assert found("いぬ", life_event="pets")[0] == "992011/dog-registration"


def test_body_filter(sample):
    assert found("いぬ", body_code="993417") == ["993417/dog-registration"]
    assert found("住民票", body_code="993417") == []


def test_unpublished_procedures_are_not_found(sample):
    procedure = selectors.procedure_by_identifier("992011", "juminhyo-copy")
    procedure.is_published = False
    procedure.save(update_fields=["is_published"])
    assert found("じゅうみんひょう") == []


def test_the_more_specific_name_ranks_first(sample, tmp_path):
    """Another 住民票 procedure: 「住民票の写し」 still finds the copy first, and
    「住民票コード」 the other one."""
    other = changed("id: test-procedure", "id: juminhyo-code")
    other = changed("name: テスト手続", "name: 住民票コードの変更請求", other)
    other = changed(
        "name_kana: てすとてつづき", "name_kana: じゅうみんひょうこーどのへんこうせいきゅう", other
    )
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "code.yaml").write_text(other, encoding="utf-8")
    load_catalogue(folder)
    assert found("住民票の写し")[0] == "992011/juminhyo-copy"
    assert found("住民票 写し")[0] == "992011/juminhyo-copy"
    assert found("住民票コード")[0] == "992011/juminhyo-code"
    assert set(found("じゅうみんひょう")) == {"992011/juminhyo-copy", "992011/juminhyo-code"}


def test_a_match_in_the_name_ranks_above_a_match_elsewhere(sample, tmp_path):
    other = changed("id: test-procedure", "id: inkan")
    other = changed("name: テスト手続", "name: 印鑑登録証明書の交付申請", other)
    other = changed(
        "name_kana: てすとてつづき",
        "name_kana: いんかんとうろくしょうめいしょのこうふしんせい",
        other,
    )
    other = changed("category: テスト", "category: 証明書", other)
    folder = tmp_path / "inkan"
    folder.mkdir()
    (folder / "inkan.yaml").write_text(other, encoding="utf-8")
    load_catalogue(folder)
    # 住民票の写し has 証明書 as its category and keyword; 印鑑登録証明書 in its name.
    # 所得証明書 (the sample's payable procedure) has it in its name too.
    results = found("しょうめいしょ")
    assert set(results[:2]) == {"992011/inkan", "992011/income-certificate"}
    assert results[2:] == ["992011/juminhyo-copy"]
    # 登録 is in the names of the dog registrations and of 印鑑登録, and only in the
    # summary of 住民票の写し (住民登録).
    results = found("とうろく")
    assert set(results[:2]) == {"992011/dog-registration", "993417/dog-registration"}
    assert results[2:] == ["992011/inkan", "992011/juminhyo-copy"]


def test_search_follows_the_current_version(sample, tmp_path):
    renamed = changed("id: test-procedure", "id: pet-tax")
    renamed = changed("name: テスト手続", "name: 猫の届出", renamed)
    folder = tmp_path / "cats"
    folder.mkdir()
    file = folder / "cat.yaml"
    file.write_text(renamed, encoding="utf-8")
    load_catalogue(folder)
    assert found("ねこ") == ["992011/pet-tax"]
    file.write_text(changed("name: 猫の届出", "name: 兎の届出", renamed), encoding="utf-8")
    load_catalogue(folder)
    assert found("ねこ") == []
    assert found("うさぎ") == ["992011/pet-tax"]


def test_tokens_and_readings():
    assert search.reading_of("住民票") == "じゅうみんひょう"
    tokens = search.tokens("住民票の写し")
    assert [t.surface for t in tokens] == ["住民票", "写し"]
    assert tokens[0].reading == "じゅうみんひょう"
    assert search.tokens("、。 ・") == []
    text, reading = search.index_texts("犬の登録申請", "", "生活・環境")
    assert "犬の登録申請" in text
    assert reading.startswith("いぬのとうろくしんせい")


# --- the page ---------------------------------------------------------------------------------


def result_links(response) -> list[str]:
    body = response.content.decode()
    links = []
    for code, identifier in [
        ("992011", "juminhyo-copy"),
        ("992011", "dog-registration"),
        ("993417", "dog-registration"),
        ("992011", "child-allowance"),
        ("990001", "omoiyari-parking"),
        ("990001", "highschool-web-application"),
        ("992011", "income-certificate"),
    ]:
        url = reverse("catalogue:detail", args=[code, identifier])
        if f'href="{url}"' in body:
            links.append((body.index(f'href="{url}"'), f"{code}/{identifier}"))
    return [label for _position, label in sorted(links)]


@pytest.mark.parametrize(
    "query", ["じゅうみんひょう", "住民票の写し", "ジュウミンヒョウ", "ｼﾞｭｳﾐﾝﾋｮｳ"]
)
def test_page_shows_the_results(client, sample, query):
    response = client.get("/procedures/", {"q": query})
    assert response.status_code == 200
    assert result_links(response) == ["992011/juminhyo-copy"]
    body = response.content.decode()
    assert f"「{query}」の検索結果 1件" in body
    assert "住民票の写し等の交付請求" in body


def test_page_for_dogs_and_for_nothing(client, sample):
    response = client.get("/procedures/", {"q": "いぬ"})
    assert result_links(response) == ["992011/dog-registration", "993417/dog-registration"]
    response = client.get("/procedures/", {"q": "ほげほげ"})
    assert response.status_code == 200
    assert result_links(response) == []
    assert "見つかりませんでした" in response.content.decode()


def test_page_with_a_life_event(client, sample):
    response = client.get("/procedures/", {"life_event": "childcare"})
    assert result_links(response) == ["992011/child-allowance"]
    response = client.get("/procedures/", {"life_event": "not-an-event"})
    assert len(result_links(response)) == 7


def test_page_escapes_the_query(client, sample):
    response = client.get("/procedures/", {"q": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_detail_page(client, sample):
    response = client.get(reverse("catalogue:detail", args=["992011", "juminhyo-copy"]))
    assert response.status_code == 200
    assert "住民票の写し等の交付請求" in response.content.decode()
    missing = client.get(reverse("catalogue:detail", args=["992011", "no-such-thing"]))
    assert missing.status_code == 404
