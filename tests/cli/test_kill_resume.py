"""A real ``ccdesk run`` process killed with SIGKILL in the middle, then ``ccdesk resume``:
the journal and the sandbox must reconcile exactly, and nothing is sent twice.

The sandbox runs in the test process at Constant Contact's real rate limit (4 requests a
second; the CLI paces itself) with slowish bulk activities, so the run takes a few seconds
and the test can watch its requests and pick the moment to kill it.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from ccdesk.core.journal import Journal
from ccdesk.sandbox import Sandbox, generate_data

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120),
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")]

REMOVE_POST = r"/v3/activities/remove_list_memberships$"


@pytest.fixture
def sandbox_3000():
    box = Sandbox(generate_data(3000, seed=7), auto_approve=True, activity_delay=0.5,
                  activity_seconds=1.0).start()
    yield box
    box.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def ccdesk(home: Path, *argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CCDESK_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "ccdesk", *argv], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[str]) -> tuple[int, dict, str]:
    out, err = proc.communicate(timeout=90)
    return proc.returncode, (json.loads(out) if out.strip() else {}), err


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"ccdesk ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def the_sheet(sandbox: Sandbox, tmp_path: Path) -> tuple[Path, int, set[str]]:
    """Every member of Free Members (and two strangers); returns the file, its number of rows
    and the addresses the run will remove (all but the unsubscribed, which it skips)."""
    members = sorted(sandbox.members("Free Members"))
    path = tmp_path / "upgraded.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email"])
        writer.writerows([m] for m in [*members, "stranger1@example.net", "stranger2@example.net"])
    removable = {m for m in members
                 if sandbox.contact(m)["email_address"]["permission_to_send"] != "unsubscribed"}
    return path, len(members) + 2, removable


def activities(sandbox: Sandbox) -> list:
    with sandbox.state.lock:
        return [sandbox.state.activities[i] for i in sandbox.state.activity_order]


def kill_and_resume(
    sandbox: Sandbox, tmp_path: Path, home: Path, moment: Callable[[], bool],
    check_killed: Callable[[Journal, str], None] = lambda journal, run_id: None,
    *, resumes: int = 1,
) -> tuple[str, Journal, set[str], dict]:
    """Run, SIGKILL the process when ``moment()`` is true, check the journal shows an
    unfinished run (and ``check_killed``), resume it (with ``resumes`` processes at once: one
    carries it out, the others are refused); returns (run id, journal, the addresses the run
    removes, the resume's JSON)."""
    sheet, rows, removable = the_sheet(sandbox, tmp_path)
    batches = -(-len(removable) // 500)
    assert batches >= 3
    proc = ccdesk(home, "run", str(sheet), "--list", "Free Members", "--sandbox-url",
                  sandbox.base_url, "--yes", "--json")
    wait_until(moment, proc, "the moment to kill it")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert 1 <= len(activities(sandbox)) < batches  # killed in the middle

    code, listed, err = finish(ccdesk(home, "runs", "--sandbox-url", sandbox.base_url, "--json"))
    assert code == 0, err
    [run] = listed["runs"]
    assert run["state"] == "running"  # the process died: nobody marked it paused
    assert sum(run["counts"].values()) == rows
    journal = Journal(home / "data" / "sandbox" / "journal.sqlite3")
    before = Counter(i.state for i in journal.items(run["run_id"]))
    assert before["planned"] > 0 and before["done"] + before["failed"] < len(removable)
    check_killed(journal, run["run_id"])

    procs = [ccdesk(home, "resume", run["run_id"], "--sandbox-url", sandbox.base_url, "--json")
             for _ in range(resumes)]
    ended = [finish(proc) for proc in procs]
    carried = [(out, err) for code, out, err in ended if code == 0]
    refused = [err for code, out, err in ended if code != 0]
    # One carries it out; each other one is refused while it does, or (started after it
    # ended: a slow start on a busy machine) finds it finished and reports it as it is. That no
    # batch went out twice is checked request by request afterwards (reconcile).
    assert carried and all(out["state"] == "finished" for out, err in carried), ended
    assert len(carried) + len(refused) == resumes
    assert [code for code, out, err in ended if code != 0] == [2] * len(refused)
    for err in refused:  # one line, naming who holds the run, and nothing changed
        assert err.count("\n") == 1 and "being carried out elsewhere" in err
        assert "the command line" in err.lower() and "Nothing was changed" in err
    return run["run_id"], journal, removable, carried[0][0]


def reconcile(sandbox: Sandbox, journal: Journal, run_id: str, removable: set[str],
              resumed: dict) -> None:
    """The journal, the resume's report and the sandbox agree, row by row and request by
    request."""
    items = journal.items(run_id)
    rows = len(items)
    assert resumed["state"] == "finished" and journal.run(run_id).state == "finished"
    assert sum(resumed["counts"].values()) == rows
    assert resumed["counts"]["removed"] == len(removable) == resumed["verified"]
    assert resumed["counts"].get("failed", 0) == 0
    # The two strangers are not on the list: looked up one by one, not in Constant Contact.
    assert set(resumed["counts"]) == {"removed", "skip_unsubscribed", "skip_not_found"}
    done = {i.email for i in items if i.result == "removed"}
    assert done == removable and all(i.verified for i in items if i.result == "removed")
    assert not removable & sandbox.members("Free Members")
    # Every change went out exactly once, in an activity the journal knows.
    made = activities(sandbox)
    sent = [cid for a in made for cid in a.contact_ids]
    assert len(sent) == len(set(sent)) == len(removable)
    assert {sandbox.contact(e)["contact_id"] for e in removable} == set(sent)
    journal_ids = [b.activity_id for b in journal.batches(run_id) if b.activity_id]
    assert sorted(journal_ids) == sorted(a.activity_id for a in made)
    assert sandbox.requests.count("POST", REMOVE_POST, status=201) == len(made)


def test_sigkill_between_batches_then_resume(sandbox_3000, tmp_path, home) -> None:
    def after_the_first_post() -> bool:
        return sandbox_3000.requests.count("POST", REMOVE_POST) >= 1

    run_id, journal, removable, resumed = kill_and_resume(sandbox_3000, tmp_path, home,
                                                          after_the_first_post)
    with journal:
        reconcile(sandbox_3000, journal, run_id, removable, resumed)
        # Whatever the kill interrupted, nothing that reached the sandbox was sent again.
        assert sandbox_3000.requests.count("POST", REMOVE_POST) == len(activities(sandbox_3000))


def test_sigkill_while_the_post_answer_is_on_its_way_then_resume(sandbox_3000, tmp_path, home) -> None:
    # The second activity is made at once, but its answer takes 3 s: the process is killed
    # while it waits, so the journal has the batch "sent" with no activity id.
    sandbox_3000.faults.add(REMOVE_POST, method="POST", kind="delay", delay=3.0, after=True, nth=2)

    def second_activity_made_but_not_answered() -> bool:
        return len(activities(sandbox_3000)) == 2

    def second_batch_sent_without_answer(journal: Journal, run_id: str) -> None:
        batches = journal.batches(run_id)
        assert [b.state for b in batches] == ["started", "sent"]
        assert batches[1].activity_id is None

    run_id, journal, removable, resumed = kill_and_resume(
        sandbox_3000, tmp_path, home, second_activity_made_but_not_answered,
        second_batch_sent_without_answer)
    with journal:
        second = journal.batches(run_id)[1]
        assert second.activity_id == activities(sandbox_3000)[1].activity_id  # adopted, not re-sent
        assert second.state == "finished"
        reconcile(sandbox_3000, journal, run_id, removable, resumed)
        assert sandbox_3000.requests.count("POST", REMOVE_POST) == len(activities(sandbox_3000))


def test_two_resumes_at_once_send_no_batch_twice(sandbox_3000, tmp_path, home) -> None:
    def after_the_first_post() -> bool:
        return sandbox_3000.requests.count("POST", REMOVE_POST) >= 1

    run_id, journal, removable, resumed = kill_and_resume(sandbox_3000, tmp_path, home,
                                                          after_the_first_post, resumes=2)
    with journal:
        # Every activity made went out once (a POST the kill cut short made none).
        reconcile(sandbox_3000, journal, run_id, removable, resumed)


def test_sigkill_a_run_from_a_list_then_resume(tmp_path, home) -> None:
    """``ccdesk run --from-list Sustainers`` killed after its first batch, then resumed: the
    resume works from the journal's contact ids (the list is not read again), and every
    previewed contact leaves Free Members exactly once."""
    both = [{"email": f"s{i}@example.org", "lists": ["Free Members", "Sustainers"]}
            for i in range(1600)]
    only = [{"email": f"o{i}@example.org", "lists": ["Sustainers"]} for i in range(40)]
    data = {"account": {"organization_name": "Kill Choir", "contact_email": "o@example.org"},
            "lists": [{"name": "Free Members"}, {"name": "Sustainers"}],
            "contacts": both + only}
    box = Sandbox(data, auto_approve=True, activity_delay=0.5, activity_seconds=1.0).start()
    try:
        removable = {c["email"] for c in both}
        proc = ccdesk(home, "run", "--from-list", "Sustainers", "--list", "Free Members",
                      "--sandbox-url", box.base_url, "--yes", "--json")
        wait_until(lambda: box.requests.count("POST", REMOVE_POST) >= 1, proc, "the first batch")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert 1 <= len(activities(box)) < 4
        code, listed, err = finish(ccdesk(home, "runs", "--sandbox-url", box.base_url, "--json"))
        assert code == 0, err
        [run] = listed["runs"]
        assert run["state"] == "running" and run["source_list"] == "Sustainers"
        before = len(box.requests.records())
        code, resumed, err = finish(ccdesk(home, "resume", run["run_id"], "--sandbox-url",
                                           box.base_url, "--json"))
        assert code == 0, err
        assert resumed["state"] == "finished"
        assert resumed["counts"] == {"removed": 1600, "skip_not_on_list": 40}
        assert resumed["verified"] == 1600
        assert not removable & box.members("Free Members")
        sent = [cid for a in activities(box) for cid in a.contact_ids]
        assert len(sent) == len(set(sent)) == 1600
        # The resume read Free Members' remaining members back (to check), never Sustainers.
        sustainers = box.list_id("Sustainers")
        assert not [r for r in box.requests.records()[before:]
                    if r.path == "/v3/contacts" and sustainers in r.query]
    finally:
        box.stop()
