"""Run a plan: batches through the bulk endpoints, a journal written before and after each,
progress events, cancel at batch boundaries, resume after anything, verify, undo.

The flow of a removal (and of an undo, which adds back):

1. *recover*: batches the journal marked ``sent`` whose answer never arrived are matched with
   Constant Contact's recent activities (never sent again if they arrived); batches already
   ``started`` are simply followed;
2. *send*: the remaining rows go in activities of ≤ 500 contacts and ≤ 50 lists, rows with the
   same lists together; each batch is written to the journal before it is sent. A batch whose
   answer is lost is looked up among the recent activities at once (while it is the newest);
   one that never arrived goes back to ``planned`` and is sent in a further pass. A batch
   Constant Contact refuses (400, 404, 409) fails its rows; one refused for a reason that holds
   for every batch (quota, 5xx, 401, 403) pauses the run;
   A lost answer is matched only with an activity of the same size and list count created
   around the batch's sending; when two could be it, neither is taken: the batch's contacts
   are read to see what is left to send (a removal sent twice is harmless; one marked sent
   that never went out is not);
3. *wait*: the activities are checked together (one request shows up to 50), at a growing
   interval (up to ``POLL_CAP``); Stop ends the wait at once, and after ``wait_limit`` seconds
   the run pauses, resumable, saying what Constant Contact is still doing;
4. *verify*: once their activities have completed, the contacts are read back the way the
   preview chose and priced (:func:`~ccdesk.core.lookup.choose_check`: pages of the target
   lists' remaining members, or one read per contact; never ``updated_after``, which a list
   change does not touch), and each row is marked ``removed`` (verified) or ``failed`` with
   the reason.

A move (and the undo of one) is two such flows, one after the other: first the rows are put on
their new list (``add_ids``) and read back, each one seen there is marked ``added`` and planned
again; then they are taken off their old lists and read back. A row whose first stage fails is
never taken off, so nobody ends up on neither list; the batches of each stage are recovered on
their own after a crash.

Unsubscribing goes contact by contact: each is read fresh, then PUT with its full record (never
a deleted contact); a row left ``sent`` by a crash is checked before it is done again.

Each run has one owner at a time (:meth:`Journal.claim`): a second process is refused and
changes nothing. ``quota_exceeded`` and lost connections pause the run (``RunPaused``): nothing
is lost, and :func:`resume_run` carries on, today or tomorrow.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ccdesk.cc.client import (
    MAX_CONTACTS_PER_ACTIVITY,
    MAX_LISTS_PER_ACTIVITY,
    ConstantContact,
    ContactDeleted,
    chunks,
)
from ccdesk.cc.errors import (
    ApiError,
    AuthError,
    Cancelled,
    ConnectionFailed,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
)
from ccdesk.cc.models import Activity
from ccdesk.core.journal import READY, BatchRecord, ItemRecord, Journal, RunRecord
from ccdesk.core.lookup import Action, Check, choose_check
from ccdesk.core.phases import Phase
from ccdesk.core.plan import (
    CHANGES,
    POLLS_PER_ROUND,
    STALE_AFTER,
    Outcome,
    Plan,
    PlanError,
    activity_count,
    file_sha256,
)
from ccdesk.errors import CcdeskError

log = logging.getLogger("ccdesk.core.run")

UNDO = "undo"
REMOVE_KIND = "remove_list_memberships"
ADD_KIND = "add_list_memberships"
PUT_KIND = "put"
REASON = "Upgraded to a paid membership"
#: Seconds before the first check on started activities; then doubled, up to POLL_CAP.
FIRST_POLL = 0.5
POLL_CAP = 30.0
#: How long a run waits for Constant Contact's jobs before it pauses (the default setting).
WAIT_LIMIT = 20 * 60.0
#: Seconds to let a request whose answer was lost land before looking for its activity.
RECOVER_GRACE = 1.0
#: A lost answer's activity must have been created within this many seconds of the sending.
MATCH_WINDOW = 120.0
#: How far two clocks may disagree once the run's own batches have measured their offset.
CLOCK_SLACK = 2.0
#: Seconds between the progress records a run leaves in the journal for watchers.
RECORD_EVERY = 0.5
#: Who carries a run out, as other processes are told ("the window", "the command line").
DEFAULT_PROGRAM = "ccdesk"
#: How often rows whose batch never reached Constant Contact are sent again in one go.
SEND_PASSES = 3


class RunPaused(CcdeskError):
    """The run stopped before the end and can be resumed (quota, connection, server)."""

    title = "The run is paused"

    def __init__(self, run_id: str, cause: CcdeskError) -> None:
        self.run_id = run_id
        self.cause = cause
        super().__init__(f"The run is paused: {cause.title}",
                         f"{cause.what_to_do} Resume it from History (or: ccdesk resume {run_id}).",
                         details=cause.details)


class RunCancelled(CcdeskError):
    """The person stopped the run; ``message`` says what was sent and what was not."""

    title = "Run stopped"

    def __init__(self, run_id: str, message: str) -> None:
        self.run_id = run_id
        super().__init__("The run was stopped",
                         f"{message} Resume it from History (or: ccdesk resume {run_id}).")


class StillProcessing(CcdeskError):
    """Constant Contact has not finished ccdesk's jobs within the wait limit."""

    title = "Constant Contact is still working on the changes"


@dataclass
class RunProgress:
    """One progress event."""

    run_id: str
    phase: Phase
    done: int
    total: int
    eta_seconds: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)  # sheet rows whose state just changed


@dataclass
class RunResult:
    """How a run ended."""

    run_id: str
    state: str
    counts: dict[str, int]
    verified: int
    api_calls: int
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "state": self.state, "counts": self.counts,
                "verified": self.verified, "api_calls": self.api_calls, "message": self.message}


ProgressCallback = Callable[[RunProgress], None]
#: Refusals that leave a request undone and hold for every request after it.
_NOT_DONE = (QuotaExceeded, ConnectionFailed, ServerError, RateLimited)
#: What pauses a run (resumable): those, a connection to make again, or a long wait.
_PAUSING = (*_NOT_DONE, AuthError, PermissionDenied, StillProcessing)


