"""The wheel carries every package and every resource folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_and_resource_folder_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ccdesk").rglob("__init__.py")}
    found |= {"ccdesk.resources." + ".".join(p.relative_to(ROOT / "resources").parts)
              for p in (ROOT / "resources").rglob("*") if p.is_dir() and "__pycache__" not in p.parts}
    found.add("ccdesk.resources")
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_resources_are_found_from_the_checkout() -> None:
    from ccdesk.paths import resource

    assert resource("demo", "demo-account.json").is_file()
    assert resource("demo", "upgraded-members.xlsx").is_file()


def test_the_desktop_entry_installs_with_its_icons(tmp_path: Path) -> None:
    """resources/linux/install-desktop.sh: the menu entry (Exec quoted when the path has spaces)
    and the icon at every standard size, under XDG_DATA_HOME."""
    import os
    import shutil
    import subprocess

    if shutil.which("sh") is None or shutil.which("install") is None:
        pytest.skip("needs a POSIX shell and install(1)")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    subprocess.run(["sh", str(ROOT / "resources" / "linux" / "install-desktop.sh"), "/opt/my apps/ccdesk"],
                   env=env, check=True, capture_output=True)
    entry = tmp_path / "applications" / "ccdesk.desktop"
    assert 'Exec="/opt/my apps/ccdesk" %f' in entry.read_text(encoding="utf-8")
    for size in (16, 32, 48, 64, 128, 256):
        assert (tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "ccdesk.png").is_file()
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "ccdesk.svg").is_file()
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(entry)], check=True)


# ---------------------------------------------------------------------------------------------
# The spec's per-platform pieces (ccdesk/packaging.py), checked on any machine.

ICONS = ROOT / "resources" / "icons"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    import struct

    assert data.startswith(PNG_MAGIC) and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_ico_holds_every_size_as_png(tmp_path: Path) -> None:
    """ICONDIR (reserved 0, type 1, count), one ICONDIRENTRY per size pointing at a PNG of
    that size (0 in the entry means 256), entries in bounds and not overlapping."""
    import struct

    from ccdesk import packaging

    data = packaging.write_ico(tmp_path / "ccdesk.ico", ICONS).read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind, count) == (0, 1, len(packaging.ICO_SIZES))
    seen, end = [], 6 + 16 * count
    for n in range(count):
        width, height, colours, zero, planes, bits, length, offset = \
            struct.unpack_from("<BBBBHHII", data, 6 + 16 * n)
        side = width or 256
        assert (height or 256) == side and colours == zero == 0 and (planes, bits) == (1, 32)
        assert offset == end and offset + length <= len(data)
        assert _png_size(data[offset:offset + length]) == (side, side)
        seen.append(side)
        end = offset + length
    assert end == len(data)
    assert seen == list(packaging.ICO_SIZES)


def test_the_icns_holds_its_chunks(tmp_path: Path) -> None:
    """Magic ``icns`` + total length, then chunks (type, length with header, PNG of the size
    the type means) that add up to the file."""
    import struct

    from ccdesk import packaging

    data = packaging.write_icns(tmp_path / "ccdesk.icns", ICONS).read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    sides = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256}
    at, kinds = 8, []
    while at < len(data):
        kind, length = data[at:at + 4], struct.unpack(">I", data[at + 4:at + 8])[0]
        assert length > 8 and at + length <= len(data)
        assert _png_size(data[at + 8:at + length]) == (sides[kind], sides[kind])
        kinds.append(kind)
        at += length
    assert at == len(data)
    assert kinds == list(sides)


def test_the_info_plist_declares_the_spreadsheets_and_the_bundle_id() -> None:
    import plistlib
    import re

    import ccdesk
    from ccdesk import packaging

    plist = plistlib.loads(plistlib.dumps(packaging.info_plist()))  # valid XML plist, round trip
    assert plist == packaging.info_plist()
    assert re.fullmatch(r"[a-z]+(\.[a-z0-9-]+){2,}", plist["CFBundleIdentifier"])
    assert plist["CFBundleIdentifier"] == packaging.BUNDLE_ID
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == ccdesk.__version__
    extensions = {e for t in plist["CFBundleDocumentTypes"] for e in t["CFBundleTypeExtensions"]}
    assert extensions == {"xlsx", "xlsm", "xls", "ods", "csv"}
    for entry in plist["CFBundleDocumentTypes"]:
        assert entry["CFBundleTypeRole"] == "Viewer" and entry["LSItemContentTypes"]
    # What ccdesk opens is what the importer reads: no type declared that it would refuse.
    from ccdesk.core import formats

    assert extensions <= {str(f) for f in formats.Format}


@pytest.mark.parametrize(("version", "expected"), [
    ("0.1.0", (0, 1, 0, 0)), ("1.2", (1, 2, 0, 0)), ("2.3.4.5", (2, 3, 4, 5)),
    ("1.4.0rc2", (1, 4, 0, 0)), ("1.4.0+g1234", (1, 4, 0, 0)), ("3.0.dev1", (3, 0, 0, 0)),
])
def test_windows_version_numbers(version: str, expected: tuple[int, ...]) -> None:
    from ccdesk.packaging import version_tuple

    assert version_tuple(version) == expected


@pytest.mark.parametrize("version", ["", "abc", "70000.0"])
def test_versions_windows_cannot_hold_are_refused(version: str) -> None:
    from ccdesk.packaging import version_tuple

    with pytest.raises(ValueError, match="not a version"):
        version_tuple(version)


def test_the_windows_version_resource_carries_the_version(tmp_path: Path) -> None:
    """The text PyInstaller evaluates for EXE(version=...), read back with PyInstaller's own
    reader when it is installed (the bundle extra), else evaluated over stand-in classes."""
    import ccdesk
    from ccdesk.packaging import version_resource

    text = version_resource("1.2.3")
    try:
        from PyInstaller.utils.win32.versioninfo import load_version_info_from_text_file
    except ImportError:
        load_version_info_from_text_file = None
    if load_version_info_from_text_file is not None:
        path = tmp_path / "version.txt"
        path.write_text(text, encoding="utf-8")
        info = load_version_info_from_text_file(str(path))
        assert (info.ffi.fileVersionMS, info.ffi.fileVersionLS) == ((1 << 16) | 2, 3 << 16)
        assert (info.ffi.productVersionMS, info.ffi.productVersionLS) == ((1 << 16) | 2, 3 << 16)
        table = {s.name: s.val for s in info.kids[0].kids[0].kids}
    else:
        def record(*args: object, **kwargs: object) -> dict[str, object]:
            return {"args": args, **kwargs}

        names = {n: record for n in ("VSVersionInfo", "FixedFileInfo", "StringFileInfo",
                                     "StringTable", "VarFileInfo", "VarStruct")}
        names["StringStruct"] = lambda k, v: (k, v)
        info = eval(text, {"__builtins__": {}}, names)  # noqa: S307 - our own generated text
        assert info["ffi"]["filevers"] == info["ffi"]["prodvers"] == (1, 2, 3, 0)
        table = dict(info["kids"][0]["args"][0][0]["args"][1])
    assert table["FileVersion"] == table["ProductVersion"] == "1.2.3"
    assert table["OriginalFilename"] == "ccdesk.exe" and table["ProductName"] == "ccdesk"
    assert f"ccdesk {ccdesk.__version__}" in version_resource()


def test_the_spec_uses_the_tested_pieces_on_each_platform() -> None:
    """The spec's Windows and macOS branches call these helpers (their output is tested
    above), the macOS app is a BUNDLE of the collected folder, and Linux gets neither."""
    import ast

    spec = (ROOT / "resources" / "packaging" / "ccdesk.spec").read_text(encoding="utf-8")
    tree = ast.parse(spec)
    branches = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and \
                ast.unparse(node.test.left) == "sys.platform":
            branches.setdefault(ast.literal_eval(node.test.comparators[0]), []).append(ast.unparse(node))
    assert {"win32", "darwin"} <= set(branches)
    windows, mac = "\n".join(branches["win32"]), "\n".join(branches["darwin"])
    assert "packaging.write_ico(" in windows and "packaging.version_resource(" in windows
    assert "packaging.write_icns(" in mac and "BUNDLE(" in mac
    assert "packaging.info_plist(" in mac and "bundle_identifier=packaging.BUNDLE_ID" in mac
    assert "version=version_file" in spec and "icon=exe_icon" in spec
