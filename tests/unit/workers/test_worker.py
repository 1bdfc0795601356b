"""The worker's loop in this process, over an in-memory channel: requests, pushes, polling, refusals."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from copier_gui.core.model import ClosePosition, OpenPosition, Side
from copier_gui.sim import new_terminal
from copier_gui.workers import protocol
from copier_gui.workers.config import BridgeTerminal, SimTerminal, WorkerConfig
from copier_gui.workers.worker import Worker
from tests.kit.workers import channel_pair


class Harness:
    def __init__(self, *, config: WorkerConfig | None = None, api=None) -> None:
        self.config = config or WorkerConfig("w1", SimTerminal("meridian_ecn", seed=4), poll_idle_s=0.02,
                                             heartbeat_s=0.05, price_push_s=60.0)
        self.api = api if api is not None else new_terminal("meridian_ecn", seed=4, login=11)
        self.core, worker_end = channel_pair()
        self.worker = Worker(worker_end, self.config, api=self.api)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)
        self.messages: list[protocol.Message] = []
        self._ids = iter(range(1, 10_000))

    def __enter__(self) -> Harness:
        self.thread.start()
        self.expect("hello")
        return self

    def __exit__(self, *exc) -> None:
        self.core.send(protocol.encode("shutdown"))
        self.thread.join(5)
        assert not self.thread.is_alive()

    def next(self, timeout: float = 5.0) -> protocol.Message:
        data = self.core.recv(timeout)
        assert data is not None, "the worker sent nothing"
        message = protocol.decode(data)
        self.messages.append(message)
        return message

    def expect(self, kind: str, timeout: float = 5.0, **match) -> protocol.Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.next(deadline - time.monotonic())
            if message.kind == kind and all(message.get(k) == v for k, v in match.items()):
                return message
        raise AssertionError(f"no {kind} message {match}")

    def call(self, op: str, **args) -> protocol.Message:
        request_id = next(self._ids)
        self.core.send(protocol.encode("request", id=request_id, op=op, args=args))
        return self.expect("reply", id=request_id)


def test_connect_pushes_a_full_snapshot_before_the_reply():
    with Harness() as h:
        reply = h.call("connect")
        assert reply["ok"], reply.body
        assert reply["result"]["account"]["login"] == 11
        assert reply["result"]["capabilities"]["position_model"] == "hedging"
        kinds = [m.kind for m in h.messages]
        first_push = next(m for m in h.messages if m.kind == "snapshot")
        assert first_push["base"] is None and kinds.index("snapshot") < kinds.index("reply")
        states = [m["state"] for m in h.messages if m.kind == "state"]
        assert states[:2] == ["connecting", "connected"]


def test_a_trade_is_in_the_snapshot_pushed_before_its_reply():
    with Harness() as h:
        h.call("connect")
        request = protocol.dataclass_to_wire(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1"))
        h.messages.clear()
        reply = h.call("open", request=request)
        assert reply["ok"] and reply["result"]["status"] == "filled", reply.body
        pushes = [m for m in h.messages if m.kind == "snapshot"]
        assert pushes and pushes[-1]["pos"][0][2] == "BTCUSD"
        assert pushes[-1]["base"] == pushes[-1]["seq"] - 1


def test_a_filled_trade_s_reply_carries_its_position_s_deals():
    # The copier journals each copy's deals as the broker booked them; read in the same turn as the
    # trade, they spare it a round trip to the worker per copy (two more hops over the bus).
    with Harness() as h:
        h.call("connect")
        request = protocol.dataclass_to_wire(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1"))
        opened = h.call("open", request=request)["result"]
        position = opened["order"]  # a hedging account's position id is the order that opened it
        assert [(d["comment"], d["side"], d["position_id"]) for d in opened["deals"]] == [("cg:1", "buy", position)]
        assert opened["deals"] == h.call("position_deals", position=position)["result"]
        close = protocol.dataclass_to_wire(ClosePosition(position, "BTCUSD", Side.BUY, 0.1, 5, "cg:1"))
        closed = h.call("close", request=close)["result"]
        assert [d["side"] for d in closed["deals"]] == ["buy", "sell"]
        assert {d["position_id"] for d in closed["deals"]} == {position}
        # A refused trade made no deal, and carries none.
        refused = h.call("open", request={**request, "symbol": "NOSUCH"})["result"]
        assert refused["status"] != "filled" and refused["deals"] is None


def test_the_deals_since_a_moment_show_a_position_opened_and_closed_there():
    # What a copier reads after a time it did not watch the master: the trades it never saw.
    with Harness() as h:
        h.call("connect")
        request = protocol.dataclass_to_wire(OpenPosition("BTCUSD", Side.SELL, 0.2, 0.0, 0.0, 5, ""))
        position = h.call("open", request=request)["result"]["order"]
        close = protocol.dataclass_to_wire(ClosePosition(position, "BTCUSD", Side.SELL, 0.2, 5, ""))
        h.call("close", request=close)
        deals = h.call("deals_since", since_msc=0)["result"]
        assert [(d["side"], d["volume"], d["symbol"], d["position_id"]) for d in deals] == [
            ("sell", 0.2, "BTCUSD", position), ("buy", 0.2, "BTCUSD", position)]
        assert h.call("deals_since", since_msc=deals[-1]["time_msc"] + 1)["result"] == []
        for bad in ({}, {"since_msc": "yesterday"}, {"since_msc": -1}):
            reply = h.call("deals_since", **bad)
            assert not reply["ok"] and "since_msc" in reply["error"]["message"], bad


def test_changes_made_outside_the_copier_are_pushed_by_polling():
    with Harness() as h:
        h.call("connect")
        tick = h.api.symbol_info_tick("BTCUSD")
        result = h.api.order_send({"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": 0, "price": tick.ask,
                                   "type_filling": 1})
        assert result.retcode == 10009
        push = h.expect("snapshot", timeout=2.0)
        assert [row[0] for row in push["pos"]] == [result.order]
        # Then the position goes, and only its ticket travels.
        h.api.order_send({"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": 1, "position": result.order,
                          "price": h.api.symbol_info_tick("BTCUSD").bid, "type_filling": 1})
        gone = h.expect("snapshot", timeout=2.0)
        assert gone["gone_pos"] == [result.order] and gone["pos"] == []


def test_heartbeats_confirm_the_last_poll():
    with Harness() as h:
        h.call("connect")
        first = h.expect("heartbeat")
        second = h.expect("heartbeat")
        assert second["polled"] > first["polled"] and second["busy"] is None


def test_unknown_and_malformed_requests_are_answered_or_dropped_never_fatal(caplog):
    caplog.set_level(logging.WARNING)
    with Harness() as h:
        reply = h.call("launch_rocket")
        assert not reply["ok"] and "unknown request" in reply["error"]["message"]
        h.core.send(b"\x00garbage")
        h.core.send(json.dumps({"v": 1, "kind": "hello", "account": "x", "pid": 1, "mono": 0, "api": "x"}).encode())
        reply = h.call("open", request={"symbol": "EURUSD"})
        assert not reply["ok"] and reply["error"]["type"] == "protocol"
        assert h.call("ping")["ok"]  # still serving
    text = caplog.text
    assert "dropped a malformed message" in text and "dropped a hello message" in text


def test_simulator_levers_are_refused_for_other_terminals():
    config = WorkerConfig("w2", BridgeTerminal(port=1), heartbeat_s=0.05)
    with Harness(config=config) as h:
        reply = h.call("sim", lever="set_algo_trading", args=[False])
        assert not reply["ok"] and "not a simulated terminal" in reply["error"]["message"]


def test_algo_trading_off_is_reported_naming_the_button_and_the_terminal():
    buy = protocol.dataclass_to_wire(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1"))
    with Harness() as h:
        h.call("connect")
        assert h.call("sim", lever="set_algo_trading", args=[False])["ok"]
        state = h.expect("state", state="degraded", timeout=3.0)
        assert "press the 'Algo Trading' button" in state["detail"]
        assert "'Meridian Markets Ltd MetaTrader 5' (account 11)" in state["detail"]
        report = h.call("open", request=buy)["result"]
        # Switched off at the account, not refused by the broker: the copier watches, not retries.
        assert report["retcode"] == 10027 and report["status"] == "disabled"
        assert "press the 'Algo Trading' button" in report["message"]
        assert "'Meridian Markets Ltd MetaTrader 5' (account 11)" in report["message"]
        # The other switch: the terminal refuses the Python API altogether (-8).
        assert h.call("sim", lever="set_algo_trading", args=[True])["ok"]
        assert h.call("sim", lever="set_tradeapi_disabled", args=[True])["ok"]
        report = h.call("open", request=buy)["result"]
        assert report["retcode"] == -8
        assert "untick 'Disable automatic trading via external Python API'" in report["message"]


def test_a_failing_terminal_is_reported_and_polling_goes_on():
    with Harness() as h:
        h.call("connect")
        h.api.sim.disconnect(0.3)
        state = h.expect("state", state="disconnected", timeout=3.0)
        assert "-10004" in state["detail"] or "connect" in state["detail"]
        reply = h.call("snapshot")
        assert not reply["ok"] and reply["error"]["type"] == "connector"
        time.sleep(0.35)
        assert h.call("connect")["ok"]


def test_the_simulated_accounts_own_trader_can_read_and_trade_it():
    with Harness() as h:
        h.call("connect")
        tick = h.call("sim", lever="trader", args=["symbol_info_tick", "BTCUSD"])["result"]
        reply = h.call("sim", lever="trader", args=["order_send", {
            "action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": 0, "price": tick["ask"], "type_filling": 1}])
        assert reply["result"]["retcode"] == 10009
        assert reply["result"]["request"]["symbol"] == "BTCUSD"  # nested structs arrive as plain data
        push = h.expect("snapshot", timeout=2.0)
        assert push["pos"]
        positions = h.call("sim", lever="trader", args=["positions_get"])["result"]
        assert [p["symbol"] for p in positions] == ["BTCUSD"]


@pytest.mark.parametrize("args", [["shutdown"], ["initialize"], ["login", 1, "x", "y"], ["__class__"], []])
def test_the_own_trader_reaches_only_the_trading_functions(args):
    with Harness() as h:
        h.call("connect")
        reply = h.call("sim", lever="trader", args=args)
        assert not reply["ok"] and reply["error"]["type"] == "protocol"
        assert h.call("snapshot")["ok"], "the session is still up"


def test_a_secret_the_worker_read_is_scrubbed_from_everything_it_sends():
    with Harness() as h:
        h.worker._scrub.add('p"ss wörd')
        h.worker.send("log", level=30, logger="x", message='bridge said: bad password p"ss wörd')
        message = h.expect("log")
        assert message["message"] == "bridge said: bad password ***"


def test_polling_is_fast_after_a_change_then_backs_off_to_idle_and_rest():
    config = WorkerConfig("w3", SimTerminal("meridian_ecn"), poll_fast_s=0.002, poll_idle_s=0.05,
                          poll_rest_s=1.0, rest_after_s=10.0)
    worker = Worker(channel_pair()[1], config, api=new_terminal("meridian_ecn"))
    worker._active(100.0)
    steps = [round(worker._interval(100.0 + i * 0.01), 3) for i in range(8)]
    assert steps == [0.002, 0.004, 0.008, 0.016, 0.032, 0.05, 0.05, 0.05]
    assert worker._interval(111.0) == 1.0  # quiet for longer than rest_after_s
    worker._active(111.0)
    assert worker._interval(111.0) == 0.002


class _SlowTerminal:
    """A simulated terminal whose position reads can be made to hang, as a real one's sometimes do."""

    def __init__(self, api) -> None:
        self._api = api
        self.hang_s = 0.0
        self.send_hang_s = 0.0
        self.reads: list[float] = []

    def positions_get(self, *args, **kwargs):
        self.reads.append(time.monotonic())
        if self.hang_s:
            time.sleep(self.hang_s)
        return self._api.positions_get(*args, **kwargs)

    def order_send(self, request):
        if self.send_hang_s:
            time.sleep(self.send_hang_s)
        return self._api.order_send(request)

    def __getattr__(self, name):
        return getattr(self._api, name)


