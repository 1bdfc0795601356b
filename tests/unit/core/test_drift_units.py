"""Each copy's drift in money, in points of its symbol and in a unit that compares across symbols;
per-slave figures in basis points and money, never points summed across symbols."""

from __future__ import annotations

import asyncio

import pytest

from copier_gui.core.metrics import CopyMetrics, Metrics
from tests.kit.rig import Rig


def _copy(symbol: str, points: float, bp: float, money: float) -> CopyMetrics:
    return CopyMetrics("c", "s0", 1, symbol, "open", 0.1, 0.1, 1.0, 1.0, 0.0, 0.0, 0.0, 5.0, points, money, 0.0,
                       slippage_bp=bp)


def test_a_slaves_summary_averages_basis_points_and_adds_money_never_points():
    metrics = Metrics()
    metrics.record_copy(_copy("EURUSD.m", 12.0, 1.11, 1.2))  # 1.2 pip on EURUSD
    metrics.record_copy(_copy("BTCUSD.m", 1900.0, 2.0, 1.9))  # 19 USD on BTCUSD at 95,000
    summary = metrics.summary()["s0"]
    assert summary["slippage_mean_bp"] == pytest.approx(1.555)
    assert summary["slippage_max_bp"] == pytest.approx(2.0)
    assert summary["slippage_total_money"] == pytest.approx(3.1)
    assert not any("points" in key for key in summary), "points of different symbols never add up"


def test_each_copy_says_its_slippage_in_pips_for_a_pair_and_basis_points_otherwise():
    rig = Rig(slaves=("harbor_fx",))

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.trade("EURUSD", 0, 0.5)
        rig.trade("XAUUSD", 0, 0.1)
        await asyncio.sleep(2.0)
        await copier.stop()
        return [n for n in rig.notices if n.kind == "copy" and n.metrics is not None]

    copies = {n.metrics.symbol: n for n in rig.run(script)}
    fx, crypto = copies["EURUSD.m"].metrics, copies["GOLD.m"].metrics
    assert fx.slippage_unit == "pip" and crypto.slippage_unit == "bp"
    # A pip of EURUSD is ten points; a basis point is a ten-thousandth of the master's price.
    assert fx.slippage == pytest.approx(fx.slippage_points / 10, abs=1e-3)
    for m in (fx, crypto):
        gap = m.slave_price - m.master_price
        assert m.slippage_bp == pytest.approx(gap / m.master_price * 1e4, abs=1e-3)
    assert crypto.slippage == pytest.approx(crypto.slippage_bp, abs=1e-3)
    text = copies["EURUSD.m"].text
    assert f"({fx.slippage:+.1f} pip, {fx.slippage_money:+.2f} EUR)" in text, text
