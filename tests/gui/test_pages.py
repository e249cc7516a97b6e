"""Pages built alone, from the window's state and the jobs service, with no main window: they
ask for work by emitting requests and show what the state says."""

from __future__ import annotations

import pytest

from ccdesk.core.journal import Owner
from ccdesk.engine import RunStatus
from ccdesk.engine.session import Session
from ccdesk.gui import tasks, words
from ccdesk.gui.jobs import Jobs
from ccdesk.gui.pages.preview import PreviewPage
from ccdesk.gui.pages.run import RunPage
from ccdesk.gui.pages.sheet import SheetPage
from ccdesk.gui.settings import Settings
from ccdesk.gui.state import RunView, WindowState
from tests.gui.conftest import FAST, SAMPLE, WAIT


@pytest.fixture
def bare(qtbot, dialogs, tmp_path):
    """A state on the demo's account (served apart) and a jobs service: what a page is built
    from."""
    from ccdesk.sandbox import Sandbox
    from ccdesk.sandbox.demo import load_demo_data

    box = Sandbox(load_demo_data(), auto_approve=True, **FAST).start()
    session = Session.for_sandbox(box.base_url, tmp_path / "journal.sqlite3")
    state = WindowState()
    jobs = Jobs(state)
    state.set_session(session)
    state.set_account(tasks.AccountInfo(True, session.account(), 10_000))
    yield state, jobs
    jobs.shutdown()
    session.close()
    box.stop()


def test_the_sheet_page_asks_for_a_reading_and_shows_the_state(bare, qtbot):
    state, jobs = bare
    page = SheetPage(state, jobs, Settings())
    qtbot.addWidget(page)
    asked = []
    page.open_wanted.connect(lambda path, options: asked.append((path, options)))
    page.open_wanted.connect(jobs.read)  # what the main window connects
    with qtbot.waitSignal(state.sheet_changed, timeout=WAIT):
        page.open(SAMPLE)
    assert asked == [(SAMPLE, None)]
    assert "48 addresses ready" in page.counts.text()
    assert page.problems_button.text() == "See the 4 rows with pro&blems"
    assert page.problems.model.rowCount() == 4
    assert page.next_button.isEnabled()
    with qtbot.waitSignal(page.go_wanted) as going:
        page.next_button.click()
    assert going.args == ["preview"]


def test_the_preview_page_asks_for_a_preview_and_a_run(bare, qtbot, dialogs):
    state, jobs = bare
    with qtbot.waitSignal(state.sheet_changed, timeout=WAIT):
        jobs.read(SAMPLE)
    page = PreviewPage(state, jobs, Settings())
    qtbot.addWidget(page)
    page.entered()
    qtbot.waitUntil(lambda: page.lists_loaded, timeout=WAIT)
    page.lists_model.set_checked(["Free Members"])
    page.preview_wanted.connect(jobs.preview)
    with qtbot.waitSignal(state.preview_changed, timeout=WAIT):
        page.preview_button.click()
    assert page.tile_change.number.text() == "40"
    assert page.run_button.isEnabled()
    with qtbot.waitSignal(page.run_wanted) as wanted:
        page.run_button.click()
    assert wanted.args == [words.run_headline("remove", 40, "Free Members")]
    assert dialogs.confirm_run_args["count"] == 40


def test_the_run_page_shows_the_state_run(bare, qtbot):
    state, jobs = bare
    page = RunPage(state, jobs, Settings())
    qtbot.addWidget(page)
    view = RunView("remove", "Remove 3 members from Free Members", own=False, run_id="",
                   who="the command line (process 42)")
    state.set_run(view)
    assert page.heading.text() == "Running elsewhere: Remove 3 members from Free Members"
    assert page.keep_open.text().startswith("The command line (process 42)")
    stops = []
    page.stop_wanted.connect(lambda: stops.append(True))
    page.stop_button.click()
    assert stops == [True]
    from ccdesk.core.journal import Progress, RunRecord

    run = RunRecord(run_id="r1", created_at=0, updated_at=0, file_path="x.csv", file_sha256="",
                    sheet="", action="remove", lists=[], account={}, state="running",
                    message="", api_calls=0, predicted_calls=0, undo_of=None, options={})
    # A resumed run: this attempt has sent 1 of 4, the run as a whole 5 of 6 (2 of them done).
    view.status = RunStatus(run, {"removed": 2, "sent": 3, "planned": 1},
                            Progress("sending", 1, 4, 5.0, 0),
                            Owner(42, "here", "the command line", 0))
    state.run_updated()
    assert page.counts.text() == ("So far: 2 removed · 3 sent, not checked yet · 0 failed · "
                                  "1 not done yet")
    assert page.phase.text() == "Sending to Constant Contact…"  # no "1 of 4" beside it
    assert page.bar.value() == int(100 * (2 + 3 / 2) / 6)
    assert page.what.text() == "The members of x.csv."
    view.ended = "finished"
    state.run_updated()
    assert page.counts.text() == ("In the end: 2 removed · 3 sent, not checked yet · 0 failed · "
                                  "1 not done yet")
    assert page.heading.text().startswith("Finished: ")


