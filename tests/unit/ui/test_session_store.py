"""The window's settings store: account changes saved to the settings file and the keyring."""

from __future__ import annotations

from copier_gui import secrets
from copier_gui.account_setup import account_password_key
from copier_gui.core.copier import SlaveMode
from copier_gui.paths import user_paths
from copier_gui.settings import AccountSettings, Settings, load_settings, save_settings
from copier_gui.ui.session import SettingsStore


def _account(account_id: str, role: str, login: int, **extra) -> AccountSettings:
    return AccountSettings(id=account_id, role=role, platform="demo", demo_profile="meridian_ecn", login=login,
                           server="MeridianMarkets-Demo", **extra)


def _store(tmp_path, *accounts: AccountSettings) -> SettingsStore:
    paths = user_paths(tmp_path / "home")
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    save_settings(Settings(accounts=list(accounts)), paths.settings_file)
    for account in accounts:
        secrets.store_password(account_password_key(account), f"pw-{account.id}")
    store = SettingsStore(paths)
    assert store.load() is not None
    return store


def _saved(store: SettingsStore) -> Settings:
    return load_settings(store.paths.settings_file)


def test_a_slaves_mode_is_saved_for_the_next_start(tmp_path):
    store = _store(tmp_path, _account("master", "master", 1), _account("s1", "slave", 2))
    assert store.set_mode("s1", "paused")
    assert _saved(store).account("s1").mode is SlaveMode.PAUSED
    assert not store.set_mode("s1", SlaveMode.PAUSED)  # unchanged: nothing written
    assert store.set_mode("s1", SlaveMode.CLOSE_ONLY) and _saved(store).account("s1").copy_enabled is False
    assert not store.set_mode("nobody", "paused")


def test_removing_an_account_deletes_its_password_unless_another_account_reads_it(tmp_path):
    master, s1 = _account("master", "master", 1), _account("s1", "slave", 2)
    twin = _account("s1-twin", "slave", 2)  # the same login at the same server: the same keyring entry
    store = _store(tmp_path, master, s1, twin)
    ok, said = store.remove_account("s1")
    assert ok and "stays in the keyring" in said and "s1-twin" in said
    assert secrets.get_password(account_password_key(twin)) is not None
    ok, said = store.remove_account("s1-twin")
    assert ok and "deleted from the keyring" in said
    assert secrets.get_password(account_password_key(twin)) is None
    assert [a.id for a in _saved(store).accounts] == ["master"]
    assert store.remove_account("s1") == (False, "no linked account has the id 's1'")


def test_a_new_master_leaves_the_old_one_linked_close_only(tmp_path):
    store = _store(tmp_path, _account("master", "master", 1), _account("s1", "slave", 2),
                   _account("s2", "slave", 3))
    assert store.set_master("s1")
    saved = _saved(store)
    assert saved.master.id == "s1" and saved.master.rules is None
    old = saved.account("master")
    assert old.role == "slave" and old.mode is SlaveMode.CLOSE_ONLY and old.rules is not None
    assert saved.account("s2").mode is SlaveMode.COPYING


def test_an_edited_account_replaces_the_one_with_its_id(tmp_path):
    store = _store(tmp_path, _account("master", "master", 1), _account("s1", "slave", 2))
    edited = AccountSettings.model_validate({**dict(store.settings.account("s1")), "label": "Prop challenge"})
    assert store.replace_account(edited) and _saved(store).account("s1").label == "Prop challenge"
    stranger = _account("s9", "slave", 9)
    assert not store.replace_account(stranger) and "s9" in store.error


def test_the_theme_is_remembered(tmp_path):
    store = _store(tmp_path, _account("master", "master", 1))
    assert store.set_theme("light") and _saved(store).window.theme == "light"
    assert not store.set_theme("light")
