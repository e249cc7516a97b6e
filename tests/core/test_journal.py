"""The journal's bulk row updates: one statement (SQLite's json_each) or, where SQLite was
built without its JSON functions, one statement per row — the same effect either way."""

from __future__ import annotations

import pytest

from ccdesk.core.journal import Journal


def items(n: int) -> list[dict]:
    return [{"row": r, "email": f"m{r}@example.org", "outcome": "remove", "state": "planned",
             "list_ids": ["L1"]} for r in range(2, 2 + n)]


def states(journal: Journal, run_id: str) -> list[tuple]:
    return [(i.row, i.state, i.batch, i.result, i.verified, i.cc_message)
            for i in journal.items(run_id)]


@pytest.mark.parametrize("json_functions", [True, False])
def test_bulk_updates_touch_exactly_the_rows_named(tmp_path, json_functions):
    journal = Journal(tmp_path / "j.sqlite3")
    assert journal._json  # this SQLite has them; the other case is forced below
    journal._json = json_functions
    run_id = journal.create_run(file_path="x.xlsx", file_sha256="0", sheet="S", action="remove",
                                lists=[], account={}, items=items(1200))
    other = journal.create_run(file_path="x.xlsx", file_sha256="0", sheet="S", action="remove",
                               lists=[], account={}, items=items(5))
    batch = journal.open_batch(run_id, "remove", list(range(2, 502)), ["L1"])
    journal.finish_items(run_id, [5, 7, 9], state="done", result="removed", verified=True,
                         message="Checked")
    journal.reset_items(run_id, [300, 301])
    rows = {r: (s, b, res, v, m) for r, s, b, res, v, m in states(journal, run_id)}
    assert rows[2] == ("sent", batch, "", False, "")
    assert rows[7] == ("done", batch, "removed", True, "Checked")
    assert rows[300] == ("planned", None, "", False, "")
    assert rows[501][0] == "sent" and rows[502][0] == "planned"
    assert sum(1 for v in rows.values() if v[0] == "sent") == 500 - 3 - 2
    assert all(s == "planned" for _, s, *_ in states(journal, other))  # another run: untouched
    journal.close()


def new_run(journal: Journal, n: int) -> str:
    return journal.create_run(file_path="x.xlsx", file_sha256="0", sheet="S", action="remove",
                              lists=[], account={}, items=(item for item in items(n)))


@pytest.mark.parametrize("chunk", [1, 7, 50, 51, 2000])
def test_iter_items_reads_a_chunk_at_a_time_what_items_reads(tmp_path, chunk):
    journal = Journal(tmp_path / "j.sqlite3")
    run_id = new_run(journal, 50)
    new_run(journal, 3)  # another run's rows are never read
    journal.finish_items(run_id, [4, 9, 30], state="done", result="removed", verified=True)
    assert list(journal.iter_items(run_id, chunk=chunk)) == journal.items(run_id)
    assert (list(journal.iter_items(run_id, state="planned", chunk=chunk))
            == journal.items(run_id, state="planned"))
    assert [i.row for i in journal.iter_items(run_id, state="done", chunk=chunk)] == [4, 9, 30]
    assert journal.verified_count(run_id) == 3
    journal.close()


def test_iter_items_lets_the_caller_change_rows_as_it_goes(tmp_path):
    """Each row once, in sheet order, as its chunk found it: a row sent and put back to
    planned behind the reader is not read again (the next pass takes it)."""
    journal = Journal(tmp_path / "j.sqlite3")
    run_id = new_run(journal, 40)
    seen = []
    for item in journal.iter_items(run_id, state="planned", chunk=6):
        assert item.state == "planned"
        seen.append(item.row)
        journal.open_batch(run_id, "remove", [item.row], ["L1"])
        if item.row % 5 == 0:
            journal.reset_items(run_id, [item.row])
    assert seen == list(range(2, 42))
    assert [i.row for i in journal.iter_items(run_id, state="planned", chunk=6)] == [
        r for r in range(2, 42) if r % 5 == 0]
    journal.close()


def test_a_second_connection_leaves_the_first_ones_locks_alone(tmp_path) -> None:
    """Opening the journal again in this process (a stop watcher, a window's look) while a run
    writes through another connection must not drop that connection's file locks: another
    process closing its connection would then remove the WAL under the run, and the run's
    later commits would be seen by nobody."""
    import subprocess
    import sys

    path = tmp_path / "j.sqlite3"
    reader = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]);"
              " print(db.execute('SELECT COUNT(*) FROM runs').fetchone()[0]); db.close()")

    def runs_seen_elsewhere() -> int:
        out = subprocess.run([sys.executable, "-c", reader, str(path)], capture_output=True,
                             text=True, check=True).stdout
        return int(out)

    def new_run(journal: Journal) -> None:
        journal.create_run(file_path="x", file_sha256="", sheet="", action="remove", lists=[],
                           account={}, items=[])

    with Journal(path) as journal:
        new_run(journal)
        with Journal(path) as second:
            assert second.runs()
        assert runs_seen_elsewhere() == 1  # another process opens and closes the journal
        new_run(journal)
        assert runs_seen_elsewhere() == 2
