"""Random valid scenarios from a seed: the master's trading and the faults that strike it.

One seed gives one scenario, always the same, so a failing seed is a bug report. The rules drawn
for the slaves stay within what the oracle can judge on its own (a lot multiplier or a fixed lot,
clamps and rounding, symbol mapping by the slave broker's names, reverse copying, symbol and
direction filters); the faults are everything the scenario language offers, with copier crashes
timed a few milliseconds after master actions so they land mid fan-out and between a send and its
bookkeeping.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from copier_gui.replay.campaign.disruptions import (
    SETTLE_S,
    busy_spans,
    checkpoints,
    faults,
    switches,
)
from copier_gui.replay.scenario import Scenario, parse_scenario
from copier_gui.sim.catalog import ALL_PROFILES as PROFILES
from copier_gui.sim.ctrader import CTRADER_PROFILES
from copier_gui.sim.faults import INJECTABLE_REJECTIONS
from copier_gui.sim.instruments import INSTRUMENTS
from copier_gui.sim.profiles import PROFILES as MT5_PROFILES
from copier_gui.sim.profiles import SymbolSpec

# The MT5 brokers a scenario draws from first; cTrader accounts come from a stream of their own
# (see ``_with_ctrader``), so the MT5 part of every seed's scenario is what it was before.
PROFILE_NAMES = tuple(sorted(MT5_PROFILES))
CTRADER_NAMES = tuple(sorted(CTRADER_PROFILES))
MARGIN_MODES = ("hedging", "netting")
PENDING_KINDS = ("buy_limit", "sell_limit", "buy_stop", "sell_stop")
# After the last action and the last fault: reconciliation runs every 2 s and a refused entry is
# retried after 15 s, so every copy has landed (or been refused, journaled) well within this.
QUIET_TAIL_S = 40.0
# The market path's scale: the generator keeps stops out of reach and puts "near" pending orders
# within reach, over this many seconds.
_HORIZON_S = 120.0
_YEAR_S = 365.0 * 86400.0
_MASTER_LOTS = (0.01, 0.02, 0.05, 0.1, 0.13, 0.2, 0.3, 0.37, 0.5, 1.0, 1.5)


@dataclass
class _Held:
    symbol: str
    volume: float
    pending: bool


@dataclass
class _Draft:
    rng: random.Random
    master_profile: str
    symbols: list[str]
    netting: bool = False  # a netting master holds one position per symbol and no pending orders
    timeline: list[dict] = field(default_factory=list)
    held: dict[str, _Held] = field(default_factory=dict)
    count: int = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"


def _everywhere(instrument: str) -> bool:
    return all(any(s.instrument == instrument for s in p.symbols) for p in MT5_PROFILES.values())


def _spec(profile: str, symbol: str) -> SymbolSpec:
    return PROFILES[profile].symbols_by_name[symbol]


def _sigma_points(spec: SymbolSpec) -> float:
    """How far the price wanders in one second, typically, in this symbol's points."""
    instrument = INSTRUMENTS[spec.instrument]
    per_second = instrument.annual_volatility * instrument.start_price / math.sqrt(_YEAR_S)
    return per_second / 10.0**-spec.digits


def _min_distance(spec: SymbolSpec) -> int:
    """Points every broker accepts between an order or stop and the market, with room to spare."""
    point = 10.0**-spec.digits
    widest = 0.0
    for profile in MT5_PROFILES.values():
        for other in profile.symbols:
            if other.instrument == spec.instrument:
                other_point = 10.0**-other.digits
                widest = max(widest, (other.stops_level + other.freeze_level + 10) * other_point)
    spread = INSTRUMENTS[spec.instrument].spread_points * 10.0**-INSTRUMENTS[spec.instrument].digits
    return math.ceil((2 * widest + 3 * spread) / point)


def _far(rng: random.Random, spec: SymbolSpec) -> int:
    """A stop distance the market will not reach within the scenario."""
    reach = _sigma_points(spec) * math.sqrt(_HORIZON_S)
    return int(_min_distance(spec) + reach * rng.uniform(8.0, 14.0))


