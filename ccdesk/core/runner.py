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
3. *wait*: the activities are checked together (one request shows up to 50) with back-off;
4. *verify*: the contacts are read back, the cheapest way (the contacts changed since the
   first activity began, or one by one for a handful; those the changed-since pages do not
   show, by paging their lists when that is cheaper), and each row is marked ``removed``
   (verified) or ``failed`` with Constant Contact's words.

Unsubscribing goes contact by contact (one full-record PUT each; never a deleted contact); a
row left ``sent`` by a crash is checked before it is done again.

``quota_exceeded`` and lost connections pause the run (``RunPaused``): nothing is lost, and
:func:`resume_run` carries on, today or tomorrow.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
from ccdesk.cc.models import Activity, Contact
from ccdesk.core.journal import BatchRecord, ItemRecord, Journal, RunRecord
from ccdesk.core.lookup import Action, list_paging_calls
from ccdesk.core.plan import CHANGES, VERIFY_ONE_BY_ONE, Outcome, Plan, PlanError
from ccdesk.errors import CcdeskError

log = logging.getLogger("ccdesk.core.run")

UNDO = "undo"
REMOVE_KIND = "remove_list_memberships"
ADD_KIND = "add_list_memberships"
PUT_KIND = "put"
REASON = "Upgraded to a paid membership"
#: Seconds before the first check on started activities; then doubled, up to POLL_CAP.
FIRST_POLL = 0.5
POLL_CAP = 8.0
#: Seconds to let a request whose answer was lost land before looking for its activity.
RECOVER_GRACE = 1.0
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
    """The person cancelled; the run stopped at a batch boundary."""

    title = "Run stopped"

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__("The run was stopped",
                         "Everything sent so far was finished and recorded. The rest was not "
                         f"sent; resume it later from History (or: ccdesk resume {run_id}).")


@dataclass
class RunProgress:
    """One progress event."""

    run_id: str
    phase: str
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
_PAUSING = (QuotaExceeded, ConnectionFailed, ServerError, RateLimited, AuthError, PermissionDenied)


# =============================================================================================
# Entry points


