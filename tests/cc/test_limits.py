"""An application key's limits: the value, its file, and what the pacer and the day's count
make of them."""

from __future__ import annotations

import json

import pytest

from ccdesk.cc.limits import DEFAULT_LIMITS, PARTNER_LIMITS, Limits, LimitsFile, parse_reset
from ccdesk.cc.transport import DAILY_LIMIT, DEFAULT_RATE, DailyUsage, Pacer, Transport

MIDNIGHT = 1_700_000_000.0 - (1_700_000_000.0 % 86400)  # 00:00 UTC of a day


def test_the_defaults_are_constant_contacts() -> None:
    assert (DEFAULT_LIMITS.per_second, DEFAULT_LIMITS.per_day, DEFAULT_LIMITS.reset) == \
        (4, 10_000, "00:00")
    assert DEFAULT_LIMITS.pacing_rate == pytest.approx(3.7) == DEFAULT_RATE
    assert DAILY_LIMIT == 10_000
    assert PARTNER_LIMITS.pacing_rate == pytest.approx(9.25)  # the same margin, in proportion
    assert DEFAULT_LIMITS.reset_words() == "midnight UTC"
    assert Limits(reset_minutes=330).reset_words() == "05:30 UTC"


@pytest.mark.parametrize("text, minutes", [("00:00", 0), ("5:30", 330), (" 23:59 ", 1439)])
def test_reset_times(text: str, minutes: int) -> None:
    assert parse_reset(text) == minutes


@pytest.mark.parametrize("bad", ["24:00", "12", "12:60", "noon", "-1:00", ""])
def test_bad_reset_times_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_reset(bad)


@pytest.mark.parametrize("fields", [{"per_second": 0}, {"per_day": 0}, {"per_second": 2.5},
                                    {"reset_minutes": 1440}, {"per_day": -5}])
def test_impossible_limits_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Limits(**fields)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    limits = Limits(per_second=10, per_day=250_000, reset_minutes=75)
    assert limits.to_json() == {"per_second": 10, "per_day": 250_000, "reset": "01:15"}
    assert Limits.from_json(json.loads(json.dumps(limits.to_json()))) == limits
    assert Limits.from_json({"per_day": 20_000}) == Limits(per_day=20_000)
    for bad in ([], {"per_second": True}, {"per_day": "lots"}, {"reset": 5}):
        with pytest.raises(ValueError):
            Limits.from_json(bad)


def test_the_day_and_its_reset_follow_the_reset_time() -> None:
    limits = Limits(reset_minutes=5 * 60)
    before = MIDNIGHT + 4 * 3600  # 04:00 UTC: still yesterday's allowance
    assert limits.day_of(before) == DEFAULT_LIMITS.day_of(before - 86400)
    assert limits.seconds_until_reset(before) == pytest.approx(3600)
    assert limits.next_reset(before) == pytest.approx(MIDNIGHT + 5 * 3600)
    assert limits.day_of(MIDNIGHT + 5 * 3600) == DEFAULT_LIMITS.day_of(MIDNIGHT)
    assert DEFAULT_LIMITS.seconds_until_reset(before) == pytest.approx(20 * 3600)


def test_daily_usage_counts_each_key_by_its_own_limits(tmp_path) -> None:
    wall = [MIDNIGHT + 4 * 3600]
    usage = DailyUsage(tmp_path / "u.json", wall=lambda: wall[0])
    usage.set_limits("partner", Limits(per_second=10, per_day=250_000, reset_minutes=300))
    usage.count("partner", 12_000)
    usage.count("plain", 9_000)
    assert usage.remaining("partner") == 238_000 and usage.remaining("plain") == 1_000
    assert usage.seconds_until_reset("partner") == pytest.approx(3600)
    assert usage.seconds_until_reset() == pytest.approx(20 * 3600)
    usage.mark_exhausted("partner")
    assert usage.used("partner") == 250_000 and usage.remaining("partner") == 0
    wall[0] += 3601  # 05:00 UTC: the partner key's new day, not the plain one's
    assert usage.remaining("partner") == 250_000 and usage.used("plain") == 9_000
    assert usage.limit == 10_000


def test_pacer_rate_follows_the_limits() -> None:
    pacer = Pacer()
    assert pacer.rate == pytest.approx(3.7)
    pacer.set_rate(PARTNER_LIMITS.pacing_rate)
    assert pacer.interval == pytest.approx(1 / 9.25)
    off = Pacer(rate=0)  # tests' unpaced pacer stays unpaced
    off.set_rate(9.25)
    assert off.interval == 0 and off.rate == 0
    with pytest.raises(ValueError):
        pacer.set_rate(0)


def test_the_shared_pacer_of_a_key_takes_the_rate_given(monkeypatch) -> None:
    monkeypatch.setattr(Pacer, "_shared", {})
    first = Pacer.for_client("k")
    assert first.rate == pytest.approx(3.7)
    assert Pacer.for_client("k", 9.25) is first and first.rate == pytest.approx(9.25)
    assert Pacer.for_client("k") is first and first.rate == pytest.approx(9.25)


def test_a_transport_given_limits_paces_and_counts_by_them(monkeypatch) -> None:
    monkeypatch.setattr(Pacer, "_shared", {})
    transport = Transport("http://127.0.0.1:9/v3", tokens=None, client_id="k",  # type: ignore[arg-type]
                          limits=PARTNER_LIMITS)
    assert transport.limits == PARTNER_LIMITS and transport.quota_left() == 250_000
    assert transport.pacer.rate == pytest.approx(9.25)
    transport.set_limits(DEFAULT_LIMITS)
    assert transport.quota_left() == 10_000 and transport.pacer.rate == pytest.approx(3.7)


def test_limits_file(tmp_path) -> None:
    file = LimitsFile(tmp_path / "config" / "limits.json")
    assert file.get("k") == DEFAULT_LIMITS  # no file yet
    file.set("k", DEFAULT_LIMITS)
    assert not file.path.exists()  # the defaults need no entry
    file.set("k", PARTNER_LIMITS)
    assert file.get("k") == PARTNER_LIMITS and file.get("other") == DEFAULT_LIMITS
    assert json.loads(file.path.read_text(encoding="utf-8")) == {"k": PARTNER_LIMITS.to_json()}
    with pytest.raises(ValueError):
        file.set("", PARTNER_LIMITS)
    assert not list(file.path.parent.glob(".limits-*"))  # no temporary file left
