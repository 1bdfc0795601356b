"""The pure rules of translation and result mapping, case by case."""

from __future__ import annotations

import pytest

from copier_gui.connectors.mt5 import retcodes
from copier_gui.connectors.mt5.translate import (
    Refusal,
    choose_filling,
    fillings_of,
    fit_comment,
    fit_stops,
    normalize_volume,
    to_pending_order,
    widen_to_spreads,
)
from copier_gui.core.model import Execution, Filling, Status, SymbolSpec, TradeMode


def spec(*, vmin=0.01, step=0.01, vmax=500.0, stops=0, digits=5, fillings=frozenset({Filling.FOK}),
         execution=Execution.MARKET) -> SymbolSpec:
    return SymbolSpec(name="EURUSD", description="", digits=digits, point=10.0**-digits, contract_size=100_000.0,
                      volume_min=vmin, volume_step=step, volume_max=vmax, stops_level=stops, freeze_level=0,
                      fillings=fillings, execution=execution, trade_mode=TradeMode.FULL, currency_base="EUR",
                      currency_profit="USD", tick_size=10.0**-digits, tick_value=1.0)


@pytest.mark.parametrize(("text", "expected"), [
    ("", ""),
    (None, ""),
    ("x" * 27, "x" * 27),
    ("x" * 28, "x" * 27),
    ("\N{GRINNING FACE}" * 14, "\N{GRINNING FACE}" * 13),
    ("a" + "\N{GRINNING FACE}" * 14, "a" + "\N{GRINNING FACE}" * 13),
])
def test_fit_comment(text, expected):
    assert fit_comment(text) == expected
    assert len(fit_comment(text).encode("utf-16-le")) // 2 <= 27


@pytest.mark.parametrize(("volume", "s", "expected"), [
    (0.1 + 0.2, spec(step=0.1, vmin=0.1), 0.3),
    (1.0, spec(), 1.0),
    (0.07 * 3, spec(), 0.21),
    (500.0, spec(), 500.0),
    (3, spec(step=1.0, vmin=1.0), 3.0),
])
def test_normalize_volume_accepts_on_step_volumes(volume, s, expected):
    result = normalize_volume(volume, s)
    assert result == expected and type(result) is float


@pytest.mark.parametrize(("volume", "s", "problem"), [
    (0.015, spec(), "not a multiple of the lot step"),
    (0.105, spec(), "not a multiple of the lot step"),
    (0.005, spec(), "below the minimum"),
    (-0.01, spec(), "below the minimum"),
    (500.01, spec(), "above the maximum"),
])
def test_normalize_volume_refuses(volume, s, problem):
    with pytest.raises(Refusal) as caught:
        normalize_volume(volume, s)
    assert caught.value.retcode == 10014
    assert problem in caught.value.message
    assert "lot step 0.01, minimum 0.01, maximum 500" in caught.value.message


@pytest.mark.parametrize(("mode", "execution", "expected"), [
    (1, Execution.INSTANT, {Filling.FOK}),
    (2, Execution.MARKET, {Filling.IOC, Filling.RETURN}),
    (3, Execution.MARKET, {Filling.FOK, Filling.IOC, Filling.RETURN}),
    (0, Execution.MARKET, {Filling.RETURN}),
    (0, Execution.EXCHANGE, {Filling.RETURN}),
    (0, Execution.REQUEST, set()),
    (4, Execution.INSTANT, set()),  # BOC alone is for limit orders only
])
def test_fillings_of(mode, execution, expected):
    assert fillings_of(mode, execution) == expected


def test_choose_filling_prefers_fok_then_ioc_then_return():
    assert choose_filling(spec(fillings=frozenset(Filling))) is Filling.FOK
    assert choose_filling(spec(fillings=frozenset({Filling.IOC, Filling.RETURN}))) is Filling.IOC
    assert choose_filling(spec(fillings=frozenset({Filling.RETURN}))) is Filling.RETURN
    with pytest.raises(Refusal) as caught:
        choose_filling(spec(fillings=frozenset(), execution=Execution.REQUEST))
    assert caught.value.retcode == 10030


def test_fit_stops_leaves_legal_levels_alone_and_rounds():
    sl, tp, note = fit_stops(buy=True, reference=1.1, sl=1.09900000001, tp=1.1011, spec=spec(stops=10),
                             reference_name="the bid")
    assert (sl, tp, note) == (1.099, 1.1011, "")
    # Exactly at the minimum distance is allowed.
    sl, tp, note = fit_stops(buy=True, reference=1.1, sl=1.0999, tp=1.1001, spec=spec(stops=10),
                             reference_name="the bid")
    assert (sl, tp, note) == (1.0999, 1.1001, "")
    assert fit_stops(buy=False, reference=1.1, sl=0.0, tp=0.0, spec=spec(stops=10),
                     reference_name="the ask") == (0.0, 0.0, "")


