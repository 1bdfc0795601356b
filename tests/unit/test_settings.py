"""Settings: defaults on first run, round trips, strictness, migrations, and bad files kept and explained."""

from __future__ import annotations

import json
import os

import pytest
from pydantic import ValidationError

from copier_gui.clock import VirtualClock
from copier_gui.core.copier import DEFAULT_MAGIC, SlaveMode
from copier_gui.core.rules import CopyRules, DeviationLimit, Sizing, SizingMode, SymbolMapping
from copier_gui.paths import user_paths
from copier_gui.settings import (
    SCHEMA_VERSION,
    AccountSettings,
    Settings,
    SettingsError,
    WindowSettings,
    load_settings,
    save_settings,
    slugify,
)

STAMP = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC


@pytest.fixture
def paths(tmp_path):
    return user_paths(tmp_path / "home")


def _master(**kw) -> AccountSettings:
    return AccountSettings(id="master", role="master", platform="demo", demo_profile="meridian_ecn",
                           login=7000000, server="MeridianMarkets-Demo", **kw)


def _slave(account_id="slave-1", **kw) -> AccountSettings:
    defaults = dict(id=account_id, role="slave", platform="mt5",
                    terminal_path=r"C:\Program Files\Harbor FX MT5\terminal64.exe",
                    login=51234567, server="HarborFX-Live2")
    return AccountSettings(**{**defaults, **kw})


