"""What differs off Linux (issue 17), each branch checked here.

Where behaviour depends on the platform, the platform is monkeypatched (``os.name``,
``sys.platform``) so both branches run on this machine; what cannot be reached that way (a
real sharing violation, Credential Manager itself) is stood in for by the error Windows gives.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import sys
import time
from pathlib import Path

import pytest

from ccdesk import paths
from ccdesk.core.export import ExportError, FileInUse, write_table

# A Windows user name with accents and spaces, under a OneDrive-redirected Documents folder.
AWKWARD = Path("Users") / "Zoë Ó Briain-Nguyễn" / "OneDrive - Sustainers' Club" / "Documents"


def _as_windows(monkeypatch) -> None:
    """ccdesk.paths' platform tests answer as on Windows (``os.name`` itself stays: pathlib
    would make WindowsPaths)."""
    monkeypatch.setattr(paths, "_windows", lambda: True)
    monkeypatch.setattr(paths, "_posix", lambda: False)


# ---------------------------------------------------------------------------------------------
# File modes: 0600/0700 on POSIX; on Windows no chmod (the profile folder's ACL protects them)


def test_private_files_on_windows_are_made_without_chmod(tmp_path: Path, monkeypatch) -> None:
    """On Windows ``os.fchmod`` does not exist and ``chmod`` only sets the read-only flag:
    neither may be called; the file and folder are still made."""
    def refuse(*args: object) -> None:
        raise AssertionError("chmod called on Windows")

    folder = tmp_path / AWKWARD / "ccdesk"
    folder.mkdir(parents=True)
    folder.chmod(0o755)  # modes POSIX would narrow
    (folder / "old.log").write_text("", encoding="utf-8")
    (folder / "old.log").chmod(0o644)
    _as_windows(monkeypatch)
    monkeypatch.delattr(os, "fchmod")
    monkeypatch.setattr(Path, "chmod", refuse)
    assert paths.private_file(folder / "old.log") == folder / "old.log"
    made = paths.private_file(folder / "new" / "journal.sqlite3")
    assert made.is_file() and made.stat().st_size == 0


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_private_files_on_posix_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        made = paths.private_file(tmp_path / AWKWARD / "journal.sqlite3")
    finally:
        os.umask(old)
    assert made.stat().st_mode & 0o777 == 0o600
    assert made.parent.stat().st_mode & 0o777 == 0o700


# ---------------------------------------------------------------------------------------------
# Replacing a file another program holds open (Windows refuses the move; POSIX does not)


def _failing_replace(monkeypatch, failures: int) -> list[int]:
    calls = []
    real = Path.replace

    def replace(self: Path, target: Path | str) -> Path:
        calls.append(1)
        if len(calls) <= failures:
            raise PermissionError(13, "The process cannot access the file because it is being "
                                      "used by another process", str(target))
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    return calls


def test_on_windows_a_replace_waits_out_a_reader(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "new").write_text("2", encoding="utf-8")
    (tmp_path / "usage.json").write_text("1", encoding="utf-8")
    _as_windows(monkeypatch)
    calls = _failing_replace(monkeypatch, failures=3)
    paths.replace_file(tmp_path / "new", tmp_path / "usage.json")
    assert len(calls) == 4
    assert (tmp_path / "usage.json").read_text(encoding="utf-8") == "2"


def test_on_windows_a_replace_gives_up_after_its_patience(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "new").write_text("2", encoding="utf-8")
    _as_windows(monkeypatch)
    _failing_replace(monkeypatch, failures=10**9)
    with pytest.raises(PermissionError):
        paths.replace_file(tmp_path / "new", tmp_path / "usage.json", patience=0.05)


def test_on_posix_a_refused_replace_is_not_retried(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(paths, "_windows", lambda: False)
    calls = _failing_replace(monkeypatch, failures=1)
    with pytest.raises(PermissionError):
        paths.replace_file(tmp_path / "new", tmp_path / "usage.json")
    assert len(calls) == 1


def test_the_api_usage_count_survives_a_reader_on_windows(tmp_path: Path, monkeypatch) -> None:
    """Another ccdesk reading api-usage.json at the moment of the save (Windows: the move
    fails) used to lose the count; now the save waits for the reader."""
    from ccdesk.cc.transport import DailyUsage

    counter = DailyUsage(tmp_path / AWKWARD / "api-usage.json")
    _as_windows(monkeypatch)
    _failing_replace(monkeypatch, failures=2)
    counter.count("client", 7)
    saved = json.loads((tmp_path / AWKWARD / "api-usage.json").read_text(encoding="utf-8"))
    assert saved["client"]["used"] == 7


# ---------------------------------------------------------------------------------------------
# Files held open by Excel


def test_a_log_over_a_file_open_in_excel_says_to_close_it(tmp_path: Path, monkeypatch) -> None:
    """Windows refuses to open a workbook Excel has open (a sharing violation, raised as
    PermissionError): the person is told to close it in Excel, not shown an error number."""
    target = tmp_path / AWKWARD / "results.xlsx"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"held by Excel")
    real_open = os.open

    def locked(path, flags, mode=0o777, *args, **kwargs):
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", locked)
    for fmt in ("xlsx", "csv"):
        with pytest.raises(FileInUse) as info:
            write_table(target, ["Email"], [["a@example.org"]], fmt)
        assert "close it in Excel and try again" in info.value.what_to_do
    assert target.read_bytes() == b"held by Excel"


def test_a_log_in_a_folder_not_allowed_is_not_blamed_on_excel(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "results.csv"  # does not exist: no program can hold it open
    monkeypatch.setattr(os, "open", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "no")))
    with pytest.raises(ExportError) as info:
        write_table(target, ["Email"], [["a@example.org"]], "csv")
    assert not isinstance(info.value, FileInUse)
    assert "another folder" in info.value.what_to_do


def test_a_sheet_open_in_excel_says_to_close_it(tmp_path: Path, monkeypatch) -> None:
    from ccdesk.core import formats
    from ccdesk.errors import CcdeskError

    sheet = tmp_path / AWKWARD / "upgraded members.xlsx"

    def locked(path: Path, limit: int) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(formats, "read_snapshot", locked)
    with pytest.raises(CcdeskError) as info:
        formats.read_file_bytes(sheet)
    assert "Close it in Excel" in info.value.what_to_do and "Errno" not in info.value.title


# ---------------------------------------------------------------------------------------------
# CSV line endings


def test_csv_logs_have_crlf_rows_and_keep_newlines_inside_cells(tmp_path: Path) -> None:
    """RFC 4180 rows (CRLF) whatever the platform: written with ``newline=""`` so Windows'
    text mode adds no second CR; a newline inside a cell stays inside its quoted cell."""
    target = write_table(tmp_path / AWKWARD / "résultats.csv", ["Email", "Reason"],
                         [["zoë@example.org", "line one\nline two"], ["b@example.org", "ok"]], "csv")
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    assert b"\r\r\n" not in data
    assert data.count(b"\r\n") == 3  # heading + two rows; the cell's own newline is bare
    assert b'"line one\nline two"' in data
    with open(target, encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle))[1] == ["zoë@example.org", "line one\nline two"]


# ---------------------------------------------------------------------------------------------
# Paths with spaces and non-ASCII letters (a Windows user name, OneDrive)


def test_the_journal_and_its_run_lock_work_under_an_awkward_path(tmp_path: Path) -> None:
    """The journal, its lock files and the read-only look (an SQLite URI: spaces and letters
    like ë percent-encoded) under a user name with accents and a OneDrive folder."""
    from ccdesk.core.journal import Journal, holder_of

    path = tmp_path / AWKWARD / "ccdesk data" / "journal.sqlite3"
    journal = Journal(path)
    run_id = journal.create_run(file_path=str(tmp_path / AWKWARD / "upgraded members.xlsx"),
                                file_sha256="0", sheet="Feuille 1", action="remove", lists=[],
                                account={}, items=[])
    assert journal.run(run_id).file_path.endswith("upgraded members.xlsx")
    with journal.claim(run_id, "ccdesk-cli"):
        holder = holder_of(path, run_id)
        assert holder is not None and holder.program == "ccdesk-cli"
    assert holder_of(path, run_id) is None


def test_ccdesk_home_with_spaces_and_accents(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / AWKWARD / "ccdesk home"
    monkeypatch.setenv(paths.HOME_ENV, str(home))
    assert paths.data_dir() == home / "data" and paths.data_dir().is_dir()
    assert paths.log_dir() == home / "log"


def test_the_default_folders_are_not_in_documents(monkeypatch) -> None:
    """platformdirs puts ccdesk's data under the local application-data folder, which OneDrive
    does not redirect (it redirects Documents, Desktop and Pictures)."""
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    for kind in ("data", "config", "log"):
        assert "Documents" not in paths.folder_path(kind).parts


# ---------------------------------------------------------------------------------------------
# Thread priority: Linux only; elsewhere nothing is called


# ---------------------------------------------------------------------------------------------
# Windows Credential Manager: 2,560 bytes a secret


def _b64(data: dict[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def realistic_access_token() -> str:
    """A JWT shaped like Constant Contact's (Okta) access tokens: RS256, the usual claims."""
    header = {"kid": "x" * 43, "alg": "RS256"}
    claims = {
        "ver": 1, "jti": "AT." + "x" * 43, "iss": "https://identity.constantcontact.com/oauth2/" + "x" * 20,
        "aud": "https://api.cc.email/v3", "iat": 1_790_000_000, "exp": 1_790_086_400,
        "cid": "0d8a4b6e-2f31-4c5a-9e77-1b2c3d4e5f60", "uid": "00u" + "x" * 17,
        "scp": ["offline_access", "contact_data", "account_read"], "auth_time": 1_790_000_000,
        "sub": "membership.office@example.org", "platform_user_id": "0d8a4b6e-2f31-4c5a-9e77-1b2c3d4e5f61",
    }
    return f"{_b64(header)}.{_b64(claims)}.{_b64(bytes(256))}"  # a 2048-bit signature


