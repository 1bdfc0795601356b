"""Building a running copier from settings: demo brokers, the MetaTrader5 package, and clear refusals."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass

import keyring.backends.fail
import keyring.core
import pytest

from copier_gui import secrets
from copier_gui.core.copier import LinkState
from copier_gui.core.journal import JournalError
from copier_gui.core.rules import CopyRules, Sizing
from copier_gui.paths import user_paths
from copier_gui.runtime import Connection, LinkedTerminals, RuntimeSetupError, open_connection
from copier_gui.settings import AccountSettings, Settings
from copier_gui.sim import PROFILES, new_terminal

PASSWORD = "demo-Passw0rd"

def build_copier(settings, paths, clock, *, password_lookup=None):
    """The linked accounts' runtime, from the one builder."""
    from copier_gui.assembly import build_runtime
    from copier_gui.runtime import LinkedTerminals

    kwargs = {} if password_lookup is None else {"password_lookup": password_lookup}
    terminals = LinkedTerminals(clock, poll_s=settings.poll_interval_ms / 1000.0, **kwargs)
    return build_runtime(settings, paths, clock, terminals=terminals)



@pytest.fixture
def paths(tmp_path):
    return user_paths(tmp_path / "home")


@pytest.fixture
def no_metatrader5(monkeypatch):
    # None in sys.modules makes the import fail, as on Linux, even where the package is installed.
    monkeypatch.setitem(sys.modules, "MetaTrader5", None)


def _demo(account_id: str, role: str, profile: str, login: int, **kw) -> AccountSettings:
    return AccountSettings(id=account_id, role=role, platform="demo", demo_profile=profile, login=login,
                           server=PROFILES[profile].server, **kw)


def _demo_settings(**kw) -> Settings:
    return Settings(accounts=[
        _demo("master", "master", "meridian_ecn", 7_000_001),
        _demo("harbor", "slave", "harbor_fx", 7_000_002, rules=CopyRules(sizing=Sizing(multiplier=2.0))),
        _demo("summit", "slave", "summit_netting", 7_000_003, copy_enabled=False, label="Summit JP"),
    ], poll_interval_ms=20, **kw)


async def _start_and_stop(runtime) -> None:
    try:
        await asyncio.wait_for(runtime.copier.start(), timeout=20)
    finally:
        await runtime.aclose()


def test_demo_accounts_build_a_copier_whose_start_connects(paths, weekday_clock):
    for account in _demo_settings().accounts:
        secrets.store_password(secrets.password_key(login=account.login, server=account.server,
                                                    account_id=account.id), PASSWORD)
    runtime = build_copier(_demo_settings(), paths, weekday_clock)
    copier = runtime.copier
    assert copier.master_id == "master"
    assert list(copier.slaves) == ["harbor", "summit"]
    assert copier.poll_interval_s == pytest.approx(0.02)
    assert copier.slaves["harbor"].rules.sizing.multiplier == 2.0
    assert copier.slaves["harbor"].broker == PROFILES["harbor_fx"].company
    assert copier.slaves["summit"].broker == "Summit JP"
    assert copier.slaves["summit"].copy_enabled is False
    assert set(runtime.invokers) == {"master", "harbor", "summit"}

    async def run():
        await asyncio.wait_for(copier.start(), timeout=20)
        assert copier.master_state is LinkState.CONNECTED
        assert copier.master_account.login == 7_000_001
        for slave in copier.slaves.values():
            assert slave.state is LinkState.CONNECTED, slave.last_error
        assert copier.slaves["summit"].account.currency == "JPY"
        await runtime.aclose()

    asyncio.run(run())
    assert paths.journal_file.exists()
    assert (paths.root / "copies.sqlite3").exists()
    runtime.close()  # a second close is harmless


def test_copying_left_off_stays_off(paths, weekday_clock):
    runtime = build_copier(_demo_settings(copying=False), paths, weekday_clock)
    try:
        assert runtime.copier.copying is False
    finally:
        runtime.close()


