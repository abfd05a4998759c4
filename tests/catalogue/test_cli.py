"""`madoguchi procedures check|load|list`: the command line of the catalogue."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from madoguchi.catalogue.models import Procedure, ProcedureVersion

from .test_validation import BASE, SAMPLE_CATALOGUE, changed

ROOT = Path(__file__).resolve().parents[2]
MADOGUCHI = Path(sys.executable).with_name("madoguchi")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
        "PYTHONIOENCODING": "utf-8",
    }
    return subprocess.run(
        [str(MADOGUCHI), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_check_of_the_sample_folder_succeeds():
    result = run_cli("procedures", "check", str(SAMPLE_CATALOGUE))
    assert result.returncode == 0, result.stderr
    assert "OK: 7 definition(s) / 7件の定義に問題はありません" in result.stdout
    assert result.stderr == ""


def test_check_of_a_bad_file_fails_with_file_line_path_and_both_languages(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(changed("        min: 1\n", "        min: one\n"), encoding="utf-8")
    result = run_cli("procedures", "check", str(bad))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert (
        f"{bad}:33: pages[0].fields[2].min: 整数で指定してください。 / Expected an integer."
        in lines
    )
    assert "1 error(s) / 1件のエラー" in result.stderr
    assert "OK:" not in result.stdout


def test_check_of_a_folder_reports_every_bad_file(tmp_path):
    shutil.copytree(SAMPLE_CATALOGUE, tmp_path / "catalogue")
    first = tmp_path / "catalogue" / "a-bad.yaml"
    first.write_text(
        changed("category: テスト\n", "category: テスト\ncolour: red\n"), encoding="utf-8"
    )
    second = tmp_path / "catalogue" / "b-sjis.yaml"
    second.write_bytes(changed("id: test-procedure", "id: other-procedure").encode("cp932"))
    result = run_cli("procedures", "check", str(tmp_path / "catalogue"))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert (
        f"{first}:8: colour: 「colour」はここでは使えない項目です（綴りをご確認ください）。 / "
        "'colour' is not allowed here (check the spelling)."
    ) in lines
    assert any(line.startswith(f"{second}:4: UTF-8 で保存してください") for line in lines)
    assert "2 error(s) / 2件のエラー" in result.stderr


def test_check_of_a_missing_path(tmp_path):
    result = run_cli("procedures", "check", str(tmp_path / "nope"))
    assert result.returncode == 1
    assert (
        f"{tmp_path / 'nope'}: ファイルまたはフォルダがありません。 / No such file or folder."
        in (result.stderr.splitlines())
    )


def test_check_through_call_command(tmp_path):
    out, err = StringIO(), StringIO()
    call_command("procedures", "check", str(SAMPLE_CATALOGUE), stdout=out, stderr=err)
    assert "7件の定義に問題はありません" in out.getvalue()
    bad = tmp_path / "bad.yaml"
    bad.write_text("", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("procedures", "check", str(bad), stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert f"{bad}:1: ファイルが空です。 / The file is empty." in err.getvalue().splitlines()


@pytest.mark.django_db
def test_load_and_list_through_call_command(sample, tmp_path):
    out = StringIO()
    call_command("procedures", "list", stdout=out)
    listed = out.getvalue().splitlines()
    assert "992011/juminhyo-copy  v1  住民票の写し等の交付請求" in listed
    assert len(listed) == 7

    out = StringIO()
    call_command("procedures", "load", str(SAMPLE_CATALOGUE), stdout=out)
    assert out.getvalue().count("unchanged    ") == 7

    catalogue = tmp_path / "catalogue"
    shutil.copytree(SAMPLE_CATALOGUE, catalogue)
    dog = catalogue / "992011" / "dog-registration.yaml"
    dog.write_text(
        dog.read_text(encoding="utf-8").replace("amount: 3000", "amount: 3500"), encoding="utf-8"
    )
    out = StringIO()
    call_command("procedures", "load", str(catalogue), stdout=out)
    assert "new version  992011/dog-registration" in out.getvalue().splitlines()
    out = StringIO()
    call_command("procedures", "list", stdout=out)
    assert any(
        line.startswith("992011/dog-registration  v2  ") for line in out.getvalue().splitlines()
    )


@pytest.mark.django_db
def test_load_of_a_bad_catalogue_loads_nothing(sample, tmp_path):
    catalogue = tmp_path / "catalogue"
    shutil.copytree(SAMPLE_CATALOGUE, catalogue)
    (catalogue / "992011" / "new.yaml").write_text(BASE, encoding="utf-8")
    (catalogue / "992011" / "bad.yaml").write_text(
        changed("id: test-procedure", "id: x"), encoding="utf-8"
    )
    versions = ProcedureVersion.objects.count()
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("procedures", "load", str(catalogue), stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert "Nothing was loaded" in str(caught.value) and "読み込みませんでした" in str(caught.value)
    assert any(
        line.startswith(f"{catalogue / '992011' / 'bad.yaml'}:2: id: ")
        for line in err.getvalue().splitlines()
    )
    assert ProcedureVersion.objects.count() == versions
    assert not Procedure.objects.filter(identifier="test-procedure").exists()
