"""Connecting and help (issue 15): a browser that cannot be opened, the other way to connect
explained before it starts, the portal address, network failures that name the host, a locked
password store left alone at a first start, the staff guide, tooltips and File ▸ Open Recent."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit

from ccdesk.cc.auth import DEVELOPER_PORTAL, AppKey, Endpoints, InMemoryStore, start_device_flow
from ccdesk.cc.errors import ConnectionFailed
from ccdesk.credentials import CredentialStore
from ccdesk.engine.session import Session
from ccdesk.gui import dialogs as real_dialogs
from ccdesk.gui.dialogs import AppKeyDialog
from ccdesk.gui.guide import GUIDE_HEADING, GUIDE_NAME, staff_guide
from ccdesk.paths import resource
from ccdesk.sandbox import DEMO_CLIENT_ID
from tests.cc.test_credentials import FakeKeyring
from tests.gui.conftest import SAMPLE, WAIT, open_sample
from tests.gui.test_account import account_session, oauth_sandbox  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/connect-shots")


def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def save_shot(window: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.resize(1366, 768)
    for _ in range(3):
        QApplication.processEvents()
    path = SHOTS / f"{name}.png"
    assert window.grab().save(str(path))
    return path


# ---- the browser cannot be opened -------------------------------------------------------------

class NoBrowser:
    """QDesktopServices on a computer where no browser can be started."""

    opened: ClassVar[list[str]] = []

    @classmethod
    def openUrl(cls, url: Any) -> bool:
        cls.opened.append(url.toString())
        return False


def test_a_browser_that_cannot_be_opened_offers_the_sign_in_link(
        make_window, oauth_sandbox, dialogs, qtbot, monkeypatch):  # noqa: F811
    from ccdesk.gui.pages import account

    NoBrowser.opened = []
    monkeypatch.setattr(account, "QDesktopServices", NoBrowser)
    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox))
    window.settings.set("prefs/client_id", DEMO_CLIENT_ID)
    window.settings.set("prefs/redirect_port", 0)
    page = window.account_page
    assert not page.copy_link.isEnabled()
    page.connect_button.click()
    assert page.stack.currentWidget() is page.waiting
    qtbot.waitUntil(lambda: page.copy_link.isEnabled(), timeout=WAIT)
    assert len(NoBrowser.opened) == 1  # the window tried the system's browser
    assert "ccdesk could not open your web browser." in page.waiting_text.text()
    assert "Copy the sign-in link" in page.waiting_text.text()
    assert page.copy_link.isVisible()
    save_shot(window, "copy-the-sign-in-link")

    page.copy_link.click()
    link = QApplication.clipboard().text()
    assert link.startswith(oauth_sandbox.base_url + "/oauth2/default/v1/authorize?")
    assert "code_challenge=" in link and "state=" in link
    assert page.status.text().startswith("The sign-in link is copied.")
    # Still waiting: the person pastes the link into a browser and signs in there.
    assert page.stack.currentWidget() is page.waiting and window.busy()
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        requests.get(link, timeout=10)
    assert page.stack.currentWidget() is page.connected
    assert page.organisation.text() == "Test Choir"
    assert dialogs.errors == []


def test_a_browser_that_opens_keeps_the_usual_words(make_window, oauth_sandbox, dialogs, qtbot):  # noqa: F811
    seen: list[str] = []

    def browser(url: str) -> bool:
        seen.append(url)
        return True  # opened; the person never signs in

    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox),
                         open_browser=browser)
    window.settings.set("prefs/client_id", DEMO_CLIENT_ID)
    window.settings.set("prefs/redirect_port", 0)
    page = window.account_page
    page.connect_button.click()
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT)
    qtbot.waitUntil(lambda: page.copy_link.isEnabled(), timeout=WAIT)
    assert "Your web browser has opened" in page.waiting_text.text()
    page.cancel_connect.click()
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.not_connected, timeout=WAIT)


# ---- other ways to connect -------------------------------------------------------------------

def test_other_ways_to_connect_explains_before_it_starts_anything(
        make_window, oauth_sandbox, dialogs, qtbot):  # noqa: F811
    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox))
    page = window.account_page
    oauth_sandbox.requests.clear()
    page.device_button.click()
    assert page.stack.currentWidget() is page.other_ways
    text = page.other_ways.findChildren(type(page.status))[0].text()
    assert "another device" in text and "code" in text and "Device Flow" in text
    assert page.start_device.isVisible() and page.back_from_other.isVisible()
    assert not window.busy() and dialogs.asked == []  # nothing asked, nothing started
    assert oauth_sandbox.requests.count(path="/oauth2") == 0
    save_shot(window, "other-ways-to-connect")

    page.back_from_other.click()
    assert page.stack.currentWidget() is page.not_connected
    assert oauth_sandbox.requests.count(path="/oauth2") == 0

    page.device_button.click()
    dialogs.app_key = real_dialogs.AppKeyChoice(DEMO_CLIENT_ID, None, 0)
    page.start_device.click()
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.device, timeout=WAIT)
    assert oauth_sandbox.requests.count(path="/oauth2/default/v1/device") == 1
    page.cancel_device.click()
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.not_connected, timeout=WAIT)


# ---- the portal address ------------------------------------------------------------------------

def test_the_portal_address_is_the_same_in_the_dialog_and_the_readme(qtbot):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Connecting to Constant Contact", 1)[1].split("\n## ", 1)[0]
    dialog = AppKeyDialog(None, "", 52817)
    qtbot.addWidget(dialog)
    shown = dialog.intro.text()
    portal = re.compile(r"https?://[^\s\"'<>),]*constantcontact\.com/pages/[^\s\"'<>),]*")
    assert set(portal.findall(section)) == {DEVELOPER_PORTAL}
    assert set(portal.findall(shown)) == {DEVELOPER_PORTAL}
    assert "developer portal" in section and "developer portal" in shown


# ---- network failures ----------------------------------------------------------------------

def test_a_network_failure_names_the_host_and_mentions_proxies(qtbot):
    port = closed_port()
    endpoints = Endpoints.for_base(f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectionFailed) as caught:
        start_device_flow(endpoints, AppKey(DEMO_CLIENT_ID))
    title, what_to_do, details = real_dialogs.error_texts(caught.value)
    assert title == f"ccdesk could not reach 127.0.0.1:{port}"
    assert "proxy or firewall" in what_to_do and f"127.0.0.1:{port}" in what_to_do
    assert "ask whoever looks after your computers" in what_to_do
    assert "/device/authorize" in details

    # A raw connection error that escaped the client is told the same way.
    try:
        requests.get(f"http://127.0.0.1:{port}/v3/account/summary", timeout=5)
    except requests.RequestException as exc:
        title, what_to_do, _ = real_dialogs.error_texts(exc)
    assert title == f"ccdesk could not reach 127.0.0.1:{port}" and "firewall" in what_to_do


def test_constant_contact_s_hosts_are_named_for_the_firewall():
    error = ConnectionFailed(host="api.cc.email", method="GET", path="/v3/account/summary")
    assert error.title == "ccdesk could not reach api.cc.email"
    assert "api.cc.email and authz.constantcontact.com (HTTPS, port 443)" in error.what_to_do
    plain = ConnectionFailed("Some batches did not reach Constant Contact", "Resume the run.")
    assert plain.title == "Some batches did not reach Constant Contact"


def test_a_failed_connection_in_the_window_names_the_host(make_window, dialogs, qtbot):
    port = closed_port()
    session = Session(Endpoints.for_base(f"http://127.0.0.1:{port}"), InMemoryStore(),
                      profile="test")
    window = make_window(demo=False, factory=lambda: session)
    window.settings.set("prefs/client_id", DEMO_CLIENT_ID)
    page = window.account_page
    page.device_button.click()
    with qtbot.waitSignal(window.error_shown, timeout=WAIT) as shown:
        page.start_device.click()
    assert isinstance(shown.args[0], ConnectionFailed)
    assert page.status.text().startswith(f"Not connected: ccdesk could not reach 127.0.0.1:{port}")
    assert "proxy or firewall" in page.status.text()


# ---- a first start leaves the password store alone ---------------------------------------------

def test_a_first_start_does_not_touch_the_password_store(make_window, oauth_sandbox, dialogs,  # noqa: F811
                                                         qtbot):
    keyring = FakeKeyring()
    keyring.failures["get"] = RuntimeError("the store would prompt to be unlocked")

    def keyring_session() -> Session:
        return Session(Endpoints.for_base(oauth_sandbox.base_url),
                       CredentialStore("first-start", backend=keyring), profile="first-start")

    window = make_window(demo=False, factory=keyring_session, open_browser=lambda url: True)
    page = window.account_page
    qtbot.wait(200)
    assert keyring.calls == []  # not asked at all
    assert page.stack.currentWidget() is page.not_connected
    assert window.account_line.text() == "Not connected to Constant Contact."
    assert dialogs.errors == []
    page.device_button.click()  # reading about the other way asks nothing either
    page.back_from_other.click()
    assert keyring.calls == []

    # The person presses Connect: now the store is asked (and here it fails, and says so).
    with qtbot.waitSignal(window.error_shown, timeout=WAIT):
        page.connect_button.click()
    assert keyring.ops() == ["get"]
    assert page.status.text().startswith("Not connected: Your password store is not working")


def test_after_a_connection_the_store_is_asked_at_start(make_window, oauth_sandbox, dialogs,  # noqa: F811
                                                        qtbot):
    keyring = FakeKeyring()

    def keyring_session() -> Session:
        return Session(Endpoints.for_base(oauth_sandbox.base_url),
                       CredentialStore("first-start", backend=keyring), profile="first-start")

    window = make_window(demo=False, factory=keyring_session,
                         open_browser=lambda url: requests.get(url, timeout=10) and True)
    page = window.account_page
    assert keyring.calls == []
    dialogs.app_key = real_dialogs.AppKeyChoice(DEMO_CLIENT_ID, None, 0)
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        page.connect_button.click()
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.connected, timeout=WAIT)
    assert "set" in keyring.ops()
    assert window.settings.get("state/connected_once")
    qtbot.waitUntil(lambda: not window.busy(), timeout=WAIT)

    # The next start: connected before, so the store is asked at once.
    keyring.calls.clear()
    again = make_window(demo=False, factory=keyring_session)
    assert keyring.ops()[:1] == ["get"]
    assert again.account_page.stack.currentWidget() is again.account_page.connected or \
        again.current_page() == "sheet"


def test_a_connection_stored_by_the_command_line_is_found_at_connect(
        make_window, oauth_sandbox, dialogs, qtbot):  # noqa: F811
    from ccdesk.cc.auth import connect_with_browser

    keyring = FakeKeyring()
    endpoints = Endpoints.for_base(oauth_sandbox.base_url)
    connect_with_browser(endpoints, AppKey(DEMO_CLIENT_ID), CredentialStore("cli", backend=keyring),
                         port=0, open_browser=lambda url: requests.get(url, timeout=10) and True,
                         timeout=10)
    keyring.calls.clear()
    window = make_window(demo=False, factory=lambda: Session(
        endpoints, CredentialStore("cli", backend=keyring), profile="cli"))
    page = window.account_page
    assert keyring.calls == [] and page.stack.currentWidget() is page.not_connected
    with qtbot.waitSignal(window.account_changed, timeout=WAIT):
        page.connect_button.click()
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.connected, timeout=WAIT)
    assert "app key" not in dialogs.asked  # no new sign-in: the stored one is used


# ---- Help ▸ Staff guide ------------------------------------------------------------------------

def test_the_staff_guide_is_made_from_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shipped = resource(GUIDE_NAME).read_text(encoding="utf-8")
    assert shipped == staff_guide(readme), (
        "resources/staff-guide.md is out of date: run `python -m ccdesk.gui.guide`")
    for picture in re.findall(r"\]\((screenshots/[^)]+)\)", shipped):
        assert resource(*picture.split("/")).is_file(), picture


def test_help_opens_the_staff_guide(make_window, qtbot, dialogs):
    window = make_window()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    texts = [a.text() for a in help_menu.actions()]
    assert texts[0] == "&Staff guide"
    window.guide_action.trigger()
    guide = window.guide
    qtbot.waitUntil(guide.isVisible, timeout=WAIT)
    assert guide.heading() == GUIDE_HEADING
    assert "Connect your account" in guide.browser.toPlainText()
    assert "Results" in guide.browser.toPlainText()
    guide.close()


# ---- tooltips ----------------------------------------------------------------------------------

def test_controls_whose_meaning_is_not_obvious_have_tooltips(make_window, dialogs):
    window = make_window()
    preview, results, history, sheet, run = (window.preview_page, window.results_page,
                                            window.history_page, window.sheet_page,
                                            window.run_page)
    controls = [
        *preview.action_buttons.values(), preview.preview_button, preview.export_button,
        preview.run_button, preview.refresh_lists, preview.change_choices,
        results.resume_button, results.undo_button, results.watch_button, results.save_button,
        results.retry_button, history.resume_button, history.watch_button,
        sheet.filter_values, sheet.apply_filter, run.stop_button,
        window.account_page.device_button, window.account_page.copy_link,
        window.reset_demo_button,
    ]
    missing = [c.text() if isinstance(c, QAbstractButton | QLineEdit) else c.objectName()
               for c in controls if not c.toolTip()]
    assert missing == []
    searches = [w for w in window.findChildren(QLineEdit) if w.placeholderText().startswith("Find")]
    assert searches and all(w.toolTip() for w in searches)


# ---- File ▸ Open Recent -----------------------------------------------------------------------

def recent_menu_texts(window: Any) -> list[str]:
    window._fill_recent_menu()
    return [a.text() for a in window.recent_menu.actions() if not a.isSeparator()]


def test_open_recent(make_window, dialogs, qtbot, tmp_path):
    window = make_window()
    assert recent_menu_texts(window) == ["No spreadsheets opened yet", "&Clear the list"]
    copy = tmp_path / "members copy.xlsx"
    copy.write_bytes(Path(SAMPLE).read_bytes())
    open_sample(qtbot, window)
    open_sample(qtbot, window, str(copy))
    assert window.settings.recent_files() == [str(copy), str(Path(SAMPLE))]
    texts = recent_menu_texts(window)
    assert texts[:2] == ["&1 members copy.xlsx", f"&2 {Path(SAMPLE).name}"]
    assert window.recent_actions[0].toolTip() == str(copy)

    # Opening one goes the way File ▸ Open goes (the sheet page's open request).
    opened: ClassVar[list[str]] = []
    window.sheet_page.open_wanted.connect(lambda path, options: opened.append(path))
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        window.recent_actions[1].trigger()
    assert opened == [str(Path(SAMPLE))]
    assert window.current_page() == "sheet"
    assert window.settings.recent_files()[0] == str(Path(SAMPLE))

    # A file that is gone is greyed, and opening it anyway takes it off with a message.
    copy.unlink()
    texts = recent_menu_texts(window)
    gone = next(a for a in window.recent_actions if a.toolTip().startswith(str(copy)))
    assert not gone.isEnabled() and gone.text().endswith("(not found)")
    window.open_recent(str(copy))
    assert dialogs.infos == ["The spreadsheet is not there any more"]
    assert str(copy) not in window.settings.recent_files()

    # At most eight, newest first; and Clear empties the list.
    for n in range(10):
        window.settings.add_recent(str(tmp_path / f"sheet-{n}.csv"))
    assert len(window.settings.recent_files()) == 8
    assert window.settings.recent_files()[0].endswith("sheet-9.csv")
    window._fill_recent_menu()
    window.clear_recent_action.trigger()
    assert window.settings.recent_files() == []
    assert recent_menu_texts(window)[0] == "No spreadsheets opened yet"


def test_open_recent_waits_for_an_account(make_window, oauth_sandbox, dialogs, qtbot):  # noqa: F811
    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox))
    window.settings.add_recent(SAMPLE)
    window._fill_recent_menu()
    assert not window.recent_actions[0].isEnabled()  # not connected: nothing can be opened
