"""The README's promises: its two opening commands, and CI running exactly the test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ccdesk.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "the README starts with a sh code block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_the_demo_and_the_test_commands() -> None:
    demo, tests = opening_commands()
    assert demo.endswith("ccdesk --demo") and "pip install ." in demo
    assert tests.endswith("python -m pytest") and ".[test]" in tests


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, tests = opening_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f'test_command="{tests}"' in ci


def test_every_sub_command_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    names = set(sub.choices)
    assert {"sandbox", "inspect", "preview", "run", "runs", "resume", "export", "undo",
            "connect", "disconnect", "status"} <= names
    for name, child in sub.choices.items():
        text = child.format_help()
        assert child.description, f"{name} has no description"
        assert "usage: ccdesk " + name in text


def test_version_and_help_from_the_command_line() -> None:
    from ccdesk import __version__

    out = subprocess.run([sys.executable, "-m", "ccdesk", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"ccdesk {__version__}"
    out = subprocess.run([sys.executable, "-m", "ccdesk", "run", "--help"], capture_output=True,
                         text=True, check=True)
    assert "--confirm-unsubscribe" in out.stdout


def test_redirect_port_default_is_the_same_everywhere() -> None:
    from ccdesk.cc.auth import DEFAULT_REDIRECT_PORT
    from ccdesk.cli import jobs as commands

    assert commands.DEFAULT_REDIRECT_PORT == DEFAULT_REDIRECT_PORT
    assert f"127.0.0.1:{DEFAULT_REDIRECT_PORT}/callback" in (ROOT / "README.md").read_text()


def test_a_file_alone_opens_the_window_with_it(tmp_path: Path) -> None:
    """A file manager runs ``ccdesk FILE`` (the .desktop file's ``Exec=ccdesk %f``)."""
    from ccdesk.cli.main import _file_to_open

    parser = build_parser()
    sheet = tmp_path / "upgrades.xlsx"
    sheet.write_bytes(b"x")
    assert _file_to_open(parser, [str(sheet)]) == ["--open", str(sheet)]
    assert _file_to_open(parser, ["--demo", str(sheet)]) == ["--demo", "--open", str(sheet)]
    assert _file_to_open(parser, ["--demo-state", "s.json", str(sheet)]) == [
        "--demo-state", "s.json", "--open", str(sheet)]
    args = parser.parse_args(_file_to_open(parser, ["--demo", str(sheet)]))
    assert args.open == str(sheet) and args.demo
    # A sub-command, a mistyped one, or a missing file: left to argparse as before.
    for argv in (["inspect", str(sheet)], ["inspcet"], [str(tmp_path / "missing.xlsx")], ["--", "x"]):
        assert _file_to_open(parser, argv) == argv
    desktop = (ROOT / "resources" / "linux" / "ccdesk.desktop").read_text(encoding="utf-8")
    assert "Exec=ccdesk %f" in desktop
