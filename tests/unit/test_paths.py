"""Where the user's files go: --home, then COPIER_GUI_HOME, then the platform's data folder."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import platformdirs
import pytest

from copier_gui.paths import HOME_ENV, UserPaths, user_paths


def test_override_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from_env"))
    assert user_paths(tmp_path / "from_cli").root == tmp_path / "from_cli"
    assert user_paths(str(tmp_path / "as_str")).root == tmp_path / "as_str"


def test_environment_wins_over_platformdirs(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from_env"))
    assert user_paths().root == tmp_path / "from_env"


def test_default_is_the_platform_data_folder(isolated_user_folders, monkeypatch):
    monkeypatch.delenv(HOME_ENV)
    root = user_paths().root
    assert root == Path(platformdirs.user_data_dir("copier_gui", appauthor=False))
    if sys.platform.startswith("linux"):
        assert root == Path(os.environ["XDG_DATA_HOME"]) / "copier_gui"
    # Never the real user's folder: conftest points HOME and XDG_* into the test's tmp_path.
    if sys.platform != "win32":
        assert root.is_relative_to(isolated_user_folders)


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv(HOME_ENV, "")
    assert user_paths().root == Path(platformdirs.user_data_dir("copier_gui", appauthor=False))


def test_relative_and_tilde_homes_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert user_paths("rel").root == tmp_path / "rel"
    assert user_paths("~/cg").root == Path(os.path.expanduser("~")) / "cg"


def test_files_all_live_under_the_root(tmp_path):
    paths = user_paths(tmp_path / "home")
    assert paths == UserPaths(tmp_path / "home")
    assert paths.settings_file == tmp_path / "home" / "settings.json"
    assert paths.journal_file == tmp_path / "home" / "journal.sqlite3"
    assert paths.logs_dir == tmp_path / "home" / "logs"
    assert paths.backups_dir == tmp_path / "home" / "backups"


def test_resolving_creates_nothing(tmp_path):
    user_paths(tmp_path / "home")
    assert not (tmp_path / "home").exists()


def test_ensure_creates_private_folders(tmp_path):
    paths = user_paths(tmp_path / "a" / "home")
    assert paths.ensure() is paths
    for folder in (paths.root, paths.logs_dir, paths.backups_dir):
        assert folder.is_dir()
        if sys.platform != "win32":
            assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, folder
    paths.ensure()  # a second time is harmless


def test_paths_are_frozen(tmp_path):
    paths = user_paths(tmp_path)
    with pytest.raises(AttributeError):
        paths.root = tmp_path / "other"  # type: ignore[misc]
