"""Clean and check the email address in one spreadsheet cell.

What a cell goes through, in order:

1. Anything that is not text (a number, a date, TRUE/FALSE) is not an address.
2. Invisible characters are removed wherever they are (zero-width spaces and joiners, the
   byte-order mark, soft hyphens, left-to-right marks); non-breaking and other exotic spaces
   count as ordinary spaces; spaces at both ends are trimmed. A separator left at an end
   (``ann@example.org;``) is trimmed too.
3. ``mailto:`` is stripped (with anything after ``?``), and ``Name <address>`` gives
   ``address``.
4. Two or more addresses in one cell are *reported* (``invalid``), never guessed.
5. The syntax is checked with email-validator (never any DNS look-up). The usual plain
   address takes a fast path: a strict regular expression whose accepted set is a subset of
   what email-validator accepts and that gives the same normalised form (a property test
   proves it), so 100,000 rows take a fraction of a second.

The normalised address is email-validator's normalised form (Unicode NFC, the domain in
its Unicode form), then lower-cased as a whole: Constant Contact compares addresses without
regard to case, and so does ccdesk. That lower-case address is what ccdesk returns and looks
up; the cell's original text is kept beside it for display.

Nothing here imports Qt or touches the network.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from dataclasses import dataclass
from urllib.parse import unquote

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

__all__ = [
    "MAX_CELL_CHARS",
    "CheckedCell",
    "Outcome",
    "cell_text",
    "check_cell",
    "check_text",
    "fast_address",
    "looks_like_address",
    "normalise",
]


class Outcome(enum.StrEnum):
    """What ccdesk decided about one row of the spreadsheet."""

    VALID = "valid"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    BLANK = "blank"
    FILTERED_OUT = "filtered_out"


#: Cells longer than this are not looked at closely (no real address is near it).
MAX_CELL_CHARS = 2_000

# -- the fast path --------------------------------------------------------------------------
# A conservative subset of what email-validator accepts for plain ASCII addresses:
# dot-atom local part; domain of letter/digit labels of at most 63 characters with single
# hyphens inside (so never "--", and the IDNA rules never come into play); a top-level domain
# of 2 to 63 letters that is not a special-use name (.test, .local, ...). The length is checked
# beside it. Possessive quantifiers keep the match free of backtracking.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_SPECIAL_TLDS = sorted((d for d in SPECIAL_USE_DOMAIN_NAMES if "." not in d), key=len, reverse=True)
#: Special-use names with a dot in them (none today) are left to email-validator.
SPECIAL_MULTI = tuple("." + d for d in SPECIAL_USE_DOMAIN_NAMES if "." in d)


FAST = re.compile(
    rf"[{_ATEXT}]++(?:\.[{_ATEXT}]++)*+"
    r"@(?:(?=[A-Za-z0-9-]{1,63}\.)[A-Za-z0-9]++(?:-[A-Za-z0-9]++)*+\.)++"
    rf"(?!(?i:{'|'.join(map(re.escape, _SPECIAL_TLDS))})\Z)[A-Za-z]{{2,63}}"
)
#: email-validator's EMAIL_MAX_LENGTH.
EMAIL_MAX = 254
_fast_match = FAST.fullmatch


def fast_address(s: str) -> str | None:
    """The normalised address if ``s`` is a plain address on the fast path, else None (then
    :func:`check_text` has the last word)."""
    if len(s) > EMAIL_MAX or _fast_match(s) is None:
        return None
    low = s.lower()
    if SPECIAL_MULTI and low.endswith(SPECIAL_MULTI):
        return None
    return low


# -- cleaning -------------------------------------------------------------------------------
# Invisible characters that copy-and-paste from web pages and documents leaves behind.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u180e",
    )
)
# Spaces that look like a space: non-breaking, narrow, figure, ideographic, ...
_SPACES = re.compile(r"[\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_END_JUNK = " \t,;"
_MAILTO = re.compile(r"\A(?:mailto:)+", re.IGNORECASE)
_ANGLE = re.compile(r"\A(?P<name>[^<>]*)<(?P<addr>[^<>]*)>\Z")
# Something shaped like an address, for counting how many a cell holds.
_CANDIDATE = re.compile(r"[^\s<>,;:\"'()\[\]@|]+@[^\s<>,;:\"'()\[\]@/|]+")

_NUMBER_WORDS = {2: "Two", 3: "Three", 4: "Four", 5: "Five"}


@dataclass(frozen=True, slots=True)
class CheckedCell:
    """The verdict on one cell: ``valid`` (with the address), ``invalid`` or ``blank``."""

    outcome: Outcome
    email: str | None = None
    reason: str = ""


_BLANK = CheckedCell(Outcome.BLANK, None, "No email address in this row")


def cell_text(value: object) -> str:
    """A cell's value as the text a person would see in the spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    return str(value)


