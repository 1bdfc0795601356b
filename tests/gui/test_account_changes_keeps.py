"""An edit from the window changes what the dialog shows and keeps what it does not: an account
served by a worker host over NATS stays there."""

from __future__ import annotations

from types import SimpleNamespace

from copier_gui.settings import AccountSettings, NatsSettings
from copier_gui.ui.account_changes import AccountChanges


class _Store:
    def __init__(self, account: AccountSettings) -> None:
        self.settings = SimpleNamespace(account=lambda account_id: account if account_id == account.id else None)
        self.saved: list[AccountSettings] = []
        self.error = ""

    def replace_account(self, account: AccountSettings) -> bool:
        self.saved.append(account)
        return True


def test_an_edit_keeps_the_worker_host_the_dialog_does_not_show():
    remote = AccountSettings(id="vps-1", role="slave", platform="mt5", login=5, server="Broker-Live",
                             worker_host="nats", nats=NatsSettings(url="nats://127.0.0.1:4222"))
    as_the_dialog_returns_it = AccountSettings(id="vps-1", role="slave", platform="mt5", login=5,
                                               server="Broker-Live", label="renamed")
    changes = AccountChanges.__new__(AccountChanges)
    changes.store = _Store(remote)
    changes._saved_session = lambda: None
    changes.say = lambda text: None
    changes.edited(as_the_dialog_returns_it, False)
    (saved,) = changes.store.saved
    assert (saved.label, saved.worker_host, saved.nats) == ("renamed", "nats", remote.nats)
