"""The wizard's list of demo brokers says whether each account hedges or nets, as its capabilities do."""

from __future__ import annotations

from PySide6.QtCore import Qt

from copier_gui.sim import PROFILES
from copier_gui.sim import constants as mt5
from copier_gui.sim.ctrader import CTRADER_PROFILES, NETTED
from copier_gui.ui.wizard.terminal_page import TerminalPanel


def test_each_demo_broker_shows_hedging_or_netting(qtbot):
    panel = TerminalPanel(lambda: [])
    qtbot.addWidget(panel)
    shown = {panel.profiles.item(i).data(Qt.ItemDataRole.UserRole): panel.profiles.item(i).text()
             for i in range(panel.profiles.count())}
    # The simulated cTrader brokers are demo brokers too, named as such.
    assert set(shown) == set(PROFILES) | set(CTRADER_PROFILES)
    for name, broker in CTRADER_PROFILES.items():
        mode = "netting" if broker.account_type == NETTED else "hedging"
        assert shown[name].startswith(f"{broker.broker_name} (cTrader)") and f"· {mode} ·" in shown[name]
    for name, profile in PROFILES.items():  # MetaTrader 5 ones, by their capabilities
        mode = "hedging" if profile.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING else "netting"
        assert f"· {mode} ·" in shown[name], shown[name]
    assert any("· netting ·" in text for text in shown.values())
    assert any("· hedging ·" in text for text in shown.values())
