"""Files written by LibreOffice import exactly as the sheet they were made from (issue 13).

A member sheet (UTF-8 CSV, with the usual blemishes) is converted by LibreOffice's ``soffice``
into xlsx, ods, xls, CSV and UTF-16 text, and every file must give the same rows (number,
cell, address, outcome, reason, duplicate of), headings and counts as the source. Skipped when
``soffice`` is not installed (``apt-get install libreoffice-calc-nogui``; ``.ci/run`` does).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from ccdesk.core.sheet import ImportOptions, MemberSheet, read_sheet
from tests.support import sheets as S

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = [
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed"),
    pytest.mark.slow,
]

#: Target file name → soffice's --convert-to argument (filter options: separator, quote,
#: character set (76 UTF-8, 65535 UTF-16), first line).
TARGETS = {
    "members.xlsx": "xlsx:Calc MS Excel 2007 XML",
    "members.ods": "ods",
    "members.xls": "xls:MS Excel 97",
    "members.csv": "csv:Text - txt - csv (StarCalc):44,34,76,1",
    "members.txt": "txt:Text - txt - csv (StarCalc):9,34,65535,1",
}


def member_rows(n: int = 300) -> list[list[str]]:
    rnd = random.Random(13)
    rows = [["First name", "Last name", "Email", "Membership", "Member ID"]]
    for i in range(n):
        email = f"member{i}@example{i % 7}.org"
        kind = rnd.random()
        if kind < 0.05:
            email = f"member{i}(at)example.org"
        elif kind < 0.1 and i:
            email = f"MEMBER{i - 1}@Example{(i - 1) % 7}.ORG"
        elif kind < 0.13:
            email = ""
        elif kind < 0.2:
            email = f"  Member{i}@Example{i % 7}.org "
        first = rnd.choice(["Zoë", "Inés", "Ann", "Bjørn", "Łukasz", "O'Neil", "Renée"])
        rows.append([first, f"Smith-{i}", email, rnd.choice(["Sustainer", "Free"]), str(1000 + i)])
    rows.insert(40, ["", "", "", "", ""])  # a blank row in the middle
    return rows


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("libreoffice")
    (folder / "source").mkdir()
    source = S.write_csv(folder / "source" / "members.csv", member_rows())
    out = folder / "out"
    files = {}
    for name, spec in TARGETS.items():
        subprocess.run(  # soffice from PATH, fixed arguments
            [SOFFICE, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
             "--infilter=CSV:44,34,76,1", "--convert-to", spec, "--outdir", str(out / name),
             str(source)],
            check=True, capture_output=True, timeout=180,
        )
        (made,) = (out / name).iterdir()
        files[name] = made
    return source, files


def _same(a: MemberSheet, b: MemberSheet) -> None:
    assert list(b.rows) == list(a.rows)
    assert b.columns == a.columns
    assert b.counts == a.counts
    assert (b.header_row, b.email_column, b.email_column_letter) == (
        a.header_row, a.email_column, a.email_column_letter)


@pytest.mark.parametrize("name", list(TARGETS))
def test_a_file_written_by_libreoffice_imports_as_its_source(converted, name: str) -> None:
    source, files = converted
    expected = read_sheet(source)
    assert expected.counts["valid"] > 200 and expected.counts["invalid"] and expected.counts["duplicate"]
    got = read_sheet(files[name])
    assert got.format == {"txt": "csv"}.get(name.split(".")[1], name.split(".")[1])
    _same(expected, got)
    assert got.warnings == []
    only = ImportOptions(filter_column="Membership", filter_values=("Sustainer",))
    _same(read_sheet(source, only), read_sheet(files[name], only))


def test_the_utf16_text_really_is_utf16(converted) -> None:
    _, files = converted
    data = files["members.txt"].read_bytes()
    assert data[:2] == b"\xff\xfe"
    sheet = read_sheet(files["members.txt"])
    assert sheet.encoding == "utf-16" and sheet.delimiter == "\t"
