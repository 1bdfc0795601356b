"""Account changes while copying, over a runtime built from settings with demo brokers: a slave
linked, edited (rules, mode, login), reconnected and removed, with connections opened off the loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from copier_gui.assembly import build_runtime
from copier_gui.core.copier import LinkState, SlaveMode
from copier_gui.core.rules import CopyRules, Sizing
from copier_gui.live_accounts import (
    LiveChangeError,
    add_account,
    reconnect,
    remove_account,
    update_account,
)
from copier_gui.paths import user_paths
from copier_gui.runtime import LinkedTerminals
from copier_gui.settings import AccountSettings, Settings
from copier_gui.sim import PROFILES
from tests.kit.rig import master_trade


class RecordingTerminals(LinkedTerminals):
    """The linked accounts' terminals, noting which thread opened each connection and which closed."""

    def __init__(self, clock) -> None:
        super().__init__(clock, poll_s=0.02, password_lookup=lambda key: "demo-Passw0rd")
        self.threads: dict[str, str] = {}
        self.closed: list[str] = []

    def connect(self, account):
        self.threads[account.id] = threading.current_thread().name
        connection = super().connect(account)
        close, closed = connection.close, self.closed

        def recorded_close():
            closed.append(f"{account.id}:{account.login}")
            close()
        connection.close = recorded_close
        return connection


def demo(account_id: str, role: str, profile: str, login: int, **kw) -> AccountSettings:
    return AccountSettings(id=account_id, role=role, platform="demo", demo_profile=profile, login=login,
                           server=PROFILES[profile].server, **kw)


@pytest.fixture
def runtime(tmp_path, weekday_clock):
    settings = Settings(accounts=[demo("master", "master", "meridian_ecn", 7_000_001),
                                  demo("harbor", "slave", "harbor_fx", 7_000_002)], poll_interval_ms=10)
    runtime = build_runtime(settings, user_paths(tmp_path / "home"), weekday_clock,
                            terminals=RecordingTerminals(weekday_clock))
    yield runtime
    runtime.close()


def held(runtime, account_id: str) -> list[tuple[str, float]]:
    api = runtime.connections[account_id].api if account_id in runtime.connections else None
    return sorted((p.symbol, p.volume) for p in api.positions_get()) if api is not None else []


async def settle(seconds: float = 0.4) -> None:
    await asyncio.sleep(seconds)


def test_a_slave_is_linked_edited_reconnected_and_removed_while_copying(runtime):
    master = runtime.connections["master"].api
    terminals = runtime.terminals

    async def run():
        await asyncio.wait_for(runtime.start(), 20)
        loop_thread = threading.current_thread().name
        master_trade(master, "EURUSD", 0, 0.5)
        await settle()
        added = await add_account(runtime, demo("summit", "slave", "summit_netting", 7_000_003,
                                                rules=CopyRules(copy_existing=True)))
        await settle()
        after_add = held(runtime, "summit")
        summit_api = runtime.connections["summit"].api

        # Rules and mode only: the same connection, the copier told at once.
        first = runtime.connections["summit"]
        edited = runtime.settings.account("summit").model_copy(
            update={"rules": CopyRules(sizing=Sizing(multiplier=2.0)), "mode": SlaveMode.CLOSE_ONLY})
        rules_text = await update_account(runtime, AccountSettings.model_validate(dict(edited)))
        same_connection = runtime.connections["summit"] is first
        copier_view = (runtime.copier.slaves["summit"].rules.sizing.multiplier, runtime.copier.slaves["summit"].mode)

        reconnect_text = await reconnect(runtime, "summit", by="the accounts menu")
        state = runtime.copier.slaves["summit"].state

        # A new login: a new connection (opened off the loop), the copier moves to it, the old one closes.
        moved = AccountSettings.model_validate({**dict(runtime.settings.account("summit")), "login": 7_000_004,
                                                "mode": "copying"})
        moved_text = await update_account(runtime, moved)
        await settle()
        new_api = runtime.connections["summit"].api
        master_trade(master, "GBPUSD", 1, 0.1)
        await settle()
        on_new = sorted((p.symbol, p.volume) for p in new_api.positions_get())

        removed = await remove_account(runtime, "summit", flatten=True, by="the accounts menu")
        assert new_api.initialize()  # its session was closed with it: look as its trader would
        left_on_new = new_api.positions_get()
        await runtime.aclose()
        return (loop_thread, added, after_add, summit_api, rules_text, same_connection, copier_view, reconnect_text,
                state, moved_text, on_new, removed, left_on_new)

    (loop_thread, added, after_add, _summit_api, rules_text, same_connection, copier_view, reconnect_text, state,
     moved_text, on_new, removed, left_on_new) = asyncio.run(run())
    assert "slave summit linked while copying" in added
    assert after_add == [("EURUSD-ECN", 0.5)]  # held by the master before: copy_existing copies it
    assert terminals.threads["summit"] != loop_thread  # opened on a thread, never on the loop
    assert same_connection and copier_view == (2.0, SlaveMode.CLOSE_ONLY)
    assert "rules changed for summit" in rules_text and "close-only" in rules_text
    assert "reconnect of summit asked by the accounts menu" in reconnect_text and state is LinkState.CONNECTED
    assert "new connection" in moved_text and "summit:7000003" in terminals.closed
    assert on_new == [("GBPUSD-ECN", 0.2)]  # the new account copies, under the edited rules (2x)
    assert "every copy of this copier there is closed" in removed and left_on_new == ()
    assert "summit:7000004" in terminals.closed
    assert runtime.settings.account("summit") is None and "summit" not in runtime.connections


def test_changes_the_running_copier_cannot_take_are_refused_with_a_reason(runtime):
    async def run():
        await asyncio.wait_for(runtime.start(), 20)
        errors = []
        attempts = [
            add_account(runtime, demo("harbor", "slave", "harbor_fx", 7_000_009)),
            add_account(runtime, demo("boss", "master", "harbor_fx", 7_000_010)),
            remove_account(runtime, "master", flatten=False),
            remove_account(runtime, "ghost", flatten=False),
            update_account(runtime, demo("harbor", "slave", "harbor_fx", 7_000_002, magic=1)),
        ]
        for attempt in attempts:
            try:
                await attempt
            except LiveChangeError as exc:
                errors.append(exc.message)
        await runtime.aclose()
        return errors

    errors = asyncio.run(run())
    assert len(errors) == 5
    assert "already linked" in errors[0] and "set it as the master" in errors[1]
    assert "is the master" in errors[2] and "no linked account has the id 'ghost'" in errors[3]
    assert "magic number" in errors[4]
    assert [a.id for a in runtime.settings.accounts] == ["master", "harbor"]
