"""A master position opened and closed while no copier watched the master (it was not running, or had
lost the master) is in no snapshot, so no pass could copy it or journal why not: the copier reads
the master's deals when it looks again and journals it for every slave."""

from __future__ import annotations

import asyncio

from copier_gui.core.model import Deal, Side
from copier_gui.core.ports import ConnectorError
from copier_gui.core.round_trips import round_trips
from tests.kit.rig import Rig


def refusals(rig: Rig, slave: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for e in rig.journal.entries(account=slave, newest_first=False):
        if e.kind == "refusal":
            found.setdefault(e.data.get("master_ticket"), []).append(e.message)
    return found


def test_a_round_trip_made_while_the_copier_was_down_is_journaled_for_every_slave_once(tmp_path):
    rig = Rig(slaves=("harbor_fx", "summit_netting"), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        seen = rig.trade("EURUSD", 0, 0.3)
        await asyncio.sleep(0.3)
        rig.trade("EURUSD", 1, 0.3, position=seen)  # seen open, and closed while the copier runs
        await asyncio.sleep(0.3)
        copier.abandon()
        copier.copybook.close()
        unseen = rig.trade("GBPUSD", 1, 0.2)  # opened and closed while the copier is down
        rig.trade("GBPUSD", 0, 0.2, position=unseen)
        still_open = rig.trade("USDJPY", 0, 0.1)  # opened while down, open at restart: copied or refused
        second = rig.copier()
        await second.start()
        await asyncio.sleep(0.5)
        second.abandon()
        second.copybook.close()
        third = rig.copier()  # a restart before the next master trade names it no second time
        await third.start()
        await asyncio.sleep(0.5)
        third.abandon()
        return seen, unseen, still_open

    seen, unseen, still_open = rig.run(script)
    for slave in ("s0", "s1"):
        found = refusals(rig, slave)
        assert len(found.get(unseen, [])) == 1, found
        text = found[unseen][0]
        assert text.startswith(f"not copied: master #{unseen} (sell 0.2 GBPUSD) was opened and closed while the "
                               "copier was not running"), text
        assert "server time" in text
        assert seen not in found and still_open not in found, found
    infos = [e for e in rig.journal.entries(account="master") if e.kind == "info" and e.data.get("ticket") == unseen]
    assert len(infos) == 1 and "no slave copied it" in infos[0].message


def test_a_round_trip_made_while_the_master_was_out_of_reach_is_journaled_when_it_is_back(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.1)
        await asyncio.sleep(0.3)
        # The copier's link to the master fails; the trader's own platform still trades.
        looks = copier.master.snapshot
        cut = True

        async def snapshot():
            if cut:
                raise ConnectorError("the terminal is not running")
            return await looks()

        copier.master.snapshot = snapshot
        await asyncio.sleep(0.1)
        missed = rig.trade("GBPUSD", 0, 0.2)
        rig.trade("GBPUSD", 1, 0.2, position=missed)
        cut = False
        await asyncio.sleep(3.0)
        await copier.stop()
        return missed

    missed = rig.run(script)
    found = refusals(rig, "s0")
    assert [m.split(";")[0] for m in found.get(missed, [])] == [
        f"not copied: master #{missed} (buy 0.2 GBPUSD) was opened and closed while the copier could not reach "
        "the master"], found


def test_a_master_never_seen_before_has_no_round_trips_to_name(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")
    before = rig.trade("EURUSD", 0, 0.1)
    rig.trade("EURUSD", 1, 0.1, position=before)

    async def script():
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(0.3)
        await copier.stop()

    rig.run(script)
    assert before not in refusals(rig, "s0")


def test_round_trips_are_positions_whose_deals_sum_to_nothing():
    def deal(side, volume, msc, position, symbol="EURUSD"):
        return Deal("", side, volume, 1.1, 0.0, 0.0, 0.0, 0.0, msc, position, symbol)

    deals = [
        deal(Side.BUY, 0.1, 1_000, 7), deal(Side.BUY, 0.2, 1_500, 7), deal(Side.SELL, 0.3, 2_000, 7),  # 0.1+0.2-0.3
        deal(Side.SELL, 1.0, 1_200, 8),  # closes a position opened before: not a round trip
        deal(Side.SELL, 0.5, 1_300, 9), deal(Side.BUY, 0.2, 1_400, 9),  # partly closed, still open
        deal(Side.BUY, 1.0, 900, 10, "XAUUSD"), deal(Side.SELL, 2.0, 950, 10, "XAUUSD"),  # reversed on netting,
        deal(Side.BUY, 1.0, 990, 10, "XAUUSD"),  # then closed
        deal(Side.BUY, 0.1, 500, 0),  # a deal with no position (a balance operation's kind): ignored
    ]
    found = round_trips(deals)
    assert [(r.ticket, r.symbol, r.side, r.volume, r.opened_msc, r.closed_msc) for r in found] == [
        (10, "XAUUSD", Side.BUY, 1.0, 900, 990), (7, "EURUSD", Side.BUY, 0.3, 1_000, 2_000)]
    assert [r.describe() for r in found] == ["buy 1 XAUUSD, reversed to sell 1", "buy 0.3 EURUSD"]
    assert found[0].reversals == ((Side.SELL, 1.0),) and found[1].reversals == ()


def test_a_scalp_opened_and_closed_between_two_looks_at_the_master_is_journaled_for_every_slave(tmp_path):
    rig = Rig(slaves=("harbor_fx", "summit_netting"), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        seen = rig.trade("EURUSD", 0, 0.1)  # seen first: the copier knows this master's clock from it
        await asyncio.sleep(0.2)
        rig.trade("EURUSD", 1, 0.1, position=seen)
        await asyncio.sleep(0.2)
        # Opened and closed with no look at the master in between.
        scalp = rig.trade("GBPUSD", 1, 0.3)
        rig.trade("GBPUSD", 0, 0.3, position=scalp)
        await asyncio.sleep(copier.UNSEEN_LOOK_S + 3 * copier.reconcile_interval_s)
        await copier.stop()
        return seen, scalp

    seen, scalp = rig.run(script)
    for slave in ("s0", "s1"):
        found = refusals(rig, slave)
        assert [m.split(";")[0] for m in found.get(scalp, [])] == [
            f"not copied: master #{scalp} (sell 0.3 GBPUSD) was opened and closed between two of the copier's "
            "looks at the master"], found
        assert seen not in found


async def _place_and_cancel_pending(rig: Rig) -> None:
    """A buy limit placed, seen by the copier, and removed at the master: an order, never a position."""
    tick = rig.master.symbol_info_tick("EURUSD")
    placed = rig.master.order_send({"action": 5, "symbol": "EURUSD", "volume": 0.1, "type": 2,
                                    "price": round(tick.bid - 0.0100, 5), "type_time": 0, "type_filling": 2})
    assert placed.retcode == 10009, placed
    await asyncio.sleep(0.2)
    removed = rig.master.order_send({"action": 8, "order": placed.order})
    assert removed.retcode == 10009, removed


async def _round_trip_while_down(rig: Rig, copier) -> int:
    """The copier dies, the master opens and closes a position, and a copier starts again (and is
    left after its first look): the position's ticket."""
    copier.abandon()
    copier.copybook.close()
    unseen = rig.trade("GBPUSD", 1, 0.2)
    rig.trade("GBPUSD", 0, 0.2, position=unseen)
    second = rig.copier()
    await second.start()
    await asyncio.sleep(0.5)
    second.abandon()
    second.copybook.close()
    return unseen


def test_a_master_that_never_held_a_position_while_watched_still_has_its_downtime_round_trips_named(tmp_path):
    # The copier watched this master (it placed and cancelled a pending order, so its server clock is
    # known) but never saw it hold a position: what it did while the copier was down is still looked at.
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        await _place_and_cancel_pending(rig)
        await asyncio.sleep(3.0)  # a few heartbeats: how far the copier watched is on disk
        return await _round_trip_while_down(rig, copier)

    unseen = rig.run(script)
    assert [m.split(";")[0] for m in refusals(rig, "s0").get(unseen, [])] == [
        f"not copied: master #{unseen} (sell 0.2 GBPUSD) was opened and closed while the copier was not running"]


def test_a_scalp_on_a_master_that_never_held_a_position_while_watched_is_named_between_looks(tmp_path):
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        await _place_and_cancel_pending(rig)
        await asyncio.sleep(2.0)
        scalp = rig.trade("GBPUSD", 1, 0.3)  # opened and closed with no look at the master in between
        rig.trade("GBPUSD", 0, 0.3, position=scalp)
        await asyncio.sleep(copier.UNSEEN_LOOK_S + 3 * copier.reconcile_interval_s)
        await copier.stop()
        return scalp

    scalp = rig.run(script)
    assert [m.split(";")[0] for m in refusals(rig, "s0").get(scalp, [])] == [
        f"not copied: master #{scalp} (sell 0.3 GBPUSD) was opened and closed between two of the copier's "
        "looks at the master"]


def test_a_restart_that_cannot_date_the_master_s_trades_says_so_rather_than_looking_nowhere(tmp_path):
    # The master never traded while watched, so its server clock's offset from UTC is unknown and
    # the deals made while the copier was down cannot be told from older ones: that is journaled.
    rig = Rig(slaves=("harbor_fx",), copybook_path=tmp_path / "copies.sqlite3")

    async def script():
        copier = rig.copier()
        await copier.start()
        await asyncio.sleep(2.0)
        await _round_trip_while_down(rig, copier)

    rig.run(script)
    infos = [e.message for e in rig.journal.entries(account="master", newest_first=False) if e.kind == "info"
             and "cannot be looked for" in e.message]
    assert len(infos) == 2, infos  # one at each start
    assert "while the copier was not running" not in infos[0]  # the first run: nothing before it
    assert infos[1].startswith("master positions opened and closed while the copier was not running, or between "
                               "two of the copier's looks at the master cannot be looked for yet"), infos[1]
    assert "server clock" in infos[1]
