"""The run journal: every run and every sheet row's fate, in SQLite (WAL) in the data folder.

Written before each batch is sent and after it returns, so a crash, a closed laptop or a
cancelled run loses nothing: the next start finds the unfinished run and resumes it, checking
the activities it had already started instead of sending them again.

Tables:
    runs     one row per run: when, which file (path and sha256), action, lists, account,
             state (running → paused / cancelled / finished), counts of API calls.
    items    one row per sheet row: the planned outcome and reason, the contact, the lists to
             change, and its state (planned → sent → done / failed / skipped) with
             Constant Contact's message and whether the change was verified. A move's row
             also has the list to put it on first (``add_ids``), and goes through the states
             twice: once to be put on it (then ``added``), once to be taken off ``list_ids``.
    batches  one row per request that changes things (a bulk activity or a PUT): its items, its
             state (planned → sent → started → finished / failed / unknown) and activity id.
    owners   who last took each run on (process, computer, program, since when).
    progress where each run is now (phase, done, total, time left): a window can watch a run
             another process carries out.
    stops    runs someone asked to stop (any process: the run's owner watches for it).

A run in state ``ready`` is a preview recorded so that another process can carry it out
(``ccdesk.engine.record``); it is not listed among the runs until it starts.

A run has one owner at a time: :meth:`Journal.claim` holds an exclusive SQLite lock on a small
file of its own (``locks/<run_id>``) for as long as the run is carried out. The operating system
lets go of that lock when the owner ends, however it ends, so a crashed owner's run is free to
resume, and a second process is refused at once, told who holds the run.

No secret is ever written here.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from ccdesk.errors import CcdeskError
from ccdesk.paths import data_dir, private_dir, private_file

SCHEMA_VERSION = 2  # 2: items.add_ids and items.added (moves)
#: Seconds a claim waits for a run's lock (someone only looking at it lets go at once).
CLAIM_PATIENCE = 1.0
JOURNAL_NAME = "journal.sqlite3"

#: Rows per query when a run's items are read a chunk at a time (:meth:`Journal.iter_items`).
ITEM_CHUNK = 2000

RUN_STATES = ("ready", "running", "paused", "cancelled", "finished")
#: A recorded preview, not started yet (not listed with the runs).
READY = "ready"
ITEM_STATES = ("planned", "sent", "done", "failed", "skipped")
BATCH_STATES = ("planned", "sent", "started", "finished", "failed", "unknown")

#: The ``items`` table: a run's rows, a ready run's (a preview's), or a sheet's
#: (:func:`write_sheet_rows`): one table model reads all three.
ITEMS_TABLE = """
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    row INTEGER NOT NULL,
    email TEXT,
    value TEXT NOT NULL DEFAULT '',
    contact_id TEXT,
    outcome TEXT NOT NULL,          -- the plan's outcome: remove, skip_not_on_list, invalid, ...
    reason TEXT NOT NULL DEFAULT '',
    list_ids TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL,            -- planned, sent, done, failed, skipped
    result TEXT NOT NULL DEFAULT '',-- removed, unsubscribed, failed, skipped outcome ...
    verified INTEGER NOT NULL DEFAULT 0,
    cc_message TEXT NOT NULL DEFAULT '',
    batch INTEGER,
    updated_at REAL NOT NULL,
    add_ids TEXT NOT NULL DEFAULT '[]', -- a move: the lists to put it on before list_ids are left
    added INTEGER NOT NULL DEFAULT 0,   -- ... and 1 once it was seen on them
    PRIMARY KEY (run_id, row)
);
"""

#: The columns a journal of schema 1 lacks (added when it is opened).
_ADDED_COLUMNS = {"add_ids": "TEXT NOT NULL DEFAULT '[]'", "added": "INTEGER NOT NULL DEFAULT 0"}

#: The two stages of a move (or of its undo), by the rows they concern: first the rows still to
#: be put on their ``add_ids``, then the rest (taken off their ``list_ids``).
STAGES = {"add": "add_ids != '[]' AND added = 0", "remove": "NOT (add_ids != '[]' AND added = 0)"}

_SCHEMA = ITEMS_TABLE + """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    file_path TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    sheet TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    lists TEXT NOT NULL,            -- JSON [{"list_id", "name"}]
    account TEXT NOT NULL,          -- JSON {"organization_name", "contact_email", ...}
    state TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    api_calls INTEGER NOT NULL DEFAULT 0,
    predicted_calls INTEGER NOT NULL DEFAULT 0,
    undo_of TEXT,
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS batches (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    batch INTEGER NOT NULL,
    kind TEXT NOT NULL,             -- remove_list_memberships, add_list_memberships, put
    list_ids TEXT NOT NULL DEFAULT '[]',
    size INTEGER NOT NULL,
    state TEXT NOT NULL,
    activity_id TEXT,
    server_created_at TEXT,         -- the activity's created_at, in Constant Contact's clock
    sent_at REAL,
    finished_at REAL,
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, batch)
);
CREATE TABLE IF NOT EXISTS owners (
    run_id TEXT PRIMARY KEY,        -- who last took the run on (see Journal.claim)
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    program TEXT NOT NULL,          -- "the window", "the command line", ...
    since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS progress (
    run_id TEXT PRIMARY KEY,        -- where a run is now, for whoever watches it (any process)
    phase TEXT NOT NULL,
    done INTEGER NOT NULL,
    total INTEGER NOT NULL,
    eta REAL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stops (
    run_id TEXT PRIMARY KEY,        -- someone asked this run to stop (Journal.request_stop)
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_state ON items (run_id, state);
CREATE INDEX IF NOT EXISTS items_by_batch ON items (run_id, batch);
"""


@dataclass
class RunRecord:
    """One run, as the journal has it."""

    run_id: str
    created_at: float
    updated_at: float
    file_path: str
    file_sha256: str
    sheet: str
    action: str
    lists: list[dict[str, str]]
    account: dict[str, Any]
    state: str
    message: str = ""
    api_calls: int = 0
    predicted_calls: int = 0
    undo_of: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def list_names(self) -> list[str]:
        return [x["name"] for x in self.lists]

    @property
    def unfinished(self) -> bool:
        return self.state in ("running", "paused")


@dataclass(slots=True)
class ItemRecord:
    """One sheet row of a run."""

    row: int
    email: str | None
    value: str
    contact_id: str | None
    outcome: str
    reason: str
    list_ids: list[str]
    state: str
    result: str
    verified: bool
    cc_message: str
    batch: int | None
    updated_at: float
    add_ids: list[str] = field(default_factory=list)  # a move: the lists to put it on first
    added: bool = False  # ... and whether it was seen on them


@dataclass
class BatchRecord:
    """One request that changes things."""

    batch: int
    kind: str
    list_ids: list[str]
    size: int
    state: str
    activity_id: str | None
    server_created_at: str | None
    sent_at: float | None
    finished_at: float | None
    message: str


@dataclass(frozen=True)
class Progress:
    """Where a run was when its owner last recorded it."""

    phase: str  # a ccdesk.core.phases.Phase value
    done: int
    total: int
    eta: float | None
    at: float


@dataclass(frozen=True)
class Owner:
    """The process that took a run on."""

    pid: int
    host: str
    program: str
    since: float

    def describe(self) -> str:
        """In words: "the window on office-pc (process 4242), since 14:03"."""
        if not self.pid:
            return "another ccdesk on this computer"
        when = time.strftime("%H:%M", time.localtime(self.since))
        here = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"{self.program}{here} (process {self.pid}), since {when}"


class RunBusy(CcdeskError):
    """Another process is carrying this run out."""

    def __init__(self, run_id: str, owner: Owner | None) -> None:
        self.run_id = run_id
        self.owner = owner
        who = owner.describe() if owner else "another ccdesk on this computer"
        super().__init__(
            "This run is being carried out elsewhere",
            f"{who[0].upper()}{who[1:]} is carrying out run {run_id}. Nothing was changed here; "
            "wait for it to finish, or close that one first.")


class RunClaim:
    """Held while a run is carried out; :meth:`release` (or the process ending) lets it go."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con: sqlite3.Connection | None = con

    def release(self) -> None:
        if self._con is not None:
            with contextlib.suppress(sqlite3.Error):
                self._con.execute("ROLLBACK")
            self._con.close()
            self._con = None

    def __enter__(self) -> RunClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


_SOMEBODY = Owner(0, "", "another ccdesk", 0.0)


def holder_of(journal_path: Path | str | None, run_id: str) -> Owner | None:
    """:meth:`Journal.holder` without opening the journal for writing (cheap: for the window)."""
    path = str(journal_path or default_path())
    if not _lock_held(path, 0, run_id):
        return None
    try:
        db = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            owner = _owner(db, run_id)
        finally:
            db.close()
    except sqlite3.Error:
        owner = None
    return owner or _SOMEBODY


def _owner(db: sqlite3.Connection, run_id: str) -> Owner | None:
    row = db.execute("SELECT pid, host, program, since FROM owners WHERE run_id = ?",
                     (run_id,)).fetchone()
    return Owner(*row) if row else None


def _lock_held(journal_path: str, instance: int, run_id: str) -> bool:
    """Whether someone holds the run's lock now (no lock file is made just to look)."""
    lock = _lock_path(_locks_folder(journal_path, instance), run_id)
    return Path(lock).exists() and _lock_is_held(lock)


def _locks_folder(journal_path: str, instance: int) -> Path:
    if journal_path == ":memory:":
        return Path(tempfile.gettempdir()) / f"ccdesk-locks-{os.getpid()}-{instance}"
    return Path(journal_path).parent / "locks"


def _lock_path(folder: Path, run_id: str) -> str:
    if not run_id.replace("-", "").isalnum():
        raise ValueError(f"not a run id: {run_id!r}")
    return str(folder / f"{run_id}.lock")


def _lock_is_held(lock: str) -> bool:
    """Whether some connection (any process) holds the run's lock now."""
    con = sqlite3.connect(lock, timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError:
        return True
    else:
        con.execute("ROLLBACK")
        return False
    finally:
        con.close()


def _private_db(path: Path | str) -> None:
    """:func:`~ccdesk.paths.private_file` for an SQLite file this process may have open already.

    An existing file is never opened and closed here: on POSIX, closing any descriptor of a
    file drops every lock this process holds on it, so a second connection opened while a run
    goes on (a stop watcher, a window's look) would silently take the run's connection's locks
    away, and another process could then checkpoint and remove the WAL under it (its later
    commits unseen by anyone)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        private_file(path)
        return
    private_dir(path.parent)
    if os.name == "posix" and stat.S_ISREG(mode) and mode & 0o077:
        path.chmod(0o600)


def default_path() -> Path:
    """The journal's file in the per-user data folder."""
    return data_dir() / JOURNAL_NAME


class Journal:
    """The run journal (thread-safe; one connection, serialised).

    Args:
        path: the SQLite file; the per-user default when None. ``":memory:"`` for tests.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = str(path or default_path())
        if self.path != ":memory:":
            _private_db(self.path)  # 0600 in a 0700 folder before SQLite opens it (-wal too)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a row marked "sent" is on disk before its request leaves (a power cut must not
        # forget that a batch may have reached Constant Contact).
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        have = {r["name"] for r in self._db.execute("PRAGMA table_info(items)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in have:  # a journal written before moves existed
                try:
                    self._db.execute(f"ALTER TABLE items ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it meanwhile
                    if "duplicate column" not in str(exc):
                        raise
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        try:  # SQLite's JSON functions: built in since 3.38, but they can be left out
            self._db.execute("SELECT value FROM json_each('[1]')").fetchall()
            self._json = True
        except sqlite3.OperationalError:
            self._json = False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _update_rows(self, db: sqlite3.Connection, assignments: str, values: Sequence[Any],
                     run_id: str, rows: Iterable[int]) -> None:
        """``UPDATE items SET <assignments>`` for these rows of a run, in one statement.

        One statement instead of one per row (``executemany``): the thread hands the
        interpreter lock over once, not once per row — a window on another thread would
        otherwise wait its turn hundreds of times per batch."""
        if self._json:
            db.execute(f"UPDATE items SET {assignments} WHERE run_id = ? AND row IN"  # noqa: S608
                       " (SELECT value FROM json_each(?))",  # (assignments: constants of this module)
                       (*values, run_id, json.dumps(list(rows))))
        else:
            db.executemany(f"UPDATE items SET {assignments} WHERE run_id = ? AND row = ?",  # noqa: S608
                           ((*values, run_id, row) for row in rows))

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ---- runs ------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        file_path: str,
        file_sha256: str,
        sheet: str,
        action: str,
        lists: Sequence[dict[str, str]],
        account: dict[str, Any],
        items: Iterable[dict[str, Any]],
        predicted_calls: int = 0,
        undo_of: str | None = None,
        options: dict[str, Any] | None = None,
        state: str = "running",
        created_at: float | None = None,
    ) -> str:
        """Record a new run and all its items (state ``planned`` or ``skipped``) at once.

        Args:
            state: ``running`` (carried out now), or ``ready`` (a preview another process may
                start later: not listed with the runs until then).
            created_at: when the run was made (a ready run: when its preview was made).
        """
        if state not in RUN_STATES:
            raise ValueError(state)
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        now = time.time()
        made = now if created_at is None else created_at
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (run_id, created_at, updated_at, file_path, file_sha256, sheet,"
                " action, lists, account, state, predicted_calls, undo_of, options)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, made, now, file_path, file_sha256, sheet, action, json.dumps(list(lists)),
                 json.dumps(account), state, predicted_calls, undo_of,
                 json.dumps(options or {})),
            )
            db.executemany(
                "INSERT INTO items (run_id, row, email, value, contact_id, outcome, reason,"
                " list_ids, state, result, updated_at, add_ids) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (run_id, it["row"], it.get("email"), it.get("value", ""), it.get("contact_id"),
                     it["outcome"], it.get("reason", ""), json.dumps(it.get("list_ids", [])),
                     it["state"], it.get("result", ""), now, json.dumps(it.get("add_ids", [])))
                    for it in items
                ),
            )
        return run_id

    def run(self, run_id: str) -> RunRecord:
        """One run; KeyError if unknown."""
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        return _run_record(row)

    def runs(self, limit: int = 200) -> list[RunRecord]:
        """Past runs, newest first (not the ready ones: previews nobody started)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM runs WHERE state != ? ORDER BY created_at DESC LIMIT ?",
                (READY, limit)).fetchall()
        return [_run_record(r) for r in rows]

    def discard_ready(self, run_id: str) -> bool:
        """Delete a ready run and its items; False (nothing deleted) when it is not ready."""
        with self._tx() as db:
            return self._delete_ready(db, [run_id]) > 0

    def prune_ready(self, older_than_seconds: float) -> int:
        """Delete the ready runs made more than ``older_than_seconds`` ago; how many."""
        with self._tx() as db:
            old = [r[0] for r in db.execute("SELECT run_id FROM runs WHERE state = ? AND"
                                            " created_at < ?",
                                            (READY, time.time() - older_than_seconds))]
            return self._delete_ready(db, old)

    @staticmethod
    def _delete_ready(db: sqlite3.Connection, run_ids: Sequence[str]) -> int:
        deleted = 0
        for run_id in run_ids:
            if db.execute("SELECT 1 FROM runs WHERE run_id = ? AND state = ?",
                          (run_id, READY)).fetchone() is None:
                continue
            for table in ("items", "batches", "owners", "progress", "stops"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))  # noqa: S608
            db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            deleted += 1
        return deleted

    def unfinished_runs(self) -> list[RunRecord]:
        """Runs that stopped before the end (crashed, paused or interrupted), newest first."""
        return [r for r in self.runs() if r.unfinished]

    def set_run_state(self, run_id: str, state: str, message: str = "") -> None:
        if state not in RUN_STATES:
            raise ValueError(state)
        with self._tx() as db:
            db.execute("UPDATE runs SET state = ?, message = ?, updated_at = ? WHERE run_id = ?",
                       (state, message, time.time(), run_id))

    def add_api_calls(self, run_id: str, n: int) -> None:
        if n:
            with self._tx() as db:
                db.execute("UPDATE runs SET api_calls = api_calls + ?, updated_at = ? WHERE run_id = ?",
                           (n, time.time(), run_id))

    def set_progress(self, run_id: str, phase: str, done: int, total: int,
                     eta: float | None) -> None:
        """Record where a run is now (its owner calls this as it goes)."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO progress (run_id, phase, done, total, eta, at)"
                       " VALUES (?,?,?,?,?,?)", (run_id, phase, done, total, eta, time.time()))

    def progress(self, run_id: str) -> Progress | None:
        """Where a run was when its owner last said (None before it began)."""
        with self._lock:
            row = self._db.execute("SELECT phase, done, total, eta, at FROM progress"
                                   " WHERE run_id = ?", (run_id,)).fetchone()
        return Progress(*row) if row else None

    # ---- owners ----------------------------------------------------------------------------

    def claim(self, run_id: str, program: str) -> RunClaim:
        """Become the one owner of a run, for as long as the returned claim is held.

        Raises:
            RunBusy: another process (or thread) is carrying the run out now.
        """
        lock = self._lock_file(run_id)
        # A second's patience: a window asking who holds the run takes the lock for an instant
        # (holder); a real owner holds it for the whole run. Tried every few milliseconds (not
        # on SQLite's busy timeout, whose growing sleeps can miss a window that looks often).
        con = sqlite3.connect(lock, timeout=0, isolation_level=None, check_same_thread=False)
        deadline = time.monotonic() + CLAIM_PATIENCE
        while True:
            try:
                con.execute("BEGIN EXCLUSIVE")
                break
            except sqlite3.OperationalError:
                if time.monotonic() >= deadline:
                    con.close()
                    raise RunBusy(run_id, self.owner(run_id)) from None
                time.sleep(0.002)
        owner = Owner(os.getpid(), socket.gethostname(), program, time.time())
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO owners (run_id, pid, host, program, since)"
                       " VALUES (?,?,?,?,?)", (run_id, *astuple(owner)))
            db.execute("DELETE FROM stops WHERE run_id = ?", (run_id,))  # an old request is done
        return RunClaim(con)

    # ---- stop requests ---------------------------------------------------------------------

    def request_stop(self, run_id: str) -> None:
        """Ask whoever carries the run out (any process) to stop it, as Stop does.

        The request holds until the run is claimed again (:meth:`claim` clears it)."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO stops (run_id, at) VALUES (?, ?)",
                       (run_id, time.time()))

    def stop_requested(self, run_id: str) -> bool:
        """Whether someone asked the run to stop since it was last claimed."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM stops WHERE run_id = ?",
                                    (run_id,)).fetchone() is not None

    def holder(self, run_id: str) -> Owner | None:
        """Who is carrying the run out now, or None when nobody is (a crashed owner is nobody)."""
        if not _lock_held(self.path, id(self), run_id):
            return None
        return self.owner(run_id) or _SOMEBODY

    def owner(self, run_id: str) -> Owner | None:
        """Who last took the run on (whether or not still at it)."""
        with self._lock:
            return _owner(self._db, run_id)

    def _lock_file(self, run_id: str) -> str:
        lock = _lock_path(_locks_folder(self.path, id(self)), run_id)
        _private_db(lock)  # an empty file in a 0700 folder: only its lock matters
        return lock

    # ---- items -----------------------------------------------------------------------------

    def items(self, run_id: str, *, state: str | None = None, batch: int | None = None,
              outcome: str | None = None) -> list[ItemRecord]:
        """The items of a run in sheet order, optionally only those in one state or batch."""
        sql, args = "SELECT * FROM items WHERE run_id = ?", [run_id]
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        if batch is not None:
            sql += " AND batch = ?"
            args.append(batch)
        if outcome is not None:
            sql += " AND outcome = ?"
            args.append(outcome)
        with self._lock:
            return [_item_record(r) for r in self._db.execute(sql + " ORDER BY row", args).fetchall()]

    def iter_items(self, run_id: str, *, state: str | None = None, stage: str | None = None,
                   chunk: int | None = None) -> Iterator[ItemRecord]:
        """:meth:`items`, ``chunk`` rows (default :data:`ITEM_CHUNK`) at a time: a run's
        100,000 items need not all be in memory at once.

        Each chunk is a query of its own (no cursor stays open between them), so the caller
        may change items as it goes; every row is yielded at most once, in sheet order, in
        the state it had when its chunk was read.

        Args:
            stage: only the rows of one stage of a move (``"add"``, ``"remove"``: see
                :data:`STAGES`).
        """
        sql, args = "SELECT * FROM items WHERE run_id = ? AND row > ?", [run_id]
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        if stage is not None:
            sql += f" AND {STAGES[stage]}"
        sql += " ORDER BY row LIMIT ?"
        chunk = chunk or ITEM_CHUNK
        after = -(1 << 62)
        while True:
            with self._lock:
                rows = self._db.execute(sql, [args[0], after, *args[1:], chunk]).fetchall()
            for row in rows:
                yield _item_record(row)
            if len(rows) < chunk:
                return
            after = rows[-1]["row"]

    def verified_count(self, run_id: str) -> int:
        """How many items were checked in Constant Contact."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM items WHERE run_id = ? AND verified",
                                    (run_id,)).fetchone()[0]

    def undoable_count(self, run_id: str) -> int:
        """How many rows an undo of the run would change: those it removed or moved, and those a
        move put on its target even when taking them off the old list failed (as
        :func:`ccdesk.core.runner.undo_run` chooses them)."""
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM items WHERE run_id = ? AND (result IN ('removed', 'moved')"
                " OR added)", (run_id,)).fetchone()[0]

    def item_counts(self, run_id: str, *, stage: str | None = None) -> dict[str, int]:
        """How many items are in each state (of one stage of a move: see :data:`STAGES`)."""
        where = "" if stage is None else f" AND {STAGES[stage]}"
        with self._lock:
            rows = self._db.execute(
                f"SELECT state, COUNT(*) AS n FROM items WHERE run_id = ?{where}"  # noqa: S608
                " GROUP BY state", (run_id,)).fetchall()
        return {r["state"]: r["n"] for r in rows}

    def result_counts(self, run_id: str) -> dict[str, int]:
        """How many items ended with each result (removed, failed, skip_…); rows not finished
        yet count as ``planned`` or ``sent``, and a move's rows already put on their new list
        and waiting to be taken off the old one as ``added``. They always add up to the sheet's
        rows; each result comes in the order of its first row."""
        with self._lock:
            rows = self._db.execute(
                "SELECT CASE WHEN result = '' AND added AND state = 'planned' THEN 'added'"
                " WHEN result = '' THEN state ELSE result END AS r, COUNT(*) AS n"
                " FROM items WHERE run_id = ? GROUP BY r ORDER BY MIN(row)", (run_id,)
            ).fetchall()
        return {r["r"]: r["n"] for r in rows}

    def finish_items(self, run_id: str, rows: Sequence[int], *, state: str, result: str,
                     verified: bool = False, message: str = "") -> None:
        """Set the final state of some items."""
        if state not in ITEM_STATES:
            raise ValueError(state)
        now = time.time()
        with self._tx() as db:
            self._update_rows(db, "state = ?, result = ?, verified = ?, cc_message = ?, updated_at = ?",
                              (state, result, int(verified), message, now), run_id, rows)

    def mark_added(self, run_id: str, rows: Sequence[int], *, result: str, message: str) -> None:
        """A move's rows seen on the lists they were put on: planned again, to be taken off
        their old lists; a row with none to leave is done (``result``, verified). One
        transaction: no row is ever put on and left with nothing to do."""
        now = time.time()
        with self._tx() as db:
            self._update_rows(
                db, "added = 1, batch = NULL, updated_at = ?, cc_message = ?,"
                " state = CASE WHEN list_ids = '[]' THEN 'done' ELSE 'planned' END,"
                " result = CASE WHEN list_ids = '[]' THEN ? ELSE '' END,"
                " verified = CASE WHEN list_ids = '[]' THEN 1 ELSE 0 END",
                (now, message, result), run_id, rows)

    def reset_items(self, run_id: str, rows: Sequence[int]) -> None:
        """Put items back to ``planned`` (a batch that certainly never reached the server)."""
        now = time.time()
        with self._tx() as db:
            self._update_rows(db, "state = 'planned', batch = NULL, updated_at = ?", (now,),
                              run_id, rows)

    # ---- batches ---------------------------------------------------------------------------

    def open_batch(self, run_id: str, kind: str, rows: Sequence[int], list_ids: Sequence[str]) -> int:
        """Record a batch about to be sent and mark its items ``sent`` — before sending."""
        now = time.time()
        with self._tx() as db:
            number = db.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM batches WHERE run_id = ?",
                                (run_id,)).fetchone()[0]
            db.execute(
                "INSERT INTO batches (run_id, batch, kind, list_ids, size, state, sent_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (run_id, number, kind, json.dumps(list(list_ids)), len(rows), "sent", now),
            )
            self._update_rows(db, "state = 'sent', batch = ?, updated_at = ?", (number, now),
                              run_id, rows)
        return int(number)

    def update_batch(self, run_id: str, batch: int, *, state: str, activity_id: str | None = None,
                     server_created_at: str | None = None, message: str = "") -> None:
        if state not in BATCH_STATES:
            raise ValueError(state)
        finished = time.time() if state in ("finished", "failed") else None
        with self._tx() as db:
            db.execute(
                "UPDATE batches SET state = ?, activity_id = COALESCE(?, activity_id),"
                " server_created_at = COALESCE(?, server_created_at), message = ?,"
                " finished_at = COALESCE(?, finished_at) WHERE run_id = ? AND batch = ?",
                (state, activity_id, server_created_at, message, finished, run_id, batch),
            )

    def claimed_activities(self) -> set[str]:
        """Every activity id any run of this journal has recorded."""
        with self._lock:
            rows = self._db.execute(
                "SELECT activity_id FROM batches WHERE activity_id IS NOT NULL").fetchall()
        return {r[0] for r in rows}

    def batches(self, run_id: str, *, state: str | None = None) -> list[BatchRecord]:
        sql, args = "SELECT * FROM batches WHERE run_id = ?", [run_id]
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY batch", args).fetchall()
        return [
            BatchRecord(r["batch"], r["kind"], json.loads(r["list_ids"]), r["size"], r["state"],
                        r["activity_id"], r["server_created_at"], r["sent_at"], r["finished_at"],
                        r["message"])
            for r in rows
        ]