def _near_distance(rng: random.Random, spec: SymbolSpec) -> int:
    """A distance from the market that it reaches within seconds now and then."""
    return max(5, spec.stops_level + spec.freeze_level) + int(_sigma_points(spec) * rng.uniform(0.5, 3.0))


def _lots(rng: random.Random, spec: SymbolSpec, choices=_MASTER_LOTS) -> float:
    steps = max(1, math.floor(rng.choice(choices) / spec.volume_step + 1e-9))
    lots = max(spec.volume_min, steps * spec.volume_step)
    return round(lots, 8)


# ----------------------------------------------------------------------------------- rules


def _rules(rng: random.Random, master_profile: str, slave_profile: str, symbols: list[str]) -> dict:
    if rng.random() < 0.15:
        sizing: dict = {"mode": "fixed_lot", "lots": rng.choice([0.01, 0.05, 0.1, 0.3])}
    else:
        sizing = {"mode": "lot_multiplier",
                  "multiplier": rng.choice([0.25, 0.5, 1.0, 1.0, 1.0, 1.5, 2.0, 0.37, 3.0])}
    if rng.random() < 0.3:
        sizing["rounding"] = "nearest"
    if rng.random() < 0.1:
        sizing["max_lot"] = rng.choice([0.2, 0.5, 1.0])
    if rng.random() < 0.1:
        sizing["min_lot"] = rng.choice([0.02, 0.1])
    rules: dict = {"sizing": sizing}
    if rng.random() < 0.7:
        # Lenient tolerances: outages and latency then still end in copies, which the oracle can
        # check volume by volume; strict ones end in refusals, which it checks for a reason.
        rules["tolerances"] = {"max_delay_ms": 600_000,
                               "max_price_deviation": {"value": 1_000_000, "unit": "point"}}
    elif symbols and rng.random() < 0.5:
        # Strict limits on one symbol, in any unit (pips on a non-pair must be a refusal that names
        # the setting): the other symbols copy within their asset classes' defaults.
        unit, value = rng.choice([("pip", rng.choice([0.5, 2.0, 10.0])), ("bp", rng.choice([0.5, 3.0, 20.0])),
                                  ("spread", rng.choice([1.0, 3.0])), ("point", rng.choice([0, 50, 5000]))])
        rules["tolerances"] = {"per_symbol": {rng.choice(symbols): {
            "max_price_deviation": {"value": value, "unit": unit},
            "max_delay_ms": rng.choice([1_000, 5_000, 30_000])}}}
    stops: dict = {}
    if rng.random() < 0.1:
        stops["mode"] = "none"
    if rng.random() < 0.1:
        stops["follow_modifications"] = False
    if stops:
        rules["stops"] = stops
    if rng.random() < 0.15:
        rules["copy_pending"] = False
    if rng.random() < 0.1:
        rules["copy_partial_closes"] = False
    if rng.random() < 0.5:
        # A master trade made while the copier was down is skipped by default (journaled); with
        # copy_existing it is copied at restart, which is what a crash mid-trade must survive.
        rules["copy_existing"] = True
    filters: dict = {}
    if rng.random() < 0.1:
        filters["reverse"] = True
    if rng.random() < 0.1:
        filters["direction"] = rng.choice(["long_only", "short_only"])
    if rng.random() < 0.1:
        filters["exclude_symbols"] = [rng.choice(symbols)]
    elif rng.random() < 0.05:
        filters["include_symbols"] = rng.sample(symbols, max(1, len(symbols) - 1))
    if filters:
        rules["filters"] = filters
    symbol_rules: dict = {}
    if rng.random() < 0.1:
        symbol_rules["per_symbol"] = {rng.choice(symbols): {"volume_multiplier": 2.0}}
    elif rng.random() < 0.05:
        symbol_rules["per_symbol"] = {rng.choice(symbols): {"enabled": False}}
    if rng.random() < 0.15:
        # An explicit alias to the slave broker's own name: the mapping's first rule.
        master_symbol = rng.choice(symbols)
        instrument = _spec(master_profile, master_symbol).instrument
        names = [s.name for s in PROFILES[slave_profile].symbols if s.instrument == instrument]
        if names:
            symbol_rules["aliases"] = {master_symbol: names[0]}
    if symbol_rules:
        rules["symbols"] = symbol_rules
    return rules


