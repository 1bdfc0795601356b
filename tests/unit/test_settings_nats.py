"""An account served over NATS: its worker host and bus in the settings file, read back as written,
with bad values refused naming the field; files from before it keep running their workers here."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from copier_gui.paths import user_paths
from copier_gui.settings import (
    AccountSettings,
    NatsSettings,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
)


@pytest.fixture
def paths(tmp_path):
    return user_paths(tmp_path / "home")


def _remote_slave(**nats) -> AccountSettings:
    bus = {"url": "tls://hub.example:4222", "user": "copier", "ca": "hub-ca.pem", **nats}
    return AccountSettings(id="vps-slave", role="slave", platform="mt5", login=51234567, server="HarborFX-Live2",
                           worker_host="nats", nats=bus)


def test_an_account_served_over_nats_is_saved_and_read_back(paths):
    account = _remote_slave(instance="desk-2", cert="client.pem", key="client-key.pem")
    save_settings(Settings(accounts=[account]), paths.settings_file)
    loaded = load_settings(paths.settings_file).account("vps-slave")
    assert loaded == account
    assert loaded.worker_host == "nats"
    assert loaded.nats == NatsSettings(url="tls://hub.example:4222", user="copier", ca="hub-ca.pem",
                                       instance="desk-2", cert="client.pem", key="client-key.pem")
    # The user's password is named by its keyring key (nats:USER unless given), never held here.
    options = loaded.nats.options()
    assert (options.url, options.user, options.password_key, options.instance) == (
        "tls://hub.example:4222", "copier", "nats:copier", "desk-2")
    assert "password" not in json.loads(paths.settings_file.read_text())["accounts"][0]["nats"]


def test_a_file_from_before_runs_its_workers_on_this_computer(paths):
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(json.dumps({"schema_version": 2, "accounts": [
        {"id": "slave-1", "role": "slave", "platform": "mt5", "login": 5, "server": "X-Live"}]}))
    account = load_settings(paths.settings_file).account("slave-1")
    assert (account.worker_host, account.nats) == ("local", None)


@pytest.mark.parametrize(("nats", "field", "message"), [
    ({"url": "http://hub.example:4222"}, "accounts[0] (id 'vps-slave').nats", "expected tls://HOST:PORT"),
    ({"url": "nats://hub.example:4222"}, "accounts[0] (id 'vps-slave').nats", "needs TLS"),
    ({"user": None}, "accounts[0] (id 'vps-slave').nats", "needs credentials"),
    ({"url": "tls://copier:pw@hub.example:4222"}, "accounts[0] (id 'vps-slave').nats", "keep the password in the keyring"),
    ({"instance": "desk 2"}, "accounts[0] (id 'vps-slave').nats", "NATS instance name"),
    ({"cert": "client.pem"}, "accounts[0] (id 'vps-slave').nats", "both its certificate and its key"),
    ({"password": "hunter2"}, "accounts[0] (id 'vps-slave').nats.password", "only in the system keyring"),
])
def test_a_bad_nats_setting_is_refused_naming_the_field(paths, nats, field, message):
    bus = {"url": "tls://hub.example:4222", "user": "copier", **nats}
    raw = {"schema_version": 2, "accounts": [{"id": "vps-slave", "role": "slave", "platform": "mt5",
                                              "worker_host": "nats", "nats": bus}]}
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(json.dumps(raw))
    with pytest.raises(SettingsError) as caught:
        load_settings(paths.settings_file)
    assert [f for f, _ in caught.value.problems] == [field], caught.value.problems
    assert message in caught.value.problems[0][1], caught.value.problems
    assert "hunter2" not in caught.value.message


@pytest.mark.parametrize(("changes", "message"), [
    ({"nats": None}, "worker_host 'nats' needs the nats settings"),
    ({"worker_host": "local"}, "nats applies only to an account whose worker_host is 'nats'"),
    ({"worker_host": "remote"}, "Input should be 'local' or 'nats'"),
    ({"platform": "demo", "demo_profile": "meridian_ecn"}, "only an mt5 or mt5_bridge account"),
])
def test_the_worker_host_and_its_bus_go_together(changes, message):
    fields = {**dict(_remote_slave()), "rules": None, **changes}
    with pytest.raises(ValidationError, match=message):
        AccountSettings.model_validate(fields)
