"""The one place a copier is assembled: settings in, a copier and everything it runs on out.

The window, headless mode, the demo and replay differ only in where their accounts' terminals come
from (a TerminalFactory: worker processes for real and bridged terminals, simulated brokers for the
demo, virtual-latency terminals for replay) and where their records live (Stores: files in the user
folder, or memory). Everything else is built here, once: the checks on the accounts, the slave
links with their rules, the copier and its options, and the services that watch it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from copier_gui.clock import Clock
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook, CopyBookError
from copier_gui.core.journal import Journal, JournalError
from copier_gui.core.metrics import Metrics
from copier_gui.core.riskstore import RISK_FILE, RiskStore, RiskStoreError, open_risk_store
from copier_gui.core.tasks import cancel_and_wait
from copier_gui.news_calendar import news_for
from copier_gui.paths import UserPaths
from copier_gui.runtime import Connection, RuntimeSetupError, copier_instance
from copier_gui.settings import AccountSettings, Settings

__all__ = ["Background", "Runtime", "Service", "Stores", "TerminalFactory", "assemble_copier", "build_runtime",
           "check_accounts", "open_stores"]

log = logging.getLogger(__name__)

COPY_BOOK_FILE = "copies.sqlite3"

Background = tuple[str, Callable[[], Coroutine[Any, Any, Any]]]


class TerminalFactory(Protocol):
    """Where accounts' terminals come from; ``connect`` contacts nothing yet."""

    def connect(self, account: AccountSettings) -> Connection: ...

    def close(self) -> None: ...


class Service(Protocol):
    """Something that watches a running copier (alerts, the monitoring server)."""

    async def start(self) -> Any: ...

    async def aclose(self) -> None: ...


@dataclass
class Stores:
    """The copier's records: journal, copy book, risk state and drift figures."""

    journal: Journal
    copybook: CopyBook
    risk_store: RiskStore | None = None
    metrics: Metrics = field(default_factory=Metrics)

    def close(self) -> None:
        self.journal.close()
        self.copybook.close()
        if self.risk_store is not None:
            self.risk_store.close()


def open_stores(paths: UserPaths, clock: Clock, *, durable: bool = True) -> Stores:
    """The journal in the user folder, with the copy book and risk state there too when ``durable``.

    The demo's brokers are new each run, so its copy book and risk state live in memory; its
    journal is kept like any other. A damaged or newer file raises RuntimeSetupError naming it,
    and nothing is overwritten.
    """
    paths.ensure()
    opened: list[Callable[[], None]] = []
    try:
        try:
            journal = Journal(paths.journal_file, clock, backups_dir=paths.backups_dir)
        except JournalError as exc:
            raise RuntimeSetupError(str(exc)) from None
        opened.append(journal.close)
        try:
            copybook = CopyBook(paths.root / COPY_BOOK_FILE if durable else None)
        except CopyBookError as exc:
            raise RuntimeSetupError(exc.message) from None
        opened.append(copybook.close)
        risk_store = None
        if durable:
            try:
                # An unreadable file is moved aside and every slave starts on exits only (see there).
                risk_store = open_risk_store(paths.root / RISK_FILE, backups_dir=paths.backups_dir, clock=clock)
            except RiskStoreError as exc:
                raise RuntimeSetupError(exc.message) from None
    except BaseException:
        for close in reversed(opened):
            close()
        raise
    return Stores(journal, copybook, risk_store)


def check_accounts(settings: Settings) -> None:
    """RuntimeSetupError unless the accounts can copy: exactly one master and at least one slave."""
    masters = [a for a in settings.accounts if a.role == "master"]
    if not settings.accounts:
        raise RuntimeSetupError("no accounts are linked yet: link a master account and at least "
                                "one slave, or try the demo")
    if not masters:
        raise RuntimeSetupError("no account is marked master: copying needs exactly one master "
                                "to copy from; mark one of the linked accounts as the master")
    if len(masters) > 1:
        raise RuntimeSetupError(f"{len(masters)} accounts are marked master "
                                f"({', '.join(a.id for a in masters)}): copying needs exactly one")
    if not settings.slaves:
        raise RuntimeSetupError(f"only the master ({masters[0].id}) is linked: link at least one slave "
                                "to copy to")