class _ThreadRecordingChannel:
    """The worker's end of a channel, noting which thread sends each message and each wait."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.sent: list[tuple[str, str]] = []  # (kind, thread name)
        self.waits: list[float | None] = []

    def send(self, data: bytes) -> None:
        self.sent.append((protocol.decode(data).kind, threading.current_thread().name))
        self._inner.send(data)

    def recv(self, timeout: float | None = None) -> bytes | None:
        self.waits.append(timeout)
        return self._inner.recv(timeout)

    def close(self) -> None:
        self._inner.close()


def test_a_resting_worker_wakes_once_per_heartbeat_to_beat_and_poll():
    # Every wake-up of an idle process costs CPU (its caches are cold), and fifty resting workers
    # add up: the resting poll rides on the loop's own heartbeat instead of a thread of its own.
    config = WorkerConfig("w4", SimTerminal("meridian_ecn", seed=4), poll_idle_s=0.05, poll_rest_s=0.2,
                          rest_after_s=0.0, heartbeat_s=0.2, health_check_s=0.2)
    core, worker_end = channel_pair()
    channel = _ThreadRecordingChannel(worker_end)
    worker = Worker(channel, config, api=new_terminal("meridian_ecn", seed=4, login=11))
    thread = threading.Thread(target=worker.run, name="worker-loop", daemon=True)
    thread.start()
    try:
        core.send(protocol.encode("request", id=1, op="connect", args={}))
        time.sleep(0.5)  # resting from the start (rest_after_s=0)
        sent, waits = len(channel.sent), len(channel.waits)
        time.sleep(2.0)
        beats = [name for kind, name in channel.sent[sent:] if kind == "heartbeat"]
        wakes = len(channel.waits) - waits
    finally:
        core.send(protocol.encode("shutdown"))
        thread.join(5)
    assert 7 <= len(beats) <= 13, beats
    assert set(beats) == {"worker-loop"}, "the loop beats when it is free, no other thread wakes for it"
    assert wakes <= len(beats) + 2, f"{wakes} wake-ups for {len(beats)} heartbeats: poll and beat apart"


def test_polls_share_the_heartbeats_wake_ups_but_keep_their_own_pace():
    # Resting at twice the heartbeat: every other beat polls, never each one; active again after
    # a trade, at the fast pace at once, however the heartbeat falls.
    api = _SlowTerminal(new_terminal("meridian_ecn", seed=4, login=11))
    config = WorkerConfig("w6", SimTerminal("meridian_ecn", seed=4), poll_fast_s=0.01, poll_idle_s=0.04,
                          poll_rest_s=0.4, rest_after_s=0.3, heartbeat_s=0.2)
    with Harness(config=config, api=api) as h:
        h.call("connect")
        time.sleep(0.6)  # resting now
        start = len(api.reads)
        time.sleep(2.0)
        resting = api.reads[start:]
        assert 4 <= len(resting) <= 6, resting
        gaps = [b - a for a, b in zip(resting, resting[1:], strict=False)]
        assert min(gaps) > 0.3, gaps
        buy = protocol.dataclass_to_wire(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1"))
        assert h.call("open", request=buy)["ok"]  # a trade is activity: polling is fast again
        woke = len(api.reads)
        time.sleep(0.1)
        assert len(api.reads) - woke >= 3, "fast polls right after the trade"


def test_a_master_that_never_rests_sees_a_trade_within_its_poll_interval_not_its_heartbeat():
    config = WorkerConfig("w7", SimTerminal("meridian_ecn", seed=4), poll_idle_s=0.1, heartbeat_s=1.0,
                          price_push_s=60.0)
    with Harness(config=config) as h:
        h.call("connect")
        time.sleep(0.5)  # idle: polling every 0.1 s, beating every second
        for side in (0, 1):
            tick = h.api.symbol_info_tick("BTCUSD")
            placed = time.monotonic()
            result = h.api.order_send({"action": 1, "symbol": "BTCUSD", "volume": 0.1, "type": side,
                                       "price": tick.ask if side == 0 else tick.bid, "type_filling": 1})
            assert result.retcode == 10009
            h.expect("snapshot", timeout=1.0)
            assert time.monotonic() - placed < 0.3, "seen at a poll, not held back for a heartbeat"
            time.sleep(0.5)


def test_a_worker_stuck_in_a_terminal_call_still_beats_naming_the_call():
    api = _SlowTerminal(new_terminal("meridian_ecn", seed=4, login=11))
    config = WorkerConfig("w5", SimTerminal("meridian_ecn", seed=4), poll_idle_s=0.02, heartbeat_s=0.05)
    with Harness(config=config, api=api) as h:
        h.call("connect")
        api.hang_s = 0.6
        # Soon after the call hangs (the core gives a silent worker five heartbeats), a beat that
        # says why, and more while it lasts.
        beat = h.expect("heartbeat", timeout=0.4, busy="poll")
        later = h.expect("heartbeat", timeout=0.2, busy="poll")
        assert later["busy_for"] > beat["busy_for"]
        api.hang_s = 0.0


def test_while_a_request_runs_heartbeats_keep_the_heartbeats_pace():
    # A trade at a slow broker can take seconds; the core hears about it every heartbeat from the
    # start, not only once the watchdog's longer resting wait (2.5 beats) runs out.
    api = _SlowTerminal(new_terminal("meridian_ecn", seed=4, login=11))
    config = WorkerConfig("w9", SimTerminal("meridian_ecn", seed=4), poll_idle_s=0.05, poll_rest_s=0.3,
                          rest_after_s=0.0, heartbeat_s=0.3)
    buy = protocol.dataclass_to_wire(OpenPosition("BTCUSD", Side.BUY, 0.1, 0.0, 0.0, 5, "cg:1"))
    with Harness(config=config, api=api) as h:
        h.call("connect")
        time.sleep(0.7)  # resting
        api.send_hang_s = 1.5
        h.messages.clear()
        sent = time.monotonic()  # the worker runs in this process, on the same clock
        assert h.call("open", request=buy)["ok"]
        busy = [b["mono"] for b in h.messages if b.kind == "heartbeat" and b["busy"] == "open"]
        assert len(busy) >= 3, h.messages
        # The loop beat at most a heartbeat before the trade; the next beat is due a heartbeat
        # after that one, not 2.5.
        assert busy[0] - sent < 0.4, busy[0] - sent
        assert max(b - a for a, b in zip(busy, busy[1:], strict=False)) < 0.45


def test_after_a_long_request_the_core_hears_the_worker_is_free_before_the_reply():
    # Otherwise the core, reading the reply, still holds a heartbeat saying "busy for 0.3 s" and
    # asks the worker for the snapshot it has just been pushed.
    api = _SlowTerminal(new_terminal("meridian_ecn", seed=4, login=11))
    config = WorkerConfig("w8", SimTerminal("meridian_ecn", seed=4), poll_idle_s=0.02, heartbeat_s=0.05)
    with Harness(config=config, api=api) as h:
        h.call("connect")
        api.hang_s = 0.3
        h.messages.clear()
        reply = h.call("snapshot")
        api.hang_s = 0.0
        assert reply["ok"]
        beats = [m for m in h.messages if m.kind == "heartbeat"]
        assert any(b["busy"] for b in beats), "the watchdog beat while the read hung"
        assert beats[-1]["busy"] is None


def test_a_worker_without_a_session_still_beats():
    with Harness() as h:
        first = h.expect("heartbeat", timeout=0.5)
        second = h.expect("heartbeat", timeout=0.5)
        assert second["mono"] > first["mono"] and first["polled"] is None


def test_the_worker_serves_every_operation_the_protocol_names_and_no_other():
    with Harness() as h:
        assert set(h.worker._ops) == set(protocol.OPS)
