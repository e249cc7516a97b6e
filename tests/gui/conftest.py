"""Fixtures for the window's tests.

- Every modal dialog helper of :mod:`ccdesk.gui.dialogs` is replaced by :class:`DialogStub`:
  errors are recorded (``dialogs.errors``), questions get the answers a test sets, and an
  unexpected question fails the test instead of opening a modal loop.
- ``make_window`` builds a :class:`MainWindow` on the demo account (a sandbox with fast bulk
  activities) or on an injected session, shows it, and waits until the connection is known.
- ``shot(widget, name)`` saves a screenshot in ``/tmp/ccdesk-shots`` for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccdesk.engine.session import Session
from ccdesk.paths import resource

SHOTS = Path(os.environ.get("CCDESK_SHOTS", "/tmp/ccdesk-shots"))
SAMPLE = str(resource("demo", "upgraded-members.xlsx"))
FAST = {"activity_delay": 0.05, "activity_seconds": 0.2, "activity_min_seconds": 0.05}
WAIT = 20_000  # ms: the longest any step of the demo may take in a test


def fast_demo() -> Session:
    """The demo account, with bulk activities that finish in a fraction of a second."""
    return Session.demo_session(**FAST)


class DialogStub:
    """Stands in for every modal dialog of ccdesk.gui.dialogs."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.infos: list[str] = []
        self.asked: list[str] = []
        self.confirm_run = True
        self.confirm_run_args: dict[str, Any] = {}
        self.yes_no: dict[str, bool] = {}  # title → answer
        self.resume = False
        self.stop_and_close = True
        self.app_key: Any = None
        self.save_as: tuple[str, str] | None = None
        self.suggested: list[str] = []  # where each save dialog started
        self.open_file: str | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from ccdesk.gui import dialogs

        stub = self

        def show_error(parent: Any, exc: BaseException, log_file: Any = None) -> None:
            stub.errors.append(exc)

        def show_info(parent: Any, title: str, text: str) -> None:
            stub.infos.append(title)

        def ask_yes_no(parent: Any, title: str, *args: Any, **kwargs: Any) -> bool:
            stub.asked.append(title)
            if title not in stub.yes_no:
                raise AssertionError(f"unexpected question: {title}")
            return stub.yes_no[title]

        def confirm_run(cls: Any, parent: Any, **kwargs: Any) -> bool:
            stub.asked.append("confirm run")
            stub.confirm_run_args = kwargs
            return stub.confirm_run

        def ask_resume(parent: Any, description: str) -> bool:
            stub.asked.append("resume")
            return stub.resume

        def ask_stop_and_close(parent: Any) -> bool:
            stub.asked.append("stop and close")
            return stub.stop_and_close

        def app_key(cls: Any, parent: Any, *args: Any, **kwargs: Any) -> Any:
            stub.asked.append("app key")
            return stub.app_key

        monkeypatch.setattr(dialogs, "show_error", show_error)
        monkeypatch.setattr(dialogs, "show_info", show_info)
        monkeypatch.setattr(dialogs, "ask_yes_no", ask_yes_no)
        monkeypatch.setattr(dialogs, "ask_resume", ask_resume)
        monkeypatch.setattr(dialogs, "ask_stop_and_close", ask_stop_and_close)
        monkeypatch.setattr(dialogs.ConfirmRunDialog, "ask", classmethod(confirm_run))
        monkeypatch.setattr(dialogs.AppKeyDialog, "ask", classmethod(app_key))
        def ask_save_file(parent: Any, title: str, suggested: str, *args: Any) -> Any:
            stub.suggested.append(suggested)
            return stub.save_as

        monkeypatch.setattr(dialogs, "ask_save_file", ask_save_file)
        monkeypatch.setattr(dialogs, "ask_open_sheet", lambda *a, **k: stub.open_file)
        monkeypatch.setattr(dialogs, "confirm_undo",
                            lambda parent, count, lists, to="": ask_yes_no(parent, "Undo this run?"))


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> DialogStub:
    stub = DialogStub()
    stub.install(monkeypatch)
    return stub


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    """Save a screenshot of a widget as /tmp/ccdesk-shots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(widget: Any, name: str) -> Path:
        from PySide6.QtWidgets import QApplication

        for _ in range(3):  # let pending layout and paint requests settle first
            QApplication.processEvents()
        path = SHOTS / f"{name}.png"
        assert widget.grab().save(str(path))
        return path

    return save


@pytest.fixture
def make_window(qtbot: Any, dialogs: DialogStub) -> Iterator[Callable[..., Any]]:
    """``make_window(demo=True, factory=None, **kwargs)`` → a shown, started window."""
    from ccdesk.gui.main_window import MainWindow
    from ccdesk.gui.settings import Settings

    made: list[Any] = []

    def make(*, demo: bool = True, factory: Callable[[], Session] | None = None,
             wait: bool = True, **kwargs: Any) -> MainWindow:
        if demo:
            kwargs["demo_factory"] = factory or fast_demo
        else:
            kwargs["account_factory"] = factory
        window = MainWindow(Settings(), demo=demo, **kwargs)
        qtbot.addWidget(window)
        if not window.settings.get("state/geometry").size():
            window.resize(1180, 740)  # a common laptop screen (the test screen is smaller)
        made.append(window)
        if wait:
            with qtbot.waitSignal(window.account_changed, timeout=WAIT):
                window.show()
            qtbot.waitUntil(lambda: not window.busy(), timeout=WAIT)
        else:
            window.show()
        return window

    yield make
    for window in made:  # no thread or child may outlive its test
        window.jobs.shutdown(WAIT)


def open_sample(qtbot: Any, window: Any, path: str = SAMPLE) -> None:
    """Open a spreadsheet by path and wait until it is read."""
    with qtbot.waitSignal(window.sheet_loaded, timeout=WAIT):
        window.open_sheet(path)


def preview(qtbot: Any, window: Any, action: str | None = None) -> Any:
    """Go to "What will happen", choose the action, preview; returns the PreviewInfo."""
    window.go("preview")
    page = window.preview_page
    qtbot.waitUntil(lambda: page.lists_loaded, timeout=WAIT)
    if action is not None:
        page.action_buttons[action].click()
    with qtbot.waitSignal(window.preview_ready, timeout=WAIT) as blocker:
        page.preview_button.click()
    return blocker.args[0]


def planned(window: Any, info: Any) -> set[str]:
    """The addresses a preview (its draft run in the journal) would change."""
    from ccdesk.core.journal import Journal

    with Journal(window.session.journal_path) as journal:
        return {i.email for i in journal.items(info.run_id) if i.state == "planned"}


def run_preview(qtbot: Any, window: Any, *, how: str = "finished") -> str:
    """Press Run on the preview page; waits for the end; returns the run id."""
    with qtbot.waitSignal(window.run_ended, timeout=WAIT) as ended:
        window.preview_page.run_button.click()
    run_id, result = ended.args
    assert result == how, result
    qtbot.waitUntil(lambda: window.results_page.details is not None
                    and window.results_page.details.run.run_id == run_id, timeout=WAIT)
    return run_id
