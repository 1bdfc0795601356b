"""The theme and the small drawn icons: a scaled display gets them drawn at its own resolution."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize

from copier_gui.ui import palette


@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0, 3.0])
def test_status_dots_are_drawn_for_each_display_scale_not_stretched(qapp, scale):
    icon = palette.dot_icon("#16875a")
    pixels = round(10 * scale)
    # A pixmap drawn at this size exists (a 150% display is not given a 100% dot blown up).
    assert QSize(pixels, pixels) in icon.availableSizes()
    pixmap = icon.pixmap(QSize(10, 10), scale)
    assert pixmap.size() == QSize(pixels, pixels) and pixmap.devicePixelRatio() == scale
    image = pixmap.toImage()
    centre = image.pixelColor(pixels // 2, pixels // 2)
    assert centre.name() == "#16875a" and image.pixelColor(0, 0).alpha() == 0


def test_an_unknown_theme_is_refused_by_name(qapp):
    with pytest.raises(ValueError, match="auto, light, dark"):
        palette.follow_os(qapp, "sepia")
    assert palette.choice() in palette.THEME_CHOICES


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_radio_buttons_and_check_boxes_have_an_outline_that_shows(qapp, theme):
    # Fusion draws their outline in the Window colour made 40% darker; on the dark theme's window
    # that was all but black on black (the wizard's platform choice could not be seen).
    from PySide6.QtWidgets import QApplication

    palette.follow_os(qapp, theme)
    try:
        for cls in ("QRadioButton", "QCheckBox"):
            colours = QApplication.palette(cls)
            outline = colours.window().color().darker(140)
            assert abs(outline.lightness() - colours.base().color().lightness()) >= 60, cls
    finally:
        palette.follow_os(qapp, "auto")