# =============================================================================================
# Entry points


def start_run(
    plan: Plan,
    client: ConstantContact,
    journal: Journal,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    program: str = DEFAULT_PROGRAM,
    wait_limit: float = WAIT_LIMIT,
    on_run: Callable[[str], None] | None = None,
) -> RunResult:
    """Record the plan as a new run and carry it out (:func:`record_run`, then
    :func:`start_ready`; a plan refused before it starts leaves nothing in the journal).

    Raises:
        PlanError: the preview is stale (too old, or the sheet changed): preview again.
        RunPaused: stopped by the quota or a lost connection; resumable.
        RunCancelled: stopped by ``cancel``; resumable.
    """
    run_id = record_run(plan, journal)
    try:
        return start_ready(run_id, client, journal, progress=progress, cancel=cancel,
                           program=program, wait_limit=wait_limit, on_run=on_run)
    except BaseException:
        with contextlib.suppress(Exception):
            journal.discard_ready(run_id)  # refused before it started: no trace of it
        raise


def record_run(plan: Plan, journal: Journal) -> str:
    """Record a preview as a run in state ``ready`` with all its items; returns its id.

    Everything :func:`start_ready` checks later is kept with it: the refusal, when the preview
    was made (the run's ``created_at``), the file's sha256 and the predicted requests."""
    items = ({  # a generator: written one by one, never all 100,000 dicts at once
        "row": item.row, "email": item.email, "value": item.value,
        "contact_id": item.contact_id, "outcome": str(item.outcome),
        "reason": item.reason + (f". {item.warning}" if item.warning else ""),
        "list_ids": list(item.list_ids), "add_ids": list(item.add_ids),
        "state": "planned" if item.outcome in CHANGES else "skipped",
        "result": "" if item.outcome in CHANGES else str(item.outcome),
    } for item in plan.items)
    refusal = plan.refusal()
    return journal.create_run(
        file_path=plan.sheet.path, file_sha256=plan.sheet.sha256, sheet=plan.sheet.sheet,
        action=str(plan.action), lists=[{"list_id": x.list_id, "name": x.name} for x in plan.lists],
        account=_account_dict(plan), items=items, predicted_calls=plan.cost.run_total,
        options={"import": None if plan.sheet.from_list else plan.sheet.options.to_dict(),
                 "source_list": _source_list(plan),
                 "strategy": str(plan.snapshot.strategy),
                 "check": str(plan.cost.check), "lookup_calls": plan.cost.lookup_spent,
                 "list_names": _touched_list_names(plan),
                 **_move_options(plan),
                 "refusal": None if refusal is None else {"title": refusal.title,
                                                          "what_to_do": refusal.what_to_do}},
        state=READY, created_at=plan.created_at,
    )


def start_ready(
    run_id: str,
    client: ConstantContact,
    journal: Journal,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    program: str = DEFAULT_PROGRAM,
    wait_limit: float = WAIT_LIMIT,
    on_run: Callable[[str], None] | None = None,
) -> RunResult:
    """Carry out a run recorded by :func:`record_run` (state ``ready``).

    Checked first, as when the preview was just made: the refusal, the preview's age
    (:data:`~ccdesk.core.plan.STALE_AFTER`), the file unchanged, and the predicted requests
    within what is left of today's allowance now.

    Raises:
        PlanError: no such ready run, or one of those checks fails (preview again).
        RunBusy: another process is starting it.
        RunPaused, RunCancelled: as :func:`resume_run`.
    """
    known_run(journal, run_id)
    with journal.claim(run_id, program):
        run = journal.run(run_id)  # as it is now that nobody else is at it
        if run.state != READY:
            raise PlanError("This run has already started",
                            f"Resume it instead: run {run_id} (History, or: ccdesk resume "
                            f"{run_id}).")
        _check_ready(run, client)
        journal.add_api_calls(run_id, int(run.options.get("lookup_calls", 0)))
        if on_run is not None:
            on_run(run_id)
        return _execute(run_id, client, journal, progress, cancel, wait_limit)


def _check_ready(run: RunRecord, client: ConstantContact) -> None:
    """The checks of a preview about to be run (the same words as ever)."""
    refusal = run.options.get("refusal")
    if refusal:
        raise PlanError(refusal.get("title"), refusal.get("what_to_do"))
    if run.options.get("source_list"):
        # The members were read from a list: nothing on disk to compare; the run removes the
        # contacts the preview showed, whoever is on the list now.
        changed = False
    else:
        try:
            changed = file_sha256(run.file_path) != run.file_sha256
        except OSError:
            changed = True
    if changed or time.time() - run.created_at > STALE_AFTER:
        raise PlanError("The preview is out of date",
                        "The sheet changed or the preview is old. Preview again, then run.")
    left = client.quota_left()
    if run.predicted_calls > left:
        raise PlanError(
            "Not enough of today's Constant Contact allowance is left",
            f"This run needs about {run.predicted_calls:,} requests and "
            f"{left:,} are left today. Run it after "
            f"{client.transport.limits.reset_words()}, or split the sheet.",
        )


def resume_run(
    run_id: str,
    client: ConstantContact,
    journal: Journal,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    program: str = DEFAULT_PROGRAM,
    wait_limit: float = WAIT_LIMIT,
    on_run: Callable[[str], None] | None = None,
) -> RunResult:
    """Carry on with an unfinished run (crashed, paused or cancelled).

    Raises:
        RunBusy: another process is carrying the run out; nothing was done.
    """
    known_run(journal, run_id)
    with journal.claim(run_id, program):
        run = journal.run(run_id)  # as it is now that nobody else is at it
        if run.state == READY:
            raise PlanError("This run has not started",
                            "Start it from its preview, or preview the sheet again.")
        if on_run is not None:
            on_run(run_id)
        if run.state == "finished":
            return result_of(journal, run_id)
        account = client.account()
        expected = run.account.get("encoded_account_id")
        if expected and account.encoded_account_id and expected != account.encoded_account_id:
            raise PlanError("This run belongs to another Constant Contact account",
                            f"It was made for {run.account.get('organization_name')}. Connect "
                            "that account to resume it.")
        journal.add_api_calls(run_id, 1)
        return _execute(run_id, client, journal, progress, cancel, wait_limit)


