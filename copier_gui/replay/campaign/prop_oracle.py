"""Judges a prop campaign run on the brokers' own figures, with its own arithmetic: nothing here
reads the copier's limits code. A firm's rule once reached is a breach for the rest of its day (the
daily loss) or for good (the maximum loss), so:

- a limit the account's equity clearly reached is announced within a pass or two (a copier that is
  down announces it when it is back);
- no limit is announced that the equity was clearly short of;
- after a breach no entry is copied to that account: until the firm's next reset for the daily loss,
  for the rest of the run for the maximum loss; under ``flatten`` the account holds no copy either;
- exits are never blocked: when the run ends no slave holds a copy (the master closed everything),
  and no master trade was opened twice at a slave.

Deposits and withdrawals are not trading: a day's baseline moves with each, a trailing high leaves
them out, and a floor stays where it is (a withdrawal brings the equity nearer to it).

"Clearly" is a margin (``TOLERANCE``) around each limit: the account is read at checkpoints two
seconds apart, the copier at every pass, and the market walks a little in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from copier_gui.replay.campaign.prop_generator import CHECKPOINT_EVERY_S, reset_instants

TOLERANCE = 60.0  # account currency: the market's walk between two readings, and then some
# How late an announcement may come after the checkpoint that showed the breach: the copier
# measures at each pass (on a master change, else every 2 s), and a checkpoint is 2 s apart.
GRACE_S = 4.5
DAILY, MAX = "daily loss", "max loss"


@dataclass(frozen=True)
class Violation:
    kind: str
    slave: str
    at_s: float
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} at {self.slave} ({self.at_s:g} s): {self.detail}"


def _announcements(report: dict, slave: str) -> dict[str, list[float]]:
    """When the copier said each limit was reached (its breach notices)."""
    out: dict[str, list[float]] = {DAILY: [], MAX: []}
    for r in report["refusals"]:
        if r["account"] != slave:
            continue
        if r["reason"].startswith("risk: daily loss "):
            out[DAILY].append(r["at_s"])
        elif r["reason"].startswith("risk: equity ") and "max-loss floor" in r["reason"]:
            out[MAX].append(r["at_s"])
    return out


def _down_spans(report: dict) -> list[tuple[float, float]]:
    """When the copier was not running (a crash to its restart)."""
    spans, down = [], None
    for e in report["events"]:
        if e["account"] != "copier":
            continue
        if e["text"].startswith("copier crashed") and down is None:
            down = e["at_s"]
        elif e["text"] == "copier restarted" and down is not None:
            spans.append((down, e["at_s"]))
            down = None
    if down is not None:
        spans.append((down, float("inf")))
    return spans


def _due_by(at: float, down: list[tuple[float, float]], disconnected: list[tuple[float, float]]) -> float:
    """The latest an announcement of a breach seen at ``at`` may come."""
    due = at + GRACE_S
    for lo, hi in sorted(down + disconnected):
        if lo <= due and hi >= at:
            due = max(due, hi + GRACE_S)
    return due


def judge(data: dict, report: dict) -> list[Violation]:
    start = _start(data)
    found: list[Violation] = []
    down = _down_spans(report)
    for account in data["accounts"]:
        if account["role"] != "slave":
            continue
        found += _judge_slave(data, report, account, start, down)
    found += _exits(report)
    return found


def _start(data: dict) -> float:
    import datetime as _dt

    return _dt.datetime.fromisoformat(data["start"]).timestamp()


def _judge_slave(data: dict, report: dict, account: dict, start: float, down) -> list[Violation]:
    slave = account["id"]
    prop = account["rules"]["risk"]["prop"]
    resets = [r - start for r in reset_instants(prop["reset"], start, start + data["duration_s"])]
    disconnected = [(f["at"], f["at"] + f["duration_ms"] / 1000) for f in data["faults"]
                    if f["kind"] == "disconnect" and f["account"] == slave]
    points = [(cp["at_s"], cp["accounts"][slave]["balance"], cp["accounts"][slave]["equity"])
              for cp in report["checkpoints"]]
    said = _announcements(report, slave)
    # (when, amount) of each balance operation the scenario made at this account.
    cash = [(a["at"], a["amount"] if a["action"] == "deposit" else -a["amount"]) for a in data["timeline"]
            if a.get("account") == slave and a["action"] in ("deposit", "withdraw")]

    def moved(lo: float, hi: float) -> float:
        """Net cash moved in [lo, hi). The copier reads an account's cash with its balance, so what
        it measures after a move already leaves the move out."""
        return sum(amount for at, amount in cash if lo <= at < hi)

    opens = [c["request_sent_at_s"] for c in report["copies"] if c["slave"] == slave and c["action"] == "open"]
    found: list[Violation] = []
    # (rule, first instant the oracle is sure of it, when the stop ends, flatten?)
    breaches: list[tuple[str, float, float, bool]] = []

    daily = prop.get("daily_loss")
    if daily is not None:
        day_starts = [0.0, *resets]
        for i, day_start in enumerate(day_starts):
            day_end = day_starts[i + 1] if i + 1 < len(day_starts) else float("inf")
            at_reset = next(((b, e) for t, b, e in points if t >= day_start), None)
            if day_start == 0.0:
                at_reset = (account.get("balance", 10_000.0),) * 2
            if at_reset is None:
                continue
            balance0, equity0 = at_reset
            base = {"balance": balance0, "equity": equity0, "higher": max(balance0, equity0)}[daily["baseline"]]
            limit = daily["amount"] if "amount" in daily else base * daily["percent"] / 100
            in_day = [(t, base + moved(day_start, t) - e) for t, _, e in points if day_start <= t < day_end]
            sure = next((t for t, loss in in_day if loss >= limit + TOLERANCE), None)
            told = [t for t in said[DAILY] if day_start <= t < day_end]
            found += _timely(slave, DAILY, sure, told, down, disconnected)
            if told:
                # The first notice of the day: the loss around it must have been near the limit.
                near = [loss for t, loss in in_day if _around(t, told[0])]
                if near and max(near) < limit - TOLERANCE:
                    found.append(Violation("false breach", slave, told[0], (
                        f"daily loss announced while the loss was at most {max(near):.2f} of {limit:.2f}")))
            first = min([t for t in (sure, *told[:1]) if t is not None], default=None)
            if first is not None:
                breaches.append((DAILY, first, day_end, daily["action"] == "flatten"))

    rule = prop.get("max_loss")
    if rule is not None:
        initial = rule["initial_balance"]
        high, floor_at, sure, near_at = initial, [], None, {}
        for t, _, equity in points:
            # The floor does not move for cash; the high follows the trading equity.
            if rule["mode"] == "trailing_intraday":
                high = max(high, equity - moved(0.0, t))
            floor = initial - rule["amount"] if rule["mode"] == "static" else high - rule["amount"]
            if rule["lock_at_initial"] and rule["mode"] != "static" and floor >= initial:
                floor = initial
            floor_at.append((t, floor, equity))
            near_at[t] = equity - floor
            if sure is None and equity <= floor - TOLERANCE:
                sure = t
        told = said[MAX]
        found += _timely(slave, MAX, sure, told, down, disconnected)
        if told:
            near = [gap for t, gap in near_at.items() if _around(t, told[0])]
            # The oracle's trailing high is at most the copier's (it reads less often): a floor the
            # copier put higher is allowed that much.
            slack = TOLERANCE + (max(0.0, max(e - moved(0.0, t) for t, _, e in points) - initial)
                                 if rule["mode"] == "trailing_intraday" else 0.0)
            if near and min(near) > slack:
                found.append(Violation("false breach", slave, told[0], (
                    f"maximum loss announced while the equity was {min(near):.2f} above the floor")))
        first = min([t for t in (sure, *told[:1]) if t is not None], default=None)
        if first is not None:
            breaches.append((MAX, first, float("inf"), rule["action"] == "flatten"))

    for what, first, until, flatten in breaches:
        late = [t for t in opens if first + GRACE_S < t < until]
        if late:
            found.append(Violation("entry after breach", slave, late[0], (
                f"{len(late)} entr(ies) copied after the {what} was reached at {first:g} s")))
        if flatten:
            due = _due_by(first, down, disconnected)
            kept = [cp["at_s"] for cp in report["checkpoints"]
                    if due < cp["at_s"] < until and any(p["tag"] for p in cp["accounts"][slave]["positions"])]
            if kept:
                found.append(Violation("held after flatten", slave, kept[0], (
                    f"copies still held after the {what} (flatten) was reached at {first:g} s")))
    return found


def _around(t: float, told: float) -> bool:
    """A checkpoint that may show what the copier saw when it spoke at ``told``: one a pass before,
    or the first after (the market may have jumped between two checkpoints)."""
    return told - GRACE_S <= t <= told + CHECKPOINT_EVERY_S + 0.01


def _timely(slave: str, what: str, sure: float | None, told: list[float], down, disconnected) -> list[Violation]:
    if sure is None:
        return []
    due = _due_by(sure, down, disconnected)
    if not any(t <= due for t in told):
        return [Violation("missed breach", slave, sure, (
            f"the {what} was clearly reached at {sure:g} s and not announced by {due:g} s"
            + (f" (first said at {told[0]:g} s)" if told else "")))]
    return []


def _exits(report: dict) -> list[Violation]:
    found = []
    for account, state in report["accounts"].items():
        if state["role"] != "slave":
            continue
        for p in state["positions"]:
            if p["tag"]:
                found.append(Violation("orphan", account, -1.0, f"{p['symbol']} {p['volume']} still held: {p['tag']}"))
    seen: dict[tuple[str, int], int] = {}
    for c in report["copies"]:
        if c["action"] == "open":
            key = (c["slave"], c["master_ticket"])
            seen[key] = seen.get(key, 0) + 1
    for (slave, ticket), n in seen.items():
        if n > 1:
            found.append(Violation("duplicate", slave, -1.0, f"master #{ticket} opened {n} times"))
    return found
