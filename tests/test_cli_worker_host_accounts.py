"""``copier-gui worker-host`` serves the accounts of this host's own settings: each worker is the
one the core would start here, and an account that runs in no worker is refused by name."""

from __future__ import annotations

import argparse
import dataclasses

from copier_gui import worker_host_cli
from copier_gui.cli import EXIT_BAD_INPUT, main
from copier_gui.paths import user_paths
from copier_gui.runtime import worker_config
from copier_gui.settings import AccountSettings, Settings, save_settings


def _linked(tmp_path, *accounts: AccountSettings):
    paths = user_paths(tmp_path)
    save_settings(Settings(accounts=list(accounts)), paths.settings_file)
    return paths


def _bridged(account_id: str, role: str = "slave") -> AccountSettings:
    return AccountSettings(id=account_id, role=role, platform="mt5_bridge", login=51234567, server="HarborFX-Live2",
                           bridge_host="127.0.0.1", bridge_port=18900)


def _demo(account_id: str, role: str = "master") -> AccountSettings:
    return AccountSettings(id=account_id, role=role, platform="demo", demo_profile="meridian_ecn", login=7)


def _args(*accounts: str) -> argparse.Namespace:
    return argparse.Namespace(sim_bridge=None, account=list(accounts), heartbeat_s=0.5)


def test_each_account_gets_the_worker_the_core_would_start_here(tmp_path):
    paths = _linked(tmp_path, _demo("desk"), _bridged("vps"), _bridged("vps-2"))
    configs = worker_host_cli._configs(paths, _args())
    # All of them by default: the accounts that run in a worker, the demo one left to the core.
    assert [c.account_id for c in configs] == ["vps", "vps-2"]
    assert configs[0] == dataclasses.replace(worker_config(_bridged("vps"), poll_s=0.005), heartbeat_s=0.5)


def test_an_account_that_runs_in_no_worker_is_refused_by_name(tmp_path, capsys):
    _linked(tmp_path, _demo("desk"), _bridged("vps"))
    assert main(["--home", str(tmp_path), "worker-host", "--nats", "tls://127.0.0.1:4222",
                 "--account", "desk"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("copier-gui: error: desk: a demo account") and err.count("\n") == 1, err


def test_a_host_with_no_account_to_serve_says_so(tmp_path, capsys):
    _linked(tmp_path, _demo("desk"), _demo("desk-2", "slave"))
    assert main(["--home", str(tmp_path), "worker-host", "--nats", "tls://127.0.0.1:4222"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "none of the accounts linked in" in err and "mt5 or mt5_bridge" in err and err.count("\n") == 1, err
