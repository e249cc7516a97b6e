"""The sandbox holds a big account: 200,000 contacts load in seconds, pages come fast."""

from __future__ import annotations

import statistics
import time

import pytest
import requests

from ccdesk.sandbox import Sandbox, generate_data


@pytest.mark.slow
def test_200k_contacts_load_fast_and_pages_are_served_under_50ms() -> None:
    data = generate_data(200_000)
    started = time.perf_counter()
    sandbox = Sandbox(data, rate_limit=0).start()
    load_seconds = time.perf_counter() - started
    try:
        assert load_seconds < 8, f"loading 200,000 contacts took {load_seconds:.1f} s"
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {sandbox.issue_token()['access_token']}"
        url = f"{sandbox.api_url}/contacts"
        params = {"lists": sandbox.list_id("Free Members"), "limit": 500, "status": "all",
                  "include": "list_memberships"}
        pages = 0
        r = session.get(url, params=params)
        while pages < 20:
            assert r.status_code == 200 and len(r.json()["contacts"]) == 500
            pages += 1
            r = session.get(sandbox.base_url + r.json()["_links"]["next"]["href"])
        served = [rec.duration_ms for rec in sandbox.requests.records()]
        # The median only: one page on a busy machine (CI, other test runs) can take longer.
        assert statistics.median(served) < 50, served
        lookups = []
        for i in range(0, 2000, 100):
            t = time.perf_counter()
            session.get(url, params={"email": data["contacts"][i]["email"], "status": "all"})
            lookups.append((time.perf_counter() - t) * 1000)
        assert statistics.median(lookups) < 20, lookups
    finally:
        sandbox.stop()