def undo_run(
    run_id: str,
    client: ConstantContact,
    journal: Journal,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    program: str = DEFAULT_PROGRAM,
    wait_limit: float = WAIT_LIMIT,
    on_run: Callable[[str], None] | None = None,
) -> RunResult:
    """Put back exactly the contacts a removal run removed, on exactly those lists; for a
    move, also take off the target list those the move put there (``on_run`` is told the new
    undo run's id once it is recorded and claimed)."""
    run = known_run(journal, run_id)
    with journal.claim(run_id, program):  # one undo at a time, and not while the run goes on
        before = client.calls
        undo_id = _record_undo(run, client, journal)
        journal.add_api_calls(undo_id, client.calls - before)  # the lists' sizes, read to plan it
    with journal.claim(undo_id, program):
        if on_run is not None:
            on_run(undo_id)
        return _execute(undo_id, client, journal, progress, cancel, wait_limit)


def _record_undo(run: RunRecord, client: ConstantContact, journal: Journal) -> str:
    run_id = run.run_id
    run = journal.run(run_id)  # as it is now that nobody else is at it
    if run.state != "finished":
        raise PlanError("This run is not finished",
                        "Resume it to the end first, then undo it: an undo now would miss "
                        "the contacts the rest of the run takes off.")
    if run.action not in (Action.REMOVE, Action.REMOVE_ALL, Action.MOVE):
        raise PlanError("This run cannot be undone",
                        "Only removals and moves can be undone. An unsubscribe is permanent: "
                        "the person must subscribe again themselves."
                        if run.action == Action.UNSUBSCRIBE else "Undo the original run instead.")
    for other in journal.runs(limit=100_000):
        if other.undo_of != run_id:
            continue
        if other.state == "finished":
            raise PlanError("This run was already undone",
                            f"Run {other.run_id} put its contacts back.")
        # A second undo would send the same contacts again: carry on with the first instead.
        raise PlanError("An undo of this run is under way",
                        f"Resume it instead: run {other.run_id} (History, or: ccdesk resume "
                        f"{other.run_id}).")
    if run.action == Action.MOVE:
        return _record_undo_of_move(run, client, journal)
    removed = [i for i in journal.items(run_id) if i.result == "removed"]
    if not removed:
        raise PlanError("Nothing to undo", "This run removed nobody.")
    items = [{"row": i.row, "email": i.email, "value": i.value, "contact_id": i.contact_id,
              "outcome": "re_add", "reason": "Back on " + _list_names(run, i.list_ids),
              "list_ids": i.list_ids, "state": "planned", "result": ""} for i in removed]
    check, reads = choose_check([i.list_ids for i in removed], _list_sizes(client), adding=True)
    return journal.create_run(
        file_path=run.file_path, file_sha256=run.file_sha256, sheet=run.sheet, action=UNDO,
        lists=run.lists, account=run.account, items=items, undo_of=run_id,
        predicted_calls=activity_count(i.list_ids for i in removed) + 2 + reads,
        options={"list_names": run.options.get("list_names", {}), "check": str(check),
                 "source_list": run.options.get("source_list")},
    )


def _record_undo_of_move(run: RunRecord, client: ConstantContact, journal: Journal) -> str:
    """An undo of a move, itself in two stages: back onto the lists they left, then off the
    target for those the run put there (never on neither list in between)."""
    target = run.options["target"]
    items = []
    for i in journal.iter_items(run.run_id):
        back = i.list_ids if i.result in ("moved", "removed") else []
        off = [target["list_id"]] if i.added else []  # put there by the run (even if it failed after)
        if not back and not off:
            continue
        words = [f"back on {_list_names(run, back)}"] if back else []
        words += [f"off {target['name']}"] if off else []
        reason = " and ".join(words)  # not str.capitalize(): it would lower the lists' names
        items.append({"row": i.row, "email": i.email, "value": i.value,
                      "contact_id": i.contact_id, "outcome": "re_add",
                      "reason": reason[:1].upper() + reason[1:], "add_ids": back,
                      "list_ids": off, "state": "planned", "result": ""})
    if not items:
        raise PlanError("Nothing to undo", "This run moved nobody.")
    sizes = _list_sizes(client)
    adds = [x["add_ids"] for x in items if x["add_ids"]]
    offs = [x["list_ids"] for x in items if x["list_ids"]]
    add_check, add_reads = choose_check(adds, sizes, adding=True)
    check, reads = choose_check(offs, sizes)
    activities = activity_count(adds) + activity_count(offs)
    return journal.create_run(
        file_path=run.file_path, file_sha256=run.file_sha256, sheet=run.sheet, action=UNDO,
        lists=run.lists, account=run.account, items=items, undo_of=run.run_id,
        predicted_calls=activities + POLLS_PER_ROUND * math.ceil(activities / 50) + add_reads
        + reads,
        options={"list_names": run.options.get("list_names", {}), "check": str(check),
                 "checks": {ADD_KIND: str(add_check)}, "staged": True, "target": target,
                 "source_list": run.options.get("source_list")},
    )


def _list_sizes(client: ConstantContact) -> dict[str, int | None]:
    """Every list's member count now (one request)."""
    return {x.list_id: x.membership_count for x in client.lists()}


def known_run(journal: Journal, run_id: str) -> RunRecord:
    """The run, or a plain-words refusal when the journal has no such run."""
    try:
        return journal.run(run_id)
    except KeyError:
        raise PlanError(f"There is no run {run_id}",
                        "See the runs kept on this computer in History (or: ccdesk runs).") from None


def result_of(journal: Journal, run_id: str) -> RunResult:
    """The counts of a run as the journal has them (counted there, not read item by item)."""
    run = journal.run(run_id)
    return RunResult(run.run_id, run.state, journal.result_counts(run_id),
                     journal.verified_count(run_id), run.api_calls, run.message)


