"""What excuses a difference: the reasons the copier journaled, and the switches the scenario
left off.

A reason is a refusal or a failure for one slave naming one master ticket, whether it reached
listeners (the report's refusals and failures) or only the journal, where the ticket is in the
copy ID or, for entries without one, in the notice sent with it.
"""

from __future__ import annotations

import re
from collections import defaultdict

from copier_gui.replay.scenario import (
    AutoTradingOffAction,
    AutoTradingOnAction,
    ConnectionLostAction,
    ConnectionRestoredAction,
    PythonApiOffAction,
    PythonApiOnAction,
    Scenario,
)

_REASON_KINDS = ("refusal", "error")
# A journaled broker answer is a reason unless it carried the request out.
_DONE_RESULTS = ("filled", "partial", "placed")


def _ticket_in(copy_id: str | None) -> int | None:
    """The master ticket a copy ID names (account:ticket:slave:leg), or None."""
    parts = (copy_id or "").split(":")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None


_NAMES_MASTER = re.compile(r"\(master #(\d+)\)$")


def _notice_tickets(report: dict) -> dict[tuple[str, float, str], list[int]]:
    """Journal entries that carry their master ticket only in their data (not in a copy ID) are
    told to listeners too, as "<the same text> (master #T)"; those notices name the ticket."""
    out: dict[tuple[str, float, str], list[int]] = defaultdict(list)
    for e in report.get("events", ()):
        found = _NAMES_MASTER.search(e.get("text", ""))
        if found:
            text = e["text"][:found.start()].rstrip()
            out[(e["account"], round(float(e["at_s"]), 6), text)].append(int(found.group(1)))
    return out


def journaled_requests(report: dict) -> dict[tuple[str, int], float] | None:
    """(slave, master ticket) pairs the copier journaled a request for, with the first one's time;
    None for a report without a journal."""
    if "journal" not in report:
        return None
    out: dict[tuple[str, int], float] = {}
    for e in report["journal"]:
        ticket = _ticket_in(e.get("copy_id")) if e.get("kind") == "request" else None
        if ticket:
            out.setdefault((e["account"], ticket), float(e["at_s"]))
    return out


# A copy's stops moved so the slave's broker takes them (too close to its market): the request
# was carried out, and its answer says where the stops went instead, and why.
_STOPS_MOVED = re.compile(r"(stop loss|take profit) moved from")
# What docs/faults.md calls a wait: the copier names what blocks a copy or an exit and promises it
# once that changes. Such a reason holds only while the block lasts.
_WAITING = ("not copied yet", "not followed yet")
ANY, STOPS, WAITING = "any", "stops", "waiting"


def journaled_reasons(report: dict) -> dict[tuple[str, int], list[tuple[float, str]]]:
    """(slave, master ticket) -> when the copier gave a reason for it, and for what: ``ANY``
    difference (a refusal or a failure, told to its listeners or written to the journal under a
    copy ID), one ``WAITING`` on a block, or only the ``STOPS`` (stops it had to move), in order."""
    found: list[tuple[str, int | None, float, str]] = [
        (e["account"], e.get("master_ticket"), float(e.get("at_s", 0.0)), _what(e.get("reason", "")))
        for e in [*report.get("refusals", ()), *report.get("failures", ())]]
    named = _notice_tickets(report)
    for e in report.get("journal", ()):
        kind, text = e.get("kind"), str(e.get("text", ""))
        if kind in _REASON_KINDS or (kind == "result" and not text.startswith(_DONE_RESULTS)):
            what = _what(text)
        elif kind == "result" and _STOPS_MOVED.search(text):
            what = STOPS
        else:
            continue
        ticket = e.get("master_ticket") or _ticket_in(e.get("copy_id"))
        at_s = float(e["at_s"])
        for t in [ticket] if ticket else named.get((e["account"], round(at_s, 6), text), ()):
            found.append((e["account"], t, at_s, what))
    out: dict[tuple[str, int], list[tuple[float, str]]] = defaultdict(list)
    for account, ticket, at_s, what in found:
        if ticket:
            out[(account, ticket)].append((at_s, what))
    return {key: sorted(reasons) for key, reasons in out.items()}


def _what(text: str) -> str:
    return WAITING if text.startswith(_WAITING) else ANY


_MASTER_EVENT = re.compile(r"#(\d+) (\w+)")


def master_changes(report: dict) -> dict[int, list[tuple[float, str]]]:
    """Master ticket -> (when the copier saw it change, what changed), from the journal: a reason
    for a difference must come after the change that made it."""
    out: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for e in report.get("journal", ()):
        found = _MASTER_EVENT.search(str(e.get("text", ""))) if e.get("kind") == "master_event" else None
        if found:
            out[int(found.group(1))].append((float(e["at_s"]), found.group(2)))
    return dict(out)


_SWITCHES = {
    AutoTradingOffAction: ("AutoTrading", False), AutoTradingOnAction: ("AutoTrading", True),
    ConnectionLostAction: ("connection", False), ConnectionRestoredAction: ("connection", True),
    PythonApiOffAction: ("trading from Python", False), PythonApiOnAction: ("trading from Python", True),
}


def switched_off(scenario: Scenario, until: float) -> dict[str, dict[str, float]]:
    """Accounts whose terminal the scenario has switched off (and not back on) by ``until``:
    account -> {what: since when}. Such a slave cannot close anything, so an orphan there is a
    difference like any other: it needs a journaled reason rather than being impossible."""
    state: dict[tuple[str, str], float | None] = {}
    for _, action in scenario.ordered_timeline():
        lever = _SWITCHES.get(type(action))
        if lever is None or action.at > until:
            continue
        name, on = lever
        state[(action.account, name)] = None if on else action.at
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for (account, name), since in sorted(state.items()):
        if since is not None:
            out[account][name] = since
    return dict(out)


def said_after(report: dict, account: str, since: float, until: float) -> bool:
    """Whether the copier journaled a change of the account's state in [since, until]."""
    entries = report.get("journal") or [{**e, "kind": "state"} for e in report.get("events", ())]
    return any(e["account"] == account and e.get("kind") == "state" and since <= e["at_s"] <= until
               for e in entries)


# The copier's word when a netting slave's position changed on its own (its stop or target hit, a
# stop-out, a manual trade): "<symbol> at <slave> changed outside the copier ...".
_CHANGED_OUTSIDE = re.compile(r"^(\S+) at (\S+) changed outside the copier")


def slave_changes(report: dict) -> dict[tuple[str, str], list[float]]:
    """(slave, symbol) -> when the copier found the slave's position on it changed on its own."""
    out: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in report.get("journal", ()):
        found = _CHANGED_OUTSIDE.match(str(e.get("text", ""))) if e.get("kind") == "correction" else None
        if found and found.group(2) == e.get("account"):
            out[(e["account"], found.group(1))].append(float(e["at_s"]))
    return dict(out)


def closed_at_slave(report: dict) -> dict[tuple[str, int], list[float]]:
    """(slave, master ticket) -> when the copier found that copy closed at the slave on its own (its
    stop or target hit there, a stop-out), which it learns at its next look at that slave."""
    out: dict[tuple[str, int], list[float]] = defaultdict(list)
    for e in report.get("refusals", ()):
        if e.get("master_ticket") and "closed at the slave" in str(e.get("reason", "")):
            out[(e["account"], e["master_ticket"])].append(float(e.get("at_s", 0.0)))
    return dict(out)