def test_the_permanent_action_is_never_remembered(bare, qtbot):
    """Every session starts on "Remove from the list", whatever was chosen before."""
    state, jobs = bare
    with qtbot.waitSignal(state.sheet_changed, timeout=WAIT):
        jobs.read(SAMPLE)
    settings = Settings()
    first = PreviewPage(state, jobs, settings)
    qtbot.addWidget(first)
    first.action_buttons["unsubscribe"].click()
    with qtbot.waitSignal(first.preview_wanted):  # asked for (and never made: not connected)
        first.preview_button.click()
    second = PreviewPage(state, jobs, settings)
    qtbot.addWidget(second)
    assert second.action_buttons["remove"].isChecked()
    assert not second.action_buttons["unsubscribe"].isChecked()


def sample_open(state, jobs, qtbot) -> SheetPage:
    """A Spreadsheet page that has read the sample (its requests carried out by ``jobs``)."""
    page = SheetPage(state, jobs, Settings())
    qtbot.addWidget(page)
    page.open_wanted.connect(jobs.read)
    with qtbot.waitSignal(state.sheet_changed, timeout=WAIT):
        page.open(SAMPLE)
    return page


def test_a_failed_open_says_plainly_what_is_still_shown(bare, qtbot, tmp_path):
    state, jobs = bare
    page = sample_open(state, jobs, qtbot)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a spreadsheet at all")
    with qtbot.waitSignal(jobs.read_failed, timeout=WAIT):
        page.open(str(broken))
    assert "broken.xlsx could not be opened" in page.file_label.text()
    assert "Still showing <b>upgraded-members.xlsx</b>" in page.file_label.text()
    assert "broken.xlsx" in page.found.text() and "as read before" in page.found.text()
    assert state.sheet is not None and state.sheet.path == SAMPLE
    assert page._path == SAMPLE  # a correction reads the sheet on show, not the broken one


def test_a_failed_open_that_needs_choices_offers_that_file_s_own(bare, qtbot, tmp_path):
    """A new file whose email column ccdesk cannot find: the page shows that file's first rows,
    its sheets and its columns to choose from, with no column chosen and nothing to go on with;
    the sheet read before is no longer on show anywhere. Choosing a column reads the file."""
    state, jobs = bare
    page = sample_open(state, jobs, qtbot)
    odd = tmp_path / "odd.csv"
    odd.write_text("Member,Reach them at,Since\nAda Lovelace,ada (at) example.org,2020\n"
                   "Alan Turing,alan.turing@example.org,2021\nGrace Hopper,grace at example.org,"
                   "2019\n", encoding="utf-8")
    with qtbot.waitSignal(jobs.read_failed, timeout=WAIT) as failed:
        page.open(str(odd))
    assert failed.args[0].choices is not None
    assert state.sheet is None  # the sample is not on show anywhere any more
    assert "<b>odd.csv</b>: choose where the addresses are" in page.file_label.text()
    assert "Still showing" not in page.file_label.text()
    assert "odd.csv" in page.found.text() and "No email column" in page.found.text()
    columns = [page.column_choice.itemText(i) for i in range(page.column_choice.count())]
    assert columns == ["A: Member", "B: Reach them at", "C: Since"]
    assert page.column_choice.currentIndex() == -1
    assert page.header_choice.value() == 1
    assert page.grid_model.rowCount() == 4 and page.grid.isVisibleTo(page)
    assert page.grid_model.index(1, 0).data() == "Ada Lovelace"
    assert not page.next_button.isEnabled() and not page.counts.isVisibleTo(page)
    # Choosing "Reach them at" reads odd.csv with it: one valid address, two invalid.
    with qtbot.waitSignal(state.sheet_changed, timeout=WAIT):
        page.column_choice.setCurrentIndex(1)
        page.column_choice.activated.emit(1)
    assert state.sheet is not None and state.sheet.path == str(odd)
    sheet = state.sheet.sheet
    assert sheet.email_column == "Reach them at" and sheet.counts["valid"] == 1
    assert sheet.counts["invalid"] == 2
    assert page.next_button.isEnabled()
