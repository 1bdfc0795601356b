#!/usr/bin/env bash
# Builds the Linux one-folder bundle from packaging/copier_gui.spec, the spec of the Windows
# release, and starts it offscreen. A module the spec fails to collect, a Qt plugin it leaves out
# or a library it prunes by mistake makes one of the starts below fail here, in CI, long before
# anyone builds on Windows. Prints the bundle's size and start-up times.
#
#   packaging/check_bundle.sh            # build into build/bundle-check/, then check
#   packaging/check_bundle.sh --no-build # check the bundle built last time
#
# Needs the project's venv with the dev extra (PyInstaller) and the Qt libraries .ci/run installs.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
OUT="build/bundle-check"
BUNDLE="$OUT/dist/copier-gui"
# A guard against gross mistakes (a whole Qt add-on pulled in), not the Windows target: the Linux
# folder also carries ICU, OpenSSL and an unstripped libpython that the Windows one does not.
LIMIT_MB="${BUNDLE_LIMIT_MB:-300}"

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
    esac
done

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

if ((build)); then
    echo "Building the bundle (PyInstaller, packaging/copier_gui.spec) ..."
    rm -rf "$OUT"
    # The build folder is not in the repository: a fresh clone has none.
    mkdir -p "$(dirname "$OUT")"
    started=$(now)
    if ! "$PYTHON" -m PyInstaller packaging/copier_gui.spec --noconfirm --log-level WARN \
            --distpath "$OUT/dist" --workpath "$OUT/work" >"$OUT.log" 2>&1; then
        tail -n 40 "$OUT.log"
        echo "check_bundle: 0 passed, 1 failed"
        exit 1
    fi
    echo "  built in $(seconds "$started" "$(now)") s (log: $OUT.log)"
fi

if [[ ! -x "$BUNDLE/copier-gui" ]]; then
    echo "no bundle at $BUNDLE: run without --no-build" >&2
    exit 1
fi

# Everything the runs write goes to a throwaway home: never the user's settings, journal or keyring.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data"
export XDG_CACHE_HOME="$scratch/cache" XDG_RUNTIME_DIR="$scratch/runtime"
export COPIER_GUI_HOME="$scratch/copier_gui" QT_QPA_PLATFORM=offscreen
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

version="$("$PYTHON" packaging/version_resource.py --print-version)"
size_bytes=$(du -sb "$BUNDLE" | cut -f1)
size_mb=$((size_bytes / 1000000))
files=$(find "$BUNDLE" -type f | wc -l)

echo "Checking $BUNDLE (copier-gui $version, $size_mb MB in $files files)"

# run NAME SECONDS_ALLOWED COMMAND...: runs it with its output in $scratch/NAME.out; sets $took.
run() {
    local name="$1" allowed="$2"
    shift 2
    local started
    started=$(now)
    set +e
    timeout "$allowed" "$@" >"$scratch/$name.out" 2>&1
    status=$?
    set -e
    took=$(seconds "$started" "$(now)")
}

show_output() { sed 's/^/        | /' "$scratch/$1.out" | tail -n 25; }

for exe in copier-gui copier-guiw; do
    run "version-$exe" 30 "$BUNDLE/$exe" --version
    if ((status == 0)) && grep -qx "copier-gui $version" "$scratch/version-$exe.out"; then
        pass "$exe --version prints 'copier-gui $version' (${took} s)"
    else
        fail "$exe --version (exit $status)"; show_output "version-$exe"
    fi
done
t_version=$took

run headless0 30 "$BUNDLE/copier-gui" --demo --headless --duration 0
if ((status == 0)); then
    pass "copier-gui --demo --headless --duration 0 (start and stop: ${took} s)"
else
    fail "copier-gui --demo --headless --duration 0 (exit $status)"; show_output headless0
fi
t_headless0=$took

run headless5 60 "$BUNDLE/copier-gui" --demo --headless --duration 5
if ((status == 0)) && grep -q "Drift summary" "$scratch/headless5.out"; then
    pass "copier-gui --demo --headless --duration 5 copies and prints the drift summary (${took} s)"
else
    fail "copier-gui --demo --headless --duration 5 (exit $status)"; show_output headless5
fi

