"""The window's colours, chosen to go with the desktop's palette (light or dark theme).

Qt's palette gives the background and text colours; ccdesk adds a few meanings (a problem in
red, a change done in green, a comment in grey, the email column, the banners' tints). Each has
a light and a dark version, picked by the lightness of the palette's window colour, so text
stays readable on a dark desktop. :func:`refresh` is called when the palette changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QBrush, QColor, QGuiApplication, QPalette


@dataclass(frozen=True)
class Tones:
    dark: bool
    red: QBrush
    green: QBrush
    grey: QBrush
    email: QBrush  # the email column of the sheet's first rows
    email_css: str
    banners: dict[str, tuple[str, str, str]]  # kind → (background, border, text)


def _tones(dark: bool) -> Tones:
    if dark:
        return Tones(True, QBrush(QColor("#f28b82")), QBrush(QColor("#81c995")),
                     QBrush(QColor("#a8adb3")), QBrush(QColor("#2f4a35")), "#2f4a35",
                     {"demo": ("#453a0f", "#d4b106", "#f4f4f4"),
                      "warning": ("#4a1f24", "#f28b82", "#f4f4f4"),
                      "info": ("#1c3249", "#8ab4f8", "#f4f4f4"),
                      "ok": ("#1d3a25", "#81c995", "#f4f4f4")})
    return Tones(False, QBrush(QColor("#b00020")), QBrush(QColor("#1b6e20")),
                 QBrush(QColor("#6b6b6b")), QBrush(QColor("#dff0d8")), "#dff0d8",
                 {"demo": ("#fff4ce", "#8a6d00", "#1a1a1a"),
                  "warning": ("#fde7e9", "#a4262c", "#1a1a1a"),
                  "info": ("#e8f1fb", "#1f4e79", "#1a1a1a"),
                  "ok": ("#e6f4ea", "#1b6e20", "#1a1a1a")})


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the palette is a dark theme (light text on a dark window)."""
    if palette is None:
        palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


#: The colours in use; see :func:`refresh`.
TONES: Tones = _tones(False)


def refresh() -> Tones:
    """Pick the colours for the application's palette now (at start, and when it changes)."""
    global TONES
    dark = is_dark()
    if dark != TONES.dark:
        TONES = _tones(dark)
    return TONES


def contrast(a: QColor, b: QColor) -> float:
    """The WCAG contrast ratio of two colours (1 to 21; 4.5 is enough for text)."""
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return (0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF())
                + 0.0722 * channel(c.blueF()))
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
