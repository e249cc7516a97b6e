"""``ccdesk inspect FILE``: read a spreadsheet and report every row's address or problem.

With ``--json`` the output is :meth:`ccdesk.core.sheet.MemberSheet.to_dict` (shape documented
in the README); otherwise a short report for a person. A file that cannot be read raises a
:class:`~ccdesk.errors.SheetError`, which ``ccdesk.cli.main`` prints as one line with exit
status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from ccdesk.core.sheet import ImportOptions, MemberSheet, parse_filter, read_sheet

#: How many problems the plain-text report lists before "... and N more".
TEXT_PROBLEMS_SHOWN = 50


def options_from_args(args: argparse.Namespace) -> ImportOptions:
    """The import options given on the command line (shared by inspect, preview and run)."""
    filter_column, filter_values = (None, ())
    if getattr(args, "filter", None):
        filter_column, filter_values = parse_filter(args.filter)
    return ImportOptions(
        sheet=getattr(args, "sheet", None) or None,
        header_row=getattr(args, "header_row", None),
        column=getattr(args, "column", None) or None,
        filter_column=filter_column,
        filter_values=filter_values,
    )


#: FILE that means "read the addresses from standard input".
STDIN = "-"


def sheet_path(args: argparse.Namespace) -> str:
    """The spreadsheet to read: ``args.file``, or for ``-`` the text on standard input (UTF-8,
    a byte-order mark tolerated) saved as a file of pasted addresses, whose path is said on
    standard error (and is the ``file`` of the JSON) so it can be found again."""
    if args.file != STDIN:
        return str(args.file)
    saved = getattr(args, "_pasted", None)
    if saved is None:
        from ccdesk.core.pasted import save_pasted
        from ccdesk.paths import storage_error

        stream = sys.stdin
        if stream is not None and stream.isatty():
            print("Paste the addresses, then press Ctrl+D (on Windows: Ctrl+Z, then Enter).",
                  file=sys.stderr, flush=True)
        if stream is None:
            text = ""
        elif hasattr(stream, "buffer"):
            text = stream.buffer.read().decode("utf-8-sig", "replace")
        else:
            text = stream.read()
        try:
            saved = str(save_pasted(text))
        except OSError as exc:
            raise storage_error(exc) from exc
        args._pasted = saved
        print(f"ccdesk: the addresses from standard input are saved as {saved}",
              file=sys.stderr, flush=True)
    return saved


def run_inspect_command(args: argparse.Namespace) -> int:
    """Carry out ``ccdesk inspect``; returns the exit status."""
    sheet = read_sheet(sheet_path(args), options_from_args(args))
    if args.json:
        json.dump(sheet.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        write_report(sheet, sys.stdout)
    return 0


def _clip(text: str, width: int = 40) -> str:
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def write_report(sheet: MemberSheet, out: TextIO) -> None:
    """A plain-text report of ``sheet`` for a terminal."""
    c = sheet.counts
    others = [n for n in sheet.sheet_names if n != sheet.sheet]
    w = out.write
    w(f"File:      {sheet.path} ({sheet.format}")
    if sheet.encoding:
        delim = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(
            sheet.delimiter or "", repr(sheet.delimiter)
        )
        w(f", {sheet.encoding}, {delim}-separated")
    w(")\n")
    w(f"Sheet:     {sheet.sheet}")
    if others:
        w(f"  (other sheets: {', '.join(others)})")
    w("\n")
    head = f"row {sheet.header_row}" if sheet.header_row else "none (no heading row)"
    w(f"Headings:  {head}\n")
    w(f"Email:     column {sheet.email_column_letter}, “{sheet.email_column}”"
      f" (found by {sheet.found_by})\n")
    if sheet.filter_column:
        w(f"Filter:    {sheet.filter_column} is one of {', '.join(sheet.filter_values)}\n")
    w(
        f"Rows:      {len(sheet.rows):,}: {c['valid']:,} valid, {c['invalid']:,} invalid, "
        f"{c['duplicate']:,} duplicate, {c['blank']:,} blank, {c['filtered_out']:,} filtered out\n"
    )
    for warning in sheet.warnings:
        w(f"Warning:   {warning}\n")
    problems = sheet.problems()
    if problems:
        w("Problems:\n")
        for r in problems[:TEXT_PROBLEMS_SHOWN]:
            w(f"  row {r.row:<7} {r.outcome:<10} {_clip(r.value)!r:<44} {r.reason}\n")
        if len(problems) > TEXT_PROBLEMS_SHOWN:
            w(f"  … and {len(problems) - TEXT_PROBLEMS_SHOWN:,} more (use --json to see all)\n")
