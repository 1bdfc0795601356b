"""The autouse fixture in conftest.py must keep every test away from the real user's files."""

from __future__ import annotations

import os
from pathlib import Path

import keyring


def test_user_folders_point_into_tmp_path(tmp_path):
    for name in (
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
        "COPIER_GUI_HOME",
    ):
        assert Path(os.environ[name]).is_relative_to(tmp_path), name
    assert Path.home().is_relative_to(tmp_path)
    assert os.environ["QT_QPA_PLATFORM"]


def test_keyring_writes_inside_tmp_path(tmp_path):
    keyring.set_password("copier_gui", "12345@Broker-Demo", "s3cret")
    assert keyring.get_password("copier_gui", "12345@Broker-Demo") == "s3cret"
    stored = list(tmp_path.rglob("keyring_pass.cfg"))
    assert len(stored) == 1
    assert "copier_5Fgui" in stored[0].read_text()  # the service name, escaped for the INI file
