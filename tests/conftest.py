"""Test-wide setup: Qt draws offscreen, and every test gets its own home, config and keyring.

No test may read or write the real user's folders or keyring, so each one runs with HOME, the XDG
folders, COPIER_GUI_HOME and a plaintext keyring file all inside its own tmp_path.
"""

from __future__ import annotations

import os

# Before anything creates a QApplication: tests never need a display. Tests marked `xvfb` run
# under xvfb-run with QT_QPA_PLATFORM=xcb set by the caller, which setdefault leaves alone.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring.core  # noqa: E402
import pytest  # noqa: E402
from keyrings.alt.file import PlaintextKeyring  # noqa: E402

# The shared test kit's fixtures are available to every test without importing them.
pytest_plugins = ["tests.kit"]


@pytest.fixture(autouse=True)
def isolated_user_folders(tmp_path, monkeypatch):
    """Point every user folder and the keyring at ``tmp_path / "user"``; returns that folder."""
    root = tmp_path / "user"
    folders = {
        "HOME": root / "home",
        "XDG_CONFIG_HOME": root / "config",
        "XDG_DATA_HOME": root / "data",
        "XDG_CACHE_HOME": root / "cache",
        "XDG_STATE_HOME": root / "state",
        "COPIER_GUI_HOME": root / "copier_gui",
        # Their Windows counterparts; keyring keeps its file under LOCALAPPDATA there.
        "APPDATA": root / "appdata" / "Roaming",
        "LOCALAPPDATA": root / "appdata" / "Local",
    }
    for name, path in folders.items():
        path.mkdir(parents=True)
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")

    # keyring caches its backend in a module global at first use, so the variable alone is not
    # enough. PlaintextKeyring.file_path may be set per instance; pin it where a fresh one looks
    # under the folders set above (inside the temp folder), so the processes a test spawns (workers,
    # a simulated bridge broker) share the test's keyring.
    backend = PlaintextKeyring()
    backend.file_path = backend.file_path
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # restored after the test
    keyring.core.set_keyring(backend)
    return root


@pytest.fixture(autouse=True)
def collector_left_on():
    """No test leaves Python's garbage collector off: a process without one grows until every later
    test slows down, far from the test that caused it."""
    import gc

    yield
    if not gc.isenabled():
        gc.enable()
        pytest.fail("the test left the garbage collector off")
