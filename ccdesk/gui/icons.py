"""The application icon: ``resources/icons/ccdesk.svg`` and PNGs rendered from it.

:func:`app_icon` builds the ``QIcon`` from every size found (through
:func:`ccdesk.paths.resource`). ``python -m ccdesk.gui.icons`` renders the PNGs again with
QtSvg after the SVG changes (a QPainter drawing stands in if QtSvg is missing).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPainter, QPainterPath, QPen

from ccdesk.paths import resource

SIZES = (16, 32, 48, 64, 128, 256)
SVG_NAME = "ccdesk.svg"


def png_name(size: int) -> str:
    return f"ccdesk-{size}.png"


def app_icon() -> QIcon:
    """ccdesk's icon with every size available (empty if the resources are missing)."""
    icon = QIcon()
    try:
        folder = resource("icons")
    except FileNotFoundError:
        return icon
    for size in SIZES:
        path = folder / png_name(size)
        if path.is_file():
            icon.addFile(str(path), QSize(size, size))
    svg = folder / SVG_NAME
    if svg.is_file():
        icon.addFile(str(svg))
    return icon


def render(size: int, svg: Path) -> QImage:
    """The icon at ``size`` pixels, from the SVG (QtSvg) or drawn directly."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    try:
        from PySide6.QtSvg import QSvgRenderer
    except ImportError:  # pragma: no cover - QtSvg ships with PySide6-Essentials
        _draw(painter, size)
    else:
        QSvgRenderer(str(svg)).render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def _draw(painter: QPainter, size: int) -> None:  # pragma: no cover - fallback only
    """The same picture as the SVG, with QPainter."""
    painter.scale(size / 256, size / 256)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#0f7b8a"))
    painter.drawRoundedRect(QRectF(8, 8, 240, 240), 48, 48)
    painter.setBrush(QColor("#ffffff"))
    painter.drawRoundedRect(QRectF(40, 68, 148, 104), 10, 10)
    flap = QPainterPath()
    flap.moveTo(44, 76)
    flap.lineTo(114, 128)
    flap.lineTo(184, 76)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor("#0b5f6b"), 10, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                        Qt.PenJoinStyle.RoundJoin))
    painter.drawPath(flap)
    painter.setPen(QPen(QColor("#ffffff"), 8))
    painter.setBrush(QColor("#f29d12"))
    painter.drawEllipse(QRectF(134, 126, 100, 100))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#ffffff"))
    painter.drawRoundedRect(QRectF(160, 168, 48, 16), 6, 6)


def render_all(folder: Path | None = None) -> list[Path]:
    """Write ``ccdesk-<size>.png`` for every size beside the SVG; returns the paths."""
    folder = folder or resource("icons")
    svg = folder / SVG_NAME
    out = []
    for size in SIZES:
        path = folder / png_name(size)
        if not render(size, svg).save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        out.append(path)
    return out


def main() -> int:
    """``python -m ccdesk.gui.icons``: render the PNGs."""
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for path in render_all():
        print(path)
    del app
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
