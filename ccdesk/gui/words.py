"""Plain words for what the core reports: outcome names, run states, counts, times.

Everything a person reads in the window about a row, a run or a cost is phrased here, once, so
that the pages stay consistent. Plain Python (no Qt), so it is cheap to test.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ccdesk.core.export import SKIP_WORDS
from ccdesk.core.export import done_word as done_word  # the log and the window share them
from ccdesk.core.export import move_words as move_words
from ccdesk.core.export import result_groups as result_groups
from ccdesk.core.export import target_name as target_name
from ccdesk.core.phases import Phase

# ---- what will happen to a row (the preview's outcome) -------------------------------------

OUTCOME_WORDS: dict[str, str] = {
    "remove": "Will be removed",
    "move": "Will be moved",
    "unsubscribe": "Will be unsubscribed",
    "re_add": "Will be put back",
    "skip_not_on_list": "Skipped: not on the list",
    **SKIP_WORDS,  # the same words as the results log
    "valid": "Ready",
}

CHANGE_OUTCOMES = frozenset({"remove", "move", "unsubscribe", "re_add"})
PROBLEM_OUTCOMES = frozenset({"invalid", "duplicate", "blank"})

# Row categories, used by the outcome filter of every row table.
CHANGE, DONE, FAILED, SKIPPED, PROBLEM, FILTERED, READY = (
    "change", "done", "failed", "skipped", "problem", "filtered", "ready")
CATEGORY_ORDER = (CHANGE, READY, DONE, FAILED, SKIPPED, PROBLEM, FILTERED)


def outcome_words(outcome: str) -> str:
    """``"skip_not_on_list"`` → ``"Skipped: not on the list"``."""
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " ").capitalize())


def category(outcome: str, state: str = "") -> str:
    """The filter category of a row from its planned outcome and (during a run) its state."""
    if state == "done":
        return DONE
    if state == "failed":
        return FAILED
    if outcome in CHANGE_OUTCOMES:
        return CHANGE
    if outcome in PROBLEM_OUTCOMES:
        return PROBLEM
    if outcome == "filtered_out":
        return FILTERED
    if outcome == "valid":
        return READY
    return SKIPPED


def category_label(cat: str, *, after_run: bool = False) -> str:
    """The name of a category in the outcome filter."""
    return {
        CHANGE: "Not done yet" if after_run else "Will be changed",
        READY: "Ready to look up",
        DONE: "Done",
        FAILED: "Failed",
        SKIPPED: "Skipped (nothing to do)",
        PROBLEM: "Problems in the sheet",
        FILTERED: "Left out by the filter",
    }[cat]


# ---- what happened to a row (the journal's state and result) -------------------------------

def status_words(state: str, result: str, verified: bool = False) -> str:
    """The "Result" column: e.g. ``("done", "removed", True)`` → ``"Removed (checked)"``."""
    if not state:
        return ""
    if state == "planned":
        # "added": a move's row on its new list, not taken off the old one yet
        return "On the new list; not taken off the old one yet" if result == "added" else (
            "Not done yet")
    if state == "sent":
        return "Sent; not checked yet"
    if state == "done":
        word = {"removed": "Removed", "unsubscribed": "Unsubscribed", "moved": "Moved",
                "re-added": "Put back"}.get(result, result.capitalize() or "Done")
        return f"{word} (checked)" if verified else word
    if state == "failed":
        return "Failed"
    if state == "skipped":
        if result in OUTCOME_WORDS and result.startswith("skip_"):
            return "Not changed: " + OUTCOME_WORDS[result].split(": ", 1)[1]
        return "Not changed"
    return state.capitalize()


# ---- actions and runs -------------------------------------------------------------------------

ACTION_TITLES = {
    "remove": "Remove from list",
    "remove-all": "Remove from all lists",
    "unsubscribe": "Unsubscribe (permanent)",
    "move": "Move to another list",
    "undo": "Undo (put back on the list)",
}

ACTION_EXPLANATIONS = {
    "remove": (
        "They are taken off the list(s) you choose and stay on any other lists. They stop "
        "getting the emails sent to those lists. You can undo this afterwards."
    ),
    "remove-all": (
        "They are taken off every list they are on, so they get no list emails at all. They "
        "stay in your Constant Contact account: a contact on no list is still an active "
        "contact that Constant Contact counts (and bills) you for. You can undo this."
    ),
    "unsubscribe": (
        "They are opted out of all email from your organisation. This is permanent: Constant "
        "Contact does not allow you to subscribe them again; only they can, by signing up "
        "again. Unsubscribed contacts are not billed. There is no undo."
    ),
    "move": (
        "They are put on the list you choose here (for example Sustainers), then taken off the "
        "list(s) ticked on the left. Those already on it are only taken off. Both changes are "
        "checked, and you can undo this afterwards."
    ),
}


def plural(n: int, one: str, many: str | None = None) -> str:
    """``plural(1, "member")`` → ``"1 member"``; ``plural(3, "member")`` → ``"3 members"``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def source_list_name(run: Any) -> str:
    """The Constant Contact list a run's members came from ("" when they came from a file)."""
    source = (getattr(run, "options", None) or {}).get("source_list")
    return source.get("name", "") if source else ""