def broker_name(account: AccountSettings) -> str:
    """What the displays call the account's broker: its label, or the simulated broker's name."""
    if account.label:
        return account.label
    if account.platform == "demo":
        from copier_gui.sim import PROFILES
        from copier_gui.sim.ctrader import CTRADER_PROFILES

        if account.demo_profile in CTRADER_PROFILES:
            return CTRADER_PROFILES[account.demo_profile].broker_name
        return PROFILES[account.demo_profile].company
    return ""


def assemble_copier(settings: Settings, connections: Mapping[str, Connection], stores: Stores, clock: Clock, *,
                    reconcile_interval_s: float = 2.0, instance: str | None = None,
                    files: Path | None = None) -> Copier:
    """The copier for ``settings`` over ``connections`` (one per account id); the only place one is made.

    ``instance`` names this copier in its trades' comments; by default it is drawn once per
    durable copy book (see ``copier_instance``), and empty for one in memory. ``files`` is the
    folder a relative path in the rules (a prop profile's news calendar) is read from.
    """
    check_accounts(settings)
    master = settings.master
    links = [SlaveLink(a.id, connections[a.id].connector, a.copy_rules, broker=broker_name(a),
                       mode=a.mode, magic=a.magic) for a in settings.slaves]
    if instance is None:
        instance = copier_instance(stores.copybook) if stores.copybook.path is not None else ""
    copier = Copier(connections[master.id].connector, links, journal=stores.journal, clock=clock,
                    copybook=stores.copybook, metrics=stores.metrics, risk_store=stores.risk_store,
                    master_id=master.id, poll_interval_s=settings.poll_interval_ms / 1000.0,
                    reconcile_interval_s=reconcile_interval_s, instance=instance,
                    news_source=functools.partial(news_for, base=files or Path.cwd()))
    # Set before start, so a trader who left copying off finds it off: no entry goes out.
    copier.copying = settings.copying
    return copier


