"""The ``ccdesk`` command: the window by default, and sub-commands for every step.

Each sub-command is a thin shell over a core function; anything printed with ``--json`` is a
stable shape documented in the README. Heavy modules (Qt, the sandbox, spreadsheet readers)
are imported only by the sub-command that needs them, so ``ccdesk --help`` stays fast and the
headless commands never load Qt.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ccdesk import __version__
from ccdesk.errors import CcdeskError

log = logging.getLogger("ccdesk.cli")

Handler = Callable[[argparse.Namespace], int]


def add_import_options(parser: argparse.ArgumentParser) -> None:
    """The options that say how to read a spreadsheet (shared by inspect, preview and run)."""
    group = parser.add_argument_group("reading the spreadsheet")
    group.add_argument(
        "--sheet", metavar="NAME", help="the sheet to read (default: the one with an email column)"
    )
    group.add_argument(
        "--header-row", metavar="N", type=int,
        help="the row number of the column headings (default: found automatically)",
    )
    group.add_argument(
        "--column", metavar="NAME",
        help="the heading of the email column (default: found automatically)",
    )
    group.add_argument(
        "--filter",
        metavar="COL=V1,V2",
        help="only rows whose column COL holds one of these values, e.g. Membership=Sustainer",
    )


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on standard output."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


# ---------------------------------------------------------------------------------------------
# sub-commands


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from ccdesk.cli.sandbox import run_sandbox_command

    return run_sandbox_command(args)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from ccdesk.cli.inspect import run_inspect_command

    return run_inspect_command(args)


def _cmd_reset_demo(args: argparse.Namespace) -> int:
    from ccdesk.engine.session import reset_demo

    reset_demo()
    print("The demo is back at the start: the bundled demo account, and no runs in its history.")
    return 0


def _cmd_job(args: argparse.Namespace) -> int:
    import signal

    from ccdesk.engine.child import main as job_main

    # The window closing (its terminal hung up, Ctrl+C in it) does not stop the job: a run is
    # stopped through the journal (engine.request_stop), at a batch boundary.
    for name in ("SIGHUP", "SIGINT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    # A windowed app (the frozen one on Windows) may start without sys.stdin/stdout even when
    # its parent gave it pipes or files: use the handles it was given.
    stdin = sys.stdin or open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    stdout = sys.stdout or open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    return job_main(stdin, stdout)


def _cmd_window(args: argparse.Namespace) -> int:
    from ccdesk.gui.app import run_app

    return run_app(demo=args.demo, demo_state=args.demo_state, file=args.open)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, for ``main`` and for the help-consistency tests."""
    parser = argparse.ArgumentParser(
        prog="ccdesk",
        description=(
            "Take members who upgraded off a Constant Contact list: open the spreadsheet, "
            "preview exactly what would change, run it, keep a log. "
            "With no sub-command, ccdesk opens its window."
        ),
    )
    parser.add_argument("--version", action="version", version=f"ccdesk {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="use the built-in demo account (nothing real is touched)"
    )
    parser.add_argument(
        "--demo-state", metavar="FILE", help="with --demo: load this sandbox state file instead"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to standard error")
    parser.add_argument(
        "--open", metavar="FILE",
        help="open this spreadsheet in the window (also: ccdesk FILE, as a file manager calls it)")
    parser.set_defaults(handler=_cmd_window)
    sub = parser.add_subparsers(title="sub-commands", metavar="COMMAND")

    p = sub.add_parser(
        "sandbox",
        help="run a local stand-in for the Constant Contact API",
        description=(
            "Serve a local Constant Contact V3 stand-in on 127.0.0.1. The first line printed is "
            "its base URL; it serves until interrupted (Ctrl+C)."
        ),
    )
    from ccdesk.cli.sandbox import add_sandbox_arguments

    add_sandbox_arguments(p)
    p.set_defaults(handler=_cmd_sandbox)

    p = sub.add_parser(
        "inspect",
        help="read a spreadsheet and report every row's address or problem",
        description="Read a spreadsheet of members and report what ccdesk finds in it.",
    )
    p.add_argument("file", metavar="FILE", help="the spreadsheet (xlsx, xlsm, xls, xlsb, ods, csv, "
                   "tsv, txt); -: addresses on standard input, as pasted text")
    add_import_options(p)
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(handler=_cmd_inspect)

    p = sub.add_parser(
        "reset-demo",
        help="put the demo account back to the start and forget the demo's runs",
        description="The demo keeps its changes and runs between starts; this puts its account "
                    "back as bundled and empties its history. Nothing real is touched.",
    )
    p.set_defaults(handler=_cmd_reset_demo)

    from ccdesk.cli.jobs import add_job_commands

    add_job_commands(sub, add_import_options)
    # The window's job process (ccdesk.engine.child): no help, so not listed in --help.
    p = sub.add_parser("job", description="The window's job process: one JSON request on "
                       "standard input, JSON events on standard output.")
    p.set_defaults(handler=_cmd_job)
    return parser


def _file_to_open(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``ccdesk FILE`` (how a file manager opens a file with ccdesk) means ``ccdesk --open FILE``.

    Only when the first word that is not an option is no sub-command and names an existing
    file: a mistyped sub-command still gets argparse's "invalid choice" message."""
    commands: set[str] = set()
    takes_value: set[str] = set()  # the top-level options followed by a value
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands |= set(action.choices)
        elif action.option_strings and action.nargs != 0:
            takes_value |= set(action.option_strings)
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return argv
        if word.startswith("-"):
            i += 2 if word in takes_value else 1
            continue
        break
    if i < len(argv) and argv[i] not in commands and Path(argv[i]).is_file():
        return [*argv[:i], "--open", argv[i], *argv[i + 1:]]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ccdesk`` command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(_file_to_open(parser, list(sys.argv[1:] if argv is None else argv)))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from ccdesk.redact import install

    for handler in logging.getLogger().handlers:
        install(handler)  # -v logs urllib3's request lines: no address, code or token in them
    try:
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
        return status
    except CcdeskError as exc:
        print(f"ccdesk: {exc.one_line()}", file=sys.stderr)
        if exc.details:
            log.debug("details: %s", exc.details)
        return 2
    except KeyboardInterrupt:
        print("ccdesk: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `ccdesk inspect big.xlsx | head`: the reader went away
        with contextlib.suppress(OSError, ValueError):  # silence the flush at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        # A read-only or full data folder, a journal that cannot be opened: one line, no
        # traceback (anything else is a bug, and keeps its traceback).
        import sqlite3

        if not isinstance(exc, OSError | sqlite3.Error):
            raise
        from ccdesk.paths import storage_error

        error = storage_error(exc)
        print(f"ccdesk: {error.one_line()}", file=sys.stderr)
        log.debug("details: %s", error.details)
        return 2