def _write(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")


def test_a_missing_file_is_a_first_run_with_defaults(paths):
    settings = load_settings(paths.settings_file)
    assert settings == Settings()
    assert settings.schema_version == SCHEMA_VERSION == 2
    assert settings.accounts == []
    assert settings.copying is True
    assert settings.poll_interval_ms == 5
    assert settings.window == WindowSettings()
    assert not paths.settings_file.exists()  # reading never writes


def test_round_trip_keeps_every_field(paths):
    rules = CopyRules(sizing=Sizing(mode=SizingMode.BALANCE_RATIO, multiplier=0.5),
                      symbols=SymbolMapping(aliases={"XAUUSD": "GOLD.m"}))
    settings = Settings(
        accounts=[_master(label="Main"), _slave(rules=rules, copy_enabled=False, magic=42),
                  AccountSettings(id="wine", role="slave", platform="mt5_bridge", login=1, server="S",
                                  bridge_port=18813)],
        copying=False, poll_interval_ms=12.5,
        window=WindowSettings(geometry="AdnQywADAAA=", state="AAAA/wAAAAD9"))
    save_settings(settings, paths.settings_file)
    assert load_settings(paths.settings_file) == settings


def test_saved_json_is_pretty_and_names_the_schema_version(paths):
    save_settings(Settings(accounts=[_master()]), paths.settings_file)
    text = paths.settings_file.read_text(encoding="utf-8")
    assert text.startswith('{\n  "schema_version": 2,')
    assert text.endswith("}\n")


def test_save_creates_folders_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "deep" / "er" / "settings.json"
    save_settings(Settings(), target)
    save_settings(Settings(copying=False), target)
    assert [p.name for p in target.parent.iterdir()] == ["settings.json"]
    assert load_settings(target).copying is False


def test_save_is_atomic_a_failed_write_keeps_the_old_file(paths, monkeypatch):
    save_settings(Settings(copying=True), paths.settings_file)
    before = paths.settings_file.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_settings(Settings(copying=False), paths.settings_file)
    assert paths.settings_file.read_bytes() == before
    assert [p.name for p in paths.settings_file.parent.iterdir()] == ["settings.json"]


def test_slave_rules_default_and_master_rules_are_refused():
    assert _slave().rules == CopyRules()
    assert _master().rules is None
    with pytest.raises(ValidationError, match="a master has no copy rules"):
        _master(rules=CopyRules())
    assert AccountSettings(id="m", role="master", platform="demo", demo_profile="harbor_fx").magic == DEFAULT_MAGIC


@pytest.mark.parametrize("changes, message", [
    ({"id": "Has Spaces"}, "not a valid account id"),
    ({"id": "-lead"}, "not a valid account id"),
    ({"role": "boss"}, "'master' or 'slave'"),
    ({"platform": "mt4"}, "'mt5', 'mt5_bridge', 'ctrader' or 'demo'"),
    ({"platform": "demo", "demo_profile": "nowhere"}, "demo_profile must name a simulated broker"),
    ({"platform": "demo"}, "demo_profile must name a simulated broker"),
    ({"demo_profile": "harbor_fx"}, "demo_profile applies only to the demo platform"),
    ({"bridge_port": 70000}, "less than or equal to 65535"),
    ({"login": -1}, "greater than or equal to 0"),
])
def test_account_fields_are_checked(changes, message):
    with pytest.raises(ValidationError, match=message):
        _slave(**changes)


def test_no_password_field_is_accepted_anywhere():
    for key in ("password", "passwd", "investor_password", "token"):
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            AccountSettings.model_validate({"id": "a", "role": "slave", "platform": "mt5", key: "hunter2"})
    assert not any("pass" in name for name in AccountSettings.model_fields)
    with pytest.raises(ValidationError):
        Settings.model_validate({"password": "hunter2"})


def test_models_are_frozen():
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.copying = False  # type: ignore[misc]


def test_ids_are_unique_and_there_is_at_most_one_master():
    with pytest.raises(ValidationError, match="two accounts have the id 'slave-1'"):
        Settings(accounts=[_slave(), _slave()])
    second = AccountSettings(id="other", role="master", platform="demo", demo_profile="apex_prop")
    with pytest.raises(ValidationError, match="at most one account may be the master"):
        Settings(accounts=[_master(), second])


def test_poll_interval_must_be_positive():
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings(poll_interval_ms=0)


def test_settings_helpers_find_master_and_slaves():
    settings = Settings(accounts=[_slave("b"), _master(), _slave("a")])
    assert settings.master.id == "master"
    assert [s.id for s in settings.slaves] == ["b", "a"]
    assert settings.account("a").id == "a"
    assert settings.account("zzz") is None


def test_updates_are_validated():
    settings = Settings(accounts=[_master()])
    added = settings.with_account(_slave())
    assert [a.id for a in added.accounts] == ["master", "slave-1"]
    assert settings.accounts == [_master()]  # the original is untouched
    replaced = added.with_account(_slave(copy_enabled=False))
    assert [a.id for a in replaced.accounts] == ["master", "slave-1"]
    assert replaced.account("slave-1").copy_enabled is False
    assert replaced.without_account("slave-1").accounts == [_master()]
    assert settings.updated(copying=False).copying is False
    with pytest.raises(ValidationError, match="at most one account may be the master"):
        settings.with_account(AccountSettings(id="m2", role="master", platform="demo", demo_profile="apex_prop"))
    with pytest.raises(ValidationError):
        settings.updated(poll_interval_ms=-1)


def test_slugify_makes_valid_ids():
    assert slugify("HarborFX-Live2 51234567") == "harborfx-live2-51234567"
    assert slugify("  Über  Broker!! ") == "ber-broker"
    assert slugify("!!!") == "account"
    assert len(slugify("x" * 100)) == 40
    AccountSettings(id=slugify("Some Broker.Server-Live 12"), role="slave", platform="mt5")


# ---------------------------------------------------------------------------- bad files

def _load_error(paths, data) -> SettingsError:
    _write(paths.settings_file, data)
    original = paths.settings_file.read_bytes()
    with pytest.raises(SettingsError) as info:
        load_settings(paths.settings_file, backups_dir=paths.backups_dir, clock=VirtualClock(STAMP))
    assert paths.settings_file.read_bytes() == original, "the original must never be changed"
    return info.value


def test_unknown_key_is_an_error_naming_the_field_and_the_file(paths):
    error = _load_error(paths, {"accounts": [{"id": "m", "role": "master", "platform": "demo",
                                              "demo_profile": "meridian_ecn", "colour": "red"}],
                                "pol_interval_ms": 3})
    message = str(error)
    assert str(paths.settings_file) in message
    assert "accounts[0] (id 'm').colour: unknown setting 'colour'" in message
    assert "pol_interval_ms: unknown setting 'pol_interval_ms'" in message
    assert error.path == paths.settings_file
    assert [field for field, _ in error.problems] == ["accounts[0] (id 'm').colour", "pol_interval_ms"]


def test_invalid_values_name_the_nested_field_and_what_was_found(paths):
    error = _load_error(paths, {"accounts": [
        {"id": "s", "role": "slave", "platform": "mt5", "rules": {"sizing": {"multiplier": -2}}}],
        "poll_interval_ms": "fast"})
    message = str(error)
    assert "accounts[0] (id 's').rules.sizing.multiplier: Input should be greater than 0 (found -2)" in message
    assert 'poll_interval_ms: Input should be a valid number' in message and '(found "fast")' in message


def test_a_password_in_the_file_is_refused_with_a_pointer_to_the_keyring(paths):
    error = _load_error(paths, {"accounts": [{"id": "s", "role": "slave", "platform": "mt5",
                                              "password": "hunter2"}]})
    assert "accounts[0] (id 's').password" in str(error)
    assert "kept only in the system keyring" in str(error)
    assert "hunter2" not in str(error)


def test_corrupt_json_keeps_a_backup_and_explains(paths):
    error = _load_error(paths, '{"accounts": [')
    message = str(error)
    assert str(paths.settings_file) in message
    assert "not valid JSON" in message and "line 1, column 15" in message
    assert error.backup == paths.backups_dir / "settings-20261118T110640Z.json"
    assert error.backup.read_text() == '{"accounts": ['
    assert f"A copy of it was kept at {error.backup}" in message


def test_each_failure_gets_its_own_backup(paths):
    first = _load_error(paths, "[]")
    second = _load_error(paths, "not json")
    assert first.backup != second.backup
    assert first.backup.read_text() == "[]"
    assert second.backup.read_text() == "not json"
    assert "(top level): expected a JSON object with the settings, found a list" in str(first)


@pytest.mark.parametrize("content, problem", [
    ("", "the file is empty"),
    (b"\xff\xfe\x00garbage", "not UTF-8 text"),
    ('"just a string"', "found a string"),
])
def test_files_that_are_not_settings_at_all(paths, content, problem):
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        paths.settings_file.write_bytes(content)
    else:
        paths.settings_file.write_text(content)
    with pytest.raises(SettingsError, match=problem) as info:
        load_settings(paths.settings_file, clock=VirtualClock(STAMP))
    # By default the backup goes to the backups folder beside the file: the user folder's.
    assert info.value.backup.parent == paths.backups_dir


def test_a_file_from_a_newer_release_is_not_read(paths):
    error = _load_error(paths, {"schema_version": 7})
    assert "schema_version: the file was written by a newer copier_gui (schema 7)" in str(error)
    assert error.backup is not None


def test_a_utf8_bom_is_accepted(paths):
    paths.settings_file.parent.mkdir(parents=True)
    paths.settings_file.write_bytes(b"\xef\xbb\xbf" + json.dumps({"copying": False}).encode())
    assert load_settings(paths.settings_file).copying is False


# ---------------------------------------------------------------------------- migrations

def _rename_poll(raw: dict) -> dict:
    raw["poll_interval_ms"] = raw.pop("poll_ms")
    return raw


def _add_nothing(raw: dict) -> dict:
    raw.setdefault("copying", True)
    return raw


def test_migrations_run_in_order_from_the_files_version(paths):
    _write(paths.settings_file, {"schema_version": 1, "poll_ms": 9})
    settings = load_settings(paths.settings_file, migrations=[_rename_poll, _add_nothing], clock=VirtualClock(STAMP))
    assert settings.schema_version == 3
    assert settings.poll_interval_ms == 9
    # The file as it was is kept before a newer version replaces it.
    (kept,) = paths.backups_dir.iterdir()
    assert kept.name == "settings-v1-20261118T110640Z.json"
    assert json.loads(kept.read_text()) == {"schema_version": 1, "poll_ms": 9}


def test_a_file_without_a_version_is_version_one(paths):
    _write(paths.settings_file, {"poll_ms": 4})
    assert load_settings(paths.settings_file, migrations=[_rename_poll]).poll_interval_ms == 4


def test_a_file_at_a_later_step_skips_the_earlier_migrations(paths):
    _write(paths.settings_file, {"schema_version": 2, "poll_interval_ms": 4})
    settings = load_settings(paths.settings_file, migrations=[_rename_poll, _add_nothing])
    assert settings.schema_version == 3


def test_a_failing_migration_names_the_step(paths):
    _write(paths.settings_file, {"schema_version": 1})
    with pytest.raises(SettingsError, match=r"upgrading from schema 1 to 2 failed: KeyError") as info:
        load_settings(paths.settings_file, migrations=[_rename_poll])
    assert str(paths.settings_file) in str(info.value)


def test_new_files_are_written_at_the_current_version(paths):
    settings = load_settings(paths.settings_file, migrations=[_rename_poll])
    assert settings.schema_version == 2


# ---------------------------------------------------------------------------- v1 -> v2: price limits in units

def _v1_slave(account_id: str, rules=None) -> dict:
    slave = {"id": account_id, "role": "slave", "platform": "demo", "demo_profile": "harbor_fx"}
    if rules is not None:
        slave["rules"] = rules
    return slave


V1 = {"schema_version": 1, "copying": True, "accounts": [
    {"id": "master", "role": "master", "platform": "demo", "demo_profile": "meridian_ecn"},
    _v1_slave("set", {"tolerances": {"max_price_deviation_points": 50, "max_delay_ms": 3000,
                                     "on_price_deviation": "limit_at_master_price"}}),
    _v1_slave("tolerances-without-limit", {"tolerances": {"requote_retries": 1}}),
    _v1_slave("rules-without-tolerances", {"sizing": {"mode": "fixed_lot", "lots": 0.05}}),
    _v1_slave("no-rules"),
    _v1_slave("null-rules", None) | {"rules": None},
]}


def test_a_v1_file_loads_with_each_slaves_price_limit_in_points(paths):
    _write(paths.settings_file, V1)
    settings = load_settings(paths.settings_file, clock=VirtualClock(STAMP))
    assert settings.schema_version == 2
    limits = {a.id: a.copy_rules.tolerances.max_price_deviation for a in settings.accounts if a.role == "slave"}
    # What each meant in v1: its own points, or the 200 points every slave had when it set none.
    assert limits == {"set": DeviationLimit(value=50, unit="point"),
                      "tolerances-without-limit": DeviationLimit(value=200, unit="point"),
                      "rules-without-tolerances": DeviationLimit(value=200, unit="point"),
                      "no-rules": DeviationLimit(value=200, unit="point"),
                      "null-rules": DeviationLimit(value=200, unit="point")}
    rules = {a.id: a.copy_rules for a in settings.accounts}
    assert rules["set"].tolerances.max_delay_ms == 3000
    assert rules["set"].tolerances.on_price_deviation.value == "limit_at_master_price"
    assert rules["tolerances-without-limit"].tolerances.requote_retries == 1
    assert rules["rules-without-tolerances"].sizing.lots == 0.05
    assert settings.accounts[0].rules is None  # a master still has no rules
    (kept,) = paths.backups_dir.iterdir()
    assert json.loads(kept.read_text()) == V1


def test_a_migrated_file_is_saved_as_v2_in_the_new_shape(paths):
    _write(paths.settings_file, V1)
    save_settings(load_settings(paths.settings_file), paths.settings_file)
    text = paths.settings_file.read_text(encoding="utf-8")
    assert text.startswith('{\n  "schema_version": 2,')
    assert "max_price_deviation_points" not in text
    saved = json.loads(text)
    set_slave = next(a for a in saved["accounts"] if a["id"] == "set")
    assert set_slave["rules"]["tolerances"]["max_price_deviation"] == {"value": 50.0, "unit": "point"}
    assert load_settings(paths.settings_file) == load_settings(paths.settings_file)  # reads back as it is


def test_removing_the_limit_from_a_v2_file_gives_the_asset_class_default(paths):
    _write(paths.settings_file, {"schema_version": 2, "accounts": [_v1_slave("s", {"tolerances": {}})]})
    (slave,) = load_settings(paths.settings_file).accounts
    assert slave.copy_rules.tolerances.max_price_deviation is None


def test_a_v1_file_with_malformed_rules_is_explained_not_crashed_on(paths):
    _write(paths.settings_file, {"schema_version": 1, "accounts": [_v1_slave("s", {"tolerances": "tight"})]})
    with pytest.raises(SettingsError, match=r"tolerances"):
        load_settings(paths.settings_file)


# ---------------------------------------------------------------------------- numbers and keys

@pytest.mark.parametrize("field, value", [
    ("min_lot", float("inf")),
    ("max_lot", float("inf")),
    ("min_lot", float("nan")),
    ("multiplier", float("nan")),
    ("lots", float("inf")),
])
def test_rules_refuse_non_finite_numbers_naming_the_field(field, value):
    with pytest.raises(ValidationError) as info:
        Sizing.model_validate({field: value})
    assert info.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("rules, field", [
    ({"sizing": {"min_lot": 1e9}}, ("sizing", "min_lot")),
    ({"sizing": {"max_lot": 1e300}}, ("sizing", "max_lot")),
    ({"stops": {"mode": "fixed_offset", "sl_points": 10**18}}, ("stops", "sl_points")),
    ({"risk": {"daily_loss": {"value": float("inf")}}}, ("risk", "daily_loss", "value")),
    ({"risk": {"max_lots_total": {"value": 1e300}}}, ("risk", "max_lots_total", "value")),
    ({"risk": {"daily_loss_percent": {"value": 250}}}, ("risk", "daily_loss_percent", "value")),
    ({"risk": {"max_drawdown_percent": {"value": 101}}}, ("risk", "max_drawdown_percent", "value")),
    ({"filters": {"magic_numbers": [-1]}}, ("filters", "magic_numbers", 0)),
])
def test_rules_refuse_absurd_numbers_naming_the_field(rules, field):
    with pytest.raises(ValidationError) as info:
        CopyRules.model_validate(rules)
    assert info.value.errors()[0]["loc"][:len(field)] == field


def test_sensible_rules_stay_accepted():
    rules = CopyRules.model_validate({
        "sizing": {"min_lot": 0.01, "max_lot": 100, "multiplier": 2.5},
        "risk": {"daily_loss_percent": {"value": 5}, "daily_loss": {"value": 2500}, "preset": "one_step_challenge"},
    })
    assert rules.sizing.max_lot == 100
    assert rules.risk.daily_loss_percent.value == 5


@pytest.mark.parametrize("text, found", [
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
    ("NaN", "NaN"),
    ("1e400", "Infinity"),
])
def test_a_settings_file_with_a_non_finite_number_is_refused_naming_the_field(paths, text, found):
    raw = ('{"accounts": [{"id": "s", "role": "slave", "platform": "mt5", '
           '"rules": {"sizing": {"min_lot": NUMBER}}}]}').replace("NUMBER", text)
    error = _load_error(paths, raw)
    message = str(error)
    assert str(paths.settings_file) in message
    assert "accounts[0] (id 's').rules.sizing.min_lot" in message
    assert found in message


def test_a_non_finite_poll_interval_is_refused(paths):
    error = _load_error(paths, '{"poll_interval_ms": NaN}')
    assert "poll_interval_ms" in str(error)


def test_a_duplicate_key_is_refused_naming_the_key_where_it_is_and_the_file(paths):
    raw = ('{"copying": true, "accounts": [{"id": "s", "role": "slave", "platform": "mt5", '
           '"rules": {"sizing": {"multiplier": 1, "multiplier": 50}}}], "copying": false}')
    error = _load_error(paths, raw)
    message = str(error)
    assert str(paths.settings_file) in message
    assert "(top level): the key 'copying' appears twice" in message
    assert "accounts[0] (id 's').rules.sizing: the key 'multiplier' appears twice" in message
    assert error.backup.read_text() == raw


def test_the_rules_editor_refuses_an_infinite_minimum_lot():
    from copier_gui.ui.rules_editor import parse_rules

    rules, error = parse_rules("sizing:\n  min_lot: .inf\n")
    assert rules is None
    assert "min_lot" in error


# ---------------------------------------------------------------------------- per-slave modes

def test_a_file_from_before_modes_reads_its_copy_switch_as_the_mode(paths):
    # Written by a release that knew only the copy switch: off meant no new entries, exits mirrored.
    _write(paths.settings_file, {"schema_version": 2, "accounts": [
        {"id": "master", "role": "master", "platform": "demo", "demo_profile": "meridian_ecn"},
        {"id": "on", "role": "slave", "platform": "demo", "demo_profile": "harbor_fx", "copy_enabled": True},
        {"id": "off", "role": "slave", "platform": "demo", "demo_profile": "harbor_fx", "copy_enabled": False},
        {"id": "unset", "role": "slave", "platform": "demo", "demo_profile": "harbor_fx"},
    ]})
    settings = load_settings(paths.settings_file)
    modes = {a.id: (a.mode, a.copy_enabled) for a in settings.slaves}
    assert modes == {"on": (SlaveMode.COPYING, True), "off": (SlaveMode.CLOSE_ONLY, False),
                     "unset": (SlaveMode.COPYING, True)}
    assert not paths.backups_dir.exists()  # nothing to migrate: the same schema reads it


def test_the_mode_is_saved_and_read_back_with_the_copy_switch_beside_it(paths):
    settings = Settings(accounts=[_master(), _slave("a", mode="paused"), _slave("b", mode=SlaveMode.CLOSE_ONLY),
                                  _slave("c")])
    save_settings(settings, paths.settings_file)
    saved = {a["id"]: (a.get("mode"), a.get("copy_enabled")) for a in
             json.loads(paths.settings_file.read_text())["accounts"]}
    assert saved["a"] == ("paused", False) and saved["b"] == ("close_only", False) and saved["c"] == ("copying", True)
    assert load_settings(paths.settings_file) == settings


def test_changing_the_copy_switch_of_an_account_sets_its_mode():
    # As the window saves a flipped switch: the account's fields with copy_enabled replaced.
    paused = _slave(mode="paused")
    assert AccountSettings.model_validate({**dict(paused), "copy_enabled": True}).mode is SlaveMode.COPYING
    assert AccountSettings.model_validate({**dict(paused), "copy_enabled": False}).mode is SlaveMode.PAUSED
    copying = _slave()
    assert AccountSettings.model_validate({**dict(copying), "copy_enabled": False}).mode is SlaveMode.CLOSE_ONLY
    assert _slave(copy_enabled=False).mode is SlaveMode.CLOSE_ONLY


def test_an_unknown_mode_is_refused_naming_the_field_and_the_choices(paths):
    _write(paths.settings_file, {"schema_version": 2, "accounts": [
        {"id": "s", "role": "slave", "platform": "demo", "demo_profile": "harbor_fx", "mode": "sleeping"}]})
    with pytest.raises(SettingsError) as caught:
        load_settings(paths.settings_file)
    text = str(caught.value)
    assert "accounts[0] (id 's').mode" in text and "'paused'" in text and "sleeping" in text


def test_a_ctrader_account_names_what_it_lacks():
    with pytest.raises(ValidationError, match="ctrader_client_id, ctrader_account_id, ctrader_token_key"):
        AccountSettings(id="ct", role="slave", platform="ctrader")
    account = AccountSettings(id="ct", role="slave", platform="ctrader", ctrader_client_id="app-1",
                              ctrader_account_id=40_123_456, ctrader_token_key="ctrader:app-1:live")
    assert account.ctrader_host == "live.ctraderapi.com" and account.ctrader_port == 5035


def test_a_demo_account_may_sit_at_a_simulated_ctrader_broker():
    account = AccountSettings(id="ct", role="slave", platform="demo", demo_profile="kestrel_netting")
    assert account.demo_platform == "ctrader"
    assert AccountSettings(id="mt", role="slave", platform="demo", demo_profile="harbor_fx").demo_platform == "mt5"
