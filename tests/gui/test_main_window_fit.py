"""The first window fits the screen it opens on, and its layout is remembered per screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect

from copier_gui.settings import Settings, WindowSettings
from copier_gui.ui.main_window import MainWindow, screen_key


@pytest.mark.parametrize("area, expected", [
    # A 1366x768 laptop with a 40-pixel taskbar: all of it within the available area.
    (QRect(0, 0, 1366, 728), (1366, 728)),
    # A full-HD screen: the preferred size, centred.
    (QRect(0, 0, 1920, 1040), (1600, 1000)),
    # A second screen to the right of the first.
    (QRect(1920, 0, 1280, 984), (1280, 984)),
])
def test_the_first_window_fits_the_available_screen(qtbot, area, expected):
    window = MainWindow(tray=False)
    qtbot.addWidget(window)
    window.fit_to_screen(area)
    frame = window.frameGeometry()
    assert area.contains(frame), (frame, area)
    assert (window.width(), window.height()) <= expected
    assert window.width() >= min(expected[0], 1600) - 40 and window.height() >= min(expected[1], 1000) - 60
    assert abs(frame.center().x() - area.center().x()) <= 2


def test_a_screen_smaller_than_the_minimum_still_gets_the_whole_window(qtbot):
    window = MainWindow(tray=False)
    qtbot.addWidget(window)
    window.fit_to_screen(QRect(0, 0, 1024, 560))
    assert QRect(0, 0, 1024, 560).contains(window.frameGeometry())


def test_the_layout_is_remembered_per_screen():
    settings = Settings(window=WindowSettings())
    laptop, desk = "eDP-1 1366x768@1", "HDMI-1 1920x1080@1"
    settings = settings.updated(window=settings.window.remember(laptop, "AAAA"))
    settings = settings.updated(window=settings.window.remember(desk, "BBBB"))
    assert settings.window.geometry_for(laptop) == "AAAA"
    assert settings.window.geometry_for(desk) == "BBBB"
    assert settings.window.geometry_for("DP-2 2560x1440@1.5") is None  # a new screen: fit to it
    # A file from before per-screen memory: its one geometry serves until a screen is remembered.
    assert WindowSettings(geometry="CCCC").geometry_for(laptop) == "CCCC"


def test_screen_key_names_the_screen_its_size_and_scale(qtbot):
    window = MainWindow(tray=False)
    qtbot.addWidget(window)
    key = screen_key(window.screen())
    size = window.screen().size()
    assert f"{size.width()}x{size.height()}@" in key
