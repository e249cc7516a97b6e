"""Members' data is private (issue 12): on POSIX the journal (with its WAL files), results logs
and the per-user folders are readable by their owner only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccdesk import paths
from ccdesk.core.export import default_log_path, write_table
from ccdesk.core.journal import Journal

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    """A generous umask (files 0644, folders 0755 by default), as on many desktops."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_per_user_folders_are_0700() -> None:
    for folder in (paths.data_dir(), paths.log_dir(), paths.config_dir(), paths.cache_dir()):
        assert mode(folder) == 0o700, folder


def test_an_existing_open_folder_is_made_private(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True, mode=0o755)
    (home / "data").chmod(0o755)
    monkeypatch.setenv(paths.HOME_ENV, str(home))
    assert mode(paths.data_dir()) == 0o700


def test_the_journal_and_its_wal_files_are_0600_in_a_0700_folder(tmp_path) -> None:
    path = tmp_path / "fresh" / "journal.sqlite3"
    journal = Journal(path)
    try:
        journal._db.execute("CREATE TABLE t (x)")  # a write: the -wal and -shm files exist now
        journal._db.execute("INSERT INTO t VALUES (1)")
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        for file in files:
            assert file.exists(), file
            assert mode(file) == 0o600, file
        assert mode(path.parent) == 0o700
    finally:
        journal.close()


def test_the_default_journal_is_private() -> None:
    journal = Journal()
    try:
        assert mode(Path(journal.path)) == 0o600
        assert mode(Path(journal.path).parent) == 0o700
    finally:
        journal.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_results_logs_are_0600_in_a_0700_folder(tmp_path, fmt) -> None:
    default = default_log_path("run1", fmt)
    chosen = tmp_path / "chosen" / f"log.{fmt}"
    for path in (default, chosen):
        write_table(path, ["email"], [["ada@example.org"]], fmt)
        assert mode(path) == 0o600, path
    assert mode(default.parent) == 0o700
    # Saved again over an older, open file: private too.
    chosen.chmod(0o644)
    write_table(chosen, ["email"], [["ada@example.org"]], fmt)
    assert mode(chosen) == 0o600
