"""``ccdesk limits``: what Constant Contact allows the application key, shown and set from
the command line, and used by ``ccdesk status``; ``ccdesk sandbox --partner-limits``."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from ccdesk.cc.limits import PARTNER_LIMITS, Limits
from ccdesk.engine.session import limits_of
from ccdesk.sandbox import DEMO_CLIENT_ID
from tests.cli.test_jobs import ccdesk

pytestmark = pytest.mark.timeout(60)


def test_limits_are_shown_and_set_for_a_named_key(capsys) -> None:
    code, out, _ = ccdesk(capsys, "limits", "--client-id", "my-key", "--json")
    assert code == 0
    assert out == {"client_id": "my-key", "per_second": 4, "per_day": 10_000, "reset": "00:00",
                   "pacing_rate": 3.7, "default": True}
    code, out, _ = ccdesk(capsys, "limits", "--client-id", "my-key", "--per-second", "10",
                          "--per-day", "250000")
    assert code == 0
    assert out.strip() == ("Application key my-key: 10 requests a second (ccdesk sends at most "
                           "9.25), 250,000 a day, the count starting again at 00:00 UTC.")
    assert limits_of("my-key") == PARTNER_LIMITS and limits_of("other") != PARTNER_LIMITS
    code, out, _ = ccdesk(capsys, "limits", "--client-id", "my-key", "--reset", "05:30", "--json")
    assert out["reset"] == "05:30" and out["per_day"] == 250_000  # the rest kept
    code, out, _ = ccdesk(capsys, "limits", "--client-id", "my-key", "--reset-defaults",
                          "--per-day", "20000", "--json")
    assert (out["per_second"], out["per_day"], out["reset"]) == (4, 20_000, "00:00")
    code, out, _ = ccdesk(capsys, "limits", "--client-id", "my-key", "--reset-defaults", "--json")
    assert out["default"] is True and limits_of("my-key") == Limits()


@pytest.mark.parametrize("argv, words", [
    (["--per-second", "0"], "from 1 to"), (["--per-day", "-3"], "from 1 to"),
    (["--reset", "25:00"], "HH:MM")])
def test_impossible_limits_are_refused_in_one_line(capsys, argv, words) -> None:
    code, out, err = ccdesk(capsys, "limits", "--client-id", "k", *argv)
    assert code == 2 and out == ""
    assert err.startswith("ccdesk: These limits cannot be used.") and words in err
    assert len(err.strip().splitlines()) == 1
    assert limits_of("k") == Limits()


def test_status_uses_the_connected_keys_limits(capsys, sandbox, monkeypatch) -> None:
    from ccdesk.cc import auth
    from ccdesk.cc.transport import Pacer

    monkeypatch.setattr(auth, "TOKEN_INTERVAL", 0.0)
    sandbox.reset(auto_approve=True)
    sandbox.set_limits(rate_limit=10, daily_quota=250_000, token_rate_limit=0)
    monkeypatch.setitem(Pacer._shared, DEMO_CLIENT_ID, Pacer())
    url = sandbox.base_url
    code, out, _ = ccdesk(capsys, "status", "--sandbox-url", url, "--json")
    assert out["daily_limit"] == 10_000 and out["quota_left"] <= 10_000
    code, out, _ = ccdesk(capsys, "limits", "--sandbox-url", url, "--per-second", "10",
                          "--per-day", "250000", "--json")
    assert code == 0 and out["client_id"] == DEMO_CLIENT_ID
    code, out, _ = ccdesk(capsys, "status", "--sandbox-url", url, "--json")
    assert out["daily_limit"] == 250_000 and 249_000 < out["quota_left"] < 250_000
    code, out, _ = ccdesk(capsys, "status", "--sandbox-url", url)
    assert "of 250,000 API requests left today" in out and "midnight UTC" in out


def test_limits_of_no_connected_key_says_what_to_do(capsys, monkeypatch) -> None:
    from ccdesk.engine.session import Session

    class Empty:
        def load(self) -> None:
            return None

    real = Session.for_profile

    def for_profile(profile: str = "default", endpoints=None) -> Session:
        session = real(profile, endpoints)
        session.store = Empty()  # type: ignore[assignment]  # no keyring needed
        return session

    monkeypatch.setattr(Session, "for_profile", staticmethod(for_profile))
    code, _, err = ccdesk(capsys, "limits")
    assert code == 2 and "No Constant Contact account is connected" in err
    assert "--client-id" in err


def test_sandbox_command_with_partner_limits() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccdesk", "sandbox", "--generate", "5", "--partner-limits"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert first.startswith("http://127.0.0.1:"), first
        said = proc.stderr.readline()  # type: ignore[union-attr]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert "10 requests a second, 250,000 a day" in said


@pytest.mark.parametrize("argv, rate, quota", [
    ([], 4, 10_000), (["--partner-limits"], 10, 250_000),
    (["--partner-limits", "--rate-limit", "7"], 7, 250_000),
    (["--daily-quota", "0"], 4, 0)])
def test_sandbox_command_limits(monkeypatch, argv, rate, quota) -> None:
    from tests.sandbox.test_realistic import sandbox_options

    seen = sandbox_options(monkeypatch, *argv)
    assert (seen["rate_limit"], seen["daily_quota"]) == (rate, quota)
    assert seen["retry_after"] is False
    assert sandbox_options(monkeypatch, "--retry-after", *argv)["retry_after"] is True
