"""``ccdesk inspect``: the JSON shape, the report, the options and the one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ccdesk.cli import main
from tests.support import sheets as S

ROWS = [
    ["Members who upgraded"],
    [],
    ["Name", "Email", "Membership"],
    ["Ann", "ann@example.org", "Sustainer"],
    ["Bob", "bob@", "Sustainer"],
    ["Cy", "ANN@example.org", "Sustainer"],
    ["Di", "", "Sustainer"],
    ["Ed", "ed@example.org", "Free"],
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", S.FORMATS)
def test_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    path = S.write_any(tmp_path / f"members.{fmt}", fmt, {"Members": ROWS})
    code, out, err = run(capsys, "inspect", str(path), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert list(data)[:9] == ["file", "format", "sheet", "header_row", "email_column", "rows",
                              "counts", "problems", "addresses"]
    assert data["file"] == str(path)
    assert data["format"] == fmt
    assert data["header_row"] == 3
    assert data["email_column"] == "Email"
    assert data["rows"] == 5
    assert data["counts"] == {"valid": 2, "invalid": 1, "duplicate": 1, "blank": 1, "filtered_out": 0}
    assert data["problems"] == [
        {"row": 5, "value": "bob@", "outcome": "invalid",
         "reason": "Not an email address: the part after @ is missing"},
        {"row": 6, "value": "ANN@example.org", "outcome": "duplicate", "reason": "Same address as row 4"},
    ]
    assert data["addresses"] == [
        {"row": 4, "email": "ann@example.org"}, {"row": 8, "email": "ed@example.org"}]


def test_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", {"Notes": [["x"]], "Members": ROWS})
    code, out, _ = run(capsys, "inspect", str(path), "--sheet", "Members", "--header-row", "3",
                       "--column", "email", "--filter", "Membership=Sustainer", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["sheet"] == "Members"
    assert data["counts"]["filtered_out"] == 1
    assert data["filter"] == {"column": "Membership", "values": ["Sustainer"]}
    assert [a["row"] for a in data["addresses"]] == [4]


def test_plain_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = S.write_csv(tmp_path / "m.csv", ROWS, delimiter=";")
    code, out, _ = run(capsys, "inspect", str(path))
    assert code == 0
    assert "semicolon-separated" in out
    assert "Headings:  row 3" in out
    assert "column B, “Email”" in out
    assert "5: 2 valid, 1 invalid, 1 duplicate, 1 blank, 0 filtered out" in out
    assert "row 5" in out and "the part after @ is missing" in out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: S.write_encrypted_xlsx(p / "s.xlsx"), "password-protected"),
        (lambda p: (p / "x.pdf").write_bytes(b"%PDF-1.4") and p / "x.pdf", "PDF"),
        (lambda p: p / "missing.xlsx", "not found"),
        (lambda p: S.write_xlsx(p / "n.xlsx", [["Name"], ["Ann"]]), "No email column"),
    ],
)
def test_unreadable_files_give_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message: str
) -> None:
    path = make(tmp_path)
    code, out, err = run(capsys, "inspect", str(path), "--json")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ccdesk: ")
    assert message in lines[0]


def test_bad_options_give_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", ROWS)
    for extra in (["--sheet", "Nope"], ["--column", "Phone"], ["--filter", "Membership"],
                  ["--filter", "Level=Gold"]):
        code, _, err = run(capsys, "inspect", str(path), *extra)
        assert code == 2, extra
        assert len(err.strip().splitlines()) == 1


def test_the_real_command_line(tmp_path: Path) -> None:
    path = S.write_xlsx(tmp_path / "m.xlsx", ROWS)
    out = subprocess.run([sys.executable, "-m", "ccdesk", "inspect", str(path), "--json"],
                         capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout)["counts"]["valid"] == 2
    bad = subprocess.run([sys.executable, "-m", "ccdesk", "inspect", str(tmp_path / "nope.csv")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
