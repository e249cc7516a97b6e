"""Runs that do not simply finish: cancel, a quota stop and resume, an unfinished run offered
at start-up, closing the window during a run, and trying the failed rows again."""

from __future__ import annotations

from ccdesk.core.journal import Journal
from ccdesk.gui import words
from tests.gui.conftest import WAIT, fast_demo, open_sample, preview, run_preview
from tests.support.holders import held_elsewhere


def start_unsubscribe(qtbot, window, dialogs) -> int:
    """Preview an unsubscribe of the sample sheet, press Run, wait for the first contact."""
    open_sample(qtbot, window)
    ready = preview(qtbot, window, "unsubscribe")
    changes = ready.changes
    assert "permanent" in window.preview_page.action_note.text()
    window.preview_page.run_button.click()
    assert dialogs.confirm_run_args == {"action": "unsubscribe", "count": changes, "lists": "",
                                        "to": "",
                                        "organisation": "Harbourview Members' Association (demo)"}
    qtbot.waitUntil(lambda: window.run_page.table.model.counts().get(words.DONE, 0) >= 2,
                    timeout=WAIT)
    return changes


def test_cancel_stops_at_a_batch_boundary(make_window, qtbot, dialogs, shot):
    window = make_window()
    changes = start_unsubscribe(qtbot, window, dialogs)
    run = window.run_page
    assert run.stop_button.isEnabled()
    assert run.counts.text().startswith("So far: ")
    assert run.eta.text().startswith("Time left: ")
    assert 0 < run.bar.value() < 100
    shot(window, "10-run-in-progress")
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        run.stop_button.click()
        assert run.stopping.isVisible()
        assert "Stopping: no more changes will be sent" in run.stopping.text()
        assert "not sent" not in run.stopping.text()
        assert not run.stop_button.isEnabled()
        shot(window, "10b-stopping")
    run_id, how = ended.args
    assert how == "cancelled"
    results = window.results_page
    qtbot.waitUntil(lambda: results.details is not None, timeout=WAIT)
    done = results.details.groups["done"]
    assert 2 <= done < changes
    assert results.outcome.text().startswith(f"<b>Stopped by you.</b> {done} contacts unsubscribed")
    assert results.tile_waiting.isVisible()
    assert results.tile_waiting.number.text() == str(changes - done)
    assert results.resume_button.isVisible() and results.resume_button.isEnabled()
    assert not results.undo_button.isEnabled()
    assert "cannot be undone" in results.note.text()
    assert run.heading.text().startswith("Stopped: ")
    shot(window, "11-results-cancelled")
    with Journal(window.session._journal_path) as journal:
        assert journal.run(run_id).state == "cancelled"
    assert dialogs.errors == []


def test_quota_stop_then_resume_from_history(make_window, qtbot, dialogs, shot):
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    sandbox = window.session.sandbox
    sandbox.set_limits(daily_quota=1)  # the run's first request goes through, then no more
    run_id = run_preview(qtbot, window, how="paused")
    [error] = dialogs.errors
    assert error.kind == "paused" and error.error == "RunPaused"
    assert error.title == "The run is paused: Today's Constant Contact allowance is used up"
    results = window.results_page
    assert results.outcome.text().startswith(
        "<b>Paused: Today's Constant Contact allowance is used up.</b>")
    assert results.resume_button.isVisible() and results.resume_button.isEnabled()
    assert window.account_page.quota.text().startswith("Constant Contact requests left today: 0 ")
    shot(window, "12-results-paused")

    with qtbot.waitSignal(window.history_loaded, timeout=WAIT):
        window.go("history")
    history = window.history_page
    assert history.proxy.index(0, 3).data() == "Paused: can be resumed"
    assert history.resume_button.isEnabled()
    shot(window, "13-history-paused")

    # Meanwhile a scheduled job takes the run on: the window does not offer it, and says why.
    with held_elsewhere(window.session._journal_path, run_id):
        run = window.session.journal().run(run_id)
        holder = window.session.run_holder(run_id)
        assert not window.state.resumable(run, holder)
        assert window.state.not_resumable_reason(run, holder).startswith("A scheduled job")
        with qtbot.waitSignal(window.history_loaded, timeout=WAIT):
            window.go("history")
        history.view.selectRow(0)
        assert not history.resume_button.isVisible() and history.watch_button.isVisible()
    with qtbot.waitSignal(window.history_loaded, timeout=WAIT):
        window.go("history")
    history.view.selectRow(0)
    assert history.resume_button.isEnabled()  # the job ended (killed): the run is free again

    sandbox.set_limits(daily_quota=10_000)  # the next day
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        history.resume_button.click()
        assert window.current_page() == "run"
        assert window.run_page.heading.text().startswith("Resuming: Remove from list")
    assert ended.args == [run_id, "finished"]
    qtbot.waitUntil(lambda: results.details is not None and results.details.run.state == "finished",
                    timeout=WAIT)
    assert results.outcome.text().startswith("<b>Finished: 40 contacts removed from Free Members")
    assert results.tile_verified.number.text() == "40"