def _plain_reason(message: str) -> str:
    """email-validator's message, said for office staff."""
    m = message
    if m.startswith("An email address must have an @-sign"):
        return "Not an email address: there is no @"
    if m.startswith("There must be something after the @-sign"):
        return "Not an email address: the part after @ is missing"
    if m.startswith("There must be something before the @-sign"):
        return "Not an email address: the part before @ is missing"
    if "should have a period" in m:
        return "Not an email address: the part after @ has no dot (as in example.org)"
    if "not within a valid top-level domain" in m:
        return "Not an email address: the part after @ does not end like a real domain (as in .org)"
    if "special-use or reserved name" in m:
        return "The part after @ is a reserved name that cannot receive email"
    if "SPACE" in m or "whitespace" in m:
        return "The address contains a space"
    if "invalid characters after the @-sign" in m or (
        "part after the @-sign contains invalid characters" in m
    ):
        if "'@'" in m:
            return "The address has more than one @"
        return "The part after @ has characters an address cannot have" + _chars(m)
    if "invalid characters before the @-sign" in m:
        return "The part before @ has characters an address cannot have" + _chars(m)
    if "two periods in a row" in m:
        return "The address has two dots in a row"
    if "cannot start with a period" in m:
        return "The address starts with a dot"
    if "cannot end with a period" in m:
        return "The address ends with a dot"
    if "period immediately after the @-sign" in m or "period immediately before" in m:
        return "There is a dot right next to the @"
    if "hyphen" in m:
        return "The part after @ has a hyphen in a place where it is not allowed"
    if "too long" in m:
        return "The address is too long"
    if "Quoting" in m:
        return "The part before @ is in quotes, which ccdesk does not accept"
    if "bracketed IP address" in m:
        return "The part after @ is an IP address in brackets, which ccdesk does not accept"
    if "unsafe characters" in m:
        return "The address has invisible or control characters" + _chars(m)
    return "Not a valid email address: " + m.rstrip(".")


def _chars(message: str) -> str:
    """The ': X, Y' list of characters at the end of an email-validator message."""
    _, sep, rest = message.partition(": ")
    return f" ({rest.rstrip('.')})" if sep and rest else ""


def _invalid(reason: str) -> CheckedCell:
    return CheckedCell(Outcome.INVALID, None, reason)


def check_text(text: str) -> CheckedCell:
    """Clean and check the text of one cell (see the module's description)."""
    if len(text) > MAX_CELL_CHARS:
        return _invalid(f"Not an email address: the cell holds {len(text):,} characters")
    s = text.strip()
    if not s:
        return _BLANK
    email = fast_address(s)
    if email is not None:
        return CheckedCell(Outcome.VALID, email, "")
    return _check_slow(s)


_NO_AT = _invalid(_plain_reason("An email address must have an @-sign."))


def _check_slow(s: str) -> CheckedCell:
    if not s.isascii():  # (every invisible character is outside ASCII)
        s = s.translate(_INVISIBLE)
    s = _SPACES.sub(" ", s).strip(_END_JUNK)
    if not s:
        return _BLANK
    m = _MAILTO.match(s)
    if m:
        s = unquote(s[m.end() :].split("?", 1)[0]).strip()
        if not s:
            return _invalid("Not an email address: 'mailto:' with nothing after it")
    found = _CANDIDATE.findall(s) if s.count("@") >= 2 else ()  # (one "@" per candidate)
    if len(found) >= 2:
        word = _NUMBER_WORDS.get(len(found), str(len(found)))
        return _invalid(f"{word} addresses in one cell: keep one address per row")
    m = _ANGLE.match(s)
    if m:
        s = m.group("addr").strip(" ,;").translate(_INVISIBLE)
        if _MAILTO.match(s):
            s = unquote(_MAILTO.sub("", s).split("?", 1)[0]).strip()
        if not s:
            return _invalid("Not an email address: nothing between < and >")
    if "@" not in s:  # the commonest mistake; no need to ask email-validator
        return _NO_AT
    email = fast_address(s)
    if email is not None:
        return CheckedCell(Outcome.VALID, email, "")
    try:
        checked = validate_email(s, check_deliverability=False)
    except EmailNotValidError as exc:
        return _invalid(_plain_reason(str(exc)))
    except Exception as exc:  # noqa: BLE001 - a validator bug must not stop the import
        return _invalid(f"Not a valid email address ({type(exc).__name__})")
    return CheckedCell(Outcome.VALID, checked.normalized.lower(), "")


def check_cell(value: object) -> CheckedCell:
    """Clean and check one cell of any type (text, number, date, None)."""
    if isinstance(value, str):
        return check_text(value)
    if value is None:
        return _BLANK
    if isinstance(value, bool):
        return _invalid(f"Not an email address: {cell_text(value)}")
    if isinstance(value, int | float):
        return _invalid("Not an email address: the cell holds a number")
    if isinstance(value, _dt.date | _dt.time | _dt.timedelta):
        return _invalid("Not an email address: the cell holds a date or time")
    return check_text(cell_text(value))


def normalise(text: str) -> str | None:
    """The normalised (lower-case) address in ``text``, or None if there is none."""
    return check_text(text).email


def looks_like_address(value: object) -> bool:
    """A quick guess, for finding the email column by its content: an '@' between words."""
    if not isinstance(value, str):
        return False
    at = value.find("@")
    return 0 < at < len(value.rstrip()) - 1
