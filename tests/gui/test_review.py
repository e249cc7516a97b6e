"""Review of the window's jobs (child processes, drafts, following runs through the journal):
tests of what a person would see go wrong. Each test names the finding it shows."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import pytest

from ccdesk import engine
from ccdesk.engine.session import Session
from ccdesk.gui import tasks
from tests.engine.conftest import (  # noqa: F401 - fixtures used by name
    jobs,
    journal_path,
    preview_of,
    sheet,
    url,
)

pytestmark = pytest.mark.timeout(120)


def test_follow_says_abandoned_for_a_quick_run_whose_child_was_slow_to_start(
        url, journal_path, sheet, jobs, tmp_path, monkeypatch):  # noqa: F811
    """follow_work: ``free_since`` is set at the first look (nobody holds the run yet) and is
    not reset when the run is found taken on and let go between two looks
    (``_taken_since``). If the child took longer than GONE_AFTER to start and the run then
    ended within one polling interval, the window says "abandoned" at once, without waiting
    GONE_AFTER for the child's last words (its result event is written after the journal lets
    the run go); and the events file is removed, so the result is lost for good. The window
    then shows a finished run as "ended before the end" and offers Resume."""
    monkeypatch.setattr(tasks, "GONE_AFTER", 1.0)  # 3 s in the window; 1 s keeps the test fast
    run_id = preview_of(jobs, url, journal_path, sheet)["run_id"]
    events = tmp_path / "run-x.events.jsonl"
    events.write_text("", encoding="utf-8")
    window = Session.for_sandbox(url, journal_path)
    began = time.monotonic()
    state: dict[str, object] = {}

    def child_writes_result(result: engine.RunResult) -> None:
        with open(events, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"type": "result", "result": result.to_dict()}) + "\n")

    def report(seen: tasks.Followed) -> None:
        # The "child" starts late (slow start: an antivirus scan, a cold disk), then its small
        # run takes the run on and ends between two looks; its result event follows 0.3 s
        # after it let the run go (well within GONE_AFTER).
        if "result" not in state and time.monotonic() - began > 1.3:
            child = Session.for_sandbox(url, journal_path)
            try:
                result = engine.start(child, run_id)
            finally:
                child.close()
            state["result"] = result
            timer = threading.Timer(0.3, child_writes_result, (result,))
            timer.start()
            state["timer"] = timer

    try:
        seen = tasks.follow_work(window, run_id, events, every=0.1)(report, threading.Event())
    finally:
        window.close()
        if "timer" in state:
            state["timer"].join()  # type: ignore[attr-defined]
    assert "result" in state
    assert seen is not None
    with engine_journal(journal_path) as journal:
        assert journal.run(run_id).state == "finished"
    assert seen.ended == "finished", (
        f"the window says {seen.ended!r} for a run that finished (its result came 0.3 s after "
        "the journal let it go)")


def engine_journal(path: Path):
    from ccdesk.core.journal import Journal

    return Journal(path)


# =============================================================================================
# The window


def _small_sheet(tmp_path: Path) -> str:
    from tests.core.conftest import write_sheet

    return str(write_sheet(tmp_path / "other.csv", ["someone.else@example.org"]))


def test_a_preview_of_the_old_sheet_is_shown_after_a_new_sheet_is_opened(
        make_window, qtbot, tmp_path):
    """Jobs.read does not cancel a preview under way (the File menu's Open, Ctrl+O and drag
    and drop stay enabled while previewing). The new sheet is read; then the old sheet's
    preview ends and ``_previewed`` puts it on show: the window titled with the new sheet
    offers to Run the old sheet's plan."""
    from tests.gui.conftest import SAMPLE, WAIT, open_sample

    window = make_window()
    open_sample(qtbot, window)
    window.go("preview")
    page = window.preview_page
    qtbot.waitUntil(lambda: page.lists_loaded, timeout=WAIT)
    shown: list = []
    window.preview_ready.connect(shown.append)
    page.preview_button.click()  # the preview of upgraded-members.xlsx begins
    other = _small_sheet(tmp_path)
    assert window.open_action.isEnabled()  # nothing stops Open while previewing
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        window.open_sheet(other)
    assert window.state.sheet.path == other
    qtbot.wait(100)
    if not shown:  # the old preview has not ended yet: give it time to
        qtbot.waitUntil(lambda: bool(shown) or not window.jobs.busy(), timeout=WAIT)
        qtbot.wait(200)
    on_show = window.state.preview
    assert on_show is None or on_show.plan.sheet.path == other, (
        f"the window shows {other!r} but the preview on show (Run enabled: "
        f"{page.run_button.isEnabled()}) is of {on_show.plan.sheet.path!r} (SAMPLE={SAMPLE!r})")


