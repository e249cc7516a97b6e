"""Cleaning and checking one cell: ccdesk.core.addresses."""

from __future__ import annotations

import datetime as dt

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccdesk.core.addresses import (
    FAST,
    Outcome,
    cell_text,
    check_cell,
    check_text,
    looks_like_address,
    normalise,
)
from ccdesk.core.addresses import fast_address as fast_path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.org", "ann@example.org"),
        ("Ann.Smith@Example.ORG", "ann.smith@example.org"),
        ("  ann@example.org  ", "ann@example.org"),
        ("\u00a0ann@example.org\u00a0", "ann@example.org"),  # non-breaking spaces
        ("\u202fann@example.org\u2007", "ann@example.org"),  # narrow and figure spaces
        ("\u200bann@exa\u200dmple.org\ufeff", "ann@example.org"),  # zero-width, BOM
        ("ann@example.org\u200e", "ann@example.org"),  # left-to-right mark
        ("mailto:ann@example.org", "ann@example.org"),
        ("MAILTO:Ann@Example.org?subject=Hello", "ann@example.org"),
        ("mailto:ann%40example.org", "ann@example.org"),
        ("Ann Smith <ann@example.org>", "ann@example.org"),
        ('"Smith, Ann" <Ann@Example.org>', "ann@example.org"),
        ("<ann@example.org>", "ann@example.org"),
        ("Ann <mailto:ann@example.org>", "ann@example.org"),
        ("ann@example.org;", "ann@example.org"),
        ("ann@example.org,", "ann@example.org"),
        ("\tann@example.org\r\n", "ann@example.org"),
        ("o'brien+news@sub.example.co.uk", "o'brien+news@sub.example.co.uk"),
        ("a@b.c0m", "a@b.c0m"),  # a TLD ending in a letter is enough for email-validator
        ("josé@exämple.org", "josé@exämple.org"),
        ("ann@xn--exmple-cua.org", "ann@exämple.org"),  # IDNA form gives the Unicode form
    ],
)
def test_cleaning_gives_the_normalised_address(raw: str, expected: str) -> None:
    result = check_text(raw)
    assert result.outcome is Outcome.VALID, result.reason
    assert result.email == expected
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ann.example.org", "Not an email address: there is no @"),
        ("ann@", "Not an email address: the part after @ is missing"),
        ("@example.org", "Not an email address: the part before @ is missing"),
        ("ann@example", "Not an email address: the part after @ has no dot (as in example.org)"),
        ("ann smith@example.org", "The address contains a space"),
        ("ann@@example.org", "The address has more than one @"),
        ("ann..smith@example.org", "The address has two dots in a row"),
        ("ann@example.org.", "The address ends with a dot"),
        ("ann@example.test", "The part after @ is a reserved name that cannot receive email"),
        ("ann@example.org; bob@example.org", "Two addresses in one cell: keep one address per row"),
        ("ann@example.org bob@example.org", "Two addresses in one cell: keep one address per row"),
        ("ann@example.org\nbob@example.org", "Two addresses in one cell: keep one address per row"),
        ("Ann <ann@x.org>, Bob <bob@y.org>", "Two addresses in one cell: keep one address per row"),
        ("a@x.org/b@y.org/c@z.org", "Three addresses in one cell: keep one address per row"),
        ("mailto:", "Not an email address: 'mailto:' with nothing after it"),
        ("Ann <>", "Not an email address: nothing between < and >"),
    ],
)
def test_problems_are_reported_in_plain_words(raw: str, reason: str) -> None:
    result = check_text(raw)
    assert result.outcome is Outcome.INVALID
    assert result.email is None
    assert result.reason == reason


def test_unusual_validator_messages_still_read_as_sentences() -> None:
    result = check_text("ann@exa_mple.org")
    assert result.outcome is Outcome.INVALID
    assert result.reason.startswith("The part after @ has characters an address cannot have")
    assert "_" in result.reason


@pytest.mark.parametrize("raw", ["", "   ", "\u00a0", "\u200b", "\t\n", ";"])
def test_empty_looking_cells_are_blank(raw: str) -> None:
    assert check_text(raw).outcome is Outcome.BLANK


