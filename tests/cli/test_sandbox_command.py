"""``ccdesk sandbox`` from a terminal."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests


def test_sandbox_command_prints_its_url_first_and_serves_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccdesk", "sandbox", "--generate", "40", "--rate-limit", "0",
         "--latency-ms", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("http://127.0.0.1:"), first
        page = requests.get(first + "/", timeout=5)
        assert page.status_code == 200 and "ccdesk sandbox" in page.text
        assert requests.get(first + "/v3/contacts", timeout=5).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "40 contacts" in err


def test_sandbox_command_rejects_a_bad_state_file(tmp_path) -> None:
    bad = tmp_path / "state.json"
    bad.write_text("{not json", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "ccdesk", "sandbox", "--state", str(bad)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.startswith("ccdesk: The sandbox state file cannot be read.")
    assert len(proc.stderr.strip().splitlines()) == 1
