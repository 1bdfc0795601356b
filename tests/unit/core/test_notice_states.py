"""State notices carry the state they announce, so listeners (alerts) never parse the text."""

from __future__ import annotations

import asyncio

from copier_gui.core.risk import TradingState
from tests.kit.rig import Rig as CopyRig


def test_link_state_notices_name_the_state_entered():
    rig = CopyRig()

    async def script():
        copier = rig.copier()
        await copier.start()
        rig.slaves["s1"].sim.disconnect(3.0)
        await asyncio.sleep(6)
        await copier.stop()

    rig.run(script)
    s1 = [(n.text, n.state) for n in rig.notices if n.kind == "state" and n.account == "s1"]
    assert any(state == "disconnected" and text.startswith("s1 disconnected") for text, state in s1), s1
    assert s1[-1] == ("s1 connected", "connected")
    master = [n.state for n in rig.notices if n.kind == "state" and n.account == "master"]
    assert "connected" in master


def test_a_risk_halt_notice_names_the_halted_state(tmp_path):
    from tests.unit.core.test_risk_copier import Rig as RiskRig

    rig = RiskRig(tmp_path / "home")

    async def script():
        copier = await rig.halted_copier()
        await copier.stop()

    rig.run(script)
    halts = [n for n in rig.notices if n.kind == "state" and n.state == TradingState.HALTED.value]
    assert [n.text for n in halts] == ["s1 trading state active -> halted"]