def test_each_slave_starts_in_the_mode_it_was_saved_in(paths, weekday_clock):
    from copier_gui.core.copier import SlaveMode

    settings = _demo_settings()
    harbor = settings.account("harbor")
    settings = settings.with_account(type(harbor).model_validate({**dict(harbor), "mode": "paused"}))
    runtime = build_copier(settings, paths, weekday_clock)
    try:
        assert runtime.copier.slaves["harbor"].mode is SlaveMode.PAUSED
        assert runtime.copier.slaves["summit"].mode is SlaveMode.CLOSE_ONLY  # saved with copy off
    finally:
        runtime.close()


def test_terminals_are_contacted_only_when_the_copier_connects(paths, weekday_clock):
    settings = _demo_settings()
    runtime = build_copier(settings, paths, weekday_clock)
    connection = runtime.connections["harbor"]
    assert connection.api.account_info() is None  # not initialized until the copier connects

    async def run():
        state = await runtime.connections["harbor"].connector.connect()
        assert state.login == 7_000_002

    try:
        asyncio.run(run())
    finally:
        runtime.close()


def test_the_password_is_read_when_the_terminal_connects_not_before(weekday_clock, monkeypatch):
    # The wizard's connection test runs in-process; a simulated terminal stands in for the module.
    terminal = new_terminal("harbor_fx", seed=3, clock=weekday_clock, login=51234567, password="right")
    monkeypatch.setitem(sys.modules, "MetaTrader5", terminal)
    asked: list[str] = []

    def lookup(key: str) -> str | None:
        asked.append(key)
        return "right"

    account = AccountSettings(id="live", role="master", platform="mt5", login=51234567,
                              server="HarborFX-Live2", terminal_path=PROFILES["harbor_fx"].terminal_path)
    connection = open_connection(account, weekday_clock, password_lookup=lookup)
    try:
        assert connection.api is terminal
        assert asked == []

        async def run():
            return await connection.connector.connect()

        assert asyncio.run(run()).login == 51234567
        assert asked == ["HarborFX-Live2:51234567"]
    finally:
        connection.close()


def test_a_copier_runs_each_real_terminal_in_a_worker_process(paths, weekday_clock, monkeypatch):
    # Two terminals in one process would share the MetaTrader5 package's single connection, so
    # every real or bridged account gets a worker of its own; nothing starts until connect().
    from copier_gui.workers.connector import WorkerConnector

    monkeypatch.setitem(sys.modules, "MetaTrader5", object())
    accounts = [AccountSettings(id="a", role="master", platform="mt5", login=1, server="S"),
                AccountSettings(id="b", role="slave", platform="mt5", login=2, server="S"),
                AccountSettings(id="c", role="slave", platform="mt5_bridge", login=3, server="S")]
    runtime = build_copier(Settings(accounts=accounts), paths, weekday_clock)
    try:
        assert all(isinstance(c.connector, WorkerConnector) and c.api is None
                   for c in runtime.connections.values())
    finally:
        runtime.close()


def test_mt5_on_linux_is_refused_with_a_clear_message(paths, weekday_clock, no_metatrader5):
    account = AccountSettings(id="live", role="master", platform="mt5", login=1, server="S")
    with pytest.raises(RuntimeSetupError) as info:
        build_copier(Settings(accounts=[account, _demo("a", "slave", "harbor_fx", 1)]), paths, weekday_clock)
    message = info.value.message
    if sys.platform != "win32":
        assert message.startswith("MetaTrader 5 terminal not found: the MetaTrader5 Python package is "
                                  "only available on Windows")
    assert "live" in message
    assert not paths.journal_file.exists(), "nothing is opened when the setup is refused"


def test_the_connection_test_gets_the_same_refusal(weekday_clock, no_metatrader5):
    account = AccountSettings(id="live", role="slave", platform="mt5", login=1, server="S")
    with pytest.raises(RuntimeSetupError, match="MetaTrader 5 terminal not found"):
        open_connection(account, weekday_clock)


@pytest.mark.parametrize("accounts, message", [
    ([], "no accounts are linked yet"),
    ([_demo("a", "slave", "harbor_fx", 1)], "no account is marked master"),
    ([_demo("m", "master", "harbor_fx", 1)], r"only the master \(m\) is linked: link at least one slave"),
])
def test_exactly_one_master_is_required(paths, weekday_clock, accounts, message):
    with pytest.raises(RuntimeSetupError, match=message):
        build_copier(Settings(accounts=accounts), paths, weekday_clock)


