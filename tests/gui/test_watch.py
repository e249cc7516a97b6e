"""A run another process carries out (here, ``ccdesk run`` on the command line), watched live
in the window through the journal; and that process killed mid-run: the window says so and
offers to resume it."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccdesk.core.journal import Journal
from ccdesk.engine.session import Session
from ccdesk.gui.jobs import PROGRAM
from ccdesk.paths import data_dir
from ccdesk.sandbox import Sandbox, generate_data
from tests.gui.conftest import WAIT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120),
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")]


@pytest.fixture
def box():
    """3,000 contacts at the real rate limit, with slowish activities: a run of several seconds."""
    sandbox = Sandbox(generate_data(3000, seed=7), auto_approve=True, activity_delay=0.5,
                      activity_seconds=1.0).start()
    yield sandbox
    sandbox.stop()


def start_cli_run(box: Sandbox, tmp_path: Path) -> subprocess.Popen[str]:
    sheet = tmp_path / "upgraded.csv"
    with open(sheet, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["Email"], *([m] for m in sorted(box.members("Free Members")))])
    return subprocess.Popen([sys.executable, "-m", "ccdesk", "run", str(sheet), "--list",
                             "Free Members", "--sandbox-url", box.base_url, "--yes", "--json"],
                            env=dict(os.environ), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def running_run_id(proc: subprocess.Popen[str]) -> str:
    """The run the command line is carrying out, once it has begun sending."""
    path = data_dir() / "sandbox" / "journal.sqlite3"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if path.exists():
            with Journal(path) as journal:
                runs = journal.runs()
                if runs and journal.holder(runs[0].run_id) and journal.progress(runs[0].run_id):
                    return runs[0].run_id
        time.sleep(0.05)
    raise AssertionError("the command line's run did not begin")


def open_history(qtbot, window) -> None:
    with qtbot.waitSignal(window.history_loaded, timeout=WAIT):
        window.go("history")
    window.history_page.view.selectRow(0)


def window_on(box: Sandbox, make_window, qtbot):
    """A window on the sandbox account (the command line's journal), at History."""
    window = make_window(demo=False, factory=lambda: Session.for_sandbox(box.base_url))
    open_history(qtbot, window)
    return window


def test_a_command_line_run_is_watched_live_to_its_end(box, make_window, qtbot, shot,
                                                       tmp_path) -> None:
    proc = start_cli_run(box, tmp_path)
    try:
        run_id = running_run_id(proc)
        window = window_on(box, make_window, qtbot)
        history = window.history_page
        assert history.watch_button.isVisible() and not history.resume_button.isVisible()
        assert history.proxy.index(0, 3).data() == "Running elsewhere: can be watched"
        page = window.run_page
        seen: list[str] = []
        with qtbot.waitSignal(window.run_ended, timeout=90_000) as ended:
            history.watch_button.click()
            assert window.current_page() == "run" and window.state.watching
            assert page.heading.text().startswith("Running elsewhere: ")
            assert page.keep_open.text().startswith("The command line (process ")
            assert page.stop_button.isVisible()  # a request in the journal stops it too
            qtbot.waitUntil(lambda: page.counts.text().startswith("So far: "), timeout=30_000)
            seen.append(page.phase.text())
            shot(window, "16-watching-a-command-line-run")
        assert ended.args == [run_id, "finished"]
        assert proc.wait(60) == 0
        results = window.results_page
        qtbot.waitUntil(lambda: results.details is not None
                        and results.details.run.run_id == run_id, timeout=WAIT)
        assert results.outcome.text().startswith("<b>Finished:")
        assert seen and seen[0] != "Looking…"  # the owner's progress reached the window
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_job_process_killed_mid_run_is_told_and_resumable(box, make_window, qtbot, shot,
                                                              tmp_path) -> None:
    proc = start_cli_run(box, tmp_path)
    try:
        run_id = running_run_id(proc)
        window = window_on(box, make_window, qtbot)
        with qtbot.waitSignal(window.run_ended, timeout=60_000) as ended:
            window.history_page.watch_button.click()
            qtbot.waitUntil(lambda: window.run_page.counts.text().startswith("So far: "),
                            timeout=30_000)
            os.kill(proc.pid, signal.SIGKILL)  # kill -9: no chance to mark anything
        assert ended.args == [run_id, "abandoned"]
        assert window.run_page.heading.text().startswith("Ended before the end: ")
        results = window.results_page
        qtbot.waitUntil(lambda: results.details is not None
                        and results.details.run.run_id == run_id, timeout=WAIT)
        text = results.outcome.text()
        assert "The command line" in text and "ended before the run did" in text
        assert results.resume_button.isVisible() and results.resume_button.isEnabled()
        shot(window, "17-job-process-killed")
        open_history(qtbot, window)
        assert window.history_page.proxy.index(0, 3).data() == "Interrupted: can be resumed"
        with qtbot.waitSignal(window.results_shown, timeout=WAIT):
            window.show_results(run_id)
        with qtbot.waitSignal(window.run_ended, timeout=90_000) as resumed:
            results.resume_button.click()
        assert resumed.args == [run_id, "finished"]
    finally:
        if proc.poll() is None:
            proc.kill()


def start_window_run(box: Sandbox, make_window, qtbot, tmp_path: Path):
    """A window on the sandbox account that previews every Free Member and starts the run;
    returns the window and the run id once the run's own process has taken it on."""
    from tests.gui.conftest import open_sample, preview

    sheet = tmp_path / "upgraded.csv"
    with open(sheet, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["Email"], *([m] for m in sorted(box.members("Free Members")))])
    window = make_window(demo=False, factory=lambda: Session.for_sandbox(box.base_url))
    open_sample(qtbot, window, str(sheet))
    info = preview(qtbot, window)
    window.preview_page.run_button.click()
    assert window.current_page() == "run" and window.state.running
    with Journal(window.session.journal_path) as journal:  # its first batch is on its way
        qtbot.waitUntil(lambda: journal.holder(info.run_id) is not None
                        and journal.progress(info.run_id) is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.run_page.counts.text().startswith("So far: "), timeout=30_000)
    return window, info.run_id


