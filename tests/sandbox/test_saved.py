"""A sandbox that keeps its account in a file (the persistent demo): what comes back after a
restart — records and ids, unfinished activities, the clock and today's request count."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ccdesk.sandbox import Clock, Sandbox
from ccdesk.sandbox.state import ActivityRecord
from tests.support.accounts import small_account

T = 1_800_000_000.0  # a fixed moment (frozen clocks: nothing here depends on real time)


def saved(tmp_path: Path) -> tuple[Sandbox, Path]:
    path = tmp_path / "demo" / "account.json"
    return Sandbox(small_account(), clock=Clock(frozen_at=T), save_to=path), path


def reload(path: Path, at: float) -> Sandbox:
    return Sandbox(json.loads(path.read_text(encoding="utf-8")), clock=Clock(frozen_at=at))


def start_removal(box: Sandbox, email: str, list_name: str, seconds: float) -> str:
    """An activity taking ``email`` off ``list_name``, done ``seconds`` from now."""
    state = box.state
    now = box.clock.time()
    activity = ActivityRecord(
        activity_id=state.new_id(), kind="remove_list_memberships", client_id="c",
        contact_ids=[state.by_email[email].contact_id], list_ids=[box.list_id(list_name)],
        created_at=now, start_at=now, done_at=now + seconds)
    state.add_activity(activity)
    return activity.activity_id


def test_an_activity_started_before_a_restart_finishes_after_it(tmp_path) -> None:
    box, path = saved(tmp_path)
    activity_id = start_removal(box, "ada@example.org", "Free Members", 10)
    box.stop()  # saves (never started: nothing else to stop)
    again = reload(path, T + 5)
    assert again.state.contacts == box.state.contacts  # same records, same ids
    assert "ada@example.org" in again.members("Free Members")  # not yet
    assert again.state.activity_json(again.state.activities[activity_id], T + 5)["state"] == "processing"
    again.clock.advance(6)
    assert "ada@example.org" not in again.members("Free Members")
    assert again.state.activities[activity_id].settled
    # New ids carry on from the saved generator: no id is handed out twice.
    assert again.state.new_id() == box.state.new_id()


def test_todays_request_count_is_kept_within_the_same_utc_day(tmp_path) -> None:
    box, path = saved(tmp_path)
    box.quota.set_used("c", T, 7)
    box.save()
    assert reload(path, T + 60).quota_used("c") == 7
    next_day = (T // 86400 + 1) * 86400 + 1
    assert reload(path, next_day).quota_used("c") == 0


def test_the_clock_never_runs_backwards_across_a_restart(tmp_path) -> None:
    box, path = saved(tmp_path)
    box.clock.advance(3600)  # e.g. a test moved it on
    box.save()
    assert reload(path, T).clock.time() == T + 3600
    assert reload(path, T + 7200).clock.time() == T + 7200


def test_changes_are_saved_as_they_are_answered(tmp_path) -> None:
    import requests

    box, path = saved(tmp_path)
    box.clock.unfreeze()
    box.reset(auto_approve=True, rate_limit=0)
    box.start()
    try:
        token = box.issue_token()["access_token"]
        contact = box.contact("ada@example.org")
        body = {"email_address": {"address": "ada@example.org", "permission_to_send": "unsubscribed"},
                "update_source": "Contact"}
        r = requests.put(f"{box.api_url}/contacts/{contact['contact_id']}", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200, r.text
        # Read the file while the sandbox still runs: the change is in it already.
        after = Sandbox(json.loads(path.read_text(encoding="utf-8")))
        assert after.contact("ada@example.org")["email_address"]["permission_to_send"] == "unsubscribed"
    finally:
        box.stop()


def test_a_save_that_fails_is_logged_and_the_change_still_answered(tmp_path, caplog) -> None:
    import requests

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    box = Sandbox(small_account(), save_to=blocker / "account.json", auto_approve=True,
                  rate_limit=0).start()
    try:
        token = box.issue_token()["access_token"]
        contact = box.contact("ben@example.org")
        r = requests.delete(f"{box.api_url}/contacts/{contact['contact_id']}",
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 204, r.text
        assert box.contact("ben@example.org")["deleted_at"]
    finally:
        box.stop()  # saves again: logged, not raised
    assert [r.levelname for r in caplog.records if "could not be saved" in r.getMessage()] \
        == ["WARNING", "WARNING"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_the_file_is_owner_only_and_replaced_whole(tmp_path) -> None:
    box, path = saved(tmp_path)
    box.save()
    assert path.stat().st_mode & 0o777 == 0o600
    inode = path.stat().st_ino
    box.save()
    assert path.stat().st_ino != inode  # a new file renamed over the old, not rewritten in place
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
