"""The application key's limits in the window: the last section of the application-key form,
kept per key through "Change the application key", and the allowance the account page shows."""

from __future__ import annotations

import pytest
import requests
from PySide6.QtCore import QTime

from ccdesk.cc.auth import Endpoints, InMemoryStore
from ccdesk.cc.limits import DEFAULT_LIMITS, PARTNER_LIMITS, Limits
from ccdesk.engine.session import Session, limits_of, save_limits
from ccdesk.gui.dialogs import AppKeyChoice, AppKeyDialog
from ccdesk.sandbox import DEMO_CLIENT_ID, Sandbox
from tests.gui.conftest import WAIT
from tests.support.accounts import small_account


@pytest.fixture
def oauth_sandbox():
    sandbox = Sandbox(small_account(), auto_approve=True).start()
    yield sandbox
    sandbox.stop()


def follow(url: str) -> bool:
    requests.get(url, timeout=10)
    return True


def test_the_limits_are_the_forms_last_section(qtbot, shot) -> None:
    dialog = AppKeyDialog(None, "key-1", 52817, limits=PARTNER_LIMITS)
    qtbot.addWidget(dialog)
    layout = dialog.layout()
    widgets = [layout.itemAt(i).widget() for i in range(layout.count())]
    box = widgets[-2]  # then only the buttons
    assert widgets[-1] is dialog.buttons
    assert box.title() == "Limits (only if Constant Contact raised yours)"
    assert box.isAncestorOf(dialog.per_second) and box.isAncestorOf(dialog.reset_at)
    assert (dialog.per_second.value(), dialog.per_day.value()) == (10, 250_000)
    assert dialog.choice() == AppKeyChoice("key-1", None, 52817, limits=PARTNER_LIMITS)
    dialog.default_limits.click()
    assert dialog.limits() == DEFAULT_LIMITS
    dialog.per_second.setValue(8)
    dialog.per_day.setValue(100_000)
    dialog.reset_at.setTime(QTime(5, 30))
    assert dialog.choice().limits == Limits(8, 100_000, 330)
    dialog.adjustSize()
    shot(dialog, "23-dialog-app-key-limits")


def test_typing_another_key_shows_that_keys_limits(qtbot) -> None:
    known = {"partner-key": PARTNER_LIMITS}
    dialog = AppKeyDialog(None, "", 52817, limits_of=lambda key: known.get(key, DEFAULT_LIMITS))
    qtbot.addWidget(dialog)
    assert dialog.limits() == DEFAULT_LIMITS
    dialog.client_id.setText("partner-key")
    dialog.client_id.editingFinished.emit()
    assert dialog.limits() == PARTNER_LIMITS
    dialog.client_id.setText("plain-key")
    dialog.client_id.editingFinished.emit()
    assert dialog.limits() == DEFAULT_LIMITS


def test_limits_are_saved_per_key_and_shown_with_the_allowance(make_window, oauth_sandbox,
                                                               dialogs, qtbot,
                                                               monkeypatch) -> None:
    from ccdesk.cc.transport import Pacer

    monkeypatch.setitem(Pacer._shared, DEMO_CLIENT_ID, Pacer())  # whatever tests before did
    session = Session(Endpoints.for_base(oauth_sandbox.base_url), InMemoryStore(), profile="test")
    window = make_window(demo=False, factory=lambda: session, open_browser=follow)
    page = window.account_page
    save_limits("another-key", Limits(per_day=20_000))
    dialogs.app_key = AppKeyChoice(DEMO_CLIENT_ID, None, 0, limits=PARTNER_LIMITS)
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        page.connect_button.click()
    assert limits_of(DEMO_CLIENT_ID) == PARTNER_LIMITS
    assert limits_of("another-key") == Limits(per_day=20_000)  # each key its own
    assert page.stack.currentWidget() is page.connected
    assert "requests left today: 249,9" in page.quota.text()
    assert "of 250,000" in page.quota.text() and "midnight UTC" in page.quota.text()
    assert "249,9" in window.account_line.text()
    assert session.client().transport.pacer.rate == pytest.approx(9.25)

    # Later, connected: Constant Contact changes the limits again.
    assert page.limits_button.isVisible()
    dialogs.app_key = AppKeyChoice(DEMO_CLIENT_ID, None, 0,
                                   limits=Limits(per_second=6, per_day=50_000, reset_minutes=300))
    page.limits_button.click()
    qtbot.waitUntil(lambda: "of 50,000" in page.quota.text(), timeout=WAIT)
    assert "05:00 UTC" in page.quota.text()
    assert session.client().transport.pacer.rate == pytest.approx(6 * 3.7 / 4)
    assert dialogs.errors == []
