"""Reads the preset files beside this module: each is checked whole (its own fields and its
``risk`` block through the copy rules), so a broken file is an error naming the file and field."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copier_gui.core.rules import Risk


class PresetError(Exception):
    """A preset file that cannot be used: the message names the file and the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Phase(StrEnum):
    CHALLENGE = "challenge"
    VERIFICATION = "verification"
    FUNDED = "funded"


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https://")
    read_on: dt.date
    how: str = Field(min_length=1)  # e.g. "read from a stored copy of the page"


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    firm: str = Field(min_length=1)
    program: str = Field(min_length=1)
    phase: Phase
    rule_text: tuple[str, ...] = Field(min_length=1)  # the firm's words, quoted short
    source: Source
    notes: tuple[str, ...] = ()  # what the preset leaves out and why
    risk: Risk


def _files():
    return sorted((f for f in resources.files(__package__).iterdir() if f.name.endswith(".yaml")),
                  key=lambda f: f.name)


def _parse(name: str, text: str) -> Preset:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PresetError(f"preset file {name}: not valid YAML: {exc}") from None
    try:
        preset = Preset.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(the file)"
        raise PresetError(f"preset file {name}: {field}: {first['msg']}") from None
    if f"{preset.id}.yaml" != name:
        raise PresetError(f"preset file {name}: id: {preset.id!r} must match the file name")
    return preset


def presets() -> dict[str, Preset]:
    """Every preset shipped, by id."""
    return {p.id: p for p in (_parse(f.name, f.read_text(encoding="utf-8")) for f in _files())}


def load_preset(preset_id: str) -> Preset:
    known = presets()
    if preset_id not in known:
        raise PresetError(f"no preset {preset_id!r}; known: {', '.join(known) or 'none'}")
    return known[preset_id]


def parse_preset(name: str, text: str) -> Preset:
    """One preset from its file name and text (tests use it for broken files)."""
    return _parse(name, text)


def risk_block(preset: Preset) -> dict[str, Any]:
    """The preset's risk rules as a slave's settings hold them (only what it sets)."""
    return preset.risk.model_dump(mode="json", exclude_none=True)
