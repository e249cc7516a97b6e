#!/bin/sh
# Put ccdesk in the desktop's applications menu, with its icon at the standard hicolor sizes
# (16, 32, 48, 64, 128, 256 and the scalable SVG), for the current user.
#
#   resources/linux/install-desktop.sh [EXECUTABLE]       from a checkout or an installed wheel
#   dist/ccdesk/_internal/resources/linux/install-desktop.sh "$PWD/dist/ccdesk/ccdesk"   the bundle
#
# EXECUTABLE is what the menu entry starts (default: `ccdesk`, found on PATH). Files go under
# ${XDG_DATA_HOME:-~/.local/share}; set XDG_DATA_HOME=/usr/local/share (as root) for every user.
# To remove: delete applications/ccdesk.desktop and icons/hicolor/*/apps/ccdesk.{png,svg} there.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
icons="$here/../icons"
exe="${1:-ccdesk}"
data="${XDG_DATA_HOME:-$HOME/.local/share}"

for size in 16 32 48 64 128 256; do
    install -D -m 644 "$icons/ccdesk-$size.png" "$data/icons/hicolor/${size}x${size}/apps/ccdesk.png"
done
install -D -m 644 "$icons/ccdesk.svg" "$data/icons/hicolor/scalable/apps/ccdesk.svg"

mkdir -p "$data/applications"
# Exec: the executable, quoted per the Desktop Entry specification if it holds spaces.
case "$exe" in
    *" "*) exec_value="\"$exe\" %f" ;;
    *) exec_value="$exe %f" ;;
esac
sed "s|^Exec=.*|Exec=$exec_value|" "$here/ccdesk.desktop" > "$data/applications/ccdesk.desktop"
chmod 644 "$data/applications/ccdesk.desktop"

# Refresh the caches where the tools exist (a per-user hicolor folder has no index.theme and
# needs no icon cache).
if [ -f "$data/icons/hicolor/index.theme" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
fi
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$data/applications" || true
fi
echo "ccdesk: menu entry $data/applications/ccdesk.desktop (starts: $exe)"