# ----------------------------------------------------------------------------------- timeline


def _open(d: _Draft, at: float, symbol: str | None = None, side: str | None = None) -> None:
    rng = d.rng
    if d.netting:
        held = {h.symbol for h in d.held.values()}
        free = [s for s in d.symbols if s not in held]
        if not free:
            return
        symbol = rng.choice(free)
    symbol = symbol or rng.choice(d.symbols)
    spec = _spec(d.master_profile, symbol)
    action = {"at": at, "action": "open", "id": d.name("p"), "symbol": symbol,
              "side": side or rng.choice(["buy", "sell"]), "volume": _lots(rng, spec)}
    if rng.random() < 0.5:
        action["sl_points"] = _far(rng, spec)
    if rng.random() < 0.4:
        action["tp_points"] = _far(rng, spec)
    if rng.random() < 0.1:
        # Within reach: the stop may be hit, at the master or first at a slave quoting a few
        # points apart, and the two must still end the same (or the slave journal why not).
        action[rng.choice(["sl_points", "tp_points"])] = _near_distance(rng, spec)
    d.timeline.append(action)
    d.held[action["id"]] = _Held(symbol, action["volume"], pending=False)


def _place(d: _Draft, at: float) -> None:
    rng = d.rng
    symbol = rng.choice(d.symbols)
    spec = _spec(d.master_profile, symbol)
    # Near: the market reaches it within seconds now and then, so orders fill mid-scenario. Only
    # the master's own levels bound it; a slave whose levels are wider refuses (journaled).
    offset = _near_distance(rng, spec) if rng.random() < 0.5 else _far(rng, spec)
    action = {"at": at, "action": "place_pending", "id": d.name("o"), "symbol": symbol,
              "kind": rng.choice(PENDING_KINDS), "volume": _lots(rng, spec), "offset_points": offset}
    if rng.random() < 0.4:
        action["sl_points"] = _far(rng, spec)
    if rng.random() < 0.3:
        action["tp_points"] = _far(rng, spec)
    if rng.random() < 0.15:
        action["expiration_s"] = rng.choice([5.0, 12.0, 25.0])
    d.timeline.append(action)
    d.held[action["id"]] = _Held(symbol, action["volume"], pending=True)


def _on_held(d: _Draft, at: float) -> float:
    """An action on something the master holds: modify, partial close, close, move, cancel.
    Returns the time of the last action it added."""
    rng = d.rng
    name = rng.choice(sorted(d.held))
    held = d.held[name]
    spec = _spec(d.master_profile, held.symbol)
    if held.pending:
        # Whether it filled is up to the market; a position action on a filled order acts on its
        # position, and on an unfilled one the master skips it (the report says so).
        choice = rng.choices(["move", "cancel", "close", "leave"], [3, 3, 2, 2])[0]
        if choice == "move":
            d.timeline.append({"at": at, "action": "modify_pending", "id": name,
                               "offset_points": _min_distance(spec)
                               + int(_sigma_points(spec) * rng.uniform(0.5, 20.0))})
        elif choice == "cancel":
            d.timeline.append({"at": at, "action": "cancel_pending", "id": name})
            del d.held[name]
        elif choice == "close":
            d.timeline.append({"at": at, "action": "close", "id": name})
            del d.held[name]
        return at
    spare = round(held.volume - spec.volume_min, 8)
    # A netting master's position can take the other side in one deal (a weight of 0 for a hedging
    # master leaves its scenarios as they were).
    choice = rng.choices(["modify", "storm", "partial", "close", "reverse"],
                         [3, 1, 3 if spare >= spec.volume_step else 0, 3, 2 if d.netting else 0])[0]
    if choice == "storm":
        # The trader drags a stop: many changes within a second, which the copier may coalesce
        # as long as each slave ends on the master's last stops.
        gap = rng.choice([0.001, 0.01, 0.05, 0.15])
        for i in range(rng.randint(3, 8)):
            last = round(at + i * gap, 3)
            d.timeline.append({"at": last, "action": "modify", "id": name, "sl_points": _far(rng, spec)})
        return last
    elif choice == "modify":
        action: dict = {"at": at, "action": "modify", "id": name}
        for key in ("sl_points", "tp_points"):
            if rng.random() < 0.6:
                action[key] = 0 if rng.random() < 0.2 else _far(rng, spec)
        if len(action) == 3:
            action["sl_points"] = _far(rng, spec)
        d.timeline.append(action)
    elif choice == "reverse":
        volume = rng.choice(_MASTER_LOTS)
        d.timeline.append({"at": at, "action": "reverse", "id": name, "volume": volume})
        held.volume = volume
    elif choice == "partial":
        steps = max(1, math.floor(spare / spec.volume_step + 1e-9))
        volume = round(rng.randint(1, steps) * spec.volume_step, 8)
        d.timeline.append({"at": at, "action": "partial_close", "id": name, "volume": volume})
        held.volume = round(held.volume - volume, 8)
    else:
        d.timeline.append({"at": at, "action": "close", "id": name})
        del d.held[name]
    return at


