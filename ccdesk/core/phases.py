"""The phases of a preview and of a run, as values: the front ends hold the words for them
(``ccdesk.gui.words.PHASES``, the command line's ``PHASES``)."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """Where a preview or a run is."""

    READING_ACCOUNT = "reading_account"  # the account, the user's privileges, the lists
    LOOKING_UP = "looking_up"  # the sheet's addresses in Constant Contact
    SENDING = "sending"  # bulk activities going out (done/total: rows)
    WAITING = "waiting"  # Constant Contact works through them
    CHECKING = "checking"  # reading the changes back (done/total: rows or contacts)
    CHECKED = "checked"  # those rows are settled (``rows`` names them)
    UNSUBSCRIBING = "unsubscribing"  # one contact at a time (done/total: rows)
    FINISHED = "finished"


__all__ = ["Phase"]
