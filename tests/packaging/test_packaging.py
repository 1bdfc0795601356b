"""The packaging files agree with the package and with each other.

The builds themselves run elsewhere (packaging/check_bundle.sh in CI, wine-smoke.sh by hand,
windows.yml on Windows); these checks are quick and catch a renamed executable, a version the
Windows resource would misreport, or a smoke-test settings file the application no longer reads.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import copier_gui
from copier_gui.runtime import RuntimeSetupError
from copier_gui.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"

def build_copier(settings, paths, clock, *, password_lookup=None):
    """The linked accounts' runtime, from the one builder."""
    from copier_gui.assembly import build_runtime
    from copier_gui.runtime import LinkedTerminals

    kwargs = {} if password_lookup is None else {"password_lookup": password_lookup}
    terminals = LinkedTerminals(clock, poll_s=settings.poll_interval_ms / 1000.0, **kwargs)
    return build_runtime(settings, paths, clock, terminals=terminals)



def _load_version_resource():
    spec = importlib.util.spec_from_file_location("version_resource", PACKAGING / "version_resource.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


version_resource = _load_version_resource()


def _spec_constant(name: str) -> str:
    match = re.search(rf'^{name} = "([^"]+)"', (PACKAGING / "copier_gui.spec").read_text(), re.MULTILINE)
    assert match, f"copier_gui.spec defines no {name}"
    return match.group(1)


def _nsis_define(name: str) -> str:
    match = re.search(rf'^!define {name} "([^"]+)"', (PACKAGING / "installer.nsi").read_text(), re.MULTILINE)
    assert match, f"installer.nsi defines no {name}"
    return match.group(1)


def test_the_version_resource_reads_the_package_version():
    assert version_resource.read_version() == copier_gui.__version__


@pytest.mark.parametrize(("version", "numbers"), [
    ("0.1.0", (0, 1, 0, 0)),
    ("1.2", (1, 2, 0, 0)),
    ("2.0.1rc1", (2, 0, 1, 0)),
    ("1.2.3.4.5", (1, 2, 3, 4)),
    ("3.1.dev2", (3, 1, 0, 0)),
])
def test_numeric_version_has_four_parts(version, numbers):
    assert version_resource.numeric_version(version) == numbers


def test_numeric_version_refuses_what_windows_cannot_hold():
    with pytest.raises(ValueError, match="16 bits"):
        version_resource.numeric_version("70000.0")
    with pytest.raises(ValueError, match="number"):
        version_resource.numeric_version("latest")


def test_the_version_resource_text_is_what_pyinstaller_reads():
    text = version_resource.version_resource_text("1.4.2rc1", "copier-gui.exe", "the console")
    tree = ast.parse(text, mode="eval")  # PyInstaller evaluates the file as one expression
    calls = {node.func.id: node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    fixed = {k.arg: ast.literal_eval(k.value) for k in calls["FixedFileInfo"].keywords}
    assert fixed["filevers"] == fixed["prodvers"] == (1, 4, 2, 0)
    strings = {ast.literal_eval(n.args[0]): ast.literal_eval(n.args[1]) for n in ast.walk(tree)
               if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "StringStruct"}
    assert strings["ProductVersion"] == strings["FileVersion"] == "1.4.2rc1"
    assert strings["OriginalFilename"] == "copier-gui.exe"
    assert strings["FileDescription"] == "the console"


def test_the_installer_packs_the_executables_the_spec_builds():
    assert _spec_constant("APP_FOLDER") == _nsis_define("APP_FOLDER") == "copier-gui"
    assert _nsis_define("CONSOLE_EXE") == _spec_constant("CONSOLE_NAME") + ".exe"
    assert _nsis_define("WINDOWED_EXE") == _spec_constant("WINDOWED_NAME") + ".exe"
    nsi = (PACKAGING / "installer.nsi").read_text()
    assert "RequestExecutionLevel user" in nsi
    assert 'InstallDir "$LOCALAPPDATA\\Programs\\${APP_FOLDER}"' in nsi
    assert 'OutFile "${DIST_DIR}/${APP_FOLDER}-${VERSION}-setup.exe"' in nsi


def test_the_installer_never_removes_the_user_data_folder():
    # Settings and the journal live in platformdirs' user data folder, named after APP_NAME; the
    # install folder is another one, and the installer deletes only inside the install folder.
    from copier_gui.paths import APP_NAME

    assert _spec_constant("APP_FOLDER") != APP_NAME
    nsi = (PACKAGING / "installer.nsi").read_text()
    for line in nsi.splitlines():
        if line.strip().startswith(("RMDir", "Delete ")):
            assert "$INSTDIR" in line or "$SMPROGRAMS" in line, line


def test_the_build_scripts_use_the_spec_and_the_installer():
    for script in ("build_windows.ps1", "wine-smoke.sh"):
        text = (PACKAGING / script).read_text()
        assert "packaging\\copier_gui.spec" in text or "packaging/copier_gui.spec" in text, script
        assert "packaging\\installer.nsi" in text or "packaging/installer.nsi" in text, script
        assert "smoke-mt5-settings.json" in text, script
        assert "smoke_password.py" in text, script
    workflow = (ROOT / ".github" / "workflows" / "windows.yml").read_text()
    assert "build_windows.ps1" in workflow
    assert "runs-on: windows-latest" in workflow
    assert 'python-version: "3.12"' in workflow


def test_the_wine_smoke_pins_are_versions_the_project_allows():
    # wine-smoke.sh installs these; the application must keep supporting them.
    with (ROOT / "pyproject.toml").open("rb") as f:
        dependencies = [Requirement(d) for d in tomllib.load(f)["project"]["dependencies"]]
    smoke = (PACKAGING / "wine-smoke.sh").read_text()
    (line,) = [line for line in smoke.splitlines() if line.startswith("WINE_PINS=")]
    pins = dict(re.findall(r'"([A-Za-z0-9_-]+)==([0-9.]+)"', line))
    assert set(pins) == {"numpy", "pydantic", "pydantic-core", "PySide6-Essentials"}
    windows = {"sys_platform": "win32", "python_version": "3.12", "python_full_version": "3.12.8"}
    for name, version in pins.items():
        for requirement in dependencies:
            applies = requirement.marker is None or requirement.marker.evaluate(windows)
            if requirement.name == name and applies:
                assert Version(version) in requirement.specifier, (name, version, requirement)


def test_the_smoke_settings_link_a_terminal_master_and_a_demo_slave(tmp_path):
    settings = load_settings(PACKAGING / "smoke-mt5-settings.json")
    assert settings.master is not None and settings.master.platform == "mt5"
    assert [a.platform for a in settings.slaves] == ["demo"]


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the package is installed")
def test_without_the_package_the_smoke_settings_say_the_terminal_is_not_found(tmp_path):
    from copier_gui.clock import SYSTEM_CLOCK
    from copier_gui.paths import user_paths

    settings = load_settings(PACKAGING / "smoke-mt5-settings.json")
    with pytest.raises(RuntimeSetupError, match="MetaTrader 5 terminal not found"):
        build_copier(settings, user_paths(tmp_path), SYSTEM_CLOCK)


def test_the_smoke_password_goes_where_the_app_looks_for_it():
    from copier_gui import secrets

    spec = importlib.util.spec_from_file_location("smoke_password", PACKAGING / "smoke_password.py")
    smoke_password = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke_password)
    settings_file = PACKAGING / "smoke-mt5-settings.json"
    master = load_settings(settings_file).master
    key = secrets.password_key(login=master.login, server=master.server, account_id=master.id)

    assert smoke_password.main(["store", str(settings_file)]) == 0
    assert secrets.get_password(key) == smoke_password.PASSWORD
    assert smoke_password.main(["delete", str(settings_file)]) == 0
    assert secrets.get_password(key) is None


def test_the_packaging_folder_is_not_a_python_package():
    # The repository root is on sys.path for the tests and for PyInstaller; with an __init__.py,
    # this folder would shadow the `packaging` library that pip, PyInstaller and these tests use.
    assert not (PACKAGING / "__init__.py").exists()
    import packaging

    assert Path(packaging.__file__).parent != PACKAGING


def test_the_bundle_carries_every_page_help_documentation_lists():
    from copier_gui.ui.docs_viewer import TOPICS

    spec = (ROOT / "packaging" / "copier_gui.spec").read_text(encoding="utf-8")
    check = (ROOT / "packaging" / "check_bundle.sh").read_text(encoding="utf-8")
    assert '(str(ROOT / "README.md"), "docs")' in spec and '(str(ROOT / "docs" / "*.md"), "docs")' in spec
    for _title, name in TOPICS:
        assert name in check, name
        assert (ROOT / name).is_file() or (ROOT / "docs" / name).is_file(), name
