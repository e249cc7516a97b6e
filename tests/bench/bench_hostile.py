"""The hostile-file corpus (issue 13, "Unbreakable"): each file opened by ``ccdesk inspect`` in a
child process capped at 2 GB of address space, with its exit status, wall time and peak memory.

Run it from the checkout (the same cases run in the test suite,
``tests/core/test_hostile_files.py``; this prints the table the issue asks for)::

    .venv/bin/python tests/bench/bench_hostile.py              # every case
    .venv/bin/python tests/bench/bench_hostile.py csv fifo     # the cases whose name holds a word
    .venv/bin/python tests/bench/bench_hostile.py --markdown   # the table as Markdown

Exit status 1 if any case is wrong (see ``tests.support.hostile.problems``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.hostile import CASES, TIME_LIMIT, problems, run_case  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="*", help="only the cases whose name holds one of these")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.words or any(w in c.name for w in args.words)]
    rows = []
    failed = 0
    with tempfile.TemporaryDirectory(prefix="ccdesk-hostile-") as tmp:
        for case in cases:
            result = run_case(case, Path(tmp) / case.name)
            wrong = problems(case, result)
            failed += bool(wrong)
            answer = result.stderr.strip().splitlines()[-1][8:90] if result.status == 2 and \
                result.stderr.strip() else ("read" if result.status == 0 else "")
            rows.append((case.name, str(result.status), f"{result.seconds:.1f}", f"{result.peak_mb:.0f}",
                         "ok" if not wrong else "WRONG: " + "; ".join(wrong)[:120], answer))
            if not args.markdown:
                print("  ".join(_pad(rows[-1])), flush=True)
    if args.markdown:
        print("| case | exit | seconds | peak MB | verdict | answer |")
        print("|---|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(x.replace("|", "\\|") for x in row) + " |")
    print(f"\n{len(cases) - failed} of {len(cases)} right (limit {TIME_LIMIT:.0f} s, 2 GB address space)")
    return 1 if failed else 0


def _pad(row: tuple[str, ...]) -> list[str]:
    widths = (28, 4, 6, 7, 10, 0)
    return [x.rjust(w) if i in (1, 2, 3) else x.ljust(w)
            for i, (x, w) in enumerate(zip(row, widths, strict=True))]


if __name__ == "__main__":
    sys.exit(main())