def test_fit_stops_moves_levels_one_point_beyond_the_minimum():
    sl, tp, note = fit_stops(buy=False, reference=1.1, sl=1.10005, tp=1.09995, spec=spec(stops=10),
                             reference_name="the ask")
    assert (sl, tp) == (1.10011, 1.09989)
    assert note == ("stop loss moved from 1.10005 to 1.10011 and take profit moved from 1.09995 to 1.09989: "
                    "EURUSD needs stops at least 10 points from the ask 1.10000")


def test_fit_stops_with_no_stops_level_fixes_only_the_wrong_side():
    sl, tp, note = fit_stops(buy=True, reference=1.1, sl=1.1002, tp=1.1003, spec=spec(stops=0),
                             reference_name="the bid")
    assert (sl, tp) == (1.09999, 1.1003)
    assert note.endswith("EURUSD needs stops on the far side of the bid 1.10000")


def test_widen_to_spreads_moves_the_worst_price_and_deviation_to_that_many_spreads():
    s = spec()
    # A 2-point spread, three spreads wide: 6 points beyond the master's 1.10000.
    assert widen_to_spreads(buy=True, bid=1.10010, ask=1.10012, worst=1.10002, reference=1.10000,
                            deviation=2, spreads=3, spec=s) == (1.10006, 6)
    assert widen_to_spreads(buy=False, bid=1.10010, ask=1.10012, worst=1.09998, reference=1.10000,
                            deviation=2, spreads=3, spec=s) == (1.09994, 6)
    # Half a spread of 3 points is 1.5 points: the broker's whole-point deviation rounds up.
    assert widen_to_spreads(buy=True, bid=1.10010, ask=1.10013, worst=1.10001, reference=1.10000,
                            deviation=1, spreads=0.5, spec=s)[1] == 2


def test_widen_to_spreads_keeps_a_wider_points_limit_and_no_spreads_means_no_change():
    s = spec()
    assert widen_to_spreads(buy=True, bid=1.1, ask=1.10002, worst=1.1002, reference=1.1, deviation=20,
                            spreads=2, spec=s) == (1.1002, 20)
    assert widen_to_spreads(buy=True, bid=1.1, ask=1.1005, worst=1.10002, reference=1.1, deviation=2,
                            spreads=0, spec=s) == (1.10002, 2)


def test_widen_to_spreads_without_a_reference_widens_the_deviation_only():
    s = spec()
    assert widen_to_spreads(buy=True, bid=1.1, ask=1.1001, worst=0.0, reference=0.0, deviation=0,
                            spreads=2, spec=s) == (0.0, 20)


def test_a_market_order_in_progress_is_not_a_pending_order():
    class Order:
        type = 0

    assert to_pending_order(Order()) is None


@pytest.mark.parametrize(("retcode", "deal", "status"), [
    (10009, True, Status.FILLED),
    (10009, False, Status.PLACED),
    (10008, True, Status.PLACED),
    (10008, False, Status.PLACED),
    (10010, True, Status.PARTIAL),
    (10004, True, Status.REQUOTED),
    (10020, True, Status.REQUOTED),
    (10021, True, Status.REQUOTED),
    (10031, True, Status.UNREACHABLE),
    (10024, True, Status.THROTTLED),
    (10026, True, Status.DISABLED),
    (10027, False, Status.DISABLED),
    (10025, False, Status.PLACED),
    *[(code, True, Status.REJECTED) for code in (
        10006, 10007, 10011, 10012, 10013, 10014, 10015, 10016, 10017, 10018, 10019, 10022, 10023,
        10025, 10028, 10029, 10030, 10032, 10033, 10034, 10035, 10036, 10038, 10039, 10040,
        10041, 10042, 10043, 10044, 10045, 10046, 0, 99999)],
])
def test_status_for(retcode, deal, status):
    assert retcodes.status_for(retcode, deal=deal) is status


# TRADE_RETCODE_* values of the package that end as REJECTED (10027 has its own message).
PACKAGE_REJECTIONS = (10006, 10007, 10011, 10012, 10013, 10014, 10015, 10016, 10017, 10018, 10019, 10022,
                      10023, 10024, 10025, 10026, 10028, 10029, 10030, 10032, 10033, 10034, 10035, 10036,
                      10038, 10039, 10040, 10041, 10042, 10043, 10044, 10045)


@pytest.mark.parametrize("retcode", PACKAGE_REJECTIONS)
def test_every_rejection_of_the_package_is_named_and_explained(retcode):
    message = retcodes.result_message(Status.REJECTED, retcode, "", company="Broker Ltd", terminal="'T'")
    head = f"rejected by Broker Ltd ({retcode} {retcodes.retcode_name(retcode)}): "
    assert message.startswith(head)
    assert len(message) > len(head) + 10


def test_a_broker_comment_is_kept_verbatim():
    message = retcodes.result_message(Status.REJECTED, 10019, "Not enough money [margin 1234.56]",
                                      company="Broker Ltd", terminal="'T'")
    assert message == "rejected by Broker Ltd (10019 Not enough money [margin 1234.56]): not enough free margin"