def result_from_items(run: RunRecord, items: Sequence[ItemRecord]) -> RunResult:
    """:func:`result_of` for a run whose items were already read."""
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        # As Journal.result_counts: a move's row put on its new list, not yet taken off the old.
        half_moved = not item.result and item.added and item.state == "planned"
        counts["added" if half_moved else item.result or item.state] += 1
    return RunResult(run.run_id, run.state, dict(counts), sum(1 for i in items if i.verified),
                     run.api_calls, run.message)


# =============================================================================================
# Execution


class _Context:
    def __init__(self, run: RunRecord, client: ConstantContact, journal: Journal,
                 progress: ProgressCallback | None, cancel: threading.Event | None,
                 wait_limit: float) -> None:
        self.run = run
        self.client = client
        self.journal = journal
        self.progress = progress
        self.cancel = cancel
        self.wait_limit = wait_limit
        self.check = Check(run.options.get("check", Check.BY_CONTACT))
        #: A move (or its undo): put on ``add_ids`` first, then off ``list_ids``; ``stage``
        #: says which of the two is under way ("add", "remove"; None for other runs).
        self.staged = bool(run.options.get("staged"))
        self.stage: str | None = None
        self.checks = {kind: Check(v) for kind, v in run.options.get("checks", {}).items()}
        self.calls_at_start = client.calls
        self.started = time.monotonic()
        self.recorded_phase: Phase | None = None
        self.recorded_at = 0.0
        self.lists = {x["list_id"]: x["name"] for x in run.lists}

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def check_for(self, kind: str) -> Check:
        """How the changes of this kind are read back."""
        return self.checks.get(kind, self.check)

    def ids(self, item: ItemRecord, kind: str) -> list[str]:
        """The lists a change of this kind concerns for this row."""
        return item.add_ids if self.staged and kind == ADD_KIND else item.list_ids

    def done_word(self, item: ItemRecord, kind: str) -> str:
        """The result of a row whose change of this kind is seen in Constant Contact."""
        if self.run.action == UNDO:
            return "re-added"
        if self.staged:
            return "moved" if item.added or kind == ADD_KIND else "removed"
        return "re-added" if kind == ADD_KIND else "removed"

    def finish_done(self, kind: str, items: Iterable[ItemRecord]) -> None:
        """Mark these rows' change of this kind as seen in Constant Contact: done, or for the
        first stage of a move, put on their new list and planned again to leave the old."""
        by_word: dict[str, list[int]] = defaultdict(list)
        for item in items:
            by_word[self.done_word(item, kind)].append(item.row)
        for word, rows in by_word.items():
            if self.staged and kind == ADD_KIND:
                self.journal.mark_added(self.run.run_id, rows, result=word,
                                        message="Checked in Constant Contact")
            else:
                self.journal.finish_items(self.run.run_id, rows, state="done", result=word,
                                          verified=True, message="Checked in Constant Contact")

    def stop_if_cancelled(self) -> None:
        if self.cancelled():
            raise Cancelled()

    def pause(self, seconds: float) -> None:
        """Wait, unless the person stops the run meanwhile (then raise Cancelled)."""
        if self.cancel is None:
            time.sleep(seconds)
        elif self.cancel.wait(seconds):
            raise Cancelled()

    def emit(self, phase: Phase, done: int, total: int, rows: Sequence[int] = ()) -> None:
        """Tell the caller, and the journal (for windows watching from other processes: at
        most every ``RECORD_EVERY`` seconds, and at every change of phase)."""
        now = time.monotonic()
        elapsed = now - self.started
        eta = elapsed / done * (total - done) if done and total >= done else None
        if phase != self.recorded_phase or now - self.recorded_at >= RECORD_EVERY:
            self.journal.set_progress(self.run.run_id, phase, done, total, eta)
            self.recorded_phase, self.recorded_at = phase, now
        if self.progress is None:
            return
        self.progress(RunProgress(self.run.run_id, phase, done, total, eta,
                                  self.journal.result_counts(self.run.run_id), list(rows)))

    def flush_calls(self) -> None:
        spent = self.client.calls - self.calls_at_start
        self.journal.add_api_calls(self.run.run_id, spent)
        self.calls_at_start = self.client.calls


def _execute(run_id: str, client: ConstantContact, journal: Journal,
             progress: ProgressCallback | None, cancel: threading.Event | None,
             wait_limit: float) -> RunResult:
    """Carry out a run this process has claimed."""
    run = journal.run(run_id)
    journal.set_run_state(run_id, "running")
    ctx = _Context(run, client, journal, progress, cancel, wait_limit)
    try:
        if run.action == Action.UNSUBSCRIBE:
            _unsubscribe(ctx)
        elif ctx.staged:
            for stage, kind in (("add", ADD_KIND), ("remove", REMOVE_KIND)):
                ctx.stage = stage
                _memberships(ctx, kind)
        else:
            _memberships(ctx, ADD_KIND if run.action == UNDO else REMOVE_KIND)
    except Cancelled:
        ctx.flush_calls()
        unsure = sum(b.size for b in journal.batches(run_id) if b.state in ("sent", "unknown"))
        message = _stopped(journal.result_counts(run_id), unsure)
        journal.set_run_state(run_id, "cancelled", message)
        raise RunCancelled(run_id, message) from None
    except _PAUSING as exc:
        ctx.flush_calls()
        journal.set_run_state(run_id, "paused", exc.title)
        raise RunPaused(run_id, exc) from exc
    except BaseException:
        ctx.flush_calls()
        journal.set_run_state(run_id, "paused", "Stopped by an unexpected error.")
        raise
    ctx.flush_calls()
    journal.set_run_state(run_id, "finished")
    result = result_of(journal, run_id)
    ctx.emit(Phase.FINISHED, 1, 1)
    return result


