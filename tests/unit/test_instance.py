"""One copier per user folder: the lock refuses a second holder, names the folder, and dies with its process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from copier_gui.instance import AlreadyRunning, FolderUnusable, InstanceLock
from copier_gui.paths import user_paths

# A second process that takes the folder's lock, says so, and holds it until killed.
_HOLDER = textwrap.dedent("""
    import sys, time
    from copier_gui.instance import InstanceLock
    from copier_gui.paths import user_paths
    lock = InstanceLock(user_paths(sys.argv[1])).acquire()
    print("held", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def holder(tmp_path):
    """Starts a real process holding the lock of ``home``; killed (not stopped) afterwards."""
    started: list[subprocess.Popen] = []

    def start(home) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-c", _HOLDER, str(home)], stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline().strip() == "held"
        return process

    yield start
    for process in started:
        process.kill()
        process.wait(10)


def test_a_second_holder_of_the_same_folder_is_refused_naming_it(tmp_path, holder):
    paths = user_paths(tmp_path / "home")
    holder(paths.root)
    with pytest.raises(AlreadyRunning) as info:
        InstanceLock(paths).acquire()
    assert info.value.folder == paths.root
    assert str(paths.root) in str(info.value)
    assert "already running" in str(info.value)


def test_another_folder_is_another_copier(tmp_path, holder):
    holder(tmp_path / "one")
    with InstanceLock(user_paths(tmp_path / "two")) as lock:
        assert lock.held


def test_a_killed_copier_leaves_no_stale_lock(tmp_path, holder):
    # The OS lets go of a dead process's lock, which a PID file would not do.
    paths = user_paths(tmp_path / "home")
    process = holder(paths.root)
    process.kill()
    process.wait(10)
    with InstanceLock(paths) as lock:
        assert lock.held


def test_released_on_exit_and_free_for_the_next_start(tmp_path):
    paths = user_paths(tmp_path / "home")
    with InstanceLock(paths) as first:
        assert first.held and paths.lock_file.exists()
    assert not first.held
    with InstanceLock(paths) as second:
        assert second.held


def test_the_folder_is_created_private_before_locking(tmp_path):
    paths = user_paths(tmp_path / "new" / "home")
    with InstanceLock(paths):
        assert paths.root.is_dir()


def test_a_lock_taken_first_may_then_guard_a_block(tmp_path):
    paths = user_paths(tmp_path / "home")
    lock = InstanceLock(paths).acquire()
    with lock:
        assert lock.held
    assert not lock.held


def test_a_folder_that_cannot_be_made_is_said_so_naming_it(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    paths = user_paths(tmp_path / "file" / "home")
    with pytest.raises(FolderUnusable) as info:
        InstanceLock(paths).acquire()
    assert str(paths.root) in info.value.message and "cannot use the user folder" in info.value.message
