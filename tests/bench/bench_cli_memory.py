"""Benchmark: the peak memory of a command-line preview and run of 100,000 removals.

Run it from the checkout (it is not part of the test run)::

    .venv/bin/python tests/bench/bench_cli_memory.py            # an xlsx sheet
    .venv/bin/python tests/bench/bench_cli_memory.py --csv      # a CSV sheet
    .venv/bin/python tests/bench/bench_cli_memory.py --check    # exit 1 if a target is missed

A sandbox in this process serves an account of 100,000 contacts, all on "Free Members", with
no rate limit and fast activities. The sheet lists every one of them. Then, as child
processes, exactly as a person or a scheduled job would type them::

    python -m ccdesk preview FILE --list "Free Members" --sandbox-url URL --json
    python -m ccdesk run FILE --list "Free Members" --sandbox-url URL --yes --json

Each child's peak resident set size is its ``ru_maxrss`` from ``os.wait4``, read by a small
launcher process: Linux counts in a child's ``ru_maxrss`` the memory of the process it was
forked from, so a child forked straight from this one (which holds the sandbox's 100,000
contacts) would be charged this process's size.

The client paces itself at 3.7 requests a second, as against Constant Contact (there is no
production knob to change that, on purpose), so the preview takes about a minute and the run
(which previews again) about two. ``--fast`` runs the same command through a few lines that
turn the client's pacer off in the child first (for iterating; quote the figures without it).

Targets (issue 14): the run's peak ≤ 250 MB, the preview's ≤ 200 MB.

Where the memory went. Measured with tracemalloc snapshots of the same steps in one process
(``read_sheet``, ``preview``, ``Plan.to_dict`` + ``json.dump``, ``start_run``, ``export_log``;
100,000 rows, xlsx), and the children's RSS sampled over time. Before the changes:

* reading the sheet: Python objects peak at 54 MB (calamine's grid as lists) and 19 MB stay
  (the ``MemberSheet``); with calamine's own memory the process is at about 105 MB RSS after
  the read, most of which it keeps (freed but fragmented). Unchanged: the importer's part.
* the look-up: the ``Snapshot`` held a ``Contact`` per member, each with ``raw``, its whole
  decoded JSON record: 156 MB of dicts and strings, plus 30 MB of the contacts themselves.
  Only the full-record PUT of an unsubscribe read ``raw``, and it reads the contact afresh.
* the plan: 100,000 ``PlanItem`` with a ``__dict__`` each and a fresh "Off Free Members" each
  (28 MB); ``--json`` adds the 100,000 item dicts of ``Plan.to_dict()`` (40 MB at its peak).
* the run, on top of the plan (``commands.run_run`` keeps it for the whole run): the 100,000
  item dicts built for ``Journal.create_run`` stayed alive until the end (34 MB); every
  ``journal.items(run_id, state=...)`` made 100,000 ``ItemRecord`` (62 MB each), two lists
  alive at once while checking (the send loop's and the check's); the check gave every
  contact off the list its own empty set (24 MB); ``result_of`` read every item again (90 MB
  at its peak), and the results log built all its rows as lists before writing (110 MB).
  Python's heap peaked at 506 MB.

What changed: ``Contact`` keeps no JSON record and no names (nothing read them but the
unsubscribe's PUT, which reads the record afresh) and uses slots, its list ids and permission
shared; the snapshot is keyed by the sheet's own address strings; ``PlanItem`` and
``ItemRecord`` use slots, plan rows share their reason texts; the journal is read in chunks of
2,000 rows (``Journal.iter_items``): the send step keeps only (row, contact id) per row, the
check reads the sent rows twice (what to read back, then each verdict) instead of holding
them, the unsubscribe loop and the results log read as they go; the rows go to
``create_run`` from a generator; ``result_of`` counts in SQLite; contacts off every target
list share one empty set.

After them, Python's heap holds 73 MB after the preview (the sheet 19, the snapshot about 30,
the plan's rows about 20), 101 MB at the peak of ``--json``, and 100 MB at the run's peak
(the check). The rest of the RSS is the interpreter and its modules (about 35 MB) and what the
read of the sheet leaves behind (calamine's memory and the grid's, freed but not given back
to the system: about 50 MB for xlsx). That read, and ``Plan.to_dict()`` building every item's
dict for ``--json`` (``commands.py`` prints it), are the largest parts left.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ROWS = 100_000
LIST = "Free Members"
TARGETS_MB = {"preview": 200.0, "run": 250.0}

#: ``--fast``: the same ``python -m ccdesk`` with the client's pacer off (bench-only).
FAST_WRAPPER = (
    "import runpy, sys\n"
    "from ccdesk.cc.transport import Pacer\n"
    "from ccdesk.core.session import SANDBOX_CLIENT_ID\n"
    "Pacer.for_client(SANDBOX_CLIENT_ID).interval = 0.0\n"
    "sys.argv[0] = 'ccdesk'\n"
    "runpy.run_module('ccdesk', run_name='__main__')\n"
)


def account(rows: int) -> dict[str, Any]:
    contacts = [{"email": f"member{i}@example.org", "first_name": f"First{i}",
                 "last_name": "Member", "lists": [LIST]} for i in range(rows)]
    return {"account": {"organization_name": "Benchmark Association",
                        "contact_email": "office@example.org"},
            "lists": [{"name": LIST}], "contacts": contacts}


def write_sheet(path: Path, rows: int) -> Path:
    """The member sheet: a heading and one row per member (xlsx or csv by the suffix)."""
    heading = ["Name", "Email", "Membership", "Upgraded on"]
    lines = ([f"First{i} Member", f"member{i}@example.org", "Sustainer", "2026-11-01"]
             for i in range(rows))
    if path.suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(heading)
            writer.writerows(lines)
        return path
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Upgrades")
    sheet.append(heading)
    for line in lines:
        sheet.append(line)
    book.save(path)
    return path


@dataclass
class Child:
    """One ``python -m ccdesk`` child: its exit status, peak memory, time and JSON answer."""

    name: str
    status: int
    peak_mb: float
    seconds: float
    answer: dict[str, Any]
    stderr: str


#: Runs the command in argv[2:] and writes its exit status and ``ru_maxrss`` into argv[1].
LAUNCHER = (
    "import os, subprocess, sys\n"
    "process = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(process.pid, 0)\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(f'{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}')\n"
)


def run_child(name: str, args: list[str], env: dict[str, str], folder: Path, fast: bool) -> Child:
    """Run ``python -m ccdesk ARGS`` (from the launcher); its peak RSS comes from ``os.wait4``."""
    start = [sys.executable, "-c", FAST_WRAPPER] if fast else [sys.executable, "-m", "ccdesk"]
    out_path, err_path = folder / f"{name}.out", folder / f"{name}.err"
    figures = folder / f"{name}.rusage"
    began = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        subprocess.run([sys.executable, "-c", LAUNCHER, str(figures), *start, *args], cwd=ROOT,
                       env=env, stdout=out, stderr=err, check=False)
    seconds = time.perf_counter() - began
    status, maxrss = (int(x) for x in figures.read_text(encoding="utf-8").split())
    peak = maxrss / 1024 if sys.platform != "darwin" else maxrss / 1024**2
    text = out_path.read_text(encoding="utf-8")
    try:
        answer = json.loads(text) if text.strip() else {}
    except ValueError:
        answer = {"unparsed": text[:500]}
    return Child(name, status, peak, seconds, answer,
                 err_path.read_text(encoding="utf-8", errors="replace"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--csv", action="store_true", help="a CSV sheet instead of xlsx")
    parser.add_argument("--only", choices=["preview", "run"], help="one of the two commands")
    parser.add_argument("--fast", action="store_true",
                        help="turn the client's pacer off in the children (not for quoting)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    from ccdesk.sandbox import Sandbox

    print(f"ccdesk CLI memory benchmark: Python {platform.python_version()} on "
          f"{platform.platform()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ccdesk-bench-mem-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "CCDESK_HOME": str(folder / "home")}
        began = time.perf_counter()
        sheet = write_sheet(folder / ("upgrades.csv" if args.csv else "upgrades.xlsx"), args.rows)
        sandbox = Sandbox(account(args.rows), auto_approve=True, activity_delay=0.05,
                          activity_seconds=0.2).start()
        sandbox.set_limits(rate_limit=0, daily_quota=0)
        print(f"set-up: {args.rows:,} contacts on {LIST}, a {sheet.suffix[1:]} sheet of "
              f"{args.rows:,} rows, sandbox at {sandbox.base_url} "
              f"({time.perf_counter() - began:.1f} s)" + (" [--fast: pacer off]" if args.fast
                                                          else ""), flush=True)
        common = [str(sheet), "--list", LIST, "--sandbox-url", sandbox.base_url, "--json"]
        children = []
        try:
            for name in ("preview", "run"):
                if args.only and args.only != name:
                    continue
                extra = ["--yes"] if name == "run" else []
                print(f"{name}: running ...", flush=True)
                child = run_child(name, [name, *common, *extra], env, folder, args.fast)
                children.append(child)
                if child.status != 0:
                    print(child.stderr[-3000:], file=sys.stderr)
        finally:
            sandbox.stop()

    print()
    print(f"{'command':<10}{'exit':>6}{'peak RSS':>12}{'target':>10}{'wall time':>12}  outcome")
    missed = 0
    for child in children:
        target = TARGETS_MB[child.name]
        ok = child.status == 0 and child.peak_mb <= target
        missed += not ok
        if child.name == "preview":
            outcome = f"counts {child.answer.get('counts')}"
        else:
            outcome = f"{child.answer.get('state')}, counts {child.answer.get('counts')}"
        print(f"{child.name:<10}{child.status:>6}{child.peak_mb:>9.0f} MB{target:>7.0f} MB"
              f"{child.seconds:>10.1f} s  {outcome}  {'OK' if ok else 'MISSED'}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
