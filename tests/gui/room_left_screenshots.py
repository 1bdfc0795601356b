"""Screenshots of the Room left card for the docs: the running demo with prop-firm profiles on two
slaves, one of them a challenge that has already lost 85% of its maximum loss.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python -m tests.gui.room_left_screenshots docs
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python -m tests.gui.room_left_screenshots docs

writes screenshot-room-left-<screen width>.png into that folder (the whole window).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from copier_gui.core.rules import CopyRules, PropRules, Risk
from copier_gui.demo.session import demo_session
from copier_gui.paths import user_paths
from copier_gui.ui import palette
from copier_gui.ui.main_window import MainWindow

SECONDS = 10.0


def profile(rules: CopyRules, daily: float, max_loss: dict, days: int) -> CopyRules:
    prop = PropRules.model_validate({
        "reset": "17:00 America/New_York", "daily_loss": {"amount": daily, "baseline": "higher"},
        "max_loss": max_loss, "min_trading_days": days})
    return rules.model_copy(update={"risk": Risk(prop=prop)})


async def shoot(window: MainWindow, folder: Path, home: Path) -> Path:
    session = demo_session(3, user_paths(home), strategy_interval_s=2.0)
    window.attach(session)
    await session.begin()
    copier = session.copier
    # slave-1: a fresh challenge on a trailing floor; slave-2: one that began at 10,850 and has lost
    # 850 of its 1,000 (the card's warning colour).
    copier.set_rules("slave-1", profile(copier.slaves["slave-1"].rules, 500,
                                        {"amount": 1_000, "mode": "trailing_eod", "lock_at_initial": True}, 4))
    copier.set_rules("slave-2", profile(copier.slaves["slave-2"].rules, 500,
                                        {"amount": 1_000, "initial_balance": 10_850}, 4))
    await asyncio.sleep(SECONDS)
    shot = folder / f"screenshot-room-left-{window.screen().size().width()}.png"
    window.grab().save(str(shot))
    await session.shutdown()
    return shot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    palette.follow_os(app, "dark")
    window = MainWindow(tray=False)
    window.show()
    with tempfile.TemporaryDirectory() as home, asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        shot = runner.run(shoot(window, args.folder, Path(home)))
    window.allow_close()
    window.close()
    print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