def start_run(
    plan: Plan,
    client: ConstantContact,
    journal: Journal,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Record the plan as a new run and carry it out.

    Raises:
        PlanError: the preview is stale (too old, or the sheet changed): preview again.
        RunPaused: stopped by the quota or a lost connection; resumable.
        RunCancelled: stopped by ``cancel``; resumable.
    """
    if plan.is_stale():
        raise PlanError("The preview is out of date",
                        "The sheet changed or the preview is old. Preview again, then run.")
    if not plan.cost.fits:
        raise PlanError(
            "Not enough of today's Constant Contact allowance is left",
            f"This run needs about {plan.cost.run_total:,} requests and "
            f"{plan.cost.quota_left:,} are left today. Run it after midnight UTC, or split "
            "the sheet.",
        )
    items = []
    for item in plan.items:
        change = item.outcome in CHANGES
        items.append({
            "row": item.row, "email": item.email, "value": item.value,
            "contact_id": item.contact_id, "outcome": str(item.outcome),
            "reason": item.reason + (f". {item.warning}" if item.warning else ""),
            "list_ids": list(item.list_ids), "state": "planned" if change else "skipped",
            "result": "" if change else str(item.outcome),
        })
    run_id = journal.create_run(
        file_path=plan.sheet.path, file_sha256=plan.sheet.sha256, sheet=plan.sheet.sheet,
        action=str(plan.action), lists=[{"list_id": x.list_id, "name": x.name} for x in plan.lists],
        account=_account_dict(plan), items=items, predicted_calls=plan.cost.run_total,
        options={"import": plan.sheet.options.to_dict(), "strategy": str(plan.snapshot.strategy),
                 "lookup_calls": plan.cost.lookup_spent,
                 "list_names": _touched_list_names(plan)},
    )
    journal.add_api_calls(run_id, plan.cost.lookup_spent)
    known = {c.contact_id: c for c in plan.snapshot.found.values()}
    return _execute(run_id, client, journal, progress, cancel, known)


def resume_run(
    run_id: str,
    client: ConstantContact,
    journal: Journal,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Carry on with an unfinished run (crashed, paused or cancelled)."""
    run = _known_run(journal, run_id)
    if run.state == "finished":
        return result_of(journal, run_id)
    account = client.account()
    expected = run.account.get("encoded_account_id")
    if expected and account.encoded_account_id and expected != account.encoded_account_id:
        raise PlanError("This run belongs to another Constant Contact account",
                        f"It was made for {run.account.get('organization_name')}. Connect that "
                        "account to resume it.")
    journal.add_api_calls(run_id, 1)
    return _execute(run_id, client, journal, progress, cancel, {})


def undo_run(
    run_id: str,
    client: ConstantContact,
    journal: Journal,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Put back exactly the contacts a removal run removed, on exactly those lists."""
    run = _known_run(journal, run_id)
    if run.action not in (Action.REMOVE, Action.REMOVE_ALL):
        raise PlanError("This run cannot be undone",
                        "Only removals from lists can be undone. An unsubscribe is permanent: "
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
    removed = [i for i in journal.items(run_id) if i.result == "removed"]
    if not removed:
        raise PlanError("Nothing to undo", "This run removed nobody.")
    items = [{"row": i.row, "email": i.email, "value": i.value, "contact_id": i.contact_id,
              "outcome": "re_add", "reason": "Back on " + _list_names(run, i.list_ids),
              "list_ids": i.list_ids, "state": "planned", "result": ""} for i in removed]
    undo_id = journal.create_run(
        file_path=run.file_path, file_sha256=run.file_sha256, sheet=run.sheet, action=UNDO,
        lists=run.lists, account=run.account, items=items, undo_of=run_id,
        predicted_calls=len(removed) // MAX_CONTACTS_PER_ACTIVITY + 3,
        options={"list_names": run.options.get("list_names", {})},
    )
    return _execute(undo_id, client, journal, progress, cancel, {})


def _known_run(journal: Journal, run_id: str) -> RunRecord:
    try:
        return journal.run(run_id)
    except KeyError:
        raise PlanError(f"There is no run {run_id}",
                        "See the runs kept on this computer in History (or: ccdesk runs).") from None


def result_of(journal: Journal, run_id: str) -> RunResult:
    """The counts of a run as the journal has them."""
    return result_from_items(journal.run(run_id), journal.items(run_id))


def result_from_items(run: RunRecord, items: Sequence[ItemRecord]) -> RunResult:
    """:func:`result_of` for a run whose items were already read."""
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.result or item.state] += 1
    return RunResult(run.run_id, run.state, dict(counts), sum(1 for i in items if i.verified),
                     run.api_calls, run.message)


# =============================================================================================
# Execution


class _Context:
    def __init__(self, run: RunRecord, client: ConstantContact, journal: Journal,
                 progress: ProgressCallback | None, cancel: threading.Event | None,
                 known: dict[str, Contact]) -> None:
        self.run = run
        self.client = client
        self.journal = journal
        self.progress = progress
        self.cancel = cancel
        self.known = known
        self.calls_at_start = client.calls
        self.started = time.monotonic()
        self.lists = {x["list_id"]: x["name"] for x in run.lists}

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def emit(self, phase: str, done: int, total: int, rows: Sequence[int] = ()) -> None:
        if self.progress is None:
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed / done * (total - done) if done and total >= done else None
        self.progress(RunProgress(self.run.run_id, phase, done, total, eta,
                                  self.journal.result_counts(self.run.run_id), list(rows)))

    def flush_calls(self) -> None:
        spent = self.client.calls - self.calls_at_start
        self.journal.add_api_calls(self.run.run_id, spent)
        self.calls_at_start = self.client.calls


def _execute(run_id: str, client: ConstantContact, journal: Journal,
             progress: ProgressCallback | None, cancel: threading.Event | None,
             known: dict[str, Contact]) -> RunResult:
    run = journal.run(run_id)
    journal.set_run_state(run_id, "running")
    ctx = _Context(run, client, journal, progress, cancel, known)
    try:
        if run.action == Action.UNSUBSCRIBE:
            _unsubscribe(ctx)
        else:
            _memberships(ctx, ADD_KIND if run.action == UNDO else REMOVE_KIND)
    except Cancelled:
        ctx.flush_calls()
        journal.set_run_state(run_id, "cancelled", "Stopped by you at a batch boundary.")
        raise RunCancelled(run_id) from None
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
    ctx.emit("Finished", 1, 1)
    return result


# ---- list memberships ---------------------------------------------------------------------------


def _memberships(ctx: _Context, kind: str) -> None:
    run_id = ctx.run.run_id
    journal = ctx.journal
    _recover_unconfirmed(ctx, kind)
    counts = journal.item_counts(run_id)
    total = sum(counts.get(state, 0) for state in ("planned", "sent", "done", "failed"))
    for _ in range(SEND_PASSES):
        pending = journal.items(run_id, state="planned")
        if not pending:
            break
        _send(ctx, kind, pending, total)
        # Rows of a batch that never reached Constant Contact are planned again: another pass.
        _settle(ctx, kind)
    _settle(ctx, kind)  # batches started before a crash or a pause, when nothing was left to send
    left = journal.items(run_id, state="planned")
    if left:
        raise ConnectionFailed(
            "Some batches did not reach Constant Contact",
            f"{len(left):,} rows were sent {SEND_PASSES} times without arriving. Check the "
            "connection, then resume the run.")


def _send(ctx: _Context, kind: str, pending: Sequence[ItemRecord], total: int) -> None:
    """Send the planned rows in activities (rows with the same lists together)."""
    run_id = ctx.run.run_id
    journal = ctx.journal
    done = total - len(pending)
    groups: dict[tuple[str, ...], list[ItemRecord]] = defaultdict(list)
    for item in pending:
        groups[tuple(item.list_ids)].append(item)
    for list_ids, members in groups.items():
        for lists in chunks(list(list_ids), MAX_LISTS_PER_ACTIVITY):
            for batch_items in chunks(members, MAX_CONTACTS_PER_ACTIVITY):
                if ctx.cancelled():
                    _settle(ctx, kind)
                    raise Cancelled()
                rows = [i.row for i in batch_items]
                batch = journal.open_batch(run_id, kind, rows, lists)
                ids = [i.contact_id for i in batch_items]
                try:
                    activity = (ctx.client.start_remove(ids, lists) if kind == REMOVE_KIND
                                else ctx.client.start_add(ids, lists))
                except OutcomeUnknown as exc:
                    # It may have arrived: look for it now, while it is the newest activity,
                    # rather than after more of the same size were sent.
                    journal.update_batch(run_id, batch, state="unknown", message=exc.title)
                    time.sleep(RECOVER_GRACE)
                    _recover_unconfirmed(ctx, kind)
                except (QuotaExceeded, ConnectionFailed, ServerError, RateLimited, AuthError,
                        PermissionDenied) as exc:
                    # Refused or never arrived, for a reason that holds for every batch: nothing
                    # was done, the rows go back to planned, and the run pauses.
                    journal.update_batch(run_id, batch, state="failed", message=exc.title)
                    journal.reset_items(run_id, rows)
                    if not isinstance(exc, QuotaExceeded):  # with the quota gone, nothing can be
                        with contextlib.suppress(*_PAUSING):  # checked until tomorrow
                            _settle(ctx, kind)
                    raise
                except ApiError as exc:
                    # Constant Contact refused this batch (400, 404, 409 …): nothing was done.
                    # Sending it again would be refused again: its rows fail, with its words.
                    message = exc.server_message or exc.title
                    journal.update_batch(run_id, batch, state="failed", message=message)
                    journal.finish_items(run_id, rows, state="failed", result="failed",
                                         message=f"Refused by Constant Contact: {message}")
                    log.warning("batch %s of run %s refused: %s", batch, run_id, exc.details)
                else:
                    journal.update_batch(run_id, batch, state="started",
                                         activity_id=activity.activity_id,
                                         server_created_at=activity.created_at)
                done += len(rows)
                ctx.emit("Sending to Constant Contact", done, total, rows)


def _settle(ctx: _Context, kind: str) -> None:
    """Wait for every started activity, then verify its rows."""
    _recover_unconfirmed(ctx, kind)
    _wait_for_activities(ctx)
    _verify(ctx, kind)


def _recover_unconfirmed(ctx: _Context, kind: str) -> None:
    """Batches sent without a recorded answer: find their activity, or know it never came."""
    run_id = ctx.run.run_id
    journal = ctx.journal
    unsure = [b for b in journal.batches(run_id) if b.state in ("sent", "unknown")]
    if not unsure:
        return
    claimed = journal.claimed_activities()
    recent = ctx.client.recent_activities(limit=100)
    for batch in unsure:
        match = _matching_activity(batch, recent, claimed)
        if match is not None:
            claimed.add(match.activity_id)
            journal.update_batch(run_id, batch.batch, state="started",
                                 activity_id=match.activity_id,
                                 server_created_at=match.created_at)
            log.info("batch %s of run %s was received after all (activity found)", batch.batch,
                     run_id)
        else:
            journal.update_batch(run_id, batch.batch, state="failed",
                                 message="Never reached Constant Contact; sent again.")
            journal.reset_items(run_id, [i.row for i in journal.items(run_id, batch=batch.batch)])
            log.info("batch %s of run %s never arrived; its rows will be sent again", batch.batch,
                     run_id)


def _matching_activity(batch: BatchRecord, recent: Sequence[Activity],
                       claimed: set[str]) -> Activity | None:
    """The oldest unclaimed recent activity of the batch's size and list count."""
    candidates = [a for a in recent
                  if a.activity_id not in claimed and a.items_total == batch.size
                  and a.list_count == len(batch.list_ids)]
    return candidates[-1] if candidates else None  # recent is newest first


def _wait_for_activities(ctx: _Context) -> None:
    run_id = ctx.run.run_id
    journal = ctx.journal
    delay = FIRST_POLL
    while True:
        started = journal.batches(run_id, state="started")
        if not started:
            return
        ctx.emit("Waiting for Constant Contact to finish", 0, 0)
        time.sleep(delay)  # activities run on at Constant Contact: this wait ignores cancel
        states = _activity_states(ctx.client, [b.activity_id for b in started if b.activity_id])
        for batch in started:
            activity = states.get(batch.activity_id or "")
            if activity is None and batch.activity_id in states.gone:
                # Older than Constant Contact keeps activities (10 days): the re-read decides.
                journal.update_batch(run_id, batch.batch, state="finished",
                                     message="Constant Contact no longer reports on this job")
                continue
            if activity is None or not activity.finished:
                continue
            message = "; ".join(activity.errors)[:1000]
            journal.update_batch(run_id, batch.batch,
                                 state="finished" if activity.succeeded else "failed",
                                 message=message or activity.state)
        delay = min(POLL_CAP, delay * 2)


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
    """Read the contacts back and mark each sent row done (verified) or failed."""
    run_id = ctx.run.run_id
    journal = ctx.journal
    batches = {b.batch: b for b in journal.batches(run_id) if b.state in ("finished", "failed")}
    items = [i for i in journal.items(run_id, state="sent") if i.batch in batches]
    if not items:
        return
    ctx.emit("Checking the result", 0, len(items))
    seen: dict[str, Contact] = {}
    wanted = {i.contact_id for i in items}
    checking = {i.batch for i in items}
    stamps = [b.server_created_at for b in batches.values()
              if b.batch in checking and b.server_created_at]
    if len(items) > VERIFY_ONE_BY_ONE and stamps:
        since = _earlier(min(stamps), seconds=2)
        for page in ctx.client.iter_updated_since(since):
            for contact in page:
                if contact.contact_id in wanted:
                    seen[contact.contact_id] = contact
    missing = [i for i in items if i.contact_id not in seen]
    off_lists = _read_missing(ctx, missing, seen) if missing else set()
    adding = kind == ADD_KIND
    good_word = "re-added" if adding else "removed"
    done_rows, failed = [], []
    for item in items:
        contact = seen.get(item.contact_id or "")
        batch = batches[item.batch]  # type: ignore[index]
        on = set(contact.list_ids or ()) if contact else set()
        known = contact is not None or item.contact_id in off_lists
        ok = known and (set(item.list_ids) <= on if adding else not (set(item.list_ids) & on))
        if ok:
            done_rows.append(item.row)
        else:
            where = _list_names(ctx.run, [i for i in item.list_ids if (i in on) != adding])
            why = ("Not found in Constant Contact any more" if not known
                   else (f"Still not on {where}" if adding else f"Still on {where}"))
            failed.append((item.row, f"{why}. {_message_for(item, batch)}".strip(". ")))
    journal.finish_items(run_id, done_rows, state="done", result=good_word, verified=True,
                         message="Checked in Constant Contact")
    for row, message in failed:
        journal.finish_items(run_id, [row], state="failed", result="failed", message=message)
    ctx.emit("Checked", len(items), len(items), [i.row for i in items])
    _let_go(seen, items)


def _let_go(*big: dict[Any, Any] | list[Any]) -> None:
    """Empty big containers a slice at a time before they go out of scope.

    Freeing 100,000 records when a function returns is one long step that keeps the
    interpreter lock (tens of milliseconds): a window on another thread could not even repaint.
    Emptied in slices, other threads get their turn in between."""
    for container in big:
        if isinstance(container, dict):
            keys = list(container)
            for start in range(0, len(keys), _LET_GO_SLICE):
                for key in keys[start:start + _LET_GO_SLICE]:
                    del container[key]
        else:
            while container:
                del container[-_LET_GO_SLICE:]


_LET_GO_SLICE = 2000


def _read_missing(ctx: _Context, missing: Sequence[ItemRecord], seen: dict[str, Contact]) -> set[str]:
    """Read the contacts the changed-since pages did not show (their job failed, or nothing
    changed): one by one, or, when that is cheaper, by paging the members of their lists.

    Returns the ids found on none of those lists (known to be off them)."""
    ids = {i.contact_id for i in missing if i.contact_id}
    list_ids = sorted({x for i in missing for x in i.list_ids})
    if len(ids) > 3 and list_ids:
        sizes = {x.list_id: x.membership_count for x in ctx.client.lists()}
        if all(sizes.get(x) is not None for x in list_ids) and \
                list_paging_calls([sizes[x] or 0 for x in list_ids]) < len(ids):
            for page in ctx.client.iter_members(list_ids):
                for contact in page:
                    if contact.contact_id in ids:
                        seen[contact.contact_id] = contact
            return ids - set(seen)
    for contact_id in ids:
        with contextlib.suppress(NotFound):
            seen[contact_id] = ctx.client.contact(contact_id)
    return set()


def _message_for(item: ItemRecord, batch: BatchRecord) -> str:
    """Constant Contact's words about this contact, when its job named it; else the job's."""
    own = [m for m in batch.message.split("; ") if item.contact_id and item.contact_id in m]
    return "; ".join(own) if own else batch.message


def _earlier(stamp: str, seconds: float) -> str:
    from datetime import datetime, timedelta

    when = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - timedelta(seconds=seconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _list_names(run: RunRecord, ids: Sequence[str]) -> str:
    names = {**run.options.get("list_names", {}), **{x["list_id"]: x["name"] for x in run.lists}}
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
            ctx.known[contact.contact_id] = contact
    pending = journal.items(run_id, state="planned")
    total = len(pending)
    for n, item in enumerate(pending, 1):
        if ctx.cancelled():
            raise Cancelled()
        batch = journal.open_batch(run_id, PUT_KIND, [item.row], [])
        try:
            done = ctx.client.unsubscribe(item.contact_id, REASON,  # type: ignore[arg-type]
                                          current=ctx.known.get(item.contact_id or ""))
        except ContactDeleted:
            _finish_put(journal, run_id, item, "skipped", "skip_deleted",
                        "Deleted in Constant Contact since the preview", batch=batch)
        except (QuotaExceeded, ConnectionFailed, ServerError, RateLimited) as exc:
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
        ctx.emit("Unsubscribing", n, total, [item.row])


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
    "resume_run",
    "start_run",
    "undo_run",
]
