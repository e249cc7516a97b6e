"""``ccdesk preview|run --from-list NAME`` (issue 16): a Constant Contact list as the source,
as a script would use it, on the test sandbox and on the demo; then ``runs``, ``export`` and
``undo`` of such a run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.cli.test_jobs import OUTCOMES, ccdesk
from tests.cli.test_jobs import _quick as _quick  # an autouse fixture
from tests.cli.test_jobs import url as url  # a fixture

pytestmark = pytest.mark.timeout(60)


def test_preview_from_a_list_json(capsys, url, sandbox) -> None:
    sandbox.requests.clear()
    code, out, err = ccdesk(capsys, "preview", "--from-list", "Sustainers", "--list",
                            "Free Members", "--sandbox-url", url, "--json")
    assert code == 0, err
    # fay is on Sustainers and Free Members; gus only on Sustainers.
    assert out["rows"] == 2 == sum(out["counts"].values())
    assert out["counts"] == {"remove": 1, "skip_not_on_list": 1}
    assert set(out["counts"]) <= OUTCOMES
    assert [(i["row"], i["email"], i["outcome"]) for i in out["items"]] == [
        (1, "fay@example.org", "remove"), (2, "gus@example.org", "skip_not_on_list")]
    assert out["source_list"] == "Sustainers" and out["file"] is None
    assert out["cost"]["lookup_strategy"] == "by_source_list"
    assert out["cost"]["lookup_explanation"] == "1 page of the 2 members of Sustainers"
    # account, privileges, lists + the one page of Sustainers; nothing looked up one by one.
    assert out["cost"]["lookup"] == 4 and out["cost"]["lookup_follow_ups"] == 0
    contacts = [r for r in sandbox.requests.records() if r.path == "/v3/contacts"]
    assert len(contacts) == 1 and "lists=" in contacts[0].query
    assert out["api_calls"] == out["cost"]["lookup"] + out["cost"]["run"]


def test_preview_from_a_list_as_text(capsys, url) -> None:
    code, out, err = ccdesk(capsys, "preview", "--from-list", "sustainers", "--list",
                            "Free Members", "--sandbox-url", url)
    assert code == 0, err
    assert "Source:   the members of Sustainers (2 members, in the order read)" in out
    assert "1 will be removed from Free Members, 1 is not on Free Members" in out


@pytest.mark.parametrize(("argv", "words"), [
    (["preview", "members.csv", "--from-list", "Sustainers"], "not both"),
    (["preview"], "Say where the members are"),
    (["preview", "--from-list", "Paying"], "There is no list called “Paying”"),
    (["preview", "--from-list", "Free Members"], "both the source and the list"),
])
def test_a_wrong_source_is_refused_in_one_line(capsys, url, argv, words) -> None:
    code, _, err = ccdesk(capsys, *argv, "--list", "Free Members", "--sandbox-url", url)
    assert code == 2 and words in err and err.count("\n") == 1, err


def test_run_runs_export_and_undo_of_a_list_run(capsys, url, sandbox, tmp_path: Path) -> None:
    fay = sandbox.contact("fay@example.org")["contact_id"]
    code, out, err = ccdesk(capsys, "run", "--from-list", "Sustainers", "--list", "Free Members",
                            "--sandbox-url", url, "--yes", "--json")
    assert code == 0, err
    assert out["counts"] == {"removed": 1, "skip_not_on_list": 1} and out["verified"] == 1
    assert "fay@example.org" not in sandbox.members("Free Members")
    assert "fay@example.org" in sandbox.members("Sustainers")  # the source is left alone
    run_id = out["run_id"]

    code, listed, err = ccdesk(capsys, "runs", "--sandbox-url", url, "--json")
    assert code == 0, err
    [run] = listed["runs"]
    assert run["source_list"] == "Sustainers" and run["file"] == ""

    log = tmp_path / "log.csv"
    code, _, err = ccdesk(capsys, "export", run_id, "--format", "csv", "-o", str(log),
                          "--sandbox-url", url)
    assert code == 0, err
    with open(log, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["Member (order read)"], r["Email"], r["Contact id"]) for r in rows
            if r["Result"].startswith("Removed")] == [("1", "fay@example.org", fay)]

    code, out, err = ccdesk(capsys, "undo", run_id, "--sandbox-url", url, "--yes", "--json")
    assert code == 0, err
    assert out["counts"] == {"re-added": 1}
    assert "fay@example.org" in sandbox.members("Free Members")


def test_the_demo_has_sustainers_on_free_members(capsys) -> None:
    code, out, err = ccdesk(capsys, "preview", "--from-list", "Sustainers", "--list",
                            "Free Members", "--demo", "--json")
    assert code == 0, err
    assert out["counts"]["remove"] == 30  # of the 40 members of the demo's spreadsheet
    assert out["counts"]["skip_not_on_list"] > 0 and out["counts"]["skip_unsubscribed"] > 0
    assert out["rows"] == sum(out["counts"].values()) == 100
    assert out["cost"]["lookup"] <= 3 + 1 + 2  # one page (a retry if the demo's pacing waits)
