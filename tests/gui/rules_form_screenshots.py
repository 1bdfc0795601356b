"""Screenshots of the rules form for the docs, on the demo's accounts at simulated brokers:

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python -m tests.gui.rules_form_screenshots docs
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python -m tests.gui.rules_form_screenshots docs

writes screenshot-rules-form-<screen width>.png into that folder: the editor of the demo's third
slave (Summit, a netting JPY account whose names end in -ECN) fitted to the screen as the dashboard
opens it, on its Symbols page, while the demo master holds a EURUSD buy with a stop.
``--page NAME`` shows another page (sizing, filters, stops, tolerances, risk, advanced) and adds
the page's name to the file's. ``--page prop`` shows the Prop firm page with a two-step challenge's
profile filled in, as screenshot-rules-prop-<screen width>.png; ``--scroll`` (0 to 1) scrolls the
page that far down first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from copier_gui.clock import VirtualClock
from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core.prop_rules import (
    DailyLossRule,
    HedgingGuard,
    MaxLossRule,
    NewsBlackout,
    PropRules,
    StopLossRequired,
)
from copier_gui.core.rules import DeviationLimit, SymbolTolerance
from copier_gui.core.rules_preview import PreviewAccount, PreviewInputs
from copier_gui.demo.rig import MASTER_BALANCE, demo_settings
from copier_gui.sim import Market, new_terminal
from copier_gui.ui import palette
from copier_gui.ui.rules_editor import RulesEditor
from tests.kit import WEEKDAY_NOON_UTC

SLAVE = "slave-3"  # Summit: the demo slave at a simulated MT5 broker with the most to map
# A two-step challenge as firms commonly state it, for the Prop firm page's screenshot.
PROP = PropRules(
    reset="00:00 Europe/Prague",
    daily_loss=DailyLossRule(percent=5, baseline="balance", action="flatten"),
    max_loss=MaxLossRule(percent=10, mode="static", action="flatten"),
    stop_loss=StopLossRequired(within_s=120, distance=DeviationLimit(value=30, unit="pip")),
    news=NewsBlackout(calendar="~/calendars/this-week.ics", before_min=2, after_min=2),
    hedging=HedgingGuard(accounts=("slave-1", "slave-2")),
    min_trading_days=4,
)


def demo_inputs() -> tuple[PreviewInputs, object]:
    """The demo master and its second slave as the copier reads them, and that slave's demo rules."""
    settings = demo_settings(3)
    clock = VirtualClock(WEEKDAY_NOON_UTC)
    market = Market(0, clock)
    master_settings, slave_settings = settings.account("master"), settings.account(SLAVE)
    master = new_terminal(master_settings.demo_profile, clock=clock, market=market, login=master_settings.login,
                          balance=MASTER_BALANCE)
    slave = new_terminal(slave_settings.demo_profile, clock=clock, market=market, login=slave_settings.login)

    async def read(terminal, name):
        connector = MT5Connector(name, terminal, invoker=InlineInvoker(), clock=clock)
        state = await connector.connect()
        return connector, PreviewAccount(await connector.symbols(), state)

    async def main():
        master_connector, master_account = await read(master, "master")
        tick = master.symbol_info_tick("EURUSD")
        result = master.order_send({"action": master.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.5,
                                    "type": master.ORDER_TYPE_BUY, "price": tick.ask, "sl": round(tick.ask - 0.004, 5),
                                    "type_filling": master.ORDER_FILLING_IOC, "deviation": 20})
        assert result.retcode == master.TRADE_RETCODE_DONE, result
        snapshot = await master_connector.snapshot()
        _, slave_account = await read(slave, SLAVE)
        return PreviewInputs(master_account, slave_account, snapshot.positions)

    rules = slave_settings.rules
    rules = rules.model_copy(update={"tolerances": rules.tolerances.model_copy(update={
        "max_price_deviation": DeviationLimit(value=2, unit="pip"),
        "per_symbol": {"BTCUSD": SymbolTolerance(max_price_deviation=DeviationLimit(value=20, unit="bp"),
                                                 max_delay_ms=2000)}})})
    return asyncio.run(main()), rules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--page", default="symbols")
    parser.add_argument("--scroll", type=float, default=0.0)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    palette.follow_os(app, "auto")
    inputs, rules = demo_inputs()
    if args.page == "prop":
        rules = rules.model_copy(update={"risk": rules.risk.model_copy(update={"prop": PROP})})
    accounts = ["master", *(a.id for a in demo_settings(3).slaves)]
    editor = RulesEditor(SLAVE, rules, saved_to_file=True, preview_source=lambda: inputs, linked_accounts=accounts)
    editor.open()
    page = editor.advanced if args.page == "advanced" else editor.pages[args.page]
    editor.tabs.setCurrentWidget(page)
    for _ in range(20):
        app.processEvents()
    if args.scroll and page is not editor.advanced:
        bar = page.verticalScrollBar()
        bar.setValue(round(bar.maximum() * args.scroll))
        app.processEvents()
    screen = editor.screen().geometry()
    suffix = "" if args.page == "symbols" else f"-{args.page}"
    args.folder.mkdir(parents=True, exist_ok=True)
    path = args.folder / f"screenshot-rules-form-{screen.width()}{suffix}.png"
    if args.page == "prop":
        path = args.folder / f"screenshot-rules-prop-{screen.width()}.png"
    editor.grab().save(str(path))
    print(f"{path}: the editor at {editor.width()}x{editor.height()} on a {screen.width()}x{screen.height()} screen")
    editor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
