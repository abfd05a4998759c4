"""Every file the command line reads, given broken: missing, a folder, empty, truncated, in the
wrong encoding, binary, with NUL bytes. Each ends with a message that names the place (the
file, and where it helps the line or row) and a non-zero exit status, never a traceback, and
what is stored stays as it was.

The cases are the product of the commands and the corruptions, so a new corruption is tried on
every command that reads a file.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from django.db import connections

from madoguchi import cli
from madoguchi.appointments.models import Counter
from madoguchi.approvals.models import RouteVersion
from madoguchi.catalogue.models import ProcedureVersion
from madoguchi.organisation.models import StaffMembership, Unit

pytestmark = pytest.mark.django_db

SAMPLE = Path(cli.__file__).parent / "sample"
PROCEDURE = (SAMPLE / "catalogue" / "992011" / "dog-registration.yaml").read_bytes()
ROUTE = (SAMPLE / "routes" / "992011" / "certificate-standard.yaml").read_bytes()
COUNTERS = """\
body: "992011"
counters:
  - code: shimin-soudan
    name: 市民課 相談窓口
    unit: shiminka
    slot_minutes: 20
    capacity: 3
    hours:
      weekdays: ["09:00-12:00"]
""".encode()
UNITS = (
    "組織コード,名称,種別,上位組織コード\nkikaku,企画部,部,\nseisaku,政策課,課,kikaku\n".encode()
)
STAFF = "メールアドレス,氏名,組織コード,職,役割\nx.tanto@aoba.example.jp,市民 担当,shiminka,担当,担当職員\n".encode()


@dataclass(frozen=True)
class Reader:
    """A command that reads one file: how to call it on a path, and a good file for it."""

    name: str
    argv: Callable[[Path], list[str]]
    good: bytes
    suffix: str
    # The check commands read files only; the others need the sample's bodies and units.
    needs_sample: bool = True
    # Corruptions this command reads as intended: Excel writes CSV in Shift_JIS (CP932).
    accepts: frozenset[str] = frozenset()


READERS = [
    Reader(
        "procedures check",
        lambda p: ["procedures", "check", str(p)],
        PROCEDURE,
        ".yaml",
        needs_sample=False,
    ),
    Reader("procedures load", lambda p: ["procedures", "load", str(p)], PROCEDURE, ".yaml"),
    Reader(
        "routes check", lambda p: ["routes", "check", str(p)], ROUTE, ".yaml", needs_sample=False
    ),
    Reader("routes load", lambda p: ["routes", "load", str(p)], ROUTE, ".yaml"),
    Reader("appointments load", lambda p: ["appointments", "load", str(p)], COUNTERS, ".yaml"),
    Reader(
        "organisation import --units",
        lambda p: ["organisation", "import", "--body", "992011", "--units", str(p)],
        UNITS,
        ".csv",
        accepts=frozenset({"cp932"}),
    ),
    Reader(
        "organisation import --staff",
        lambda p: ["organisation", "import", "--body", "992011", "--staff", str(p)],
        STAFF,
        ".csv",
        accepts=frozenset({"cp932"}),
    ),
    # No good PDF without issuing one (tests/issuance does): every case here must be refused.
    Reader(
        "documents verify",
        lambda p: ["documents", "verify", str(p)],
        b"%PDF-1.7\n",
        ".pdf",
        needs_sample=False,
    ),
]


@pytest.mark.parametrize("reader", READERS[:-1], ids=lambda r: r.name)
def test_the_good_file_of_each_reader_is_read(request, tmp_path, reader):
    """The control: the corruptions below break a file that would otherwise be accepted."""
    if reader.needs_sample:
        request.getfixturevalue("sample")
    path = tmp_path / f"入力{reader.suffix}"
    path.write_bytes(reader.good)
    code, out, err = run(reader.argv(path))
    assert code == 0, out + err


def _cp932(good: bytes) -> bytes:
    return good.decode().encode("cp932")


def _truncated(good: bytes) -> bytes:
    # Cut inside a multi-byte character, as an interrupted copy does.
    cut = len(good) * 2 // 3
    while cut < len(good) and good[cut] < 0x80:
        cut += 1
    return good[: cut + 1]


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda good: b"",
    "truncated": _truncated,
    "cp932": _cp932,
    "utf16": lambda good: good.decode().encode("utf-16"),
    "binary": lambda good: bytes(range(256)) * 4,
    "nul": lambda good: good[:40] + b"\x00" + good[40:],
    "not-the-format": lambda good: "- [これは\n  : }{ 定義ではありません\n".encode(),
}


def run(argv: list[str]) -> tuple[int, str, str]:
    """Run `madoguchi ARGV` in this process as a terminal would, with its exit status.

    A command closes the database connections when it ends; here that would close the
    test's own (transaction-wrapped, on PostgreSQL) connection, so that closing is skipped."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(connections, "close_all"),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            code = 0
    return code, out.getvalue(), err.getvalue()