def test_an_unfinished_run_is_offered_at_start_up(make_window, qtbot, dialogs):
    session = fast_demo()
    first = make_window(factory=lambda: session)
    open_sample(qtbot, first)
    preview(qtbot, first)
    session.sandbox.set_limits(daily_quota=1)
    run_id = run_preview(qtbot, first, how="paused")
    session.close = lambda: None  # the next window uses the same account
    first.close()
    assert not first.isVisible()
    del session.close
    session.sandbox.set_limits(daily_quota=10_000)

    dialogs.resume = True
    second = make_window(factory=lambda: session, wait=False)
    with qtbot.waitSignal(second.run_ended, timeout=WAIT) as ended:
        pass
    assert "resume" in dialogs.asked
    assert ended.args == [run_id, "finished"]
    qtbot.waitUntil(lambda: second.results_page.details is not None, timeout=WAIT)
    assert second.results_page.details.run.state == "finished"


def test_closing_during_a_run_asks_then_stops_safely(make_window, qtbot, dialogs):
    window = make_window()
    start_unsubscribe(qtbot, window, dialogs)
    dialogs.stop_and_close = False
    window.close()
    assert dialogs.asked[-1] == "stop and close"
    assert window.isVisible() and window.state.running  # kept running
    dialogs.stop_and_close = True
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        window.close()
        assert window.isVisible()  # not before the batch boundary
    assert ended.args[1] == "cancelled"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT)
    assert not window.busy()  # every thread and child has stopped
    with Journal(window.session._journal_path) as journal:
        assert journal.run(ended.args[0]).state == "cancelled"


def test_try_the_failed_ones_again(make_window, qtbot, dialogs, shot):
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    window.session.sandbox.faults.activity(outcome="errors", errors=3)
    run_preview(qtbot, window)
    results = window.results_page
    assert results.tile_failed.number.text() == "3"
    assert results.tile_done.number.text() == "37"
    assert "3 contacts failed" in results.outcome.text()
    results.table.choose(words.FAILED)
    assert results.table.model.rowCount() == 3
    assert results.table.model.index(0, 4).data().startswith("Failed: Still on Free Members")
    assert results.retry_button.isEnabled()
    shot(window, "14-results-with-failures")

    with qtbot.waitSignal(window.preview_ready, timeout=WAIT) as blocker:
        results.retry_button.click()
    assert blocker.args[0].plan.sheet.counts["valid"] == 3
    page = window.preview_page
    page.table.model.wait()
    assert page.retry_banner.isVisible()
    assert "only the 3 addresses that failed" in page.retry_banner.text()
    assert page.table.model.rowCount() == 3
    assert page.tile_change.number.text() == "3"
    shot(window, "15-retry-preview")
    run_preview(qtbot, window)
    assert results.outcome.text().startswith("<b>Finished: 3 contacts removed from Free Members")