def test_stop_pressed_before_the_run_s_process_took_the_run_on_is_dropped(
        make_window, qtbot, dialogs):
    """Stop writes a request into the journal (Jobs.stop_run), but Journal.claim clears every
    stop request when the run is taken on. Pressed in the second or so the run's child takes
    to start (the Stop button is enabled at once), the request is wiped by the child's own
    claim: the page says "Stopping…" and the run goes on to its end, making every change."""
    from tests.gui.conftest import WAIT, open_sample, preview

    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    run = window.run_page
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        window.preview_page.run_button.click()
        assert window.current_page() == "run"
        assert run.stop_button.isEnabled()
        run.stop_button.click()  # at once: the child has not claimed the run yet
        assert run.stopping.isVisible()
    _, how = ended.args
    assert how in ("cancelled", "paused"), (
        f"Stop was pressed (the page said it was stopping) but the run {how}")


def test_a_run_refused_at_its_start_leaves_the_preview_page_saying_it_is_carried_out(
        make_window, qtbot, dialogs, tmp_path):
    """Jobs.start_run forgets the preview on show before the run's child has checked it
    (start_ready: the file unchanged, the preview's age, today's allowance). When the child
    refuses (here: the spreadsheet changed since the preview), the window goes back to the
    preview page, which still says "This preview is being carried out (step 4)", though
    nothing is; and the draft stays in the journal as a "ready" run nobody will discard."""
    import shutil

    from ccdesk.core.journal import READY, Journal
    from tests.gui.conftest import SAMPLE, WAIT, open_sample, preview

    path = tmp_path / "members.xlsx"
    shutil.copy(SAMPLE, path)
    window = make_window()
    open_sample(qtbot, window, str(path))
    info = preview(qtbot, window)
    with open(path, "ab") as handle:  # the sheet is saved again after the preview
        handle.write(b"\0")
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        window.preview_page.run_button.click()
    assert ended.args[1] == "failed"
    assert dialogs.errors and dialogs.errors[-1].title == "The preview is out of date"
    assert window.current_page() == "preview"
    page = window.preview_page

    def draft_state() -> str | None:
        with Journal(window.session.journal_path) as journal:
            try:
                return journal.run(info.run_id).state
            except KeyError:  # discarded: nothing was done with it
                return None

    # The draft is deleted on a worker thread (a big one takes a moment): give it that moment.
    with contextlib.suppress(AssertionError):
        qtbot.waitUntil(lambda: draft_state() is None, timeout=WAIT)
    problems = []
    if page.result.isVisible() and "being carried out" in page.summary.text():
        problems.append(f"the preview page says: {page.summary.text()!r}")
    if "did not start" not in page.preview_hint.text():
        problems.append(f"the preview page does not say the run did not start: "
                        f"{page.preview_hint.text()!r}")
    if draft_state() == READY and window.state.preview is None:
        problems.append(f"draft {info.run_id} left in the journal as 'ready', on show nowhere")
    assert not problems, "; ".join(problems)


def test_try_the_failed_ones_again_while_a_preview_is_under_way_shows_the_whole_sheet(
        make_window, qtbot, dialogs):
    """"Try the failed ones again" (Results, reached through History while a preview is under
    way) sets the state's retry and calls make_preview, which returns at once because the
    page is busy. The preview under way (the whole sheet) then ends and is put on show under
    the banner "Trying again only the N addresses that failed": Run would carry out the whole
    sheet's plan, not the failed ones."""
    from tests.gui.conftest import WAIT, open_sample, preview, run_preview

    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    run_id = run_preview(qtbot, window)  # a finished run (none failed: the retry is of 0 rows)
    window.go("preview")
    page = window.preview_page
    shown: list = []
    window.preview_ready.connect(shown.append)
    page.preview_button.click()  # a preview of the whole sheet begins
    window.jobs.retry_failed(run_id)  # what Results' "Try the failed ones again" asks for
    qtbot.waitUntil(lambda: window.state.retry is not None, timeout=WAIT)
    assert page.retry_banner.isVisible()
    qtbot.waitUntil(lambda: bool(shown) or not window.jobs.busy(), timeout=WAIT)
    qtbot.wait(200)
    info = window.state.preview
    retry = window.state.retry
    assert info is not None
    rows = sum(info.counts.values())
    assert not (page.retry_banner.isVisible() and rows > retry.failed), (
        f"under the banner {page.retry_banner.text()!r} the preview on show has {rows} rows "
        f"(the whole sheet), the run had {retry.failed} failed")
