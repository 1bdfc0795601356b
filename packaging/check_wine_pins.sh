#!/usr/bin/env bash
# Runs the test suite on the oldest versions the application promises to support: the ones the
# Wine smoke test pins (WINE_PINS in packaging/wine-smoke.sh: numpy 1.26, pydantic 2.10, PySide6
# 6.9), in a venv of their own under build/wine-pins-venv. A newer API used by mistake (a Qt
# method added in 6.10, say) fails here instead of in the Windows smoke build.
#
#   bash packaging/check_wine_pins.sh [pytest arguments]
#
# About 25 s to install (once) plus the test suite.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

VENV="build/wine-pins-venv"
CONSTRAINTS="build/wine-pins.txt"

# One list of pins: the Wine smoke test's own line.
pins_line="$(grep '^WINE_PINS=' packaging/wine-smoke.sh)"
mkdir -p build
grep -o '"[^"]*=="*[^"]*"' <<<"$pins_line" | tr -d '"' >"$CONSTRAINTS"
echo "Pins: $(tr '\n' ' ' <"$CONSTRAINTS")"

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -c "$CONSTRAINTS" -e '.[dev]'
"$VENV/bin/python" - "$CONSTRAINTS" <<'PYTHON'
import sys
from importlib.metadata import version

for line in open(sys.argv[1]):
    name, wanted = line.strip().split("==")
    if version(name) != wanted:
        sys.exit(f"{name} {version(name)} is installed, not the pinned {wanted}")
PYTHON

"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
