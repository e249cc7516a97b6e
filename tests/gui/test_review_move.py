"""Review of move (issue 16): the window, on the demo account (its 40 upgraded members: 10 to
be put on Sustainers, 30 on it already)."""

from __future__ import annotations

from ccdesk.core.journal import Journal
from tests.engine.conftest import REMOVE_POST
from tests.gui.conftest import WAIT, fast_demo, open_sample, preview, run_preview


def _move_preview(qtbot, window, to: str = "Sustainers"):
    open_sample(qtbot, window)
    window.go("preview")
    page = window.preview_page
    qtbot.waitUntil(lambda: page.lists_loaded, timeout=WAIT)
    page.action_buttons["move"].click()
    page.target.setCurrentIndex(page.target.findText(to))
    return preview(qtbot, window)


def test_a_move_whose_removal_was_refused_can_be_undone_in_the_window(make_window, qtbot,
                                                                       dialogs):
    """Constant Contact refused the removal: nobody was taken off Free Members, but the 10 not
    on Sustainers before were put on it. The engine (and ``ccdesk undo``) undoes that; the
    window's Undo stayed disabled ("done" was 0)."""
    window = make_window()
    _move_preview(qtbot, window)
    sandbox = window.session.sandbox
    before = sandbox.members("Sustainers")
    sandbox.faults.add(REMOVE_POST, method="POST", status=400, body=[{
        "error_key": "activities.api.validation.error", "error_message": "Not today."}])
    run_id = run_preview(qtbot, window)
    sandbox.faults.clear()
    results = window.results_page
    assert results.details.groups["done"] == 0 and results.details.groups["failed"] == 40
    assert len(sandbox.members("Sustainers") - before) == 10
    assert results.undo_button.isEnabled()
    dialogs.yes_no["Undo this run?"] = True
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        results.undo_button.click()
    assert ended.args[1] == "finished"
    assert sandbox.members("Sustainers") == before
    with Journal(window.session.journal_path) as journal:
        assert [r.undo_of for r in journal.runs() if r.action == "undo"] == [run_id]


def test_trying_the_failed_ones_of_a_move_again_in_a_new_window(make_window, qtbot, dialogs):
    """History ▸ a move with failures ▸ "Try the failed ones again", in a window that has not
    shown its lists yet: the preview failed ("Choose a list"), and the move's target was lost
    (the combo was empty)."""
    session = fast_demo()
    first = make_window(factory=lambda: session)
    info = _move_preview(qtbot, first, to="Newsletter")
    assert info.plan.target.name == "Newsletter"
    session.sandbox.faults.activity(outcome="errors", errors=3)
    run_id = run_preview(qtbot, first)
    first.settings.set("state/last_target", "")  # not a guess that happens to be right
    session.close = lambda: None  # the next window uses the same account
    first.close()
    del session.close

    second = make_window(factory=lambda: session)
    second.history_page.results_wanted.emit(run_id)
    results = second.results_page
    qtbot.waitUntil(lambda: results.details is not None and results.details.run.run_id == run_id,
                    timeout=WAIT)
    assert results.retry_button.isEnabled()
    with qtbot.waitSignal(second.preview_ready, timeout=WAIT) as ready:
        results.retry_button.click()
    assert dialogs.errors == []
    retry = ready.args[0]
    assert retry.plan.action == "move" and retry.plan.target.name == "Newsletter"
    assert [x.name for x in retry.plan.lists] == ["Free Members"]
    assert retry.changes == 3
    page = second.preview_page
    assert page.target_name() == "Newsletter"
    assert page.lists_model.checked_names() == ["Free Members"]


def test_the_results_table_says_who_is_on_the_new_list_but_not_off_the_old_one(qtbot, tmp_path):
    """A move stopped between its stages: a row put on Sustainers and not yet taken off Free
    Members. The log says so ("Put on Sustainers; not taken off Free Members yet"); the
    Results table said "Not done yet", as for a row nothing happened to."""
    from ccdesk.core.export import result_words
    from ccdesk.gui.itemsmodel import ItemsModel

    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        run_id = journal.create_run(
            file_path="upgraded.csv", file_sha256="", sheet="", action="move",
            lists=[{"list_id": "free", "name": "Free Members"}], account={},
            options={"target": {"list_id": "sus", "name": "Sustainers"}, "staged": True},
            items=[{"row": 2, "email": "ada@example.org", "outcome": "move", "state": "planned",
                    "list_ids": ["free"], "add_ids": ["sus"]},
                   {"row": 3, "email": "ben@example.org", "outcome": "move", "state": "planned",
                    "list_ids": ["free"], "add_ids": ["sus"]}])
        journal.mark_added(run_id, [2], result="moved", message="Checked in Constant Contact")
        ada = journal.items(run_id)[0]
        logged = result_words(journal.run(run_id), ada)
    assert logged == "Put on Sustainers; not taken off Free Members yet"
    model = ItemsModel()
    try:
        model.set_source(path, run_id, after_run=True)
        model.wait()
        qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=WAIT)
        shown = [model.index(r, 4).data() for r in range(2)]
    finally:
        model.clear()
    assert shown[1] == "Not done yet"  # ben: nothing happened to him yet
    assert shown[0] != "Not done yet" and "new list" in shown[0], shown[0]


def test_the_run_page_says_which_lists_a_move_changes(tmp_path):
    """The Run page's line under the heading names the lists a removal takes them off
    ("… off Free Members."); for a move it named none."""
    from ccdesk.gui.pages.run import _source

    with Journal(tmp_path / "journal.sqlite3") as journal:
        run_id = journal.create_run(
            file_path="/data/upgraded.csv", file_sha256="", sheet="", action="move",
            lists=[{"list_id": "free", "name": "Free Members"}], account={},
            options={"target": {"list_id": "sus", "name": "Sustainers"}, "staged": True},
            items=[])
        run = journal.run(run_id)
    assert _source(run) == "The members of upgraded.csv from Free Members to Sustainers."
