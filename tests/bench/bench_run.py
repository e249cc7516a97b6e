"""Benchmark: the API calls and the wall time of a whole job (preview + run) at the real limits.

Run it from the checkout (it is not part of the test run; S1 takes a few minutes, because
4 requests a second is the point)::

    .venv/bin/python tests/bench/bench_run.py                   # S1 and S2, both sandbox modes
    .venv/bin/python tests/bench/bench_run.py --only S2         # one scenario
    .venv/bin/python tests/bench/bench_run.py --only S3         # the list source, and its sheet
    .venv/bin/python tests/bench/bench_run.py --only S4         # a move to Sustainers
    .venv/bin/python tests/bench/bench_run.py --mode realistic  # one sandbox mode
    .venv/bin/python tests/bench/bench_run.py --check           # exit 1 if a target is missed

Each scenario runs in the sandbox's two modes: ``realistic`` (its default: a list change does
not touch a contact's ``updated_at``) and ``touching`` (``list_changes_touch_contacts``, the old,
kinder behaviour). ccdesk does not rely on ``updated_at``, so both must give the same figures.

The sandbox serves an account of 100,000 contacts, all on "Free Members" (plus a few on no
list; every tenth member, the 10,000 who upgraded, is also on "Sustainers"), at Constant
Contact's real limits (4 requests/second, 10,000 a day) and with its default, realistic
bulk-activity timing. ccdesk connects as it would to a real account (``Session.for_sandbox``:
the real OAuth flow, the client's real pacing and retries), previews a CSV sheet (or the
source list), and runs the removal. Every figure comes from the sandbox's request log.

* S1: 10,000 upgraded members (and 3 addresses not on the list) against the 100,000-member list;
* S2: 20 upgraded members (and 1 not on the list) against the same list.
* S3: the 10,000 members of "Sustainers", who are also among the 100,000 on "Free Members",
  taken off by ``--from-list Sustainers`` (the source list's 20 pages are the look-up); and,
  for comparison, "S3 sheet": the same job from a spreadsheet of the same 10,000 addresses.
* S4: a move (``--action move --to Sustainers``) of 10,000 upgraded members of "Free Members",
  half of them already on "Sustainers" (only taken off), the other half put on it first.

For each: the requests of the preview and of the run, the wall time of each, the preview's
prediction, the naive per-contact cost (look each member up, then change each: 2 per member),
and the least the strategies used can cost: the account, privileges and lists (3) + the look-up
(its pages, or one per address; for a list source, the source list's pages) + one activity per
500 contacts + one round of activity checks + the read-back (the pages of what is left on the
list, or one read per changed contact), and the ratios; a move adds its own activities onto the
target, a round of checks and the read-back of the target (its pages, or one read per contact
put on it).

Targets (issue 12), for each scenario and mode: the preview's predicted calls within 5 % of the
actual calls; calls within 1.1 x the minimum for the strategies used; wall time within
1.15 x calls / 4 s.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

LIST_SIZE = 100_000
OUTSIDE = 10  # contacts on no list
RATE = 4.0  # Constant Contact's limit, requests per second
SUSTAINER_EVERY = 10  # member0, member10, …: the 10,000 on Sustainers (and in S1's sheet)


def account() -> dict[str, Any]:
    contacts = [{"email": f"member{i}@example.org", "first_name": f"First{i}", "last_name": "Member",
                 "lists": ["Free Members", "Sustainers"] if i % SUSTAINER_EVERY == 0
                 else ["Free Members"]} for i in range(LIST_SIZE)]
    contacts += [{"email": f"outside{i}@example.org", "lists": []} for i in range(OUTSIDE)]
    return {"account": {"organization_name": "Benchmark Association",
                        "contact_email": "office@example.org"},
            "lists": [{"name": "Free Members"}, {"name": "Sustainers"}], "contacts": contacts}


def move_members() -> list[int]:
    """S4's members: every twentieth (on Sustainers already) and the fifth after each (not)."""
    return [i for i in range(LIST_SIZE) if i % 20 in (0, 5)]


def write_sheet(path: Path, members: int, strangers: int, indices: list[int] | None = None) -> Path:
    step = LIST_SIZE // members
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Email", "Membership"])
        for i in indices if indices is not None else range(0, step * members, step):
            writer.writerow([f"First{i} Member", f"member{i}@example.org", "Sustainer"])
        for i in range(strangers):
            writer.writerow([f"Outside {i}", f"outside{i}@example.org", "Sustainer"])
    return path


@dataclass
class Figures:
    name: str
    members: int
    rows: int
    strategy: str
    connect_calls: int
    preview_calls: int
    preview_seconds: float
    lookup_calls: int
    run_calls: int
    run_seconds: float
    activities: int
    polls: int
    verify_calls: int
    throttled: int
    removed: int
    minimum: int
    predicted_run: int
    predicted: int
    mode: str = "realistic"

    @property
    def calls(self) -> int:
        return self.preview_calls + self.run_calls

    @property
    def seconds(self) -> float:
        return self.preview_seconds + self.run_seconds

    @property
    def naive(self) -> int:
        return 2 * self.members

    @property
    def vs_minimum(self) -> float:
        return self.calls / self.minimum

    @property
    def time_vs_rate(self) -> float:
        return self.seconds / (self.calls / RATE)

    @property
    def per_member(self) -> float:
        return self.calls / self.members

    @property
    def prediction_error(self) -> float:
        return (self.predicted - self.calls) / self.calls


