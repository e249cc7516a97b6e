"""Pasted addresses: text copied from an email or a web page, kept as a small CSV file.

Everything else in ccdesk works on a file (reading, the check that the file is unchanged
between the preview and the run, resume, undo, "try the failed ones again", the log's file
name), so pasted text becomes one: :func:`save_pasted` writes it to the data folder's
``pasted`` folder (owner-only) and returns the path, which is then read like any sheet.

How the text is cut into items (:func:`split_pasted`):

- at line ends (``\\n``, ``\\r\\n``, ``\\r``), commas and semicolons;
- but not inside ``"…"`` quotes or ``<…>``, so ``"Doe, Jane" <jane@example.org>`` stays one;
- ``Lovelace, Ada <ada@example.org>`` (a name written surname first, as Outlook shows it) stays
  one too: a piece without ``@`` joins the next piece when they are cut at a comma and the
  next piece is ``Name <address>``;
- blank items are dropped; a byte-order mark and spaces at the ends of items are removed.

Each item is then one row, under the heading :data:`HEADING`, and gets the same cleaning and
outcomes as a cell of a spreadsheet (:mod:`ccdesk.core.addresses`: ``Name <address>`` and
``mailto:`` are understood, the rest is ``invalid``; a repeat is ``duplicate``). The heading
makes the file read the same way whoever reads it and with whatever options: even when the
first item is not an address or there is a single item, the email column is found by its
heading, and no item is mistaken for a heading. Item *n* is on row *n + 1*.

Nothing here imports Qt or touches the network.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ccdesk.core.addresses import Outcome, check_text
from ccdesk.errors import SheetError

__all__ = ["FOLDER", "HEADING", "PastedCount", "count_pasted", "is_pasted", "pasted_csv",
           "save_pasted", "split_pasted"]

#: The heading of the one column of a pasted file.
HEADING = "Email"
#: The data folder's sub-folder for pasted files.
FOLDER = "pasted"
_SEPARATORS = frozenset("\n\r,;")
_BOM = "\ufeff"


class NothingPastedError(SheetError):
    """The pasted text holds no item at all."""

    title = "There is nothing in the pasted text"
    what_to_do = ("Copy the addresses (one a line, or separated by commas or semicolons) and "
                  "paste them again.")


def _pieces(text: str) -> list[tuple[str, str]]:
    """``(piece, separator after it)`` for every piece of ``text``, cut at separators outside
    quotes and angle brackets. An unclosed quote or bracket ends at the line end, so one stray
    ``"`` or ``<`` cannot swallow the rest of the text."""
    out: list[tuple[str, str]] = []
    start = 0
    quoted = angled = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\r\n":
            quoted = angled = False
        if quoted:
            if ch == '"':
                quoted = False
        elif angled:
            if ch == ">":
                angled = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            angled = True
        elif ch in _SEPARATORS:
            out.append((text[start:i], ch))
            start = i + 1
        i += 1
    out.append((text[start:], ""))
    return out


def _named_address(piece: str) -> bool:
    """``Name <address>`` with a name before the bracket."""
    s = piece.strip()
    lt = s.find("<")
    return lt > 0 and s.endswith(">") and "@" in s[lt:]


def split_pasted(text: str) -> list[str]:
    """The items of pasted text, in order, blank ones left out (see the module's description)."""
    text = text.replace(_BOM, "")
    items: list[str] = []
    carry = ""  # a surname-first name waiting for the rest of it after a comma
    for piece, sep in _pieces(text):
        if carry:
            if _named_address(piece):
                piece = carry + "," + piece
            else:
                items.append(carry.strip())
            carry = ""
        if sep == "," and piece.strip() and "@" not in piece and "<" not in piece:
            carry = piece
            continue
        if piece.strip():
            items.append(piece.strip())
    if carry.strip():
        items.append(carry.strip())
    return items


@dataclass(frozen=True)
class PastedCount:
    """What pasted text holds, for the live count while it is being pasted."""

    items: int  # pieces found
    addresses: int  # different valid addresses
    repeats: int  # valid addresses seen before
    not_addresses: int  # pieces that are not a valid address


def count_pasted(text: str) -> PastedCount:
    """Count the items of ``text`` as the reading will: addresses, repeats, the rest."""
    seen: set[str] = set()
    repeats = bad = 0
    items = split_pasted(text)
    for item in items:
        checked = check_text(item)
        if checked.outcome is Outcome.VALID and checked.email:
            if checked.email in seen:
                repeats += 1
            seen.add(checked.email)
        else:
            bad += 1
    return PastedCount(len(items), len(seen), repeats, bad)


def pasted_csv(items: Sequence[str]) -> str:
    """The CSV text of a pasted file: the heading, then one item a row, every cell quoted (so
    no delimiter guess can split an item, and no item can look like a ``sep=`` line)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([HEADING])
    for item in items:
        writer.writerow([item])
    return out.getvalue()


def pasted_folder() -> Path:
    """The data folder's ``pasted`` folder (created, owner-only)."""
    from ccdesk.paths import data_dir, private_dir

    return private_dir(data_dir() / FOLDER)


def is_pasted(path: str | Path) -> bool:
    """Whether ``path`` is a file of pasted addresses that ccdesk saved."""
    from ccdesk.paths import folder_path

    return Path(path).parent == folder_path("data") / FOLDER


def save_pasted(text: str, folder: Path | None = None, *, now: float | None = None) -> Path:
    """Save pasted text as ``pasted YYYY-MM-DD HH-MM-SS.csv`` (local time; `` (2)``… when the
    name is taken) in ``folder`` (default: :func:`pasted_folder`), readable by its owner only,
    UTF-8 with a byte-order mark (so Excel shows accented names right); returns the path.

    Raises:
        NothingPastedError: the text holds no item.
        OSError: the file cannot be written.
    """
    items = split_pasted(text)
    if not items:
        raise NothingPastedError()
    data = pasted_csv(items).encode("utf-8-sig")
    if folder is None:
        folder = pasted_folder()
    else:
        from ccdesk.paths import private_dir

        private_dir(folder)
    stamp = time.strftime("%Y-%m-%d %H-%M-%S", time.localtime(now))
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    for n in range(1, 1000):
        path = folder / (f"pasted {stamp}.csv" if n == 1 else f"pasted {stamp} ({n}).csv")
        try:
            fd = os.open(path, flags, 0o600)  # created owner-only, never wider
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path
    raise FileExistsError(f"too many pasted files named {stamp} in {folder}")
