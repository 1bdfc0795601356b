"""Checks that the project's own promises hold: the README's commands, the CLI, the pins."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

import copier_gui

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [
        line.strip()
        for block in FENCE.findall(readme)
        for line in block.splitlines()
        if "pytest" in line
    ]
    assert len(commands) == 1, f"expected one test command in README.md, found {commands}"
    return commands[0]


def test_ci_runs_exactly_the_readme_test_command():
    command = _readme_test_command()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines, f".ci/run does not run the README's test command: {command}"


def test_version_flag_prints_the_package_version():
    result = subprocess.run(
        [sys.executable, "-m", "copier_gui", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["copier-gui", copier_gui.__version__]


def _dependencies() -> list[Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return [Requirement(d) for d in tomllib.load(f)["project"]["dependencies"]]


def _env(**overrides: str) -> dict[str, str]:
    return {**default_environment(), **overrides}


def test_metatrader5_is_a_windows_only_dependency():
    (mt5,) = [r for r in _dependencies() if r.name == "MetaTrader5"]
    assert mt5.marker is not None
    assert str(mt5.marker) == 'sys_platform == "win32"'
    assert mt5.marker.evaluate(_env(sys_platform="win32"))
    assert not mt5.marker.evaluate(_env(sys_platform="linux"))


def test_pyside6_is_capped_below_6_12_on_python_3_11():
    pyside = [r for r in _dependencies() if r.name == "PySide6-Essentials"]
    on_311 = [
        r for r in pyside if r.marker is None or r.marker.evaluate(_env(python_version="3.11"))
    ]
    assert len(on_311) == 1, on_311
    spec = on_311[0].specifier
    assert "6.12.0" not in spec
    assert "6.11.3" in spec
    assert "6.9.3" in spec


def test_only_the_builder_makes_a_copier():
    """One assembly: the window, headless mode, the demo and replay all get their copier from
    copier_gui.assembly, so a rule or option added there reaches every mode."""
    import ast

    package = Path(copier_gui.__file__).parent
    makers = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Copier":
                makers.add(path.relative_to(package).as_posix())
    assert makers == {"assembly.py"}
