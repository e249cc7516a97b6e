"""The garbage-collector pause shared by the import and the window's jobs."""

from __future__ import annotations

import gc

from ccdesk.core.gcpause import gc_paused


def test_gc_pause_is_counted_and_restored() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        built = [[i] for i in range(1000)]  # 1,000 lists the collector tracks
        assert not gc.isenabled()  # still inside the outer pause
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(built)  # what the job built is no longer walked


def test_reading_a_sheet_pauses_the_collector_and_starts_it_again(tmp_path) -> None:
    from ccdesk.core.sheet import read_sheet
    from tests.support import sheets as S

    seen: list[bool] = []
    read_sheet(S.write_csv(tmp_path / "m.csv", [["Email"], ["a@example.org"]]),
               progress=lambda stage, fraction: seen.append(gc.isenabled()))
    assert seen and not any(seen)
    assert gc.isenabled()
