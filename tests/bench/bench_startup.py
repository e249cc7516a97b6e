"""Benchmark: time to first paint of the window, from the virtual environment and the bundle.

``ccdesk --demo`` is started with ``CCDESK_EXIT_AFTER_PAINT=1`` (see ``ccdesk/gui/app.py``):
the window closes itself after its first paint and prints ``first paint after N ms``, counted
from the start of the process (on Linux, the kernel's start time: the interpreter's or the
bundle's own start-up is included). Qt runs offscreen; every run has a fresh, empty
``CCDESK_HOME`` (a first start: no saved window size, no past runs). One warm-up run of each
(not counted) fills the disk cache; then the runs alternate between the two, and the median of
each is reported, with the fastest and the slowest, and the wall time until the process ended.

Run it from the checkout (not part of the test suite)::

    .venv/bin/python tests/bench/bench_startup.py                          # the venv only
    .venv/bin/python tests/bench/bench_startup.py --bundle dist/ccdesk     # the venv and the bundle
    .venv/bin/python tests/bench/bench_startup.py --bundle dist/ccdesk --runs 9
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAINT = re.compile(r"^first paint after (\d+) ms$", re.MULTILINE)


def start_once(command: list[str]) -> tuple[int, float]:
    """One start: (ms to first paint as the app measured it, wall-clock ms until it exited)."""
    with tempfile.TemporaryDirectory(prefix="ccdesk-bench-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update({"CCDESK_HOME": str(Path(folder) / "home"), "QT_QPA_PLATFORM": "offscreen",
                    "CCDESK_EXIT_AFTER_PAINT": "1", "NO_PROXY": "127.0.0.1,localhost"})
        began = time.perf_counter()
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        wall = (time.perf_counter() - began) * 1000
    found = PAINT.search(done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{' '.join(command)}: status {done.returncode}\n{done.stderr}")
    return int(found.group(1)), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", metavar="DIST", help="the built folder, e.g. dist/ccdesk")
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    args = parser.parse_args()

    targets = {"venv: python -m ccdesk --demo": [sys.executable, "-m", "ccdesk", "--demo"]}
    if args.bundle:
        exe = Path(args.bundle).resolve() / ("ccdesk.exe" if os.name == "nt" else "ccdesk")
        if not exe.is_file():
            raise SystemExit(f"no {exe}: build the bundle first")
        targets["bundle: ccdesk --demo"] = [str(exe), "--demo"]

    for command in targets.values():
        start_once(command)  # warm-up, not counted
    results: dict[str, list[tuple[int, float]]] = {name: [] for name in targets}
    for _ in range(args.runs):
        for name, command in targets.items():
            results[name].append(start_once(command))

    print(f"Time to first paint, offscreen, {args.runs} runs each "
          f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]}):")
    print(f"  {'':34} {'median':>8} {'fastest':>8} {'slowest':>8}   {'wall (median)':>13}")
    for name, rows in results.items():
        paints = [p for p, _ in rows]
        walls = [w for _, w in rows]
        print(f"  {name:34} {statistics.median(paints):6.0f}ms {min(paints):6d}ms {max(paints):6d}ms"
              f"   {statistics.median(walls):11.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