def minimum_for(strategy: str, check: str, list_size: int, addresses: int, changes: int,
                source_size: int = 0, adds: int = 0, add_check: str = "",
                target_size: int = 0) -> int:
    """The least the strategies can cost: account, privileges and lists + look-up + activities
    + one round of checks + the read-back (a move: ``adds`` put on a target of ``target_size``
    first, read back the ``add_check`` way)."""
    overhead = 3
    lookup = {"by_list": math.ceil(list_size / 500),
              "by_source_list": max(1, math.ceil(source_size / 500))}.get(strategy, addresses)
    activities = math.ceil(changes / 500)
    polls = 1
    verify = max(1, math.ceil((list_size - changes) / 500)) if check == "by_list" else changes
    if adds:
        activities += math.ceil(adds / 500)
        polls += 1
        verify += math.ceil((target_size + adds) / 500) if add_check == "by_list" else adds
    return overhead + lookup + activities + polls + verify


def scenario(sandbox: Any, data: dict[str, Any], folder: Path, name: str, members: int,
             strangers: int, mode: str, source: str | None = None,
             move_to: str | None = None) -> Figures:
    """One job; ``source``: the members are that list's (``--from-list``), not a sheet's;
    ``move_to``: a move to that list (S4's members), not a removal."""
    from ccdesk.core.journal import Journal
    from ccdesk.core.listsource import preview_list
    from ccdesk.core.lookup import Action
    from ccdesk.core.plan import preview
    from ccdesk.core.runner import start_run
    from ccdesk.core.sheet import read_sheet
    from ccdesk.engine.session import Session

    # A fresh account, tokens, limits and request log, in this mode.
    sandbox.reset(data, list_changes_touch_contacts=mode == "touching")
    log = sandbox.requests
    indices = move_members() if move_to else None
    sheet = None if source else read_sheet(write_sheet(folder / f"{name}.csv", members, strangers,
                                                       indices))
    action = Action.MOVE if move_to else Action.REMOVE

    def since(mark: int, method: str | None = None, path: str = "/v3/", status: int | None = None) -> int:
        return sum(1 for r in log.records()[mark:] if r.path.startswith(path)
                   and (method is None or r.method == method) and (status is None or r.status == status))

    session = Session.for_sandbox(sandbox.base_url)  # signs in, then reads the account summary
    client = session.client()
    connect = since(0)

    mark = len(log.records())
    started = time.perf_counter()
    if source:
        plan = preview_list(client, source, Action.REMOVE, ["Free Members"])
        source_size = len(plan.items)
    else:
        assert sheet is not None
        plan = preview(client, sheet, action, ["Free Members"], to=move_to)
        source_size = 0
    preview_seconds = time.perf_counter() - started
    preview_calls = since(mark)
    lookup_calls = since(mark, "GET", "/v3/contacts")

    mark = len(log.records())
    journal = Journal(folder / f"{name}-{mode}-journal.sqlite3")
    started = time.perf_counter()
    result = start_run(plan, client, journal)
    run_seconds = time.perf_counter() - started
    journal.close()
    changes = len(plan.changes)
    figures = Figures(
        name=name, members=members, rows=len(plan.items), strategy=str(plan.snapshot.strategy),
        connect_calls=connect, preview_calls=preview_calls, preview_seconds=preview_seconds,
        lookup_calls=lookup_calls, run_calls=since(mark), run_seconds=run_seconds,
        activities=since(mark, "POST", "/v3/activities/", 201),
        polls=since(mark, "GET", "/v3/activities"),
        verify_calls=since(mark, "GET", "/v3/contacts"),
        throttled=sum(1 for r in log.records() if r.status == 429),
        removed=result.counts.get("removed", 0) + result.counts.get("moved", 0),
        minimum=minimum_for(str(plan.snapshot.strategy), str(plan.cost.check), LIST_SIZE,
                            len(plan.sheet.addresses), changes, source_size,
                            sum(1 for i in plan.items if i.add_ids), str(plan.cost.add_check),
                            LIST_SIZE // SUSTAINER_EVERY),
        predicted_run=plan.cost.run_total, predicted=plan.to_dict()["api_calls"], mode=mode,
    )
    assert result.state == "finished" and figures.removed == members == changes, result
    assert sum(result.counts.values()) == figures.rows
    taken = {f"member{i}@example.org"
             for i in (indices if indices is not None else range(0, LIST_SIZE, LIST_SIZE // members))}
    assert not sandbox.members("Free Members") & taken
    if move_to:
        assert taken <= sandbox.members(move_to)
    session.close()
    return figures


def report(all_figures: list[Figures]) -> list[str]:
    lines = []
    width = 44

    def row(label: str, *values: str) -> None:
        lines.append(f"{label:<{width}}" + "".join(f"{v:>19}" for v in values))

    row("", *[f"{f.name} {f.mode}" for f in all_figures])
    row("members to remove (sheet rows)", *[f"{f.members:,} ({f.rows:,})" for f in all_figures])
    row("look-up strategy", *[f.strategy for f in all_figures])
    row("sign-in: API calls", *[f"{f.connect_calls}" for f in all_figures])
    row("preview: API calls (look-up GETs)", *[f"{f.preview_calls} ({f.lookup_calls})" for f in all_figures])
    row("preview: wall time", *[f"{f.preview_seconds:.1f} s" for f in all_figures])
    row("run: API calls (predicted)", *[f"{f.run_calls} ({f.predicted_run})" for f in all_figures])
    row("  activities / checks / verifying reads", *[f"{f.activities}/{f.polls}/{f.verify_calls}"
                                                     for f in all_figures])
    row("run: wall time", *[f"{f.run_seconds:.1f} s" for f in all_figures])
    row("preview + run: API calls", *[f"{f.calls}" for f in all_figures])
    row("  predicted by the preview (error)", *[f"{f.predicted} ({f.prediction_error:+.1%})"
                                                for f in all_figures])
    row("preview + run: wall time", *[f"{f.seconds:.1f} s" for f in all_figures])
    row("429 answers", *[f"{f.throttled}" for f in all_figures])
    row("naive per-contact calls (2 per member)", *[f"{f.naive:,}" for f in all_figures])
    row("minimum for the strategy used", *[f"{f.minimum}" for f in all_figures])
    row("calls / minimum", *[f"{f.vs_minimum:.3f}" for f in all_figures])
    row("calls / naive", *[f"{f.calls / f.naive:.4f}" for f in all_figures])
    row("calls per member", *[f"{f.per_member:.3f}" for f in all_figures])
    row("wall time / (calls / 4 s)", *[f"{f.time_vs_rate:.3f}" for f in all_figures])
    row("  preview only", *[f"{f.preview_seconds / (f.preview_calls / RATE):.3f}" for f in all_figures])
    row("  run only", *[f"{f.run_seconds / (f.run_calls / RATE):.3f}" for f in all_figures])
    return lines


def targets(all_figures: list[Figures]) -> list[tuple[str, bool]]:
    out = []
    for f in all_figures:
        name = f"{f.name} {f.mode}"
        out.append((f"{name}: predicted {f.predicted} within 5 % of the actual {f.calls} "
                    f"({f.prediction_error:+.1%})", abs(f.prediction_error) <= 0.05))
        out.append((f"{name}: calls {f.calls} <= 1.1 x minimum {f.minimum} ({f.vs_minimum:.3f})",
                    f.vs_minimum <= 1.1))
        out.append((f"{name}: wall time {f.seconds:.1f} s <= 1.15 x calls/4 s = "
                    f"{1.15 * f.calls / RATE:.1f} s ({f.time_vs_rate:.3f})", f.time_vs_rate <= 1.15))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["S1", "S2", "S3", "S4"])
    parser.add_argument("--mode", choices=["realistic", "touching", "both"], default="both",
                        help="the sandbox's mode for list changes and updated_at")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CCDESK_HOME"] = str(Path(tmp) / "home")  # the usage count and logs stay here
        from ccdesk.sandbox import Sandbox

        print(f"ccdesk run benchmark: Python {platform.python_version()} on {platform.platform()}",
              flush=True)
        data = account()
        started = time.perf_counter()
        sandbox = Sandbox(data, auto_approve=True).start()  # real rate limit and activity timing
        print(f"sandbox: {LIST_SIZE + OUTSIDE:,} contacts loaded in {time.perf_counter() - started:.1f} s; "
              f"rate limit {sandbox.config.rate_limit:g}/s, activities "
              f"{sandbox.config.activity_delay:g} s + {sandbox.config.activity_seconds:g} s per 500",
              flush=True)
        figures = []
        try:
            modes = ["realistic", "touching"] if args.mode == "both" else [args.mode]
            jobs = (("S1", "S1", 10_000, 3, None, None), ("S2", "S2", 20, 1, None, None),
                    ("S3", "S3 list", 10_000, 0, "Sustainers", None),
                    ("S3", "S3 sheet", 10_000, 0, None, None),
                    ("S4", "S4 move", 10_000, 0, None, "Sustainers"))
            for group, name, members, strangers, source, move_to in jobs:
                if args.only and args.only != group:
                    continue
                for mode in modes:
                    print(f"{name} {mode}: running ...", flush=True)
                    figures.append(scenario(sandbox, data, Path(tmp), name, members, strangers,
                                            mode, source, move_to))
        finally:
            sandbox.stop()
    print()
    print("\n".join(report(figures)))
    print()
    missed = 0
    for text, ok in targets(figures):
        print(("OK    " if ok else "MISSED") + "  " + text)
        missed += not ok
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