def test_a_realistic_credential_fits_credential_manager() -> None:
    """Measured: the whole entry with a realistic access token, and without it (what is kept
    when the whole does not fit). The entry without the access token must fit with room to
    spare; the access token alone decides whether it is kept in memory only."""
    from ccdesk.credentials import _WINDOWS_BLOB_BYTES, StoredCredentials, _encode

    creds = StoredCredentials(
        client_id="0d8a4b6e-2f31-4c5a-9e77-1b2c3d4e5f60",
        client_secret="s" * 22,
        access_token=realistic_access_token(),
        access_expires_at=1_790_086_400.0,
        refresh_token="r" * 43,
        scope="contact_data account_read offline_access",
    )
    whole = len(_encode(creds).encode("utf-16-le"))
    without_access = len(_encode(StoredCredentials(
        **{**creds.__dict__, "access_token": None, "access_expires_at": None})).encode("utf-16-le"))
    token = len(creds.access_token or "")
    assert 900 < token < 1300, token  # the shape above is in the range real tokens have
    assert whole > _WINDOWS_BLOB_BYTES  # so the in-memory path is the one Windows takes
    assert without_access < _WINDOWS_BLOB_BYTES // 3, without_access


def test_the_stores_people_know_are_named_from_keyrings_real_backends() -> None:
    """The friendly names and the Windows size limit key on keyring's real module names
    (importable on any platform), not on strings that could drift."""
    from keyring.backends import SecretService, Windows, kwallet, libsecret, macOS

    from ccdesk import credentials

    real = {macOS.Keyring: "macOS Keychain", Windows.WinVaultKeyring: "Windows Credential Manager",
            SecretService.Keyring: "Secret Service (GNOME Keyring or KWallet)",
            libsecret.Keyring: "Secret Service (libsecret)", kwallet.DBusKeyring: "KWallet"}
    for cls, name in real.items():
        assert credentials._FRIENDLY_NAMES[cls.__module__] == name
    windows = object.__new__(Windows.WinVaultKeyring)
    fits = credentials._blob_limit(windows)
    assert fits is not None and fits("x" * 1280) and not fits("x" * 1281)  # UTF-16: 2 bytes each
    assert credentials._blob_limit(object.__new__(macOS.Keyring)) is None