def test_a_missing_keyring_stops_a_demo_build_with_its_advice(paths, weekday_clock, monkeypatch):
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(RuntimeSetupError, match="master: could not read the password"):
        build_copier(_demo_settings(), paths, weekday_clock)


def test_the_copier_instance_is_kept_with_the_user_folder(tmp_path):
    from copier_gui.core.copybook import CopyBook
    from copier_gui.runtime import copier_instance

    book = CopyBook(tmp_path / "copies.sqlite3")
    first = copier_instance(book)
    book.close()
    again = CopyBook(tmp_path / "copies.sqlite3")
    assert copier_instance(again) == first and len(first) == 4 and first.isalnum()
    again.close()
    other = CopyBook(tmp_path / "other.sqlite3")
    others = {copier_instance(CopyBook(tmp_path / f"b{i}.sqlite3")) for i in range(5)}
    other.close()
    assert len(others) > 1  # drawn per folder, not one name for every copier


def test_a_damaged_copy_book_is_a_setup_error_naming_it_and_is_left_untouched(paths, weekday_clock):
    paths.ensure()
    book = paths.root / "copies.sqlite3"
    book.write_bytes(b"not a copy book\n" * 20)
    with pytest.raises(RuntimeSetupError) as caught:
        build_copier(_demo_settings(), paths, weekday_clock)
    assert str(book) in caught.value.message and "left untouched" in caught.value.message
    assert book.read_bytes() == b"not a copy book\n" * 20


class LoopTicks:
    """Ticks every 5 ms on the running loop; ``worst_ms`` is the longest it went unserved."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> LoopTicks:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.sleep(0.01)  # one more tick, so a stall at the very end counts too
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.worst_ms = max(self.worst_ms, (now - last - 0.005) * 1000.0)
            last = now


@dataclass
class SlowClosing(Connection):
    """A connection that takes 300 ms to close, as a worker process takes to wind down and exit."""

    close_s: float = 0.3

    def close(self) -> None:
        time.sleep(self.close_s)
        super().close()


class SlowToClose(LinkedTerminals):
    def connect(self, account):
        made = super().connect(account)
        return SlowClosing(made.account, made.api, made.invoker, made.connector)


def test_closing_waits_for_the_terminals_on_a_thread_never_on_the_loop(paths, weekday_clock):
    from copier_gui.assembly import build_runtime

    settings = _demo_settings()
    runtime = build_runtime(settings, paths, weekday_clock, terminals=SlowToClose(weekday_clock, poll_s=0.02))

    async def run() -> float:
        async with LoopTicks() as ticks:
            await runtime.aclose()
        return ticks.worst_ms

    assert asyncio.run(run()) < 50.0  # three terminals closing on the loop would hold it 900 ms
    assert all(c.invoker._executor._shutdown for c in runtime.connections.values())
    assert paths.journal_file.exists()
    with pytest.raises(JournalError):
        runtime.journal.record("note", "closed with the runtime")


def test_while_a_runtime_runs_full_collections_skip_what_existed_at_its_start(paths, weekday_clock):
    # Python's full collection walks every tracked object; with the window's and the copier's
    # start-up heap that paused the loop ~70 ms every few seconds. What exists once the copier has
    # started lives as long as it, so collections leave it alone until the runtime stops.
    import gc

    from copier_gui.assembly import build_runtime

    runtime = build_runtime(_demo_settings(), paths, weekday_clock,
                            terminals=LinkedTerminals(weekday_clock, poll_s=0.02))
    before = gc.get_freeze_count()

    async def run() -> int:
        await asyncio.wait_for(runtime.start(), timeout=20)
        try:
            return gc.get_freeze_count()
        finally:
            await runtime.aclose()

    while_running = asyncio.run(run())
    assert while_running > max(before, 10_000)
    assert gc.get_freeze_count() == before == 0  # nothing stays exempt once it stopped