def _stopped(states: dict[str, int], unsure: int = 0) -> str:
    """What a stop left behind, truthfully: sent and not checked, perhaps sent (an answer was
    lost), half moved, or not sent (``states``: the journal's result counts)."""
    sent, unsent = states.get("sent", 0) - unsure, states.get("planned", 0)
    added = states.get("added", 0)
    if sent and not unsure and not unsent and not added:
        return ("Stopped by you. All changes were sent to Constant Contact; they are not "
                "checked yet.")
    parts: list[str] = []
    for n, noun, one, many in (
            (sent, "change", "was sent to Constant Contact and is not checked yet",
             "were sent to Constant Contact and are not checked yet"),
            (unsure, "change", "may not have reached Constant Contact (resuming finds out)",
             "may not have reached Constant Contact (resuming finds out)"),
            (added, "member", "was put on the new list and is not taken off the old one yet",
             "were put on their new list and are not taken off the old one yet"),
            (unsent, "change", "was not sent", "were not sent")):
        if n:  # the noun once ("500 changes were sent …; 200 were not sent"), and "members"
            named = not parts or noun == "member"
            noun_words = f"{noun if n == 1 else noun + 's'} " if named else ""
            parts.append(f"{n:,} {noun_words}{one if n == 1 else many}")
    if not parts:
        return "Stopped by you. Everything was sent and checked."
    return f"Stopped by you. {'; '.join(parts)}."


# ---- list memberships ---------------------------------------------------------------------------


def _memberships(ctx: _Context, kind: str) -> None:
    run_id = ctx.run.run_id
    journal = ctx.journal
    _recover_unconfirmed(ctx, kind)
    counts = journal.item_counts(run_id, stage=ctx.stage)
    total = sum(counts.get(state, 0) for state in ("planned", "sent", "done", "failed"))
    for _ in range(SEND_PASSES):
        if not _planned(journal, run_id, ctx.stage):
            break
        _send(ctx, kind, total)
        # Rows of a batch that never reached Constant Contact are planned again: another pass.
        _settle(ctx, kind)
    _settle(ctx, kind)  # batches started before a crash or a pause, when nothing was left to send
    left = _planned(journal, run_id, ctx.stage)
    if left:
        raise ConnectionFailed(
            "Some batches did not reach Constant Contact",
            f"{left:,} rows were sent {SEND_PASSES} times without arriving. Check the "
            "connection, then resume the run.")


def _planned(journal: Journal, run_id: str, stage: str | None = None) -> int:
    """How many rows of the run (of one stage of a move) are still to be sent."""
    return journal.item_counts(run_id, stage=stage).get("planned", 0)


def _send(ctx: _Context, kind: str, total: int) -> None:
    """Send the planned rows in activities (rows with the same lists together).

    Only each row's number and contact id are kept (not its whole journal record): a run
    may have 100,000 rows to send."""
    run_id = ctx.run.run_id
    journal = ctx.journal
    groups: dict[tuple[str, ...], list[tuple[int, str | None]]] = defaultdict(list)
    for item in journal.iter_items(run_id, state="planned", stage=ctx.stage):
        groups[tuple(ctx.ids(item, kind))].append((item.row, item.contact_id))
    done = total - sum(len(members) for members in groups.values())
    for list_ids, members in groups.items():
        for lists in chunks(list(list_ids), MAX_LISTS_PER_ACTIVITY):
            for batch_items in chunks(members, MAX_CONTACTS_PER_ACTIVITY):
                ctx.stop_if_cancelled()
                rows = [row for row, _ in batch_items]
                batch = journal.open_batch(run_id, kind, rows, lists)
                ids = [contact_id for _, contact_id in batch_items]
                try:
                    activity = (ctx.client.start_remove(ids, lists) if kind == REMOVE_KIND
                                else ctx.client.start_add(ids, lists))
                except OutcomeUnknown as exc:
                    # It may have arrived: look for it now, while it is the newest activity,
                    # rather than after more of the same size were sent.
                    journal.update_batch(run_id, batch, state="unknown", message=exc.title)
                    ctx.pause(RECOVER_GRACE)
                    _recover_unconfirmed(ctx, kind)
                except _PAUSING as exc:
                    # Refused or never arrived, for a reason that holds for every batch: nothing
                    # was done, the rows go back to planned, and the run pauses (the batches
                    # already started are checked when it resumes).
                    journal.update_batch(run_id, batch, state="failed", message=exc.title)
                    journal.reset_items(run_id, rows)
                    raise
                except ApiError as exc:
                    # Constant Contact refused this batch (400, 404, 409 …): nothing was done.
                    # Sending it again would be refused again: its rows fail, with its words.
                    message = exc.server_message or exc.title
                    journal.update_batch(run_id, batch, state="failed", message=message)
                    _fail_refused(ctx, kind, batch, rows, lists,
                                  f"Refused by Constant Contact: {message}")
                    log.warning("batch %s of run %s refused: %s", batch, run_id, exc.details)
                else:
                    journal.update_batch(run_id, batch, state="started",
                                         activity_id=activity.activity_id,
                                         server_created_at=activity.created_at)
                done += len(rows)
                ctx.emit(Phase.SENDING, done, total, rows)


def _fail_refused(ctx: _Context, kind: str, batch: int, rows: Sequence[int],
                  lists: Sequence[str], message: str) -> None:
    """Fail the rows of a batch Constant Contact refused; a move's rows also say where the
    refusal leaves them (on the old list still, or on both)."""
    run_id = ctx.run.run_id
    if not ctx.staged:
        ctx.journal.finish_items(run_id, rows, state="failed", result="failed", message=message)
        return
    by_message: dict[str, list[int]] = defaultdict(list)
    for item in ctx.journal.items(run_id, batch=batch):
        if kind == ADD_KIND and item.list_ids:
            where = (f". Not put on {_list_names(ctx.run, lists)}, so it stays on "
                     f"{_list_names(ctx.run, item.list_ids)}")
        elif kind == REMOVE_KIND and item.added:
            where = (f". Put on {_list_names(ctx.run, item.add_ids)}, but still on "
                     f"{_list_names(ctx.run, lists)}")
        else:
            where = ""
        by_message[message.rstrip(".") + where if where else message].append(item.row)
    for text, same in by_message.items():
        ctx.journal.finish_items(run_id, same, state="failed", result="failed", message=text)


