"""The copier in Prometheus terms: a registry of its own, fed two ways.

Events (copies, refusals, failures) arrive as the copier's notices and go into histograms and
counters as they happen; states (connections, balances, the copy switch) are read from the
copier's display views when Prometheus scrapes, so they are never stale and cost nothing between
scrapes. Every name starts with ``copier_``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from copier_gui.core import view
from copier_gui.core.copier import Copier, LinkState
from copier_gui.core.executor import Notice
from copier_gui.core.risk import TradingState

# From a fast local copy (a millisecond) to a terminal that stalled for seconds.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Slippage in the slave's account currency; negative is better for the trader than the master's fill.
SLIPPAGE_BUCKETS = (-100.0, -50.0, -20.0, -10.0, -5.0, -2.0, -1.0, -0.5, -0.1, 0.0,
                    0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
# A copy notice without fill metrics changed no exposure: stops moved, a pending order placed or moved.
ORDER_ACTION = "order"
DRIFT_STATES = ("ok", "warn", "bad", "idle")


class CopierMetrics:
    """Prometheus metrics of one copier. Subscribe ``on_notice`` to the copier (``attach`` does)."""

    def __init__(self, copier: Copier) -> None:
        self.copier = copier
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "copier_copy_latency_seconds", "Time from the master's fill to the slave's fill, per copied fill",
            ["slave"], buckets=LATENCY_BUCKETS_S, registry=self.registry)
        self.slippage = Histogram(
            "copier_slippage_money", "Slippage of each copied fill against the master's price, in the "
            "slave's account currency (positive is worse for the trader)",
            ["slave", "currency"], buckets=SLIPPAGE_BUCKETS, registry=self.registry)
        self.copies = Counter(
            "copier_copies", "Copies made at a slave, by action (open, topup, close, reduce; "
            f"'{ORDER_ACTION}' for stops and pending orders)", ["slave", "action"], registry=self.registry)
        self.refusals = Counter(
            "copier_refusals", "Master trades not copied to a slave, each with a journaled reason",
            ["slave"], registry=self.registry)
        self.failures = Counter(
            "copier_failures", "Requests a broker refused, or internal errors, announced per account",
            ["account"], registry=self.registry)
        # Zero series from the start, so a rate over a slave that never refused is 0, not absent.
        for slave in copier.slaves:
            self.latency.labels(slave)
            self.refusals.labels(slave)
            self.failures.labels(slave)
        self.failures.labels(copier.master_id)
        self.registry.register(_StateCollector(copier))

    def attach(self) -> None:
        self.copier.subscribe(self.on_notice)

    def on_notice(self, notice: Notice) -> None:
        if notice.kind == "copy":
            m = notice.metrics
            if m is None:
                self.copies.labels(notice.account, ORDER_ACTION).inc()
                return
            self.copies.labels(m.slave, m.action).inc()
            self.latency.labels(m.slave).observe(m.total_ms / 1000.0)
            self.slippage.labels(m.slave, self._currency(m.slave)).observe(m.slippage_money)
        elif notice.kind == "refusal":
            self.refusals.labels(notice.account).inc()
        elif notice.kind == "failure":
            self.failures.labels(notice.account).inc()

    def _currency(self, slave_id: str) -> str:
        slave = self.copier.slaves.get(slave_id)
        account = slave.account if slave is not None else None
        return account.currency if account is not None else ""


class _StateCollector(Collector):
    """Gauges read from the copier's views at scrape time (on the copier's loop, like any display)."""

    def __init__(self, copier: Copier) -> None:
        self.copier = copier

    def describe(self) -> list[Metric]:
        return []  # names are only known from collect(); registering needs no description

    def collect(self) -> Iterator[Metric]:
        rows = view.accounts(self.copier)
        up = GaugeMetricFamily("copier_up", "1 while the copier answers scrapes")
        up.add_metric([], 1)
        yield up
        copying = GaugeMetricFamily("copier_copying", "The global copy switch: 1 on, 0 off (exits are still mirrored)")
        copying.add_metric([], 1 if self.copier.copying else 0)
        yield copying
        yield _enum("copier_connection_state", "Each account's connection: 1 for its current state",
                    ["account", "role"], [((r.id, r.role), r.state) for r in rows], [s.value for s in LinkState])
        slaves = [r for r in rows if r.role == "slave"]
        yield _enum("copier_trading_state", "Each slave's risk gate: 1 for its current state (reducing and "
                    "halted allow exits only)", ["account"], [((r.id,), r.trading) for r in slaves],
                    [s.value for s in TradingState])
        yield _enum("copier_drift_state", "Each slave's recent drift against its tolerances: 1 for its current state",
                    ["account"], [((r.id,), r.drift) for r in slaves], list(DRIFT_STATES))
        enabled = GaugeMetricFamily("copier_copy_enabled", "Copying switched on for the account: 1 or 0",
                                    labels=["account"])
        balance = GaugeMetricFamily("copier_balance", "Account balance, in the account's currency",
                                    labels=["account", "currency"])
        equity = GaugeMetricFamily("copier_equity", "Account equity, in the account's currency",
                                   labels=["account", "currency"])
        for r in rows:
            enabled.add_metric([r.id], 1 if r.copy_enabled else 0)
            if r.currency:  # known once the account has connected
                balance.add_metric([r.id, r.currency], r.balance)
                equity.add_metric([r.id, r.currency], r.equity)
        yield enabled
        yield balance
        yield equity
        snapshot = self.copier.master_snapshot
        positions = GaugeMetricFamily("copier_master_positions", "Open positions at the master")
        positions.add_metric([], len(snapshot.positions) if snapshot is not None else 0)
        yield positions
        yield from _room_left(view.room_left(self.copier))


def _room_left(rows: list[view.RoomLeftRow]) -> Iterator[Metric]:
    """Each prop-firm slave's room left; a slave without a profile, or not read yet, has no series,
    and a limit the profile does not set has none either (absent, not 0, which would read as none left)."""
    money = ["account", "currency"]
    families = {
        "daily_room": GaugeMetricFamily("copier_prop_daily_room", "Money a prop-firm slave may still lose "
                                        "today before its daily loss limit, in the account's currency", labels=money),
        "daily_limit": GaugeMetricFamily("copier_prop_daily_limit", "A prop-firm slave's daily loss limit "
                                         "today, in the account's currency", labels=money),
        "daily_used": GaugeMetricFamily("copier_prop_daily_used_ratio", "Share of the daily loss limit used "
                                        "(1 at the limit)", labels=["account"]),
        "to_floor": GaugeMetricFamily("copier_prop_to_floor", "Equity above the prop-firm maximum-loss floor, "
                                      "in the account's currency (below 0 past it)", labels=money),
        "max_used": GaugeMetricFamily("copier_prop_max_loss_used_ratio", "Share of the maximum loss used "
                                      "(1 at the floor)", labels=["account"]),
        "reset": GaugeMetricFamily("copier_prop_reset_seconds", "Seconds to the prop firm's next daily reset",
                                   labels=["account"]),
        "days": GaugeMetricFamily("copier_prop_trading_days", "Trading days done (days with a deal) under the "
                                  "prop-firm profile", labels=["account"]),
    }
    for r in rows:
        if not r.known:
            continue
        values = {"daily_room": r.daily_left, "daily_limit": r.daily_limit, "to_floor": r.to_floor}
        for name, value in values.items():
            if value is not None:
                families[name].add_metric([r.slave, r.currency], value)
        for name, value in (("daily_used", r.daily_used), ("max_used", r.max_loss_used),
                            ("reset", r.reset_in_s), ("days", r.trading_days)):
            if value is not None:
                families[name].add_metric([r.slave], value)
    yield from families.values()


def _enum(name: str, documentation: str, labels: list[str], rows: list[tuple[tuple[str, ...], str]],
          states: list[str]) -> GaugeMetricFamily:
    """One series per (labels, state), 1 for the current state: the Prometheus enum idiom."""
    family = GaugeMetricFamily(name, documentation, labels=[*labels, "state"])
    for values, current in rows:
        for state in dict.fromkeys([*states, current]):  # an unforeseen state still shows
            family.add_metric([*values, state], 1 if state == current else 0)
    return family


def metrics_table(registry: CollectorRegistry) -> str:
    """Every metric family in ``registry`` as a Markdown table (name, type, labels, meaning), for
    the docs; labels are those the current samples carry, so build it from a copier that copied."""
    rows = ["| metric | type | labels | meaning |", "| --- | --- | --- | --- |"]
    for family in sorted(registry.collect(), key=lambda f: f.name):
        labels: dict[str, None] = {}
        for sample in family.samples:
            labels.update(dict.fromkeys(k for k in sample.labels if k != "le"))
        name = f"{family.name}_total" if family.type == "counter" else family.name
        rows.append(f"| `{name}` | {family.type} | {', '.join(f'`{k}`' for k in labels) or '—'} | "
                    f"{family.documentation} |")
    return "\n".join(rows)
