"""Help ▸ Staff guide: the README's "Using ccdesk (for staff)" section, inside the app.

The README is the one source. ``resources/staff-guide.md`` is made from it by
:func:`staff_guide` (``python -m ccdesk.gui.guide`` writes it), so that the guide ships wherever
``resources/`` does: the wheel, the one-folder app and a source checkout. A test checks that the
file is what the README gives today.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor, QTextImageFormat
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLayout, QTextBrowser, QVBoxLayout, QWidget

from ccdesk.paths import resource, resources_root

GUIDE_NAME = "staff-guide.md"
#: The README's heading of the section that is the guide.
GUIDE_HEADING = "Using ccdesk (for staff)"
#: The widest a screenshot is shown in the guide, in pixels.
IMAGE_WIDTH = 640

_LOCAL_LINK = re.compile(r"\[([^\]]+)\]\(#[^)]*\)")  # [text](#anchor): the anchor is elsewhere


def staff_guide(readme: str) -> str:
    """The staff guide (Markdown) from the README's text: its "Using ccdesk (for staff)"
    section as a document of its own, with pictures relative to ``resources/``.

    Raises:
        ValueError: the README has no such section.
    """
    lines = readme.splitlines()
    try:
        start = lines.index(f"## {GUIDE_HEADING}")
    except ValueError:
        raise ValueError(f"the README has no section “{GUIDE_HEADING}”") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    body = "\n".join(lines[start + 1:end]).strip("\n")
    body = body.replace("](resources/", "](")
    body = _LOCAL_LINK.sub(r"\1", body)
    return f"# {GUIDE_HEADING}\n\n{body}\n"


def guide_text() -> str:
    """The shipped guide (``resources/staff-guide.md``)."""
    return resource(GUIDE_NAME).read_text(encoding="utf-8")


class StaffGuideDialog(QDialog):
    """The staff guide in a window of its own (not modal: the person can follow it along)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ccdesk staff guide")
        self.resize(760, 640)
        layout = QVBoxLayout(self)
        # A fixed minimum, not the layout's changing one (as the main window does).
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.setMinimumSize(420, 300)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName("Staff guide")
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(resources_root())])
        self.browser.setMarkdown(guide_text())
        _fit_images(self.browser, IMAGE_WIDTH)
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

    def heading(self) -> str:
        """The guide's first heading (what the window shows at the top)."""
        return self.browser.document().firstBlock().text()


def _fit_images(browser: QTextBrowser, width: int) -> None:
    """Show each picture at most ``width`` pixels wide (screenshots are full-window size)."""
    document = browser.document()
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            fmt = fragment.charFormat()
            if fragment.isValid() and fmt.isImageFormat():
                image = QTextImageFormat(fmt.toImageFormat())
                image.setWidth(width)
                cursor = QTextCursor(document)
                cursor.setPosition(fragment.position())
                cursor.setPosition(fragment.position() + fragment.length(),
                                   QTextCursor.MoveMode.KeepAnchor)
                cursor.setCharFormat(image)
            it += 1
        block = block.next()


def write_guide(readme: Path, target: Path) -> bool:
    """Write the guide made from ``readme`` to ``target``; True when it changed."""
    text = staff_guide(readme.read_text(encoding="utf-8"))
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return False
    target.write_text(text, encoding="utf-8")
    return True


if __name__ == "__main__":  # python -m ccdesk.gui.guide: remake resources/staff-guide.md
    root = Path(__file__).resolve().parents[2]
    changed = write_guide(root / "README.md", root / "resources" / GUIDE_NAME)
    print(f"resources/{GUIDE_NAME} {'written' if changed else 'is up to date'}", file=sys.stderr)