def test_a_job_from_source_on_windows_starts_without_a_console(monkeypatch, tmp_path) -> None:
    """The window starts its jobs with pythonw.exe when there is one (python.exe would open a
    console window each time); the frozen app starts itself; elsewhere, the same Python."""
    from ccdesk.engine import child

    scripts = tmp_path / "Scripts"
    scripts.mkdir()
    for name in ("python.exe", "pythonw.exe"):
        (scripts / name).write_bytes(b"")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", str(scripts / "python.exe"))
    assert child.command() == [str(scripts / "pythonw.exe"), "-m", "ccdesk", "job"]
    (scripts / "pythonw.exe").unlink()
    assert child.command() == [str(scripts / "python.exe"), "-m", "ccdesk", "job"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "ccdesk.exe"))
    assert child.command() == [str(tmp_path / "ccdesk.exe"), "job"]
    monkeypatch.delattr(sys, "frozen")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(sys, "executable", "/usr/bin/python3")
    assert child.command() == ["/usr/bin/python3", "-m", "ccdesk", "job"]


def test_the_job_process_uses_the_handles_it_was_given_without_sys_stdout(tmp_path) -> None:
    """A windowed Python (pythonw.exe, the frozen windowed app) may have no sys.stdin/stdout
    although its parent gave it pipes: the job still reads its request and writes its events."""
    import json
    import subprocess

    code = ("import sys; sys.stdin = None; sys.stdout = None; "
            "from ccdesk.cli.main import main; raise SystemExit(main(['job']))")
    request = {"job": {"type": "read", "path": str(tmp_path / "missing.csv"),
                       "rows_to": str(tmp_path / "rows.sqlite")}}
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(request) + "\n",
                          capture_output=True, text=True, timeout=60)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert events and events[-1]["type"] == "error", (done.stdout, done.stderr)