def stored() -> tuple[int, ...]:
    return (
        ProcedureVersion.objects.count(),
        RouteVersion.objects.count(),
        Counter.objects.count(),
        Unit.objects.count(),
        StaffMembership.objects.count(),
    )


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.name)
@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=str)
def test_a_broken_file_is_refused_with_its_name(request, tmp_path, reader, corruption):
    content = CORRUPTIONS[corruption](reader.good)
    if content == reader.good:
        pytest.skip("this corruption leaves this file as it is")
    if reader.needs_sample:
        request.getfixturevalue("sample")
    path = tmp_path / f"入力{reader.suffix}"
    path.write_bytes(content)
    before = stored()

    code, out, err = run(reader.argv(path))

    if corruption in reader.accepts:
        assert code == 0, err
        assert stored() != before, "the file was read but nothing was imported"
        return
    assert code != 0, f"{reader.name} accepted a {corruption} file:\n{out}{err}"
    assert "Traceback" not in err
    assert path.name in err, f"the message does not name the file:\n{err}"
    assert stored() == before


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.name)
@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_path_that_is_not_a_readable_file_is_named(request, tmp_path, reader, kind):
    if reader.needs_sample:
        request.getfixturevalue("sample")
    path = tmp_path / f"ない{reader.suffix}"
    if kind == "folder":
        # A file's command is given a folder; a definition command, a folder with nothing in it.
        path.mkdir()
    before = stored()

    code, _out, err = run(reader.argv(path))

    assert code != 0
    assert "Traceback" not in err
    assert path.name in err, err
    assert stored() == before


@pytest.mark.parametrize(
    "argv",
    [
        ["ledger", "verify", "{tmp}/nowhere", "--public-key", "{tmp}/nowhere.pub"],
        ["ledger", "verify", "{tmp}", "--public-key", "{tmp}/garbage.pub"],
        ["backup", "restore", "{tmp}/nowhere"],
        ["backup", "restore", "{tmp}"],
        ["records", "export-register", "--body", "992011", "{tmp}/nowhere/register.csv"],
        ["ledger", "export", "{tmp}/garbage.pub"],
        ["backup", "create", "{tmp}/garbage.pub"],
        ["ledger", "keygen", "992011", "--dir", "{tmp}/garbage.pub"],
    ],
    ids=lambda argv: " ".join(argv[:2]) + " " + argv[2].replace("{tmp}", "TMP"),
)
def test_folders_and_keys_that_are_not_what_they_should_be(sample, tmp_path, argv):
    (tmp_path / "garbage.pub").write_bytes(bytes(range(256)))
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    before = stored()

    code, _out, err = run([arg.replace("{tmp}", str(tmp_path)) for arg in argv])

    assert code != 0
    assert "Traceback" not in err
    assert str(tmp_path) in err, err
    assert stored() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["organisation", "list", "--body", "99201"], "99201"),
        (["organisation", "list", "--body", "９９２０１１"], "９９２０１１"),
        (["organisation", "import", "--body", "999999", "--units", "x.csv"], "999999"),
        (["records", "expired", "--body", "abc"], "abc"),
        (["records", "execute", "存在しない"], "存在しない"),
        (["identity", "demo-totp", "nobody@example.jp"], "nobody@example.jp"),
        (["documents", "issue", "--pending", "--limit", "many"], "many"),
        (["documents", "issue", "--pending", "--limit", "-1"], "-1"),
        (["ledger", "sequence", "--batch-size", "0"], "0"),
        (["appointments", "remind", "--interval", "-5"], "interval"),
        (["payments", "reconcile", "--limit", "十"], "十"),
        (["procedures", "frobnicate"], "frobnicate"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_a_wrong_argument_is_named_in_the_message(sample, argv, message):
    before = stored()

    code, _out, err = run(argv)

    assert code != 0
    assert "Traceback" not in err
    assert message in err, err
    assert stored() == before