def test_the_window_closed_and_opened_again_during_its_run(box, make_window, qtbot, shot,
                                                           tmp_path) -> None:
    """Closing the window does not stop its run: it goes on in its own process, and the next
    window shows it running and follows it to its end."""
    first, run_id = start_window_run(box, make_window, qtbot, tmp_path)
    assert "goes on if you close this window" in first.run_page.keep_open.text()
    first.close()
    assert not first.isVisible()
    holder = Session.for_sandbox(box.base_url).run_holder(run_id)
    assert holder is not None and holder.program == PROGRAM and holder.pid != os.getpid()

    second = window_on(box, make_window, qtbot)
    history = second.history_page
    assert history.proxy.index(0, 3).data() == "Running elsewhere: can be watched"
    assert history.watch_button.isVisible()
    shot(second, "18-reopened-during-a-run")
    with qtbot.waitSignal(second.run_ended, timeout=90_000) as ended:
        history.watch_button.click()
    assert ended.args == [run_id, "finished"]
    results = second.results_page
    qtbot.waitUntil(lambda: results.details is not None
                    and results.details.run.run_id == run_id, timeout=WAIT)
    assert results.outcome.text().startswith("<b>Finished: ")
    groups = results.details.groups
    assert groups["done"] > 0 and groups["failed"] == groups["waiting"] == 0


def test_the_window_s_job_killed_mid_run_is_told_and_resumable(box, make_window, qtbot, shot,
                                                               tmp_path) -> None:
    window, run_id = start_window_run(box, make_window, qtbot, tmp_path)
    holder = window.session.run_holder(run_id)
    assert holder is not None and holder.pid != os.getpid()
    with qtbot.waitSignal(window.run_ended, timeout=60_000) as ended:
        os.kill(holder.pid, signal.SIGKILL)  # kill -9 of the job's process
    assert ended.args == [run_id, "abandoned"]
    assert window.isVisible()  # the window is not taken down with it
    assert window.run_page.heading.text().startswith("Ended before the end: ")
    results = window.results_page
    qtbot.waitUntil(lambda: results.details is not None
                    and results.details.run.run_id == run_id, timeout=WAIT)
    text = results.outcome.text()
    assert "ended before the run did" in text
    assert results.resume_button.isVisible() and results.resume_button.isEnabled()
    shot(window, "19-window-job-killed")
    with qtbot.waitSignal(window.run_ended, timeout=90_000) as resumed:
        results.resume_button.click()
    assert resumed.args == [run_id, "finished"]
    qtbot.waitUntil(lambda: results.details.run.state == "finished", timeout=WAIT)
    groups = results.details.groups
    assert groups["done"] > 0 and groups["failed"] == groups["waiting"] == 0
