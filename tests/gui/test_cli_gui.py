"""``copier-gui`` opening the window as a user starts it: offscreen, and under xvfb-run.

The Xvfb smoke test waits for mirrored positions and saves a screenshot; no xvfb-run, no test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage


def cli(*args: str, home: Path, env: dict | None = None, prefix: tuple[str, ...] = (),
        timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {**os.environ, "COPIER_GUI_HOME": str(home), **(env or {})}
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run([*prefix, sys.executable, "-m", "copier_gui", *args], capture_output=True, text=True,
                          timeout=timeout, env=environment)


def _positions(stdout: str) -> int:
    found = re.search(r"\((\d+) master positions, (\d+) copies\)", stdout)
    assert found, stdout
    return int(found.group(1))


def test_demo_window_opens_offscreen_and_quits_by_itself(tmp_path, qapp):
    shot = tmp_path / "demo.png"
    result = cli("--demo", "--slaves", "2", "--trade-interval", "0.4", "--duration", "5", "--screenshot", str(shot),
                 home=tmp_path / "home", env={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert _positions(result.stdout) >= 1
    assert not QImage(str(shot)).isNull()
    assert (tmp_path / "home" / "journal.sqlite3").exists()


def test_without_a_display_the_window_explains_instead_of_aborting(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux needs a display server")
    result = cli("--demo", home=tmp_path, env={"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})
    assert result.returncode == 2
    assert "no display" in result.stderr and "--headless" in result.stderr


@pytest.mark.xvfb
@pytest.mark.skipif(shutil.which("xvfb-run") is None and not os.environ.get("CI"),
                    reason="xvfb-run is not installed (CI installs it, and there this test must run)")
def test_smoke_demo_under_a_real_x_server(tmp_path, qapp):
    shot = tmp_path / "screenshot-demo.png"
    result = cli("--demo", "--trade-interval", "0.5", "--duration", "8", "--screenshot", str(shot),
                 home=tmp_path / "home", env={"QT_QPA_PLATFORM": "xcb"},
                 prefix=("xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert _positions(result.stdout) >= 1, "mirrored positions should be on screen"
    image = QImage(str(shot))
    assert image.width() >= 1024 and image.height() >= 640
