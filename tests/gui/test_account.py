"""The account step against a sandbox that plays Constant Contact's sign-in: first start,
connect (browser, device code), a refused sign-in, cancel, disconnect, the demo; and the
application-key and run-confirmation dialogs themselves."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ccdesk.cc.auth import Endpoints, InMemoryStore
from ccdesk.engine.session import Session
from ccdesk.gui.dialogs import AppKeyChoice, AppKeyDialog, ConfirmRunDialog
from ccdesk.sandbox import DEMO_CLIENT_ID, Sandbox
from tests.gui.conftest import WAIT, fast_demo
from tests.support.accounts import small_account


@pytest.fixture
def oauth_sandbox():
    sandbox = Sandbox(small_account(), auto_approve=True, device_interval=1).start()
    yield sandbox
    sandbox.stop()


def account_session(sandbox: Sandbox) -> Session:
    """A not-yet-connected account (credentials kept in memory, not in the OS keyring)."""
    return Session(Endpoints.for_base(sandbox.base_url), InMemoryStore(), profile="test")


def follow(url: str) -> bool:
    """A browser that signs in at once (the sandbox approves by itself)."""
    requests.get(url, timeout=10)
    return True


def deny(url: str) -> bool:
    """A browser in which the person presses "Deny"."""
    query = parse_qs(urlsplit(url).query)
    requests.get(query["redirect_uri"][0], params={"error": "access_denied",
                                                  "state": query["state"][0]}, timeout=10)
    return True


def test_first_start_connect_and_disconnect(make_window, oauth_sandbox, dialogs, qtbot, shot):
    session = account_session(oauth_sandbox)
    window = make_window(demo=False, factory=lambda: session, open_browser=follow)
    page = window.account_page
    assert window.current_page() == "account"
    assert page.stack.currentWidget() is page.not_connected
    assert page.connect_button.isVisible() and page.demo_button.isVisible()
    assert not window.demo_banner.isVisible()
    assert not window.step_buttons["sheet"].isEnabled()
    assert window.account_line.text() == "Not connected to Constant Contact."
    shot(window, "00-first-start")

    dialogs.app_key = AppKeyChoice(DEMO_CLIENT_ID, None, 0)
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        page.connect_button.click()
    assert "app key" in dialogs.asked
    assert page.stack.currentWidget() is page.connected
    assert page.organisation.text() == "Test Choir"
    assert page.login.text().startswith("Connected as owner@example.org")
    assert "requests left today" in page.quota.text()
    assert page.disconnect_button.isVisible() and not page.leave_demo_button.isVisible()
    assert window.step_buttons["sheet"].isEnabled()
    assert window.settings.get("prefs/client_id") == DEMO_CLIENT_ID
    assert page.status.text().startswith("Connected.")
    shot(window, "00b-connected")

    dialogs.yes_no["Disconnect?"] = True
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        page.disconnect_button.click()
    assert page.stack.currentWidget() is page.not_connected
    assert page.status.text().startswith("Disconnected")
    assert not session.connected()
    assert not window.step_buttons["sheet"].isEnabled()
    assert dialogs.errors == []


def test_a_refused_sign_in_is_explained(make_window, oauth_sandbox, dialogs, qtbot, shot):
    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox),
                         open_browser=deny)
    window.settings.set("prefs/client_id", DEMO_CLIENT_ID)  # set up before: no form this time
    page = window.account_page
    with qtbot.waitSignal(window.error_shown, timeout=WAIT) as blocker:
        page.connect_button.click()
    assert blocker.args[0].title == "ccdesk was not allowed to connect"
    assert "app key" not in dialogs.asked
    assert [e.title for e in dialogs.errors] == ["ccdesk was not allowed to connect"]
    assert page.status.text().startswith("Not connected: ccdesk was not allowed to connect. "
                                         "On Constant Contact's page, press Allow")
    assert page.stack.currentWidget() is page.not_connected
    shot(window, "00c-sign-in-refused")


def test_cancel_while_waiting_for_the_browser(make_window, oauth_sandbox, dialogs, qtbot):
    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox),
                         open_browser=lambda url: True)  # the person never signs in
    window.settings.set("prefs/client_id", DEMO_CLIENT_ID)
    window.settings.set("prefs/redirect_port", 0)
    page = window.account_page
    page.connect_button.click()
    assert page.stack.currentWidget() is page.waiting
    assert page.cancel_connect.hasFocus() or not window.isActiveWindow()
    page.cancel_connect.click()
    qtbot.waitUntil(lambda: page.status.text().startswith("Connecting was cancelled"),
                    timeout=WAIT)
    assert page.stack.currentWidget() is page.not_connected
    assert dialogs.errors == []


def test_connect_with_a_code_on_another_device(make_window, oauth_sandbox, dialogs, qtbot, shot):
    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox))
    window.settings.set("prefs/client_id", DEMO_CLIENT_ID)
    page = window.account_page
    page.device_button.click()  # explained first; "Get a code" starts it
    page.start_device.click()
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.device, timeout=WAIT)
    code = page._device_code
    assert code is not None and code.user_code in page.device_text.text()
    assert code.verification_uri in page.device_text.text()
    shot(window, "00d-device-code")
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        requests.get(code.verification_uri_complete, timeout=10)  # approved on the phone
    assert page.organisation.text() == "Test Choir"


def test_try_the_demo_from_the_first_start(make_window, oauth_sandbox, dialogs, qtbot, monkeypatch):
    import ccdesk.gui.main_window as main_window

    monkeypatch.setattr(main_window, "default_demo_factory", lambda data=None: fast_demo)
    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox),
                         demo_factory=fast_demo)
    page = window.account_page
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        page.demo_button.click()
    qtbot.waitUntil(lambda: not window.busy(), timeout=WAIT)
    assert window.demo and window.demo_banner.isVisible()
    assert window.windowTitle() == "ccdesk (demo)"
    assert "Harbourview" in window.account_line.text()
    # and back
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        window.leave_demo_button.click()
    assert not window.demo_banner.isVisible()
    assert page.stack.currentWidget() is page.not_connected


def test_app_key_form(qtbot):
    dialog = AppKeyDialog(None, "", 52817)
    qtbot.addWidget(dialog)
    assert not dialog.ok.isEnabled()
    assert "http://127.0.0.1:52817/callback" in dialog.uri_note.text()
    dialog.client_id.setText("  my-api-key ")
    assert dialog.ok.isEnabled()
    dialog.has_secret.setChecked(True)
    assert not dialog.ok.isEnabled() and dialog.secret.isEnabled()
    dialog.secret.setText("s3cr3t-value")
    dialog.port.setValue(52900)
    assert "http://127.0.0.1:52900/callback" in dialog.uri_note.text()
    choice = dialog.choice()
    assert choice == AppKeyChoice("my-api-key", "s3cr3t-value", 52900)
    assert "s3cr3t" not in repr(choice)


def test_unsubscribe_needs_the_count_typed(qtbot):
    dialog = ConfirmRunDialog(None, action="unsubscribe", count=40, lists="",
                              organisation="Test Choir")
    qtbot.addWidget(dialog)
    assert dialog.entry is not None and not dialog.go.isEnabled()
    qtbot.keyClicks(dialog.entry, "4")
    assert not dialog.go.isEnabled()
    qtbot.keyClicks(dialog.entry, "0")
    assert dialog.go.isEnabled()
    assert dialog.go.text() == "Unsubscribe 40 now"
    remove = ConfirmRunDialog(None, action="remove", count=3, lists="Free Members",
                              organisation="Test Choir")
    qtbot.addWidget(remove)
    assert remove.entry is None and remove.go.isEnabled()
    assert remove.go.text() == "Remove 3 now"


def test_the_typed_count_may_have_thousands_separators_and_a_wrong_one_is_explained(qtbot):
    dialog = ConfirmRunDialog(None, action="unsubscribe", count=6000, lists="",
                              organisation="Test Choir")
    qtbot.addWidget(dialog)
    for text in ("6,000", "6000", "6 000", " 6,000 "):
        dialog.entry.setText(text)
        assert dialog.go.isEnabled(), text
        assert dialog.mismatch.isHidden()
    dialog.entry.setText("6,00")
    assert not dialog.go.isEnabled() and dialog.mismatch.isHidden()  # still typing
    dialog.entry.setText("6,001")
    assert not dialog.go.isEnabled()
    assert not dialog.mismatch.isHidden()
    assert dialog.mismatch.text().startswith("You typed 6,001; the number to type is 6,000")
    dialog.entry.setText("six thousand")
    assert dialog.mismatch.text() == "Type only the number, for example 6,000."


def test_dialogs_look(qtbot, shot):
    """Screenshots of the dialogs a person meets (laid out, not shown: nothing modal runs)."""
    from ccdesk.cc.errors import QuotaExceeded
    from ccdesk.gui import dialogs

    key = AppKeyDialog(None, "", 52817)
    qtbot.addWidget(key)
    key.adjustSize()
    shot(key, "20-dialog-app-key")
    confirm = ConfirmRunDialog(None, action="unsubscribe", count=43, lists="",
                               organisation="Harbourview Members' Association (demo)")
    qtbot.addWidget(confirm)
    confirm.adjustSize()
    shot(confirm, "21-dialog-confirm-unsubscribe")
    box = dialogs.error_box(None, QuotaExceeded(status=429, error_key="quota_exceeded"),
                            "/home/someone/.local/state/ccdesk/log/ccdesk.log")
    qtbot.addWidget(box)
    assert box.windowTitle() == box.text() == "Today's Constant Contact allowance is used up"
    assert "resumed after midnight UTC" in box.informativeText()
    assert "ccdesk.log" in box.detailedText() and "quota_exceeded" in box.detailedText()
    box.adjustSize()
    shot(box, "22-dialog-error")
