"""The user-facing error family.

Every error that can reach a person derives from :class:`CcdeskError`: a short ``title`` fit
for a dialog heading and a ``what_to_do`` sentence in plain words. ``details`` holds technical
text for the log and a "details" button; it must never contain a secret.

This module imports nothing heavy so that every layer can use it.
"""

from __future__ import annotations

from typing import Any


class CcdeskError(Exception):
    """Base of every error ccdesk shows to a person.

    Args:
        title: a few words, e.g. "Spreadsheet is password-protected".
        what_to_do: one or two sentences saying what the person can do next.
        details: optional technical detail for the log (never a secret).
    """

    title: str = "Something went wrong"
    what_to_do: str = "Try again. If it keeps happening, send the log file to whoever supports ccdesk."

    def __init__(
        self, title: str | None = None, what_to_do: str | None = None, details: str = ""
    ) -> None:
        if title is not None:
            self.title = title
        if what_to_do is not None:
            self.what_to_do = what_to_do
        self.details = details
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The title and the advice on one line, for a terminal."""
        return f"{self.title}. {self.what_to_do}".replace("..", ".")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(title={self.title!r})"


class SheetError(CcdeskError):
    """A spreadsheet cannot be read or used."""

    title = "The spreadsheet cannot be used"
    what_to_do = "Open it in Excel, check it, save it again as .xlsx or .csv, and try again."
    #: When the person could choose the sheet, the heading row or the email column by hand: a
    #: ``ccdesk.core.sheet.SheetChoices`` for the file.
    choices: Any = None


class ConfigError(CcdeskError):
    """A setting or command-line option is wrong."""

    title = "A setting is wrong"


class StorageError(CcdeskError):
    """ccdesk cannot read or write its own files (a read-only or full disk, a missing folder).

    The title names the folder or file and the system's reason, so that one line says it all.
    """

    title = "ccdesk cannot use its data folder"
    what_to_do = (
        "Check that the folder can be written to and that the disk is not full (or set "
        "CCDESK_HOME to another folder), then try again. Nothing recorded so far is lost."
    )
