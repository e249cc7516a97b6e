"""``ccdesk -v`` logs every request, but never an address, an authorization code or a token."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ccdesk.sandbox.state import generate_data

ROOT = Path(__file__).resolve().parents[2]


def test_verbose_preview_logs_no_address_code_or_state(sandbox, tmp_path) -> None:
    data = generate_data(3000)
    sandbox.reset(data, auto_approve=True)
    sandbox.set_limits(rate_limit=0, token_rate_limit=0)
    found = data["contacts"][0]["email"]
    sheet = tmp_path / "members.csv"
    sheet.write_text(f"email\n{found}\nzed.nobody@example.org\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "ccdesk", "-v", "preview", str(sheet), "--list", "Free Members",
         "--sandbox-url", sandbox.base_url],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    log = done.stderr
    # The look-up asked for each address (so addresses were in the query strings) …
    assert sandbox.requests.count("GET", r"/v3/contacts") == 2
    assert "GET /v3/contacts" in log and "urllib3" in log  # … and -v logged those requests.
    local = found.split("@")[0]
    for secret in (found, found.replace("@", "%40"), local, "zed.nobody", "%40example.org"):
        assert secret not in log
    assert not re.search(r"(?<![\w])(email|code|state|code_challenge)=(?!\[redacted\])", log), log
    assert "/callback?" in log  # the redirect was logged, without its code and state


def test_the_filter_cleans_messages_arguments_and_tracebacks() -> None:
    from ccdesk.redact import RedactingFilter, redact

    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "GET %s with %s", (
        "/v3/contacts?email=ada%40example.org&status=all", "Authorization: Bearer abc.DEF-123"),
        None)
    assert RedactingFilter().filter(record)
    message = record.getMessage()
    assert "ada" not in message and "abc.DEF" not in message
    assert "status=all" in message
    try:
        raise ValueError("https://h/callback?code=XYZ123&state=S1 refresh_token=RT9")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "XYZ123" not in text and "S1" not in text and "RT9" not in text
    assert redact('{"access_token": "AT", "refresh_token":"RT"}') == \
        '{"access_token": "[redacted]", "refresh_token":"[redacted]"}'


@pytest.mark.timeout(10)
def test_redacting_a_long_run_without_an_address_is_linear() -> None:
    from ccdesk.redact import redact

    assert redact("a" * 400_000) == "a" * 400_000  # an unanchored pattern took minutes here
    assert redact("x a.b+c@ex.org y name%40example.com") == "x [address] y [address]"