def _timeline(d: _Draft) -> None:
    rng = d.rng
    t = round(rng.uniform(1.0, 3.0), 3)
    for _ in range(rng.randint(4, 9)):
        together = rng.random() < 0.4
        for _ in range(rng.choice([1, 1, 2, 3])):
            kind = rng.choices(["open", "opposite", "place", "held"],
                               [4, 0 if d.netting else 1, 0 if d.netting else 2, 5 if d.held else 0])[0]
            if kind == "open":
                _open(d, t)
            elif kind == "opposite":
                # Simultaneous opposite opens on one symbol: a netting slave must net them.
                symbol = rng.choice(d.symbols)
                _open(d, t, symbol, "buy")
                _open(d, t, symbol, "sell")
            elif kind == "place":
                _place(d, t)
            else:
                t = _on_held(d, t)
            if not together:
                t = round(t + rng.choice([0.001, 0.01, 0.05, 0.3]), 3)
        t = round(t + rng.choice([0.0, 0.5, 1.0, 2.0, 4.0, 7.0]) + 0.2, 3)
        if rng.random() < 0.25:
            # A quiet spell: room for a checkpoint once everything in flight has settled.
            t = round(t + rng.uniform(SETTLE_S + 2.0, SETTLE_S + 8.0), 3)
    # Leave some trades open at the end: the final check then covers open and closed ones.
    for name in sorted(d.held):
        if rng.random() < 0.5:
            d.timeline.append({"at": t, "action": "close", "id": name})
            t = round(t + rng.choice([0.0, 0.5]), 3)


# ----------------------------------------------------------------------------------- scenario


def _account(account_id: str, role: str, broker: str, profile: str, margin_mode: str) -> dict:
    # Ample money and leverage: a "no money" refusal should come from an injected fault, where
    # the scenario says so, not from a drawn volume that happens to be large.
    jpy = PROFILES[profile].currency == "JPY"
    return {"id": account_id, "role": role, "broker": broker, "margin_mode": margin_mode,
            "balance": 30_000_000.0 if jpy else 250_000.0, "leverage": 500}


