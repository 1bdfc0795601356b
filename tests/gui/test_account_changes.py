"""Accounts while copying, from the window: a third slave linked and removed again, a slave's mode
saved, a new master restarting the session, the demo's accounts left alone. Real parts: the saved
settings file, the test keyring, simulated terminals and the running copier."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from copier_gui import secrets
from copier_gui.account_setup import account_password_key
from copier_gui.core.copier import SlaveMode
from copier_gui.paths import user_paths
from copier_gui.settings import AccountSettings, Settings, save_settings
from copier_gui.ui.account_changes import DEMO_ACCOUNTS, AccountChanges
from copier_gui.ui.main_window import MainWindow
from copier_gui.ui.session import SettingsStore
from tests.gui.conftest import WeekdayClock, dispose, until


def _demo_account(account_id: str, role: str, profile: str, login: int) -> AccountSettings:
    from copier_gui.sim import PROFILES

    return AccountSettings(id=account_id, role=role, platform="demo", demo_profile=profile, login=login,
                           server=PROFILES[profile].server)


def _link(account: AccountSettings) -> AccountSettings:
    secrets.store_password(account_password_key(account), f"pw-{account.id}")
    return account


class Desk:
    """The window over the saved accounts' running session, with its account changes wired."""

    def __init__(self, paths, run) -> None:
        self.paths = paths
        self.run = run
        self.clock = WeekdayClock()
        self.store = SettingsStore(paths)
        assert self.store.load() is not None
        self.session = None
        self.restarts = 0
        self.window = MainWindow(clock=self.clock.time, tray=False)
        self.changes = AccountChanges(self.window, self.store, session=lambda: self.session,
                                      open_saved=self.open_saved, restart=self.restart)
        self.window.show()

    def open_saved(self) -> None:
        self.session = self.store.session(self.clock)
        self.window.attach(self.session)

        async def begin():
            await self.session.begin()

        self.run(begin)

    async def restart(self) -> None:
        self.restarts += 1
        await self.session.shutdown()
        self.session = self.store.session(self.clock)
        self.window.attach(self.session)
        await self.session.begin()

    @property
    def copier(self):
        return self.session.copier

    def terminal(self, account_id: str):
        return self.session.runtime.connections[account_id].api

    def buy(self, symbol: str, volume: float) -> int:
        t = self.terminal(self.copier.master_id)
        tick = t.symbol_info_tick(symbol)
        result = t.order_send({"action": t.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume,
                               "type": t.ORDER_TYPE_BUY, "price": tick.ask, "deviation": 50,
                               "type_filling": t.ORDER_FILLING_IOC, "magic": 11})
        assert result.retcode == t.TRADE_RETCODE_DONE, result
        return result.order

    def positions(self, account_id: str) -> list:
        return list(self.terminal(account_id).positions_get() or ())

    def saved(self) -> dict:
        return json.loads(self.paths.settings_file.read_text())

    def journal(self) -> list[str]:
        self.copier.journal.flush()
        return [e.message for e in self.copier.journal.entries()]


@pytest.fixture
def desk(qtbot, loop, run, tmp_path):
    paths = user_paths(tmp_path / "home")
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    save_settings(Settings(accounts=[_link(_demo_account("master", "master", "meridian_ecn", 7_100_001)),
                                     _link(_demo_account("harbor", "slave", "harbor_fx", 7_100_002))]),
                  paths.settings_file)
    made = Desk(paths, run)
    made.open_saved()
    try:
        yield made
    finally:
        if made.session is not None:
            run(made.session.shutdown)
        made.window.allow_close()
        dispose(made.window)