def _run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"], created_at=row["created_at"], updated_at=row["updated_at"],
        file_path=row["file_path"], file_sha256=row["file_sha256"], sheet=row["sheet"],
        action=row["action"], lists=json.loads(row["lists"]), account=json.loads(row["account"]),
        state=row["state"], message=row["message"], api_calls=row["api_calls"],
        predicted_calls=row["predicted_calls"], undo_of=row["undo_of"],
        options=json.loads(row["options"]),
    )


def _item_record(row: sqlite3.Row) -> ItemRecord:
    return ItemRecord(
        row=row["row"], email=row["email"], value=row["value"], contact_id=row["contact_id"],
        outcome=row["outcome"], reason=row["reason"], list_ids=json.loads(row["list_ids"]),
        state=row["state"], result=row["result"], verified=bool(row["verified"]),
        cc_message=row["cc_message"], batch=row["batch"], updated_at=row["updated_at"],
        add_ids=json.loads(row["add_ids"]), added=bool(row["added"]),
    )


def write_sheet_rows(path: Path | str, rows: Iterable[Any], *, run_id: str = "sheet") -> Path:
    """Write a sheet's rows (:class:`~ccdesk.core.sheet.SheetRow`-like: ``row``, ``value``,
    ``email``, ``outcome``, ``reason``) into a new private SQLite file, in the journal's
    ``items`` table under ``run_id``: a window reads a sheet's rows as it reads a run's.

    An existing file at ``path`` is replaced. Returns ``path``."""
    path = Path(path)
    for leftover in (path, Path(f"{path}-journal"), Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    private_file(path)
    db = sqlite3.connect(str(path), isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("PRAGMA synchronous=OFF")  # a scratch copy: rewritten if anything goes wrong
        db.executescript(ITEMS_TABLE)
        now = time.time()
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO items (run_id, row, email, value, outcome, reason, state, result,"
            " updated_at) VALUES (?,?,?,?,?,?,'','',?)",
            ((run_id, r.row, r.email, r.value, str(r.outcome), r.reason, now) for r in rows))
        db.execute("COMMIT")
    finally:
        db.close()
    return path
