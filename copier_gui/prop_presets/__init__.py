"""Prop-firm challenge shapes as data files, each with the firm's public rule text and where and
when it was read; a trader copies one into a slave's rules and edits it there (docs/prop-firms.md)."""

from copier_gui.prop_presets.loader import Preset, PresetError, load_preset, presets

__all__ = ["Preset", "PresetError", "load_preset", "presets"]
