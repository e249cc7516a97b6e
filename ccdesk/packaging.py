"""What the PyInstaller spec writes for each platform, as plain functions the tests can check.

``resources/packaging/ccdesk.spec`` builds the Windows, macOS and Linux apps from one file; the
platform-specific pieces it needs are here, so that they are tested on any machine:

- :func:`write_ico` and :func:`write_icns`: the executable's icon (Windows ``.ico``, macOS
  ``.icns``) from the PNGs in ``resources/icons`` (both formats may hold PNG data as it is);
- :func:`info_plist`: the macOS app's ``Info.plist`` additions (bundle id, the spreadsheet types
  ccdesk opens, the version);
- :func:`version_resource`: the Windows version resource, as the text PyInstaller reads
  (``EXE(version=path)``), from :data:`ccdesk.__version__`.

No Qt, and no PyInstaller: the spec calls these with PyInstaller's own objects around them.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ccdesk import APP_DISPLAY_NAME, APP_NAME, __version__

#: The macOS bundle identifier (reverse-DNS, stable across versions: the Keychain, the
#: permissions the system remembers and Launch Services key on it).
BUNDLE_ID = "org.ccdesk.ccdesk"

#: Sizes of the PNGs the icons are built from (resources/icons/ccdesk-SIZE.png).
ICO_SIZES = (16, 32, 48, 64, 128, 256)
#: ICNS chunk type for each PNG size (Apple's "icp4"…"ic08": 16, 32, 64, 128, 256 px).
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08"}

#: The spreadsheet types ccdesk opens: (name, extensions, MIME types, Apple UTIs).
DOCUMENT_TYPES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    ("Excel workbook", ("xlsx", "xlsm"),
     ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "application/vnd.ms-excel.sheet.macroEnabled.12"),
     ("org.openxmlformats.spreadsheetml.sheet", "com.microsoft.excel.sheet.macroenabled")),
    ("Excel 97-2004 workbook", ("xls",), ("application/vnd.ms-excel",), ("com.microsoft.excel.xls",)),
    ("OpenDocument spreadsheet", ("ods",), ("application/vnd.oasis.opendocument.spreadsheet",),
     ("org.oasis-open.opendocument.spreadsheet",)),
    ("CSV file", ("csv",), ("text/csv",), ("public.comma-separated-values-text",)),
)


def write_ico(path: Path, icons: Path, sizes: Sequence[int] = ICO_SIZES) -> Path:
    """Write a Windows ``.ico`` holding ``icons/ccdesk-SIZE.png`` for each size; return ``path``.

    Each ICONDIRENTRY gives the width and height (0 means 256), 1 plane, 32 bits, the PNG's
    length and its offset; the PNG data follows the directory as it is (Vista and later).
    """
    images = [(icons / f"ccdesk-{size}.png").read_bytes() for size in sizes]
    head = struct.pack("<HHH", 0, 1, len(images))
    offset = len(head) + 16 * len(images)
    entries, blobs = b"", b""
    for size, data in zip(sizes, images, strict=True):
        side = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    path.write_bytes(head + entries + blobs)
    return path


def write_icns(path: Path, icons: Path) -> Path:
    """Write a macOS ``.icns`` holding the PNGs of :data:`ICNS_TYPES`; return ``path``.

    The file is the magic ``icns`` and its total length (big-endian), then one chunk per image:
    its type, its length (header included) and the PNG data.
    """
    chunks = b""
    for size, kind in ICNS_TYPES.items():
        data = (icons / f"ccdesk-{size}.png").read_bytes()
        chunks += kind + struct.pack(">I", 8 + len(data)) + data
    path.write_bytes(b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks)
    return path


def info_plist(version: str = __version__) -> dict[str, Any]:
    """The keys the macOS app's ``Info.plist`` adds to PyInstaller's own (``BUNDLE(info_plist=)``).

    Declares the spreadsheet types ccdesk opens (Finder's "Open With", a file dropped on the
    Dock icon) as a viewer that is not their owner (``LSHandlerRank`` Alternate), and the
    version in both the short and the build form.
    """
    return {
        "CFBundleName": APP_DISPLAY_NAME,
        "CFBundleDisplayName": APP_DISPLAY_NAME,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "CFBundlePackageType": "APPL",
        "LSMinimumSystemVersion": "11.0",
        "LSApplicationCategoryType": "public.app-category.business",
        "NSHighResolutionCapable": True,
        "NSHumanReadableCopyright": "MIT licence",
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": name,
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Alternate",
                "CFBundleTypeExtensions": list(extensions),
                "CFBundleTypeMIMETypes": list(mime_types),
                "LSItemContentTypes": list(utis),
            }
            for name, extensions, mime_types, utis in DOCUMENT_TYPES
        ],
    }


def version_tuple(version: str = __version__) -> tuple[int, int, int, int]:
    """``"1.2.3"`` → ``(1, 2, 3, 0)``: the four 16-bit numbers of a Windows file version.

    A pre-release or local part (``1.2.3rc1``, ``1.2.3+abc``) counts by its leading digits.

    Raises:
        ValueError: the version has no leading number, or a part over 65535.
    """
    numbers = []
    for part in version.split("+")[0].split(".")[:4]:
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        numbers.append(int(digits))
    if not numbers or any(n > 0xFFFF for n in numbers):
        raise ValueError(f"not a version Windows can hold: {version!r}")
    return (*numbers, 0, 0, 0, 0)[:4]  # type: ignore[return-value]


def version_resource(version: str = __version__) -> str:
    """The Windows version resource (Properties → Details of ``ccdesk.exe``) as the text that
    PyInstaller's ``EXE(version=FILE)`` evaluates: a ``VSVersionInfo`` expression."""
    numbers = version_tuple(version)
    strings = {
        "CompanyName": APP_NAME,
        "FileDescription": f"{APP_DISPLAY_NAME}: take upgraded members off Constant Contact lists",
        "FileVersion": version,
        "InternalName": APP_NAME,
        "LegalCopyright": "MIT licence",
        "OriginalFilename": f"{APP_NAME}.exe",
        "ProductName": APP_DISPLAY_NAME,
        "ProductVersion": version,
    }
    fields = ",\n            ".join(f"StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return f"""# The Windows version resource of ccdesk {version}, written by ccdesk.packaging at build time.
VSVersionInfo(
  ffi=FixedFileInfo(filevers={numbers}, prodvers={numbers}, mask=0x3F, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([
      StringTable('040904B0', [
            {fields}
      ])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""
