"""The keyring clean-up behind the wizard and the edit dialog, on the test's own keyring file."""

from __future__ import annotations

from copier_gui import secrets
from copier_gui.ui.wizard.keyring_cleanup import KeyringCleanup


def test_only_entries_this_dialog_added_are_removed_and_kept_ones_stay():
    secrets.store_password("Broker:1", "linked before")
    cleanup = KeyringCleanup()
    for key in ("Broker:1", "Broker:2", "Broker:3"):
        existed = secrets.get_password(key) is not None
        secrets.store_password(key, "typed")
        cleanup.stored(key, created=not existed)
    assert cleanup.added == {"Broker:2", "Broker:3"}
    cleanup.keep("Broker:3", None)
    cleanup.forget_all()
    assert secrets.get_password("Broker:1") == "typed"  # an account's entry: never removed here
    assert secrets.get_password("Broker:2") is None
    assert secrets.get_password("Broker:3") == "typed"


def test_a_replaced_entry_goes_once_the_draft_moves_to_another_key():
    cleanup = KeyringCleanup()
    secrets.store_password("Broker:7", "mistyped login")
    cleanup.stored("Broker:7", created=True)
    secrets.store_password("Broker:8", "right login")
    cleanup.stored("Broker:8", created=True, replacing="Broker:7")
    assert secrets.get_password("Broker:7") is None
    assert cleanup.added == {"Broker:8"}
