"""The broker profiles' differences reach the copier: through a replayed scenario, a master symbol is
resized for a slave's contract, found under another name, or refused where the slave lacks it."""

from __future__ import annotations

from functools import cache

import pytest


@cache
def _report() -> dict:
    from copier_gui.replay.runner import run_scenario
    from copier_gui.replay.scenario import parse_scenario

    return run_scenario(parse_scenario({
        "seed": 1,
        "start": "2026-11-25T12:00:00Z",
        "brokers": {"m": {"profile": "meridian_ecn"}, "h": {"profile": "harbor_fx"},
                    "s": {"profile": "summit_netting"}, "a": {"profile": "apex_prop"}},
        "accounts": [
            {"id": "master", "role": "master", "broker": "m", "balance": 50_000},
            {"id": "harbor", "role": "slave", "broker": "h"},
            {"id": "summit", "role": "slave", "broker": "s"},
            {"id": "apex", "role": "slave", "broker": "a", "balance": 100_000},
        ],
        "timeline": [
            {"at": 2, "action": "open", "id": "gold", "symbol": "XAUUSD", "side": "buy", "volume": 0.5},
            {"at": 3, "action": "open", "id": "eth", "symbol": "ETHUSD", "side": "buy", "volume": 1.0},
            {"at": 4, "action": "open", "id": "spx", "symbol": "US500", "side": "sell", "volume": 2.0},
            {"at": 5, "action": "open", "id": "nikkei", "symbol": "JP225", "side": "buy", "volume": 10.0},
            {"at": 20, "action": "close", "id": "gold"},
            {"at": 21, "action": "close", "id": "eth"},
            {"at": 22, "action": "close", "id": "spx"},
            {"at": 23, "action": "close", "id": "nikkei"},
        ],
    }))


def _opens(master_id: str) -> dict[str, tuple[str, float]]:
    report = _report()
    ticket = report["master_ids"][master_id]
    return {c["slave"]: (c["symbol"], c["volume"]) for c in report["copies"]
            if c["master_ticket"] == ticket and c["action"] == "open"}


def _refused(master_id: str) -> dict[str, str]:
    report = _report()
    ticket = report["master_ids"][master_id]
    return {r["account"]: r["reason"] for r in report["refusals"] if r["master_ticket"] == ticket}


def test_gold_is_resized_for_the_10_ounce_contract():
    assert _opens("gold") == {
        "harbor": ("GOLD.m", pytest.approx(0.5)),
        "summit": ("XAUUSD-ECN", pytest.approx(5.0)),  # 0.5 x 100 oz = 5 x 10 oz
        "apex": ("XAUUSD.raw", pytest.approx(0.5)),
    }


def test_a_symbol_only_some_brokers_carry_is_copied_there_and_refused_elsewhere():
    assert _opens("eth") == {"harbor": ("ETHUSD.m", pytest.approx(0.1))}  # ether at 10 per lot
    refused = _refused("eth")
    assert set(refused) == {"summit", "apex"}
    assert all("no symbol matches ETHUSD" in reason for reason in refused.values())


def test_an_index_under_another_name_and_contract():
    assert _opens("spx") == {"harbor": ("SPX500.m", pytest.approx(0.2)), "apex": ("US500.raw", pytest.approx(2.0))}
    assert "no symbol matches US500" in _refused("spx")["summit"]


def test_the_nikkei_reaches_its_cash_index_and_is_refused_where_there_is_none():
    # JP225 is a known name of the Nikkei, so summit's JP225.cash (100 a lot) takes it: 10 lots at 1.
    assert _opens("nikkei") == {"summit": ("JP225.cash", pytest.approx(0.1))}
    refused = _refused("nikkei")
    assert set(refused) == {"harbor", "apex"}
    assert all("no symbol matches JP225" in reason for reason in refused.values())


def test_everything_closed_is_closed_at_every_slave():
    report = _report()
    assert report["failures"] == []
    for account in report["accounts"].values():
        assert account["positions"] == []