@pytest.mark.parametrize(
    ("value", "outcome", "reason_part"),
    [
        (None, Outcome.BLANK, "No email address"),
        (42, Outcome.INVALID, "number"),
        (3.5, Outcome.INVALID, "number"),
        (True, Outcome.INVALID, "TRUE"),
        (dt.datetime(2024, 5, 1), Outcome.INVALID, "date"),
        (dt.date(2024, 5, 1), Outcome.INVALID, "date"),
        ("ann@example.org", Outcome.VALID, ""),
    ],
)
def test_cells_of_every_type(value: object, outcome: Outcome, reason_part: str) -> None:
    result = check_cell(value)
    assert result.outcome is outcome
    assert reason_part in result.reason


def test_cell_text_shows_what_excel_shows() -> None:
    assert cell_text(None) == ""
    assert cell_text(3.0) == "3"
    assert cell_text(3.25) == "3.25"
    assert cell_text(True) == "TRUE"
    assert cell_text(dt.datetime(2024, 5, 1)) == "2024-05-01"
    assert cell_text(dt.datetime(2024, 5, 1, 9, 30)) == "2024-05-01 09:30:00"


def test_very_long_cells_are_not_examined() -> None:
    result = check_text("a" * 5000 + "@example.org")
    assert result.outcome is Outcome.INVALID
    assert "5,012 characters" in result.reason


def test_looks_like_address() -> None:
    assert looks_like_address("ann@example.org")
    assert not looks_like_address("@handle")
    assert not looks_like_address("Email")
    assert not looks_like_address(3)


# -- properties ----------------------------------------------------------------------------
# Text that looks like addresses, near-misses included: the regex fast path and
# email-validator both get a real workout.
_local = st.from_regex(r"[A-Za-z0-9._%+'!#-]{1,20}", fullmatch=True)
_label = st.from_regex(r"[A-Za-z0-9-]{1,12}|xn--[a-z0-9]{2,8}|[a-zäöüß]{1,6}", fullmatch=True)
_tld = st.sampled_from(["org", "com", "ORG", "co", "test", "local", "c0m", "x", "museum", "онлайн"])
address_like = st.builds(
    lambda local, labels, t, pre, post: f"{pre}{local}@{'.'.join(labels)}.{t}{post}",
    _local,
    st.lists(_label, min_size=1, max_size=3),
    _tld,
    st.sampled_from(["", " ", "\u00a0", "mailto:", "\u200b", "Ann <"]),
    st.sampled_from(["", " ", ">", ";", "\u200b", "."]),
)
anything = st.one_of(st.text(), address_like, st.emails())


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(anything)
@example("ann@example.org")
@example("\x00@\x00")
@example("mailto:?@")
def test_normalise_never_raises_and_is_idempotent(text: str) -> None:
    result = check_text(text)  # never raises
    assert result.outcome in (Outcome.VALID, Outcome.INVALID, Outcome.BLANK)
    if result.outcome is Outcome.VALID:
        assert result.email
        assert normalise(result.email) == result.email
        assert result.email == result.email.lower()
    else:
        assert result.email is None
        assert result.reason


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(address_like, st.emails(), st.text(alphabet="ab@.-_+x1", max_size=30)))
@example("a@b--c.com")
@example("a@ab--c.com")
@example("a@" + "x" * 64 + ".com")
@example("a@" + "x" * 63 + ".com")
@example("a" * 250 + "@b.co")
@example("a@b.TEST")
def test_fast_path_accepts_a_subset_of_email_validator(text: str) -> None:
    """Whatever the regex fast path accepts, email-validator accepts too, and both give the
    same normalised (lower-case) address."""
    email = fast_path(text)
    if email is None:
        return
    checked = validate_email(text, check_deliverability=False)
    assert checked.normalized.lower() == email


@settings(max_examples=300)
@given(st.emails())
def test_ordinary_addresses_take_the_fast_path_or_agree_with_the_validator(text: str) -> None:
    try:
        expected: str | None = validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    assert normalise(text) == expected


def test_fast_path_takes_the_usual_addresses() -> None:
    for text in ["ann@example.org", "ANN.SMITH@EXAMPLE.CO.UK", "a+b@x-y.org", "member123@x.io"]:
        assert FAST.fullmatch(text), text
    for text in ["ann@exämple.org", "a@b--c.org", "a@b.test", "a@-b.org", "a@b"]:
        assert fast_path(text) is None, text
