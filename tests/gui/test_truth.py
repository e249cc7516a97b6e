"""What the window shows is true: the run's bar agrees with its counts, the time left holds
steady, Stop says what stays done, a greyed Resume says why, the Result column stays in view
on a small screen, and the colours stay readable on a dark desktop."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from ccdesk.gui import palette, words
from ccdesk.gui.pages.run import TimeLeft, run_fraction
from ccdesk.gui.widgets import RESULT_COLUMN
from tests.gui.conftest import WAIT, open_sample, preview, run_preview


# -- the bar and the counts --------------------------------------------------------------------
def test_the_bar_agrees_with_the_counts_beside_it():
    # Every change sent, none checked yet: half way, not 70 % next to "0 removed".
    assert run_fraction({"sent": 500}) == 0.5
    assert run_fraction({"planned": 1000}) == 0.0
    assert run_fraction({"removed": 250, "sent": 250, "planned": 500}) == pytest.approx(0.375)
    assert run_fraction({"unsubscribed": 999, "failed": 1}) == 1.0
    # Skipped rows and problems are not part of the run's work.
    assert run_fraction({"skip_not_on_list": 40, "invalid": 3, "removed": 10,
                         "planned": 10}) == 0.5
    assert run_fraction({"skip_not_on_list": 40}) is None


def test_the_time_left_counts_down_steadily_through_batches():
    """A bulk run: 500 contacts sent at once every 2.5 s, then checked in steps. The raw
    estimate swings at each step; the one shown counts down and moves only when it is off by
    more than a quarter."""
    left = TimeLeft()
    shown: list[tuple[float, float]] = []
    share = 0.0
    for tick in range(200):  # every 0.5 s
        now = tick * 0.5
        if tick % 5 == 0:
            share = min(1.0, share + 0.025)  # a batch
        value = left.update(share, now)
        if value is not None:
            shown.append((now, value))
    assert shown, "never estimated"
    assert shown[0][0] >= TimeLeft.SETTLE_SECONDS
    rises = [(a, b) for a, b in itertools.pairwise(shown) if b[1] > a[1] + 0.01]
    for (t0, v0), (_, v1) in rises:  # a rise is a correction of more than a quarter
        assert v1 - v0 > TimeLeft.TOLERANCE * max(v0, 10.0) * 0.99, (t0, v0, v1)
    # between corrections it counts down with the clock, and it ends at 0
    steady = [(a, b) for a, b in itertools.pairwise(shown) if b[1] <= a[1]]
    assert len(steady) > 0.8 * (len(shown) - 1)
    assert shown[-1][1] == 0.0


def test_stop_says_what_stays_done():
    text = words.stopping_text({"removed": 12, "sent": 500, "planned": 300}, "remove")
    assert "The 12 already removed stay removed." in text
    assert "The 500 already sent carry on" in text
    assert "12" not in words.stopping_text({"sent": 500, "planned": 300}, "remove")


# -- Resume ----------------------------------------------------------------------------------------
def test_a_greyed_resume_always_says_why(make_window, qtbot, dialogs):
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    run_preview(qtbot, window)
    window.go("history")
    page = window.history_page
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=WAIT)
    page.view.selectRow(0)
    assert not page.resume_button.isEnabled()
    assert "finished" in page.resume_button.toolTip()
    state = window.state
    entry = page._selected()
    assert state.not_resumable_reason(entry.run, None) != ""
    assert state.not_resumable_reason(None, None) == "Choose a run in the list to resume it."


# -- a small screen ------------------------------------------------------------------------------
def test_the_result_column_stays_in_view_at_1024x600(make_window, qtbot, dialogs, shot):
    window = make_window()
    window.resize(1024, 600)
    open_sample(qtbot, window)
    preview(qtbot, window)
    run_preview(qtbot, window)
    results = window.results_page
    qtbot.waitUntil(lambda: results.details is not None, timeout=WAIT)
    view = results.table.view
    header = view.horizontalHeader()
    assert header.visualIndex(RESULT_COLUMN) == 2  # right after the address
    right = header.sectionViewportPosition(RESULT_COLUMN) + header.sectionSize(RESULT_COLUMN)
    assert header.sectionViewportPosition(RESULT_COLUMN) >= 0
    assert right <= view.viewport().width()
    assert window.width() <= 1024 and window.height() <= 600
    shot(window, "results-1024x600")
    # The preview's table has no Result column; the order there is as before.
    assert window.preview_page.table.view.isColumnHidden(RESULT_COLUMN)


# -- a dark desktop ------------------------------------------------------------------------------
def dark_palette() -> QPalette:
    p = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#202124"),
                         (QPalette.ColorRole.WindowText, "#e8eaed"),
                         (QPalette.ColorRole.Base, "#1b1b1d"),
                         (QPalette.ColorRole.AlternateBase, "#26262a"),
                         (QPalette.ColorRole.Text, "#e8eaed"),
                         (QPalette.ColorRole.Button, "#303134"),
                         (QPalette.ColorRole.ButtonText, "#e8eaed")):
        p.setColor(role, QColor(colour))
    return p


@pytest.fixture
def dark_desktop(qapp):
    before = QApplication.palette()
    QApplication.setPalette(dark_palette())
    palette.refresh()
    yield
    QApplication.setPalette(before)
    palette.refresh()


def test_a_dark_desktop_stays_readable(dark_desktop, make_window, qtbot, dialogs, shot):
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window)
    assert palette.TONES.dark
    base = QApplication.palette().color(QPalette.ColorRole.Base)
    for brush in (palette.TONES.red, palette.TONES.green, palette.TONES.grey):
        assert palette.contrast(brush.color(), base) >= 4.5, brush.color().name()
    for kind, (back, _, text) in palette.TONES.banners.items():
        assert palette.contrast(QColor(back), QColor(text)) >= 7, kind
    # The banners on show took the dark tints.
    banner = window.demo_banner
    assert palette.TONES.banners["demo"][0] in banner.styleSheet()
    shot(window, "dark-preview")


def test_light_colours_are_readable_too():
    tones = palette._tones(False)
    white = QColor("#ffffff")
    for brush in (tones.red, tones.green, tones.grey):
        assert palette.contrast(brush.color(), white) >= 4.5, brush.color().name()
    for kind, (back, _, text) in tones.banners.items():
        assert palette.contrast(QColor(back), QColor(text)) >= 7, kind


def test_long_explanations_fold_away_on_a_small_screen(make_window, qtbot, dialogs, shot):
    window = make_window()
    open_sample(qtbot, window)
    found, banner = window.sheet_page.found, window.demo_banner.label
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: not found.folded, timeout=WAIT)
    assert "Check in the first rows" in found.text() and "More…" not in found.text()
    window.resize(1024, 600)
    qtbot.waitUntil(lambda: found.folded and banner.folded, timeout=WAIT)
    assert "Check in the first rows" not in found.text() and "More…" in found.text()
    assert "column B" in found.text()  # what matters stays
    assert "practice copy" not in banner.text() and "nothing real is touched" in banner.text()
    assert window.demo_banner.text().startswith("<b>Demo account.</b> The members")  # whole
    shot(window, "sheet-1024x600-folded")
    found.linkActivated.emit("more")
    assert "Check in the first rows" in found.text() and "Less" in found.text()
    window.resize(1100, 620)  # still small: what the person unfolded stays unfolded
    assert not found.folded
    found.linkActivated.emit("less")
    assert found.folded


def test_the_requests_left_go_down_during_a_run(make_window, qtbot, dialogs, monkeypatch):
    """The account line's "N Constant Contact requests left today" is read again while a run
    spends them, not only at its end."""
    from ccdesk.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "QUOTA_EVERY", 0.0)
    window = make_window()
    open_sample(qtbot, window)
    preview(qtbot, window, "unsubscribe")  # one request per contact: the count moves
    before = window.account_info.quota_left
    seen: list[int] = []

    def moved(view: object) -> None:
        if window.state.run is not None and window.state.run.active:
            seen.append(window.account_info.quota_left)

    window.state.run_changed.connect(moved)
    window.preview_page.run_button.click()
    qtbot.waitUntil(lambda: any(left < before for left in seen), timeout=WAIT)
    assert window.state.run.active  # during the run, not at its end
    assert f"{window.account_info.quota_left:,} Constant Contact requests left" in \
        window.account_line.text()
    with qtbot.waitSignal(window.run_ended, timeout=WAIT):
        window.run_page.stop_button.click()


def test_every_page_fits_a_1024x600_screen(make_window, qtbot, dialogs):
    """No page asks for more room than a small laptop has (its buttons squeezed and their words
    cut, as the Spreadsheet page's four ways to give the members once were)."""
    window = make_window()
    window.resize(1024, 600)
    open_sample(qtbot, window)
    preview(qtbot, window)
    run_preview(qtbot, window)
    for step in ("account", "sheet", "preview", "run", "results", "history"):
        window.go(step)
        hint = window.minimumSizeHint()
        assert hint.width() <= 1024 and hint.height() <= 600, (step, hint)
