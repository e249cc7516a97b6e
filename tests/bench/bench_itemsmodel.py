"""How long ItemsModel keeps the window's thread busy on a 100,000-row run.

Builds a journal of ``--rows`` items in a temporary folder (``Journal.create_run``, some rows
then done, failed or sent), and times every call the window makes, on its own thread:
``set_source``, ``refresh`` (nothing changed; states changed by another connection), a page
fetch (a row of a page not read yet, in sheet order and in a sorted order), ``set_filter``
with a category and with a text, ``sort`` by email — each call, and the delivery of the worker
thread's answer (the model applying it), which also runs on the window's thread. It also
prints how long the answer took to come (the worker thread's time: the window stays free
meanwhile), the longest the window's thread was late for a 5 ms timer while waiting for it, and
a QTableView scrolled through the whole table a screen at a time.

Run it (not part of the test suite)::

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/bench_itemsmodel.py [--rows 100000]

It exits with status 1 when a call on the window's thread took more than 15 ms (worst).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TARGET_MS = 15.0

from PySide6.QtCore import QElapsedTimer, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402

from ccdesk.core.journal import Journal  # noqa: E402
from ccdesk.gui import words  # noqa: E402
from ccdesk.gui.itemsmodel import ItemsModel  # noqa: E402
from ccdesk.gui.worker import keep_window_responsive  # noqa: E402

OUTCOMES = ["remove"] * 6 + ["skip_not_on_list", "skip_not_found", "invalid", "duplicate",
                             "blank", "filtered_out"]
results: dict[str, list[float]] = {}


def items(n: int) -> Iterator[dict[str, Any]]:
    rnd = random.Random(1)
    for i in range(n):
        o = OUTCOMES[rnd.randrange(len(OUTCOMES))]
        yield {"row": i + 2, "email": f"member.{rnd.randrange(10**6)}@example.org",
               "value": f"member.{i}@example.org", "outcome": o,
               "reason": f"On Free Members; upgraded on 2026-11-{i % 28 + 1:02d}",
               "list_ids": ["abc-123"],
               "state": "planned" if o in words.CHANGE_OUTCOMES else "skipped",
               "result": "" if o in words.CHANGE_OUTCOMES else o}


def timed(name: str, call: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = call()
    results.setdefault(name, []).append((time.perf_counter() - start) * 1000)
    return value


def settle(model: ItemsModel, name: str) -> None:
    """Wait for the worker's answer in the event loop, as the window does; record how long it
    took and how late a 5 ms timer on the window's thread was meanwhile."""
    app = QApplication.instance()
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]
    worst = [0]

    def tick() -> None:
        now = clock.elapsed()
        worst[0] = max(worst[0], now - last[0] - 5)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    start = time.perf_counter()
    while model.busy:
        app.processEvents()  # type: ignore[union-attr]
        time.sleep(0.001)
    timer.stop()
    results.setdefault(f"  {name}: answer ready after (worker)", []).append(
        (time.perf_counter() - start) * 1000)
    results.setdefault(f"  {name}: window late by at most", []).append(float(worst[0]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    keep_window_responsive()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.sqlite3"
        journal = Journal(path)
        start = time.perf_counter()
        run_id = journal.create_run(file_path="/x.xlsx", file_sha256="s", sheet="S",
                                    action="remove", lists=[], account={},
                                    items=items(args.rows))
        change = [it.row for it in journal.iter_items(run_id, state="planned")]
        journal.finish_items(run_id, change[: len(change) // 4], state="done", result="removed",
                             verified=True)
        journal.finish_items(run_id, change[len(change) // 4: len(change) // 4 + 500],
                             state="failed", result="failed", message="Still on Free Members")
        print(f"{args.rows:,} rows written in {time.perf_counter() - start:.1f} s")

        model = ItemsModel()
        original = model._deliver

        def deliver() -> None:
            timed("answer applied (window's thread)", original)

        model._deliver = deliver  # type: ignore[method-assign]
        rnd = random.Random(2)
        pending = iter(change[len(change) // 2:])
        k = max(1, min(200, len(change) // (4 * args.repeat + 4)))  # states changed per refresh

        def fetch_some(name: str) -> None:
            for _ in range(10):
                pos = rnd.randrange(model.rowCount())
                model._pages.clear()
                timed(name, lambda pos=pos: model.index(pos, 1).data())

        for _ in range(args.repeat):
            model.clear()
            timed("set_source", lambda: model.set_source(path, run_id, after_run=True))
            settle(model, "set_source")
            fetch_some("page fetch (sheet order)")
            timed("refresh, nothing changed", model.refresh)
            rows = [next(pending) for _ in range(k)]
            journal.finish_items(run_id, rows, state="done", result="removed")
            timed("refresh, states changed (no filter)", model.refresh)
            settle(model, "refresh")
            timed("set_filter (a category)", lambda: model.set_filter([words.DONE], ""))
            settle(model, "set_filter category")
            fetch_some("page fetch (filtered)")
            journal.finish_items(run_id, [next(pending) for _ in range(k)], state="done",
                                 result="removed")
            timed("refresh, states changed (filtered)", model.refresh)
            settle(model, "refresh filtered")
            timed("set_filter (a text)", lambda: model.set_filter(None, "member.12"))
            settle(model, "set_filter text")
            timed("set_filter (none)", lambda: model.set_filter(None, ""))
            settle(model, "set_filter none")
            timed("sort by email", lambda: model.sort(1, Qt.SortOrder.AscendingOrder))
            settle(model, "sort by email")
            fetch_some("page fetch (sorted by email)")
            timed("sort by row", lambda: model.sort(0, Qt.SortOrder.AscendingOrder))
            settle(model, "sort by row")

        # a view scrolled through the whole table, a screen at a time
        view = QTableView()
        view.setModel(model)
        view.resize(900, 700)
        view.show()
        app.processEvents()
        view.viewport().repaint()  # the first paint sets up fonts and sizes: not the model's
        bar = view.verticalScrollBar()
        steps = 0
        total_start = time.perf_counter()
        while True:
            def step() -> None:
                bar.setValue(bar.value() + bar.pageStep())
                view.viewport().repaint()
            timed("view: scroll a screen and paint it", step)
            steps += 1
            if bar.value() >= bar.maximum():
                break
        scroll_total = time.perf_counter() - total_start
        view.close()
        model.clear()
        journal.close()

    print(f"\nEvery call on the window's thread, {args.rows:,} rows, {args.repeat} rounds (ms):")
    worst_call = 0.0
    for name, times in results.items():
        over = 0 if name.startswith("  ") else sum(t > TARGET_MS for t in times)
        extra = f"  ({over} of {len(times):,} over {TARGET_MS:.0f} ms)" if over else ""
        print(f"  {name:58s} median {statistics.median(times):7.1f}  worst {max(times):7.1f}"
              f"{extra}")
        if not name.startswith("  "):
            worst_call = max(worst_call, max(times))
    print(f"\nScrolled the whole table in {steps:,} screens, {scroll_total:.1f} s")
    print(f"Worst call on the window's thread: {worst_call:.1f} ms (target {TARGET_MS:.0f} ms)")
    return 0 if worst_call <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
