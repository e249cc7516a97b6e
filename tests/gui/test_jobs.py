"""The jobs service's pieces: a child job's outcomes, a run's events file read as it grows, and
the jobs folder tidied of a closed window's leftovers."""

from __future__ import annotations

import json
import os
import time

from ccdesk.gui.jobs import ChildJob, JobFailed, jobs_folder, remove_leftovers
from ccdesk.gui.tasks import EventsFile
from tests.gui.conftest import SAMPLE, WAIT


def test_a_reading_child_ends_with_its_result(qtbot, tmp_path):
    job = ChildJob("read", {"job": {"type": "read", "path": SAMPLE,
                                    "rows_to": str(tmp_path / "rows.sqlite")}})
    progress = []
    job.progress.connect(progress.append)
    with qtbot.waitSignal(job.finished, timeout=WAIT) as done:
        job.start()
    assert done.args[0]["sheet"]["counts"]["valid"] == 48
    assert progress and all(e["type"] == "progress" for e in progress)
    assert job.outcome == "finished" and (tmp_path / "rows.sqlite").exists()


def test_a_failing_child_says_why_in_words(qtbot, tmp_path):
    job = ChildJob("read", {"job": {"type": "read", "path": str(tmp_path / "missing.xlsx"),
                                    "rows_to": str(tmp_path / "rows.sqlite")}})
    with qtbot.waitSignal(job.failed, timeout=WAIT) as failed:
        job.start()
    error = failed.args[0]
    assert isinstance(error, JobFailed) and error.kind == "failed"
    assert error.title and error.what_to_do and "Traceback" not in error.details


def test_cancel_ends_the_child_at_once(qtbot, tmp_path):
    job = ChildJob("read", {"job": {"type": "read", "path": SAMPLE,
                                    "rows_to": str(tmp_path / "rows.sqlite")}})
    with qtbot.waitSignal(job.cancelled, timeout=WAIT):
        job.start()
        job.cancel()
    assert job.outcome == "cancelled"


def test_the_events_file_is_read_as_it_grows(tmp_path):
    path = tmp_path / "run.events.jsonl"
    path.write_text("", encoding="utf-8")
    events = EventsFile(path)
    assert events.read() == []
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"type": "run", "run_id": "r"}) + "\n" + '{"type": "res')
    assert events.read() == [{"type": "run", "run_id": "r"}]  # a half-written line waits
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('ult"}\n')
    assert events.read() == [{"type": "result"}]
    events.remove()
    assert not path.exists()


def test_a_closed_window_s_leftovers_go_after_two_days():
    folder = jobs_folder()
    old, new = folder / "sheet-1-old.sqlite", folder / "sheet-2-new.sqlite"
    for path in (old, new):
        path.write_bytes(b"")
    three_days_ago = time.time() - 3 * 86400
    os.utime(old, (three_days_ago, three_days_ago))
    remove_leftovers()
    assert not old.exists() and new.exists()
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
