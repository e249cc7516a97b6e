"""The redirect address is a setting per application key, and the form shows the exact URI to
register (issue 12). Constant Contact requires an exact match, port included; whether it takes
127.0.0.1 as well as localhost is unverified, so both are offered."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from ccdesk.gui.dialogs import AppKeyChoice, AppKeyDialog
from ccdesk.gui.settings import Settings
from ccdesk.sandbox import DEMO_CLIENT_ID
from tests.cc.test_sign_in_listener import free_port, register_exact
from tests.gui.conftest import WAIT
from tests.gui.test_account import account_session, oauth_sandbox  # noqa: F401 - a fixture


def test_the_form_offers_both_hosts_and_shows_the_exact_uri(qtbot) -> None:
    dialog = AppKeyDialog(None, "key-1", 52817, host="localhost")
    qtbot.addWidget(dialog)
    assert dialog.host.currentText() == "localhost"
    assert "http://localhost:52817/callback" in dialog.uri_note.text()
    assert {dialog.host.itemText(i) for i in range(dialog.host.count())} == {"127.0.0.1",
                                                                              "localhost"}
    dialog.host.setCurrentText("127.0.0.1")
    dialog.port.setValue(50123)
    assert "http://127.0.0.1:50123/callback" in dialog.uri_note.text()
    assert dialog.choice() == AppKeyChoice("key-1", None, 50123, "127.0.0.1")


def test_the_redirect_is_remembered_per_application_key(qapp) -> None:
    settings = Settings()
    assert settings.redirect_for("key-1") == ("127.0.0.1", 52817)
    settings.set_redirect("key-1", "localhost", 50001)
    settings.set_redirect("key-2", "127.0.0.1", 50002)
    settings.sync()
    again = Settings()
    assert again.redirect_for("key-1") == ("localhost", 50001)
    assert again.redirect_for("key-2") == ("127.0.0.1", 50002)
    assert again.redirect_for("key-3") == ("127.0.0.1", 50002)  # a new key: the last port
    again._qs.setValue("prefs/redirects", "not json")
    assert again.redirect_for("key-1") == ("127.0.0.1", 50002)


def test_connecting_uses_the_key_s_own_redirect_exactly(make_window, oauth_sandbox, dialogs,  # noqa: F811
                                                        qtbot) -> None:
    oauth_sandbox.oauth.loopback_any_port = False  # exact match, as Constant Contact does
    port = free_port()
    register_exact(oauth_sandbox, f"http://localhost:{port}/callback")
    seen: list[str] = []

    def browser(url: str) -> bool:
        seen.append(parse_qs(urlsplit(url).query)["redirect_uri"][0])
        requests.get(url, timeout=10)
        return True

    window = make_window(demo=False, factory=lambda: account_session(oauth_sandbox),
                         open_browser=browser)
    window.settings.set("prefs/client_id", DEMO_CLIENT_ID)
    window.settings.set_redirect(DEMO_CLIENT_ID, "localhost", port)
    page = window.account_page
    page.connect_button.click()
    assert f"http://localhost:{port}/callback" in page.waiting_uri.text()
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.connected, timeout=WAIT)
    assert seen == [f"http://localhost:{port}/callback"]
    assert "app key" not in dialogs.asked
