"""The limits Constant Contact grants an application key, and where ccdesk keeps them.

Constant Contact allows every application key 4 requests a second and 10,000 a day, the day
starting again at 00:00 UTC (``../shared/cc-v3-api.md`` §5). It grants partner applications
more on request (for example 10 a second and 250,000 a day). :class:`Limits` is those three
numbers for one key; :class:`LimitsFile` keeps the ones that differ from the defaults, per key
(client id), in a small JSON file in the per-user configuration folder. They are not secret,
but the file is still readable by its owner only, like ccdesk's other files.

ccdesk paces itself a little under the per-second limit (:attr:`Limits.pacing_rate`: 3.7 for
4), so that network jitter does not bunch requests into a 429.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccdesk.paths import private_dir, replace_file

log = logging.getLogger("ccdesk.cc")

#: The share of the per-second limit ccdesk uses: 3.7 requests a second for a limit of 4.
PACING_SHARE = 3.7 / 4
MAX_PER_SECOND = 1000
MAX_PER_DAY = 100_000_000
DAY = 86400
_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


@dataclass(frozen=True)
class Limits:
    """What Constant Contact allows one application key.

    Attributes:
        per_second: requests a second (Constant Contact's default: 4).
        per_day: requests a day (default 10,000).
        reset_minutes: when the day's count starts again, in minutes after 00:00 UTC
            (default 0: midnight UTC, as Constant Contact documents).
    """

    per_second: int = 4
    per_day: int = 10_000
    reset_minutes: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.per_second, int) and 1 <= self.per_second <= MAX_PER_SECOND):
            raise ValueError(f"requests a second must be a whole number from 1 to {MAX_PER_SECOND}")
        if not (isinstance(self.per_day, int) and 1 <= self.per_day <= MAX_PER_DAY):
            raise ValueError(f"requests a day must be a whole number from 1 to {MAX_PER_DAY:,}")
        if not (isinstance(self.reset_minutes, int) and 0 <= self.reset_minutes < 24 * 60):
            raise ValueError("the daily reset must be a time of day, HH:MM (UTC)")

    @property
    def pacing_rate(self) -> float:
        """Requests a second ccdesk sends at most: a margin under :attr:`per_second`."""
        return self.per_second * PACING_SHARE

    @property
    def is_default(self) -> bool:
        return self == DEFAULT_LIMITS

    @property
    def reset(self) -> str:
        """The daily reset as ``HH:MM`` (UTC)."""
        return f"{self.reset_minutes // 60:02d}:{self.reset_minutes % 60:02d}"

    def reset_words(self) -> str:
        """"midnight UTC", or "05:00 UTC"."""
        return "midnight UTC" if self.reset_minutes == 0 else f"{self.reset} UTC"

    def day_of(self, epoch: float) -> str:
        """The allowance day ``epoch`` falls in, as the date it started on (``YYYY-MM-DD``)."""
        return time.strftime("%Y-%m-%d", time.gmtime(epoch - self.reset_minutes * 60))

    def seconds_until_reset(self, epoch: float) -> float:
        """Seconds from ``epoch`` until the day's count starts again."""
        return DAY - ((epoch - self.reset_minutes * 60) % DAY)

    def next_reset(self, epoch: float) -> float:
        """The epoch time of the next reset after ``epoch``."""
        return epoch + self.seconds_until_reset(epoch)

    def to_json(self) -> dict[str, Any]:
        return {"per_second": self.per_second, "per_day": self.per_day, "reset": self.reset}

    @classmethod
    def from_json(cls, data: Any) -> Limits:
        """Limits from :meth:`to_json`'s shape; missing fields take the defaults.

        Raises:
            ValueError: a value is missing its shape or out of range.
        """
        if not isinstance(data, dict):
            raise ValueError("not an object")
        reset = data.get("reset", DEFAULT_LIMITS.reset)
        return cls(per_second=_whole(data.get("per_second", DEFAULT_LIMITS.per_second)),
                   per_day=_whole(data.get("per_day", DEFAULT_LIMITS.per_day)),
                   reset_minutes=parse_reset(reset) if isinstance(reset, str) else -1)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"{value!r} is not a whole number")
    return int(value)


def parse_reset(text: str) -> int:
    """Minutes after 00:00 UTC of a time written ``HH:MM``.

    Raises:
        ValueError: not a time of day.
    """
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (UTC), e.g. 00:00")
    return int(match.group(1)) * 60 + int(match.group(2))


DEFAULT_LIMITS = Limits()
#: What Constant Contact grants partner applications (on request; cc-v3-api.md §5).
PARTNER_LIMITS = Limits(per_second=10, per_day=250_000)


class LimitsFile:
    """The limits of each application key that differ from the defaults, in one JSON file.

    The file maps client ids to :meth:`Limits.to_json`. A key not in it, or an entry that
    cannot be read, has :data:`DEFAULT_LIMITS` (an unreadable entry is logged, not raised:
    the defaults are the safe side). Writes go to a temporary file (0600) moved into place.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("the application-key limits in %s cannot be read (%s); using "
                        "Constant Contact's defaults", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, client_id: str) -> Limits:
        """The limits of ``client_id`` (the defaults when none are set)."""
        entry = self._read().get(client_id)
        if entry is None:
            return DEFAULT_LIMITS
        try:
            return Limits.from_json(entry)
        except ValueError as exc:
            log.warning("the limits kept for an application key are not valid (%s); using "
                        "Constant Contact's defaults", exc)
            return DEFAULT_LIMITS

    def set(self, client_id: str, limits: Limits) -> None:
        """Keep ``limits`` for ``client_id`` (the defaults: forget the entry).

        Raises:
            OSError: the file cannot be written.
        """
        if not client_id:
            raise ValueError("limits belong to an application key (client id)")
        table = self._read()
        if limits.is_default:
            if client_id not in table:
                return
            table.pop(client_id)
        else:
            table[client_id] = limits.to_json()
        self._write(table)

    def _write(self, table: dict[str, Any]) -> None:
        private_dir(self.path.parent)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".limits-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(table, handle, indent=2, sort_keys=True)
                handle.write("\n")
            replace_file(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
            raise


__all__ = ["DEFAULT_LIMITS", "PARTNER_LIMITS", "Limits", "LimitsFile", "parse_reset"]
