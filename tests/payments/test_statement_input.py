"""The bank statement CSV import, given what real files turn out to be: the encodings banks
and spreadsheets write, truncated copies, UTF-16, binary, NUL bytes, unbalanced quotes. Each
is either read correctly or refused with a message naming the row (or the file), never a
500, and nothing is imported from a refused file; the staff page keeps what was chosen."""

from __future__ import annotations

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.payments import services
from madoguchi.payments.models import BankReceipt

from ..conftest import login
from ..security.test_malformed_inputs import CORRUPTIONS

GOOD = "入金日,金額,振込依頼人名,取引番号\n2026-12-01,600,ヤマダ ハナコ,T0001\n2026/12/2,４，０００円,ｻﾄｳ ﾀﾛｳ,T0002\n"
EXPECTED = [
    services.StatementLine(__import__("datetime").date(2026, 12, 1), 600, "ヤマダ ハナコ", "T0001"),
    services.StatementLine(__import__("datetime").date(2026, 12, 2), 4000, "ｻﾄｳ ﾀﾛｳ", "T0002"),
]


@pytest.mark.parametrize(
    "data",
    [
        GOOD.encode(),
        codecs.BOM_UTF8 + GOOD.encode(),
        GOOD.encode("cp932"),
        GOOD.replace("\n", "\r\n").encode("cp932"),
        GOOD.replace("ヤマダ ハナコ", '"ヤマダ ハナコ"').encode(),
    ],
    ids=["utf-8", "utf-8 BOM", "cp932", "cp932 CRLF", "quoted"],
)
def test_the_encodings_banks_write_are_read_alike(data):
    assert services.parse_statement(data) == EXPECTED


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_bytes_are_read_or_refused_with_rows(data):
    try:
        lines = services.parse_statement(data)
    except services.StatementError as exc:
        assert exc.problems and all(
            isinstance(row, int) and ja and en for row, ja, en in exc.problems
        )
    else:
        for line in lines:
            assert line.amount > 0 and line.payer and "\x00" not in line.payer


@given(
    st.text(
        alphabet=st.sampled_from(list('入金日,額振込依頼人名\n"\r2026-12-01600ヤマダ\x00')),
        max_size=300,
    )
)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_text_is_read_or_refused_with_rows(text):
    for encoding in ("utf-8", "cp932"):
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        try:
            lines = services.parse_statement(data)
        except services.StatementError as exc:
            assert exc.problems
        else:
            for line in lines:
                assert line.amount > 0 and line.payer and "\x00" not in line.payer


# What each corruption of a good statement gets on the staff page (None: read as intended).
EXPECTED_MESSAGE = {
    "empty": "明細が空です。",
    "truncated": "ファイルが途中で切れています",
    "cp932": None,  # what Excel writes
    "utf16": "UTF-16 のファイルです。",
    "binary": "NUL文字（\\0）が含まれています。CSVファイルか確かめてください。",
    "nul": "1行目: NUL文字",
    "not-the-format": "見出しに「入金日」「金額」「振込依頼人名」がありません。",
}


def test_every_corruption_has_an_expected_outcome():
    assert set(EXPECTED_MESSAGE) == set(CORRUPTIONS)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=str)
def test_a_broken_statement_upload_is_refused_on_the_page(corruption, shimin_staff, bank_settings):
    client = login(shimin_staff)
    upload = SimpleUploadedFile("入金明細.csv", CORRUPTIONS[corruption](GOOD.encode()))
    response = client.post(reverse("payments_staff:bank"), {"body": "992011", "statement": upload})
    expected = EXPECTED_MESSAGE[corruption]
    if expected is None:
        assert response.status_code == 302
        assert sorted(BankReceipt.objects.values_list("payer", flat=True)) == sorted(
            line.payer for line in EXPECTED
        )
        return
    page = response.content.decode()
    assert response.status_code == 422, page[:2000]
    assert "取り込めませんでした（何も登録していません）" in page
    assert expected in page, page[:3000]
    assert '<option value="992011" selected>' in page  # the body chosen is kept
    assert not BankReceipt.objects.exists()


def test_a_bad_row_is_named_with_its_number_on_the_page(shimin_staff, bank_settings):
    text = GOOD + '2026-12-03,"600,ヤマダ\n'  # a quote never closed, on row 4
    upload = SimpleUploadedFile("入金明細.csv", text.encode())
    response = login(shimin_staff).post(
        reverse("payments_staff:bank"), {"body": "992011", "statement": upload}
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert "4行目: " in page, page[:3000]
    assert not BankReceipt.objects.exists()


def test_an_oversized_statement_is_refused_before_it_is_read(shimin_staff, bank_settings):
    big = GOOD.encode() + b"2026-12-01,600,X\n" * (5 * 1024 * 1024 // 17 + 1)
    response = login(shimin_staff).post(
        reverse("payments_staff:bank"),
        {"body": "992011", "statement": SimpleUploadedFile("入金明細.csv", big)},
    )
    assert response.status_code == 422
    assert "ファイルが大きすぎます（5MBまで）。" in response.content.decode()
    assert not BankReceipt.objects.exists()
