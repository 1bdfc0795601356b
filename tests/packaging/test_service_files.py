"""The files that start the headless copier with the machine: a systemd user unit for Linux and a
scheduled task for Windows. Checked against systemd itself, the command line they run, and the
headless copier's answer to the stop request they send."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from copier_gui.cli import EXIT_BAD_INPUT, build_parser
from copier_gui.instance import EXIT_ALREADY_RUNNING

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
UNIT = PACKAGING / "linux" / "copier-gui.service"
TASK = PACKAGING / "windows" / "copier-gui-task.xml"
INSTALL_TASK = PACKAGING / "windows" / "install-task.ps1"
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(UNIT)
    return parser


def test_the_unit_runs_the_headless_copier_with_arguments_the_command_line_takes():
    command = shlex.split(_unit()["Service"]["ExecStart"])
    assert command[0].endswith("/copier-gui")
    args = build_parser().parse_args(command[1:])
    assert args.headless and not args.demo


def test_the_unit_restarts_after_a_failure_but_not_after_bad_settings_or_a_second_copier():
    service = _unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert {int(code) for code in service["RestartPreventExitStatus"].split()} == {EXIT_BAD_INPUT,
                                                                                   EXIT_ALREADY_RUNNING}
    assert service["KillSignal"] == "SIGTERM"
    assert _unit()["Install"]["WantedBy"] == "default.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    # systemd checks the command exists: point it at this environment's copier-gui.
    exe = Path(sys.executable).with_name("copier-gui")
    unit = tmp_path / "copier-gui.service"
    unit.write_text(UNIT.read_text().replace("%h/.local/bin/copier-gui", str(exe)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # systemd ignores unknown keys and bad values with a warning only: any output is a mistake.
    problems = [line for line in result.stderr.splitlines() if "copier-gui.service" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_the_windows_task_starts_at_logon_restarts_after_failure_and_never_times_out():
    root = ET.parse(TASK).getroot()
    assert root.tag == f"{{{TASK_NS['t']}}}Task"
    assert root.find("t:Triggers/t:LogonTrigger", TASK_NS) is not None
    restart = root.find("t:Settings/t:RestartOnFailure", TASK_NS)
    assert restart.find("t:Interval", TASK_NS).text == "PT1M" and int(restart.find("t:Count", TASK_NS).text) >= 100
    assert root.find("t:Settings/t:ExecutionTimeLimit", TASK_NS).text == "PT0S"
    assert root.find("t:Settings/t:MultipleInstancesPolicy", TASK_NS).text == "IgnoreNew"
    exec_ = root.find("t:Actions/t:Exec", TASK_NS)
    assert exec_.find("t:Command", TASK_NS).text == "__EXE__"
    args = build_parser().parse_args(shlex.split(exec_.find("t:Arguments", TASK_NS).text))
    assert args.headless and not args.demo


def test_the_install_script_fills_in_every_placeholder_of_the_task():
    script = INSTALL_TASK.read_text()
    placeholders = {word for word in TASK.read_text().split("__") if word.isupper() and word.isalpha()}
    assert placeholders == {"USER", "EXE"}
    for name in placeholders:
        assert f'.Replace("__{name}__"' in script or f'"__{name}__", ' in script, name
    assert "copier-gui-task.xml" in script and "-Password" in script  # the boot variant keeps no password file


def test_the_stop_request_the_service_manager_sends_ends_the_copier_in_order(tmp_path):
    """What `systemctl stop` does: SIGTERM, then wait. The copier must stop in order and exit 0."""
    from copier_gui.settings import AccountSettings, Settings, save_settings
    from copier_gui.sim import PROFILES

    home = tmp_path / "home"
    home.mkdir()
    accounts = [AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn",
                                login=5001, server=PROFILES["meridian_ecn"].server),
                AccountSettings(id="harbor", role="slave", platform="demo", demo_profile="harbor_fx",
                                login=5002, server=PROFILES["harbor_fx"].server)]
    save_settings(Settings(accounts=accounts), home / "settings.json")
    env = {**os.environ, "COPIER_GUI_HOME": str(home)}
    process = subprocess.Popen([sys.executable, "-m", "copier_gui", "--headless"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = process.stdout.readline()
        assert first.startswith("copier-gui: master master"), (first, process.stderr.read())
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopping (asked to stop (SIGTERM))" in out and "Drift summary per slave" in out
    assert "Traceback" not in err
    log = (home / "logs" / "copier_gui.log").read_text()
    assert "copier_gui stopped" in log