# The drift report from that run's journal: Jinja2 and its template render inside the bundle.
run report 30 "$BUNDLE/copier-gui" report --from "$(date -u +%F)" --to "$(date -u +%F)" \
    --html "$scratch/report.html"
if ((status == 0)) && grep -q "<svg class=\"chart waterfall\"" "$scratch/report.html" 2>/dev/null; then
    pass "copier-gui report writes the drift report's HTML from the demo's journal (${took} s)"
else
    fail "copier-gui report --html (exit $status)"; show_output report
fi

# Help -> Documentation reads the guide from the bundle's docs folder.
missing_docs=""
for page in README.md desktop.md rules.md drift.md faults.md alerts.md monitoring.md scenarios.md; do
    [[ -s "$BUNDLE/_internal/docs/$page" || -s "$BUNDLE/docs/$page" ]] || missing_docs="$missing_docs $page"
done
if [[ -z "$missing_docs" ]]; then
    pass "the user guide (README and docs/*.md) is in the bundle for Help -> Documentation"
else
    fail "the bundle lacks the guide's pages:$missing_docs"
fi

# The window: imports Qt, pyqtgraph and numpy, loads the platform plugin, the style and the .ico
# through the image format plugin. --duration 0 measures start-up to a shown window and back.
run window0 60 "$BUNDLE/copier-guiw" --demo --duration 0 --screenshot "$scratch/window0.png"
if ((status == 0)) && [[ -s "$scratch/window0.png" ]]; then
    pass "copier-guiw --demo opens the window offscreen and closes it (${took} s)"
else
    fail "copier-guiw --demo --duration 0 (exit $status)"; show_output window0
fi
t_window0=$took

run window3 60 "$BUNDLE/copier-guiw" --demo --duration 3 --screenshot "$OUT/window.png"
if ((status == 0)) && [[ -s "$OUT/window.png" ]] && grep -q "screenshot saved" "$scratch/window3.out"; then
    pass "copier-guiw --demo runs 3 s with the dashboard and saves $OUT/window.png (${took} s)"
else
    fail "copier-guiw --demo --duration 3 (exit $status)"; show_output window3
fi

# What the spec promises to leave out stays out: Qt libraries and bindings of unused modules,
# Qt's translations, plugin folders other than the three, and pyqtgraph's OpenGL views. QtNetwork
# is in (a second start asks the running window to come forward over a local socket), but not
# Qt's network-auth module.
internal="$BUNDLE/_internal"
unwanted="$(cd "$internal" && find . \( -name '*.so*' -o -iname '*.dll' -o -iname '*.pyd' \) \
    \( -iname '*Qml*' -o -iname '*Quick*' -o -iname '*WebEngine*' -o -iname '*Qt6Pdf*' \
       -o -iname '*Multimedia*' -o -iname '*Qt3D*' -o -iname '*Bluetooth*' -o -iname '*Svg*' \
       -o -iname '*NetworkAuth*' -o -iname '*opengl32sw*' \) -print | head -n 5 || true)"
unwanted+="$(find "$internal" -type d -path '*PySide6*/translations' -print | head -n 1 || true)"
if grep -q "'pyqtgraph.opengl" "$OUT/work/copier_gui/PYZ-00.toc" 2>/dev/null; then
    unwanted+=" pyqtgraph.opengl"
fi
plugin_dirs="$(find "$internal" -type d -path '*PySide6*/plugins/*' -prune -printf '%f\n' | sort | tr '\n' ' ')"
if [[ -z "$unwanted" && "$plugin_dirs" =~ ^imageformats\ platforms\ (styles\ )?$ ]]; then
    pass "no unused Qt modules, translations or OpenGL views; Qt plugins: $plugin_dirs"
else
    fail "left-out parts are in the bundle: ${unwanted:-none} / Qt plugin folders: $plugin_dirs"
fi

if ((size_mb <= LIMIT_MB)); then
    pass "bundle size $size_mb MB is within the $LIMIT_MB MB guard"
else
    fail "bundle size $size_mb MB exceeds the $LIMIT_MB MB guard"
fi

echo "Bundle: $size_mb MB in $files files; start-up: --version ${t_version} s," \
     "headless demo start and stop ${t_headless0} s, window start and stop ${t_window0} s"
echo "check_bundle: $passed passed, $failed failed"
((failed == 0))