def test_a_third_slave_joins_while_copying_and_leaves_again_with_its_copies_closed(desk, run):
    summit = _link(_demo_account("summit", "slave", "summit_netting", 7_100_003))

    async def script():
        desk.buy("EURUSD", 0.3)
        await until(lambda: desk.positions("harbor"), what="harbor to copy the first trade")
        # Linked from the wizard while copying: saved, then taken by the running copier.
        task = desk.changes.linked(summit)
        await task
        assert list(desk.copier.slaves) == ["harbor", "summit"]
        assert [a["id"] for a in desk.saved()["accounts"]] == ["master", "harbor", "summit"]
        rows = [r.id for r in desk.window.dashboard.accounts_model.rows()]
        assert rows == ["master", "harbor", "summit"]  # the dashboard was built again with it
        # Its copy-existing rule is off (the default): the trade already open is not copied to it,
        # the next one is.
        await until(lambda: desk.copier.slaves["summit"].last_snapshot is not None, what="summit's first pass")
        assert desk.positions("summit") == []
        desk.buy("GBPUSD", 0.2)
        await until(lambda: any(p.symbol.startswith("GBPUSD") for p in desk.positions("summit")),
                    what="summit to copy the next trade")
        # Removed again, closing its copies: they close at its broker, the account and its
        # password go, and the other slave goes on copying.
        await desk.changes.remove("summit", True)
        assert list(desk.copier.slaves) == ["harbor"]
        assert [a["id"] for a in desk.saved()["accounts"]] == ["master", "harbor"]
        assert secrets.get_password(account_password_key(summit)) is None
        assert [r.id for r in desk.window.dashboard.accounts_model.rows()] == ["master", "harbor"]
        desk.buy("USDJPY", 0.1)
        await until(lambda: any(p.symbol.startswith("USDJPY") for p in desk.positions("harbor")),
                    what="harbor to go on copying")

    run(script)
    # summit's terminal was closed with its connection; what it held was closed before.
    journal = "\n".join(desk.journal())
    assert "summit" in journal and "linked while copying" in journal
    assert "flattened by the trader" in journal or "closed" in journal


def test_a_slaves_mode_and_the_copy_switch_are_saved_for_the_next_start(desk, run):
    async def script():
        desk.window.dashboard.set_mode("harbor", SlaveMode.PAUSED)
        assert desk.copier.slaves["harbor"].mode is SlaveMode.PAUSED

    run(script)
    assert [a["mode"] for a in desk.saved()["accounts"] if a["id"] == "harbor"] == ["paused"]


def test_set_as_master_asks_then_restarts_with_the_new_master_and_the_old_one_close_only(desk, run):
    box = desk.changes.ask_set_master("harbor")
    text = box.informativeText()
    assert "master stays linked as a slave in close-only mode" in text
    assert "copies the slaves hold of master's trades stay open" in text
    assert box.isVisible() and box.windowModality() != Qt.WindowModality.ApplicationModal

    async def script():
        task = desk.changes.set_master("harbor")
        await task

    run(script)
    box.close()
    assert desk.restarts == 1
    assert desk.copier.master_id == "harbor" and list(desk.copier.slaves) == ["master"]
    assert desk.copier.slaves["master"].mode is SlaveMode.CLOSE_ONLY
    accounts = {a["id"]: a for a in desk.saved()["accounts"]}
    assert accounts["harbor"]["role"] == "master" and accounts["master"]["mode"] == "close_only"


def test_an_edited_slave_is_saved_and_taken_without_a_restart(desk, run):
    harbor = desk.store.settings.account("harbor")

    async def script():
        await desk.changes.edited(AccountSettings.model_validate({**dict(harbor), "label": "Harbor prop"}), False)

    run(script)
    assert desk.restarts == 0 and desk.store.settings.account("harbor").label == "Harbor prop"
    assert "harbor edited by the window (label)" in desk.journal()[:5], desk.journal()[:5]


def test_the_demos_accounts_are_not_edited_or_removed(qtbot, monkeypatch, tmp_path):
    store = SettingsStore(user_paths(tmp_path / "home"))
    store.load()
    window = MainWindow(tray=False)
    qtbot.addWidget(window)

    class DemoSession:
        store = None

    changes = AccountChanges(window, store, session=lambda: DemoSession(), open_saved=lambda: None,
                             restart=lambda: None)
    for ask in (lambda: changes.edit("slave-1"), lambda: changes.remove("slave-1", True),
                lambda: changes.ask_set_master("slave-1")):
        assert ask() is None
        assert changes.boxes[-1].text() == DEMO_ACCOUNTS and isinstance(changes.boxes[-1], QMessageBox)


def test_a_slave_the_running_copier_cannot_take_stays_saved_and_the_window_says_why(desk, run, monkeypatch):
    from copier_gui import live_accounts

    async def refuse(runtime, account, **_kw):
        raise live_accounts.LiveChangeError("its terminal did not answer")

    monkeypatch.setattr(live_accounts, "add_account", refuse)
    summit = _link(_demo_account("summit", "slave", "summit_netting", 7_100_003))

    async def script():
        await desk.changes.linked(summit)

    run(script)
    assert [a["id"] for a in desk.saved()["accounts"]] == ["master", "harbor", "summit"]
    said = desk.changes.boxes[-1].text()
    assert said == ("summit is saved, but the running copier could not take it: its terminal did not answer\n"
                    "It is tried again at the next start.")
    assert list(desk.copier.slaves) == ["harbor"]
