"""The window's fourth choice, "Move to another list" (issue 16), on the demo account: the
target chosen beside it, the preview saying who is only taken off, the run, Results, History
and undo."""

from __future__ import annotations

from ccdesk.core.journal import Journal
from tests.gui.conftest import WAIT, open_sample, preview, run_preview


def test_move_to_sustainers_in_the_window(make_window, qtbot, dialogs, shot):
    window = make_window()
    open_sample(qtbot, window)
    window.go("preview")
    page = window.preview_page
    qtbot.waitUntil(lambda: page.lists_loaded, timeout=WAIT)
    assert not page.target.isEnabled()  # only for a move
    page.action_buttons["move"].click()
    assert page.target.isEnabled() and page.lists_view.isEnabled()
    assert page.target_name() == "Sustainers"  # a first guess: the paying members' list
    assert "Sustainers" in page.action_note.text() or "list you choose" in page.action_note.text()

    # The list they leave cannot be the list they go to.
    page.target.setCurrentIndex(page.target.findText("Free Members"))
    assert not page.preview_button.isEnabled()
    assert "choose another list to move them to" in page.preview_hint.text()
    page.target.setCurrentIndex(page.target.findText("Sustainers"))
    assert page.preview_button.isEnabled()
    shot(window, "move-chosen")

    ready = preview(qtbot, window)
    assert ready.plan.target is not None and ready.plan.target.name == "Sustainers"
    # The demo's 40 upgraded members: 30 are on Sustainers already, the last 10 are not.
    moved, only_off = ready.counts["move"], ready.counts["remove"]
    assert (moved, only_off) == (10, 30)
    assert ready.summary.startswith("10 will be moved from Free Members to Sustainers, 30 "
                                    "already on Sustainers will only be taken off Free Members")
    assert page.chosen.text() == ("You chose: move them from <b>Free Members</b> to "
                                  "<b>Sustainers</b>.")
    assert (page.tile_change.number.text(), page.tile_change.caption.text()) == (
        "40", "will be moved")
    assert page.run_button.text() == (
        f"&Run: Move {moved + only_off} members from Free Members to Sustainers…")
    shot(window, "move-preview")

    sustainers_before = window.session.client().lists()
    run_id = run_preview(qtbot, window)
    assert dialogs.confirm_run_args["to"] == "Sustainers"
    results = window.results_page
    assert results.heading.text() == "Results: Move to another list"
    assert "moved from Free Members to Sustainers" in results.outcome.text()
    assert results.undo_button.isEnabled()
    assert "takes off Sustainers only those this run put there" in results.note.text()
    with Journal(window.session.journal_path) as journal:
        counts = journal.result_counts(run_id)
    assert counts.get("moved") == moved and counts.get("removed", 0) == only_off
    shot(window, "move-results")

    window.go("history")
    model = window.history_page.model
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=WAIT)
    assert model.index(0, 1).data() == "Move to another list: Free Members to Sustainers"

    window.go("results")
    dialogs.yes_no["Undo this run?"] = True
    with qtbot.waitSignal(window.run_ended, timeout=WAIT):
        results.undo_button.click()
    qtbot.waitUntil(lambda: results.details is not None and results.details.run.undo_of == run_id,
                    timeout=WAIT)
    after = {x.name: x.membership_count for x in window.session.client().lists()}
    before = {x.name: x.membership_count for x in sustainers_before}
    assert after == before  # exactly back: Free Members as it was, Sustainers as it was