def generate(seed: int, *, ctrader: bool = True) -> dict:
    """The scenario for ``seed``, as plain data (what a scenario file holds); with ``ctrader``,
    some seeds also put a slave, or the master, at a simulated cTrader broker."""
    rng = random.Random(f"copier_gui.campaign:{seed}")
    master_profile = rng.choice(PROFILE_NAMES)
    # The replay's master trader does not select a symbol hidden from Market Watch (EURJPY), and
    # the terminal quotes no tick for one; slaves still meet it when the copier maps to it.
    offered = [s for s in PROFILES[master_profile].symbols if s.selected]
    everywhere = [s.name for s in offered if _everywhere(s.instrument)]
    elsewhere = [s.name for s in offered if not _everywhere(s.instrument)]
    symbols = rng.sample(everywhere, rng.randint(2, 4))
    if elsewhere and rng.random() < 0.2:
        # An instrument some slave brokers do not offer: each of those must journal a refusal.
        symbols.append(rng.choice(elsewhere))
    brokers = {f"b-{p}": {"profile": p} for p in PROFILE_NAMES}
    # Drawn apart, so the hedging masters' scenarios stay what they were before netting ones came.
    netting = random.Random(f"copier_gui.campaign:{seed}:master").random() < 0.15
    accounts = [_account("master", "master", f"b-{master_profile}", master_profile,
                         "netting" if netting else "hedging")]
    slaves = []
    for i in range(rng.randint(2, 4)):
        profile = rng.choice(PROFILE_NAMES)
        mode = rng.choice(MARGIN_MODES)
        account = _account(f"s{i + 1}-{profile.split('_')[0]}-{mode[0]}", "slave", f"b-{profile}",
                           profile, mode)
        account["rules"] = _rules(rng, master_profile, profile, symbols)
        accounts.append(account)
        slaves.append(account["id"])
    draft = _Draft(rng, master_profile, symbols, netting=netting)
    _timeline(draft)
    times = sorted({a["at"] for a in draft.timeline})
    trouble = faults(rng, times, slaves, "master", times[-1])
    timeline = draft.timeline + switches(rng, times, slaves, "master", times[-1])
    ends = [end for _, end in busy_spans(timeline, trouble) if end != math.inf]
    if ctrader:
        master_profile = _with_ctrader(random.Random(f"copier_gui.campaign:{seed}:ctrader"), master_profile,
                                       symbols, accounts, slaves, draft.timeline, timeline, trouble, brokers)
        ends = [end for _, end in busy_spans(timeline, trouble) if end != math.inf]
    used = {account["broker"] for account in accounts}
    crashes = sum(f["kind"] == "copier_crash" for f in trouble)
    description = (f"campaign seed {seed}: {'netting ' if netting else ''}master at {master_profile}, "
                   f"{len(slaves)} slaves, {len(timeline)} actions, {crashes} crashes")
    return {
        "description": description,
        "seed": seed,
        "duration_s": round(max(ends) + QUIET_TAIL_S, 3),
        "brokers": {name: b for name, b in brokers.items() if name in used},
        "accounts": accounts,
        "timeline": timeline,
        "faults": trouble,
        "checkpoints": checkpoints(timeline, trouble),
    }


def _moved(profile: str, master_profile: str, actions: list[dict], symbols: list[str]) -> dict[str, str] | None:
    """The master's symbols (those it trades and those the slaves' rules name) renamed to
    ``profile``'s symbols of the same instruments, with the actions' volumes rounded to that
    broker's steps in place; None (nothing changed) when the broker lacks an instrument or a
    partial close would no longer leave anything open."""
    target = PROFILES[profile]
    by_instrument = {s.instrument: s for s in target.symbols if s.selected}
    names: dict[str, str] = {}
    for symbol in [*symbols, *(a["symbol"] for a in actions if "symbol" in a)]:
        if symbol not in names:
            theirs = by_instrument.get(_spec(master_profile, symbol).instrument)
            if theirs is None:
                return None
            names[symbol] = theirs.name
    opened = {a["id"]: names[a["symbol"]] for a in actions if "symbol" in a}
    moved = [dict(a) for a in actions]
    left: dict[str, float] = {}
    for action in moved:
        name = opened.get(action.get("id", ""))
        if name is None:
            continue
        spec = target.symbols_by_name[name]
        if "symbol" in action:
            action["symbol"] = name
        if "volume" in action:
            steps = max(1, round(action["volume"] / spec.volume_step))
            action["volume"] = round(max(spec.volume_min, steps * spec.volume_step), 8)
        if action["action"] in ("open", "place_pending"):
            left[action["id"]] = action["volume"]
        elif action["action"] == "partial_close":
            if action["volume"] >= left[action["id"]] - 1e-9:
                return None
            left[action["id"]] = round(left[action["id"]] - action["volume"], 8)
        elif action["action"] == "reverse":
            left[action["id"]] = action["volume"]
    actions[:] = moved
    return names