def _settle(ctx: _Context, kind: str) -> None:
    """Wait for every started activity, then read its rows back."""
    _recover_unconfirmed(ctx, kind)
    _wait_for_activities(ctx)
    _verify(ctx, kind)


def _recover_unconfirmed(ctx: _Context, kind: str) -> None:
    """Batches sent without a recorded answer: find their activity, or know what is left to send."""
    run_id = ctx.run.run_id
    journal = ctx.journal
    batches = journal.batches(run_id)
    unsure = [b for b in batches if b.state in ("sent", "unknown") and b.kind == kind]
    if not unsure:
        return
    claimed = journal.claimed_activities()
    recent = ctx.client.recent_activities(limit=500)
    offset = _clock_offset(batches)
    for batch in unsure:
        candidates = _candidates(batch, recent, claimed, offset)
        if len(candidates) == 1 and _before_sending(candidates[0], batch, offset):
            # Made before our request left: someone else's job. Ours may or may not exist.
            _decide_by_reading(ctx, kind, batch, candidates)
        elif len(candidates) == 1:
            match = candidates[0]
            claimed.add(match.activity_id)
            journal.update_batch(run_id, batch.batch, state="started",
                                 activity_id=match.activity_id,
                                 server_created_at=match.created_at)
            log.info("batch %s of run %s was received after all (activity found)", batch.batch,
                     run_id)
        elif not candidates:
            journal.update_batch(run_id, batch.batch, state="failed",
                                 message="Never reached Constant Contact; sent again.")
            journal.reset_items(run_id, [i.row for i in journal.items(run_id, batch=batch.batch)])
            log.info("batch %s of run %s never arrived; its rows will be sent again", batch.batch,
                     run_id)
        else:
            _decide_by_reading(ctx, kind, batch, candidates)


def _candidates(batch: BatchRecord, recent: Sequence[Activity], claimed: set[str],
                offset: float) -> list[Activity]:
    """Unclaimed activities that could be this batch's: the same size and number of lists,
    created around the moment it was sent (in Constant Contact's clock, ``offset`` ahead)."""
    if batch.sent_at is None:
        return []
    sent = batch.sent_at + offset
    return [a for a in recent
            if a.activity_id not in claimed and a.items_total == batch.size
            and a.list_count == len(batch.list_ids)
            and abs(_epoch(a.created_at) - sent) <= MATCH_WINDOW]


def _before_sending(activity: Activity, batch: BatchRecord, offset: float) -> bool:
    """Whether the activity was created before the batch's request left (clocks allowing)."""
    return batch.sent_at is not None and _epoch(activity.created_at) < batch.sent_at + offset - CLOCK_SLACK


