"""Remembered settings: an INI file under the config folder, typed keys, never a secret."""

from __future__ import annotations

from PySide6.QtCore import QByteArray

from ccdesk.gui.settings import KEYS, Settings
from ccdesk.paths import config_dir


def test_defaults_and_round_trip(qapp):
    settings = Settings()
    assert settings.path.parent == config_dir()
    assert settings.get("prefs/redirect_port") == 52817
    assert settings.get("state/last_lists") == []
    settings.set("state/last_lists", ["Free Members"])  # one item: must stay a list
    settings.set("prefs/confidential", True)
    settings.set("state/geometry", QByteArray(b"\x01\x02"))
    settings.last_folder = "/home/someone/Documents"
    settings.sync()
    again = Settings()
    assert again.get("state/last_lists") == ["Free Members"]
    assert again.get("prefs/confidential") is True
    assert bytes(again.get("state/geometry")) == b"\x01\x02"
    assert again.last_folder == "/home/someone/Documents"
    text = settings.path.read_text()
    assert "version=1" in text


def test_no_key_can_hold_a_secret():
    assert not [name for name in KEYS if any(w in name for w in ("secret", "token", "password"))]


def test_unreadable_values_fall_back_to_defaults(qapp):
    settings = Settings()
    settings._qs.setValue("prefs/redirect_port", "not a number")
    settings._qs.setValue("state/last_lists", "{broken json")
    assert settings.get("prefs/redirect_port") == 52817
    assert settings.get("state/last_lists") == []