def _renamed(rules: dict, names: dict[str, str]) -> dict:
    """A slave's rules with every master symbol they name renamed as the master's were."""
    def name(symbol: str) -> str:
        return names.get(symbol, symbol)

    rules = {**rules}
    symbols = rules.get("symbols")
    if symbols:
        rules["symbols"] = {key: ({name(k): v for k, v in value.items()} if isinstance(value, dict) else value)
                            for key, value in symbols.items()}
    tolerances = rules.get("tolerances")
    if tolerances and "per_symbol" in tolerances:
        rules["tolerances"] = {**tolerances, "per_symbol": {name(k): v for k, v in tolerances["per_symbol"].items()}}
    filters = rules.get("filters")
    if filters:
        rules["filters"] = {k: ([name(x) for x in v] if k.endswith("_symbols") else v) for k, v in filters.items()}
    return rules


def _with_ctrader(rng: random.Random, master_profile: str, symbols: list[str], accounts: list[dict],
                  slaves: list[str], actions: list[dict], timeline: list[dict], trouble: list[dict],
                  brokers: dict) -> str:
    """Put cTrader accounts into a drawn scenario, from their own random stream: a cTrader slave
    with its own rules, outages and rejections in half the seeds, and the master moved to a cTrader
    broker in some seeds whose trades that broker can take as they are. Returns the master's profile."""
    for name in CTRADER_NAMES:
        brokers[f"b-{name}"] = {"profile": name}
    master = accounts[0]
    if rng.random() < 0.25:
        profile = rng.choice(CTRADER_NAMES)
        names = _moved(profile, master_profile, actions, symbols)
        if names is not None:
            master_profile = profile
            timeline[:len(actions)] = actions
            symbols[:] = [names.get(s, s) for s in symbols]
            for account in accounts[1:]:
                account["rules"] = _renamed(account["rules"], names)
            master["broker"] = f"b-{master_profile}"
            # The MT5 terminal's own switches do not exist at a cTrader master; its connection does.
            timeline[:] = [a for a in timeline if a.get("account") != "master" or "connection" in a["action"]]
    if rng.random() < 0.5:
        profile = rng.choice(CTRADER_NAMES)
        mode = rng.choice(MARGIN_MODES)
        account = _account(f"s{len(slaves) + 1}-{profile.split('_')[0]}-{mode[0]}", "slave", f"b-{profile}",
                           profile, mode)
        account["rules"] = _rules(rng, master_profile, profile, symbols)
        accounts.append(account)
        slaves.append(account["id"])
        times = sorted({a["at"] for a in actions})
        last = times[-1]
        if rng.random() < 0.4:
            trouble.append({"at": round(rng.uniform(0.0, last), 3), "kind": "disconnect", "account": account["id"],
                            "duration_ms": rng.choice([300, 1500, 5000, 12000])})
        if rng.random() < 0.3:
            trouble.append({"at": round(rng.uniform(0.0, last), 3), "kind": "latency", "account": account["id"],
                            "median_ms": rng.choice([30, 100, 300]), "duration_ms": rng.choice([2000, 5000])})
        if rng.random() < 0.3:
            trouble.append({"at": round(max(0.0, rng.choice(times) - 0.001), 3), "kind": "reject",
                            "account": account["id"], "retcode": rng.choice(INJECTABLE_REJECTIONS),
                            "count": rng.randint(1, 3)})
        if rng.random() < 0.15:
            at = round(rng.choice(times) + rng.choice([-0.5, 0.002, 0.5]), 3)
            timeline.append({"at": max(0.0, at), "action": "connection_lost", "account": account["id"]})
            timeline.append({"at": round(max(0.0, at) + rng.choice([1.5, 4.0, 10.0]), 3),
                             "action": "connection_restored", "account": account["id"]})
    return master_profile


def scenario(seed: int) -> Scenario:
    return parse_scenario(generate(seed), source=f"campaign seed {seed}")
