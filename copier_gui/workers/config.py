"""What a worker process starts with: its account, the MetaTrader5 API it owns, how it polls.
Picklable and free of secrets: a worker gets a keyring key and reads the password itself.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RealTerminal:
    """The real ``MetaTrader5`` package (Windows only); one terminal per process."""

    kind = "metatrader5"


@dataclass(frozen=True, slots=True)
class BridgeTerminal:
    """A MetaTrader5 module reached over the RPyC bridge (Windows Python under Wine on Linux).

    ``terminal`` names one of several terminals a bridge server hosts (its simulated brokers);
    None is the server's only terminal. ``secret_key`` is the keyring name of the bridge's shared
    secret (never the secret): None is the name pairing gives ``host:port``. ``server_kind`` is
    the account's ``bridge_kind``: ``copier`` (the copier's bridge) or an mt5linux server
    (``mt5linux``, loopback only, or ``mt5linux_remote``), which uses neither ``terminal`` nor
    the secret.
    """

    host: str = "127.0.0.1"
    port: int = 18812
    terminal: str | None = None
    timeout_s: float = 300.0
    secret_key: str | None = None
    server_kind: str = "copier"

    kind = "bridge"

    def __setstate__(self, state: tuple) -> None:
        # A spec pickled before a field existed has fewer values: the fields it lacks keep their
        # defaults (new fields go last), so a worker config from an earlier copier still reads.
        for index, f in enumerate(dataclasses.fields(self)):
            object.__setattr__(self, f.name, state[index] if index < len(state) else f.default)


@dataclass(frozen=True, slots=True)
class SimTerminal:
    """A simulated terminal built inside the worker.

    Terminals given the same ``seed`` and ``anchor`` (UTC seconds when the price path starts)
    quote the same market in every process. ``account`` holds ``new_terminal`` account settings;
    ``faults`` a :class:`copier_gui.sim.Faults`.
    """

    profile: str
    seed: int = 0
    anchor: float | None = None
    account: dict[str, Any] = field(default_factory=dict)
    faults: Any = None

    kind = "sim"


TerminalSpec = RealTerminal | BridgeTerminal | SimTerminal


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """One account's worker.

    Polling adapts: ``poll_fast_s`` after a change or a request, doubling with every quiet poll up
    to ``poll_idle_s``, and ``poll_rest_s`` (if set) once nothing has happened for
    ``rest_after_s``. A master watched for new trades wants a short idle interval and
    no rest (detection delay is at most that); a slave can idle slower and rest: the copier's own
    orders are in its snapshot before their replies, whatever the pace. Snapshot changes that
    are only price moves are pushed at most every ``price_push_s``. Heartbeats go out every
    ``heartbeat_s`` from the polling loop, on the same wake-ups as its polls (a resting worker wakes
    once per heartbeat to beat and poll), and from a watchdog thread while the loop is stuck in a
    terminal call; the terminal's health is checked every ``health_check_s`` at a poll. ``nice``
    lowers the worker's priority below the core's (0 keeps it; on Windows any positive value
    means "below normal").
    """

    account_id: str
    terminal: TerminalSpec
    login: int | None = None
    server: str | None = None
    path: str | None = None
    password_key: str | None = None
    magic_filter: tuple[int, ...] | None = None
    poll_fast_s: float = 0.002
    poll_idle_s: float = 0.1
    poll_rest_s: float | None = None
    rest_after_s: float = 10.0
    price_push_s: float = 0.5
    heartbeat_s: float = 1.0
    health_check_s: float = 1.0
    log_level: int = logging.INFO
    nice: int = 10

    def __post_init__(self) -> None:
        for name in ("poll_fast_s", "poll_idle_s", "heartbeat_s", "health_check_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.poll_fast_s > self.poll_idle_s:
            raise ValueError("poll_fast_s must not exceed poll_idle_s")
        if self.poll_rest_s is not None and self.poll_rest_s < self.poll_idle_s:
            raise ValueError("poll_rest_s must not be shorter than poll_idle_s")
