"""The Windows build carries the prop-firm preset files and the time zone database."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "packaging" / "copier_gui.spec").read_text(encoding="utf-8")


def test_the_bundle_carries_the_preset_files():
    assert '(str(ROOT / "copier_gui" / "prop_presets" / "*.yaml"), "copier_gui/prop_presets")' in SPEC
    assert list((ROOT / "copier_gui" / "prop_presets").glob("*.yaml"))


def test_the_windows_bundle_carries_tzdata():
    assert '*(["tzdata"] if IS_WINDOWS else [])' in SPEC
