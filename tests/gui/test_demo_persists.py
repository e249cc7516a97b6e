"""The demo account is kept between starts: a demo run paused in one window is offered and
finished in the next, on a new demo session; "Reset the demo" puts it all back."""

from __future__ import annotations

from ccdesk.sandbox.demo import load_demo_data
from tests.gui.conftest import WAIT, open_sample, planned, preview, run_preview


def free_members_at_start() -> int:
    return sum(1 for c in load_demo_data()["contacts"] if "Free Members" in c["lists"])


def test_a_paused_demo_run_resumes_after_a_restart_then_reset(make_window, qtbot, dialogs, shot):
    first = make_window()
    open_sample(qtbot, first)
    ready = preview(qtbot, first)
    to_remove = planned(first, ready)
    assert len(to_remove) == 40
    first.session.sandbox.set_limits(daily_quota=1)  # the run's first request, then no more
    run_id = run_preview(qtbot, first, how="paused")
    dialogs.errors.clear()
    first_sandbox = first.session.sandbox
    first.close()  # the demo session closes: its sandbox stops (and saves)
    qtbot.waitUntil(lambda: not first.isVisible(), timeout=WAIT)
    assert first_sandbox._server is None

    dialogs.resume = True
    second = make_window(wait=False)  # a new demo session, from the saved account
    with qtbot.waitSignal(second.run_ended, timeout=WAIT) as ended:
        pass
    assert "resume" in dialogs.asked
    assert second.session.sandbox is not first_sandbox
    assert ended.args == [run_id, "finished"]
    results = second.results_page
    qtbot.waitUntil(lambda: results.details is not None
                    and results.details.run.state == "finished", timeout=WAIT)
    assert results.outcome.text().startswith("<b>Finished: 40 contacts removed from Free Members")
    members = second.session.sandbox.members("Free Members")
    assert not members & to_remove
    assert len(members) == free_members_at_start() - 40
    assert dialogs.errors == []

    # "Reset the demo", answered Cancel: nothing changes.
    assert second.reset_demo_button.isVisible() and second.reset_demo_action.isVisible()
    second.resize(1180, 740)
    shot(second, "30-demo-banner-with-reset")
    second.resize(1024, 600)
    shot(second, "30b-demo-banner-with-reset-1024x600")
    for button in (second.reset_demo_button, second.leave_demo_button):
        assert button.width() >= button.sizeHint().width()  # the whole label shows
    dialogs.yes_no["Reset the demo?"] = False
    second.reset_demo_action.trigger()
    assert dialogs.asked[-1] == "Reset the demo?"
    assert len(second.session.sandbox.members("Free Members")) == free_members_at_start() - 40

    # Answered "Reset the demo": the bundled account again, and an empty History.
    dialogs.yes_no["Reset the demo?"] = True
    with qtbot.waitSignal(second.account_changed, timeout=WAIT):
        second.reset_demo_button.click()
    qtbot.waitUntil(lambda: not second.busy(), timeout=WAIT)
    assert dialogs.errors == []
    assert len(second.session.sandbox.members("Free Members")) == free_members_at_start()
    assert second.session.sandbox.members("Free Members") >= to_remove
    with qtbot.waitSignal(second.history_loaded, timeout=WAIT) as loaded:
        second.go("history")
    assert loaded.args == [0]
    assert second.history_page.empty.isVisible()
    assert second.history_page.proxy.rowCount() == 0
    assert second.session.quota_left() > 9_000  # the used-up day went with the old account


def test_a_damaged_saved_demo_account_is_explained_and_replaced(make_window, dialogs, qtbot):
    from ccdesk.engine.session import DEMO_STATE_NAME, demo_folder

    saved = demo_folder() / DEMO_STATE_NAME
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text('{"saved": ', encoding="utf-8")
    window = make_window()
    assert dialogs.infos == ["The demo starts again"]
    assert "could not be read" in window.statusBar().currentMessage()
    assert dialogs.errors == []
    assert len(window.session.sandbox.members("Free Members")) == free_members_at_start()
    assert saved.read_text(encoding="utf-8").startswith("{")
    assert '"saved"' in saved.read_text(encoding="utf-8")