def run_source(run: Any) -> str:
    """Where a run's members came from, short: the file's name, or "Sustainers (list)" for the
    members of a Constant Contact list (issue 16)."""
    name = source_list_name(run)
    if name:
        return f"{name} (list)"
    return str(getattr(run, "file_path", "")).replace("\\", "/").rsplit("/", 1)[-1]


def run_headline(action: str, count: int, lists: str, to: str = "") -> str:
    """What a run does, in one line: "Remove 40 members from Free Members" (``to``: the list a
    move puts them on)."""
    people = plural(count, "member")
    if action == "remove":
        return f"Remove {people} from {lists}"
    if action == "move":
        return f"Move {people} from {lists} to {to}"
    if action == "remove-all":
        return f"Remove {people} from every list they are on"
    if action == "unsubscribe":
        return f"Unsubscribe {people} (permanent)"
    if action == "undo":
        return f"Put {people} back on {lists}"
    return f"{action} {people}"


STATE_WORDS = {
    "running": "Interrupted: can be resumed",
    "paused": "Paused: can be resumed",
    "cancelled": "Stopped: can be resumed",
    "finished": "Finished",
}


def run_state_words(state: str, *, elsewhere: bool = False) -> str:
    """A run's state from the journal, for people (``elsewhere``: another ccdesk carries it out
    now)."""
    if elsewhere:
        return "Running elsewhere: can be watched"
    return STATE_WORDS.get(state, state.capitalize())


# ---- counts and times ---------------------------------------------------------------------------

#: What each phase of a preview or a run is called on screen.
PHASES: dict[Phase, str] = {
    Phase.READING_ACCOUNT: "Reading the account",
    Phase.LOOKING_UP: "Looking up the members",
    Phase.SENDING: "Sending to Constant Contact",
    Phase.WAITING: "Waiting for Constant Contact to finish",
    Phase.CHECKING: "Checking the result",
    Phase.CHECKED: "Checked",
    Phase.UNSUBSCRIBING: "Unsubscribing",
    Phase.FINISHED: "Finished",
}


def stopping_text(counts: Mapping[str, int], action: str = "") -> str:
    """What Stop does, given the journal's counts when it was pressed: what is already done and
    sent stays so (never "not sent" when everything was)."""
    added = counts.get("added", 0)  # a move's rows on their new list, still on the old one
    unsent, sent = counts.get("planned", 0) + added, counts.get("sent", 0)
    done = result_groups(counts)["done"]
    word = done_word(action)
    already = f"The {done:,} already {word} stay {word}. " if done and action else ""
    if added:
        already += (f"The {added:,} already put on their new list stay on both lists until "
                    "you resume. ")
    if counts and not unsent:
        return ("<b>All changes were sent to Constant Contact; waiting for it to finish.</b> "
                f"{already}Stopping now leaves Constant Contact to finish the {sent:,} sent on "
                "its side; resume the run later to check them.")
    text = f"<b>Stopping: no more changes will be sent.</b> {already}"
    if sent:
        text += (f"The {sent:,} already sent carry on at Constant Contact and are checked when "
                 "you resume the run. ")
    return text + "Nothing is lost: resume the run later to do the rest."


def duration(seconds: float | None) -> str:
    """``95`` → ``"about 2 minutes"``; None → ``""``."""
    if seconds is None:
        return ""
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return f"about {int(round(seconds, -1))} seconds"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {plural(minutes, 'minute')}"
    hours = seconds / 3600
    return f"about {hours:.1f} hours"


def when(epoch: float) -> str:
    """A local date and time, e.g. ``"12 Nov 2026, 14:05"``."""
    return time.strftime("%d %b %Y, %H:%M", time.localtime(epoch))


def file_size(n: int) -> str:
    """``2_400_000`` → ``"2.3 MB"``."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def run_title(run: Any) -> str:
    """A run named for people: what it does, and when it began."""
    return f"{ACTION_TITLES.get(run.action, run.action)} (run of {when(run.created_at)})"
