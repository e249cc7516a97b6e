"""The window's log file (and its rotated copies) is readable by its owner only (issue 12)."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from ccdesk.gui import app

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def test_the_app_log_and_its_rotations_are_0600_in_a_0700_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(app, "LOG_BYTES", 200)
    old_umask = os.umask(0o022)
    logger = logging.getLogger("ccdesk")
    before = list(logger.handlers), logger.level
    try:
        folder = tmp_path / "logs"
        path = app.setup_logging(folder)
        for i in range(10):
            logging.getLogger("ccdesk.test").info("line %d of a log that rotates quickly", i)
        for handler in logger.handlers:
            handler.flush()
        files = sorted(folder.glob(app.LOG_NAME + "*"))
        assert path in files and len(files) >= 2  # rotated at least once
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        os.umask(old_umask)
        for handler in logger.handlers[:]:
            if handler not in before[0]:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(before[1])