@dataclass
class Runtime:
    """A copier, what it runs on and what watches it; ``start`` and ``aclose`` in that order.

    ``background`` coroutines (the demo's master strategy) start once the copier has started and
    are cancelled before it stops; ``services`` (alerts, monitoring) start before the copier, so
    they see it connect, and stop before it, so an orderly stop is not reported as an outage.
    """

    settings: Settings
    copier: Copier
    stores: Stores
    terminals: TerminalFactory
    connections: dict[str, Connection] = field(default_factory=dict)
    background: list[Background] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # watchers that could not start, in words
    _tasks: set[asyncio.Task] = field(default_factory=set, repr=False)
    _started: list[Service] = field(default_factory=list, repr=False)
    _stopped: bool = field(default=False, repr=False)
    _closed: bool = field(default=False, repr=False)
    _frozen: bool = field(default=False, repr=False)

    @property
    def journal(self) -> Journal:
        return self.stores.journal

    @property
    def metrics(self) -> Metrics:
        return self.stores.metrics

    @property
    def invokers(self) -> dict[str, Any]:
        """The in-process terminals' worker threads, by account (none for worker processes)."""
        return {account_id: c.invoker for account_id, c in self.connections.items() if c.invoker is not None}

    @property
    def brokers(self) -> dict[str, str]:
        """Each slave's broker as the displays name it."""
        return {link.id: link.broker for link in self.copier.slaves.values()}

    async def start(self) -> None:
        if not self._frozen:
            long_lived_heap.enter()
            self._frozen = True
        # Watchers first: connecting may take long (or fail over and over, with a wrong password),
        # and that is just when the trader wants the alert and the status page.
        for service in self.services:
            try:
                await service.start()
            except Exception as exc:  # a watcher that cannot start must not stop the copying
                problem = f"{getattr(service, 'title', type(service).__name__)} did not start: {exc}"
                log.error("%s", problem)
                self.copier.journal.record("error", problem)
                self.problems.append(problem)
                continue
            self._started.append(service)
        await self.copier.start()
        loop = asyncio.get_running_loop()
        for name, factory in self.background:
            task = loop.create_task(factory(), name=name)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Background first, then the watchers, then the copier (its tasks and terminal sessions)."""
        if self._stopped:
            return
        self._stopped = True
        await cancel_and_wait(self._tasks)
        for service in reversed(self._started):
            try:
                await service.aclose()
            except Exception as exc:
                log.warning("%s did not stop cleanly: %s", type(service).__name__, exc)
        try:
            await self.copier.stop()
        finally:
            self._thaw()

    def _thaw(self) -> None:
        if self._frozen:
            self._frozen = False
            long_lived_heap.leave()

    async def aclose(self) -> None:
        """Stop, then release everything on a thread: worker processes take up to seconds to wind
        down and exit (measured: 0.5-0.75 s for 21 demo workers), and the loop must not wait."""
        try:
            await self.stop()
        finally:
            if not self._closed:
                await _on_a_thread(self.close)

    def close(self) -> None:
        """Release connections, terminals and stores; after ``stop`` (or when the copier never ran)."""
        if self._closed:
            return
        self._closed = True
        self._thaw()
        _close_connections(self.connections.values())
        with contextlib.suppress(Exception):
            self.terminals.close()
        self.stores.close()


class LongLivedHeap:
    """While a copier runs, Python's full collections skip what existed when it began to start.

    A full collection walks every tracked object: with the window's widgets, the plotting library
    and the copier's modules, ~140,000 of them, a ~70 ms pause of the loop every few seconds
    (measured with 20 slaves; ~10 ms once frozen). That heap lives as long as the copier, so it is
    frozen (``gc.freeze``) as a copier starts, before it connects, and handed back to the
    collector when the last one stops. Reference counting still frees whatever is dropped
    meanwhile. (A larger young generation was tried for the fan-out to 100 worker slaves: the
    collector's total time stayed the same, in fewer and longer pauses, so the default stays.)
    """

    def __init__(self) -> None:
        self.running = 0

    def enter(self) -> None:
        self.running += 1
        gc.collect(1)  # the young garbage of start-up goes now, not frozen with the rest
        gc.freeze()

    def leave(self) -> None:
        self.running = max(0, self.running - 1)
        if not self.running:
            gc.unfreeze()


long_lived_heap = LongLivedHeap()


async def _on_a_thread(call: Callable[[], None]) -> None:
    """Run ``call`` to its end on a thread, even if the caller is cancelled meanwhile: a close cut
    short would leave worker processes and files open."""
    done = asyncio.ensure_future(asyncio.to_thread(call))
    try:
        await asyncio.shield(done)
    except asyncio.CancelledError:
        await done
        raise


def _close_connections(connections) -> None:
    connections = list(connections)
    # Workers wind down in parallel: ask each first, then wait.
    for connection in connections:
        with contextlib.suppress(Exception):
            connection.request_close()
    for connection in connections:
        with contextlib.suppress(Exception):
            connection.close()


def build_runtime(settings: Settings, paths: UserPaths, clock: Clock, *, terminals: TerminalFactory,
                  durable: bool = True, background: Sequence[Background] = (),
                  services: Sequence[Callable[[Copier, Stores], Service | None]] = ()) -> Runtime:
    """Settings to a Runtime, ready to ``await runtime.start()``.

    Raises RuntimeSetupError, before anything is opened, when the accounts cannot run together,
    and after closing what it opened when a file or terminal cannot be used. ``services`` are
    factories given the copier and its stores (None: nothing to run).
    """
    check_accounts(settings)
    connections: dict[str, Connection] = {}
    stores: Stores | None = None
    try:
        for account in settings.accounts:
            connections[account.id] = terminals.connect(account)
        stores = open_stores(paths, clock, durable=durable)
        copier = assemble_copier(settings, connections, stores, clock, files=paths.root)
        watchers = [s for s in (make(copier, stores) for make in services) if s is not None]
    except BaseException:
        _close_connections(connections.values())
        with contextlib.suppress(Exception):
            terminals.close()
        if stores is not None:
            stores.close()
        raise
    return Runtime(settings, copier, stores, terminals, connections, list(background), watchers)