def _clock_offset(batches: Sequence[BatchRecord]) -> float:
    """How far Constant Contact's clock runs ahead of ours, from this run's confirmed batches."""
    gaps = sorted(_epoch(b.server_created_at) - b.sent_at for b in batches
                  if b.server_created_at and b.sent_at is not None)
    return gaps[len(gaps) // 2] if gaps else 0.0


def _epoch(stamp: str | None) -> float:
    try:
        return datetime.fromisoformat((stamp or "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("-inf")


def _wait_until_ended(ctx: _Context, activities: Sequence[Activity]) -> None:
    """Poll these activities (growing interval, bounded by the wait limit) until all ended."""
    waiting = [a.activity_id for a in activities if not a.finished]
    rounds = _poll_rounds(ctx)
    while waiting:
        waited = next(rounds)
        states = _activity_states(ctx.client, waiting)
        still = [a for i in waiting if (a := states.get(i)) is not None and not a.finished]
        _give_up_after(ctx, still, waited, "jobs that may be ccdesk's")
        waiting = [a.activity_id for a in still]


def _poll_rounds(ctx: _Context) -> Iterator[float]:
    """Before each look at Constant Contact's jobs: say so, and wait (0.5 s, then doubling up to
    ``POLL_CAP``; Stop ends the wait). Yields the seconds waited so far."""
    delay, since = FIRST_POLL, time.monotonic()
    while True:
        ctx.emit(Phase.WAITING, 0, 0)
        ctx.pause(delay)
        yield time.monotonic() - since
        delay = min(POLL_CAP, delay * 2)


def _give_up_after(ctx: _Context, still: Sequence[Activity], waited: float, what: str) -> None:
    """Pause the run (:class:`StillProcessing`) when jobs are still unfinished after the wait
    limit."""
    if still and waited >= ctx.wait_limit:
        raise StillProcessing(
            f"Constant Contact is still working on {len(still):,} {what}",
            f"After {_minutes(waited)} they are still {_states_in_words(still)} at Constant "
            "Contact. Nothing is lost: they carry on there, and ccdesk checks them when the run "
            "is resumed.")


def _decide_by_reading(ctx: _Context, kind: str, batch: BatchRecord,
                       candidates: Sequence[Activity]) -> None:
    """A lost answer with several activities that could be it: adopt none. Read the batch's
    contacts; those already changed are done, the others are sent again."""
    run_id = ctx.run.run_id
    _wait_until_ended(ctx, candidates)  # if one of them is ours, its work shows in the read
    items = ctx.journal.items(run_id, batch=batch.batch)
    check, _ = choose_check([ctx.ids(i, kind) for i in items], _list_sizes(ctx.client),
                            adding=kind == ADD_KIND)
    found = _read_back(ctx, {i.contact_id for i in items if i.contact_id},
                       {x for i in items for x in ctx.ids(i, kind)}, check)
    done: list[ItemRecord] = []
    again: list[int] = []
    for item in items:
        if _in_effect(item, found, kind, ctx.ids(item, kind)):
            done.append(item)
        else:
            again.append(item.row)
    ctx.journal.update_batch(
        run_id, batch.batch, state="failed",
        message=f"Its answer was lost and {len(candidates)} jobs at Constant Contact could be it; "
                "the contacts were read instead.")
    ctx.finish_done(kind, done)
    ctx.journal.reset_items(run_id, again)
    log.info("batch %s of run %s: answer lost, %s candidates; %s rows done, %s sent again",
             batch.batch, run_id, len(candidates), len(done), len(again))


_ENDINGS = {
    "failed": "Constant Contact's job failed",
    "cancelled": "Constant Contact cancelled the job",
    "timed_out": "Constant Contact's job timed out",
}


def _wait_for_activities(ctx: _Context) -> None:
    """Poll the started activities at a growing interval until each has ended.

    Stop ends the wait at once (the jobs carry on at Constant Contact; resuming checks them).
    After ``ctx.wait_limit`` seconds the run pauses with :class:`StillProcessing`."""
    run_id = ctx.run.run_id
    journal = ctx.journal
    rounds = _poll_rounds(ctx)
    while started := journal.batches(run_id, state="started"):
        waited = next(rounds)
        states = _activity_states(ctx.client, [b.activity_id for b in started if b.activity_id])
        still: list[Activity] = []
        for batch in started:
            activity = states.get(batch.activity_id or "")
            if activity is None and batch.activity_id in states.gone:
                # Older than Constant Contact keeps activities (10 days): the re-read decides.
                journal.update_batch(run_id, batch.batch, state="finished",
                                     message="Constant Contact no longer reports on this job")
            elif activity is None:
                continue
            elif not activity.finished:
                still.append(activity)
            elif activity.succeeded:
                journal.update_batch(run_id, batch.batch, state="finished",
                                     message="; ".join(activity.errors)[:1000] or activity.state)
            else:
                reason = _ENDINGS.get(activity.state, f"Constant Contact's job ended {activity.state}")
                errors = "; ".join(activity.errors)[:1000]
                journal.update_batch(run_id, batch.batch, state="failed",
                                     message=f"{reason}: {errors}" if errors else reason)
        _give_up_after(ctx, still, waited, "of ccdesk's jobs")


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return "less than a minute" if minutes < 1 else f"{minutes} minute{'s' if minutes != 1 else ''}"


def _states_in_words(activities: Sequence[Activity]) -> str:
    waiting = sum(1 for a in activities if a.state == "initialized")
    if waiting == len(activities):
        return "waiting their turn"
    done = sum(a.items_completed for a in activities)
    total = sum(a.items_total for a in activities)
    return f"in progress ({done:,} of {total:,} contacts done)" if total else "in progress"


class _States(dict[str, Activity]):
    """Activities by id, and the ids Constant Contact answered 404 for."""

    def __init__(self) -> None:
        super().__init__()
        self.gone: set[str] = set()


def _activity_states(client: ConstantContact, ids: Sequence[str]) -> _States:
    """The current state of these activities, in as few requests as possible."""
    found = _States()
    if len(ids) > 1:
        found.update((a.activity_id, a)
                     for a in client.recent_activities(limit=min(500, max(50, len(ids)))))
    for activity_id in ids:
        if activity_id not in found:  # one alone, or older than the page: ask for it alone
            try:
                found[activity_id] = client.activity(activity_id)
            except NotFound:
                found.gone.add(activity_id)
    return found


def _verify(ctx: _Context, kind: str) -> None:
    """Read back the rows whose activities have ended; mark each done (verified) or failed.

    By list, the target lists are paged once every activity of the run has ended and nothing
    is left to send (paging them again for each pass would cost the list again)."""
    run_id = ctx.run.run_id
    journal = ctx.journal
    batches = {b.batch: b for b in journal.batches(run_id)
               if b.state in ("finished", "failed") and b.kind == kind}

    def settled() -> Iterator[ItemRecord]:
        """The rows to check, read from the journal as they are needed (twice: first what to
        read back, then each row's verdict), never all 100,000 records at once."""
        return (i for i in journal.iter_items(run_id, state="sent", stage=ctx.stage)
                if i.batch in batches)

    rows: list[int] = []
    ids: set[str] = set()
    targets: set[str] = set()
    for item in settled():
        rows.append(item.row)
        targets.update(ctx.ids(item, kind))
        if item.contact_id:
            ids.add(item.contact_id)
    if not rows:
        return
    check = ctx.check_for(kind)
    if check is Check.BY_LIST and _planned(journal, run_id, ctx.stage):
        return
    ctx.emit(Phase.CHECKING, 0, len(rows))
    found = _read_back(ctx, ids, targets, check)
    adding = kind == ADD_KIND
    done_items: list[ItemRecord] = []
    failed = []
    for item in settled():
        batch = batches[item.batch]  # type: ignore[index]
        lists = ctx.ids(item, kind)
        if _in_effect(item, found, kind, lists):
            done_items.append(item)
            continue
        on = found.get(item.contact_id or "")
        if on is None:
            why = "Not found in Constant Contact any more"
        else:
            where = _list_names(ctx.run, [i for i in lists if (i in on) != adding])
            why = f"Still not on {where}" if adding else f"Still on {where}"
            if ctx.staged and adding and item.list_ids:
                why += f", so it stays on {_list_names(ctx.run, item.list_ids)}"
            elif ctx.staged and item.added:  # on the new list and the old one: say both
                why = f"Put on {_list_names(ctx.run, item.add_ids)}, but still on {where}"
        failed.append((item.row, f"{why}. {_message_for(item, batch)}".strip(". ")))
    ctx.finish_done(kind, done_items)
    for row, message in failed:
        journal.finish_items(run_id, [row], state="failed", result="failed", message=message)
    ctx.emit(Phase.CHECKED, len(rows), len(rows), rows)


def _in_effect(item: ItemRecord, found: dict[str, AbstractSet[str] | None], kind: str,
               lists: Sequence[str]) -> bool:
    """Whether the contact read back shows the row's change (to ``lists``)."""
    on = found.get(item.contact_id or "")
    if on is None:
        return False
    return set(lists) <= on if kind == ADD_KIND else not set(lists) & on


def _read_back(ctx: _Context, ids: AbstractSet[str], targets: Iterable[str],
               check: Check) -> dict[str, AbstractSet[str] | None]:
    """The lists each of these contacts is on now (None: not found), read the ``check`` way.

    Args:
        ids: the contacts.
        targets: the ids of the lists they were taken off (or put on).

    By list, a contact not met on the target lists' pages is on none of them."""
    found: dict[str, AbstractSet[str] | None] = {}
    if check is Check.BY_LIST:
        for page in ctx.client.iter_members(sorted(set(targets))):
            for contact in page:
                if contact.contact_id in ids:
                    found[contact.contact_id] = set(contact.list_ids or ())
            ctx.stop_if_cancelled()
        return {contact_id: found.get(contact_id, _ON_NONE) for contact_id in ids}
    for n, contact_id in enumerate(sorted(ids), 1):
        ctx.stop_if_cancelled()
        try:
            contact = ctx.client.contact(contact_id)
        except NotFound:
            found[contact_id] = None
        else:
            found[contact_id] = None if contact.deleted else set(contact.list_ids or ())
        if n % 100 == 0:
            ctx.emit(Phase.CHECKING, n, len(ids))
    return found


#: On none of the target lists (one shared value: a check may find 100,000 contacts so).
_ON_NONE: frozenset[str] = frozenset()


def _message_for(item: ItemRecord, batch: BatchRecord) -> str:
    """Constant Contact's words about this contact, when its job named it; else the job's."""
    own = [m for m in batch.message.split("; ") if item.contact_id and item.contact_id in m]
    return "; ".join(own) if own else batch.message


def _list_names(run: RunRecord, ids: Sequence[str]) -> str:
    target = run.options.get("target")
    names = {**run.options.get("list_names", {}), **{x["list_id"]: x["name"] for x in run.lists},
             **({target["list_id"]: target["name"]} if target else {})}
    return ", ".join(names.get(i, "another list") for i in ids) or "the list"


# ---- unsubscribe ----------------------------------------------------------------------------------


def _unsubscribe(ctx: _Context) -> None:
    run_id = ctx.run.run_id
    journal = ctx.journal
    # A row left "sent" by a crash: look before acting again.
    for item in journal.items(run_id, state="sent"):
        try:
            contact = ctx.client.contact(item.contact_id)  # type: ignore[arg-type]
        except NotFound as exc:
            _finish_put(journal, run_id, item, "failed", "failed",
                        exc.server_message or exc.title)
            continue
        if contact.unsubscribed:
            _finish_put(journal, run_id, item, "done", "unsubscribed",
                        "Checked in Constant Contact", verified=True)
        else:
            journal.reset_items(run_id, [item.row])
    total = _planned(journal, run_id)
    for n, item in enumerate(journal.iter_items(run_id, state="planned"), 1):
        ctx.stop_if_cancelled()
        batch = journal.open_batch(run_id, PUT_KIND, [item.row], [])
        try:
            done = ctx.client.unsubscribe(item.contact_id, REASON)  # type: ignore[arg-type]
        except ContactDeleted:
            _finish_put(journal, run_id, item, "skipped", "skip_deleted",
                        "Deleted in Constant Contact since the preview", batch=batch)
        except _NOT_DONE as exc:
            journal.update_batch(run_id, batch, state="failed", message=exc.title)
            journal.reset_items(run_id, [item.row])
            raise
        except ApiError as exc:  # NotFound and the other refusals: this row only
            if isinstance(exc, _PAUSING):
                raise  # e.g. the connection must be made again: the row stays "sent"
            _finish_put(journal, run_id, item, "failed", "failed",
                        exc.server_message or exc.title, batch=batch)
        else:
            if done.unsubscribed:
                _finish_put(journal, run_id, item, "done", "unsubscribed",
                            "Confirmed by Constant Contact", verified=True, batch=batch)
            else:
                _finish_put(journal, run_id, item, "failed", "failed",
                            "Constant Contact did not record the opt-out", batch=batch)
        ctx.emit(Phase.UNSUBSCRIBING, n, total, [item.row])


def _finish_put(journal: Journal, run_id: str, item: ItemRecord, state: str, result: str,
                message: str, *, verified: bool = False, batch: int | None = None) -> None:
    """The final state of one unsubscribe row, and of its one-request batch."""
    journal.finish_items(run_id, [item.row], state=state, result=result, verified=verified,
                         message=message)
    batch = batch if batch is not None else item.batch
    if batch is not None:
        journal.update_batch(run_id, batch, state="failed" if state == "failed" else "finished",
                             message=message)


def _touched_list_names(plan: Plan) -> dict[str, str]:
    """The names of the lists the run's rows will be taken off (for logs and the undo)."""
    names = {x.list_id: x.name for x in plan.lists}
    for item in plan.changes:
        for list_id in item.list_ids:
            names.setdefault(list_id, plan.all_list_names.get(list_id, "another list"))
    return names


def _move_options(plan: Plan) -> dict[str, Any]:
    """What a move's run keeps besides a removal's: its target, and how the contacts put on it
    are read back."""
    if plan.action is not Action.MOVE or plan.target is None:
        return {}
    checks = {ADD_KIND: str(plan.cost.add_check)} if plan.cost.add_check else {}
    return {"target": {"list_id": plan.target.list_id, "name": plan.target.name},
            "staged": True, "checks": checks}


def _source_list(plan: Plan) -> dict[str, str] | None:
    """The list the members were read from (``{"list_id", "name"}``), or None for a file."""
    source = plan.sheet.source_list
    return None if source is None else {"list_id": source["list_id"], "name": source["name"]}


def _account_dict(plan: Plan) -> dict[str, Any]:
    a = plan.account
    return {"organization_name": a.organization_name, "contact_email": a.contact_email,
            "encoded_account_id": a.encoded_account_id}


__all__ = [
    "Outcome",
    "RunCancelled",
    "RunPaused",
    "RunProgress",
    "RunResult",
    "record_run",
    "resume_run",
    "start_ready",
    "start_run",
    "undo_run",
]
