"""Screenshots of the desktop for the docs: the dashboard on the running demo, and a slave row's
menu in the accounts table opened over it.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python -m tests.gui.desktop_screenshots docs
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python -m tests.gui.desktop_screenshots docs

writes screenshot-dashboard-<screen width>.png and screenshot-accounts-menu-<screen width>.png into
that folder. The window is fitted to the screen as on a first start; the menu is taken from the
whole screen, since a menu is a window of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from copier_gui.demo.session import demo_session
from copier_gui.paths import user_paths
from copier_gui.ui import palette
from copier_gui.ui.main_window import MainWindow

SECONDS = 14.0  # the demo's strategy trades every two seconds: a few positions and copies by then
SLAVE = "slave-1"


async def shoot(app: QApplication, window: MainWindow, folder: Path, home: Path) -> list[Path]:
    session = demo_session(3, user_paths(home), strategy_interval_s=2.0)
    window.attach(session)
    await session.begin()
    await asyncio.sleep(SECONDS)
    width = window.screen().size().width()
    shots = [folder / f"screenshot-dashboard-{width}.png", folder / f"screenshot-accounts-menu-{width}.png"]
    window.grab().save(str(shots[0]))
    dashboard = window.dashboard
    view = dashboard.accounts_view
    row = [r.id for r in dashboard.accounts_model.rows()].index(SLAVE)
    rect = view.visualRect(dashboard.accounts_model.index(row, 0))
    menu = dashboard.account_menu(SLAVE)
    menu.popup(view.viewport().mapToGlobal(QPoint(rect.center().x() + 40, rect.center().y())))
    await asyncio.sleep(0.5)  # the loop is Qt's: the menu is shown and painted meanwhile
    window.screen().grabWindow(0).save(str(shots[1]))
    menu.close()
    await session.shutdown()
    return shots


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
        shots = runner.run(shoot(app, window, args.folder, Path(home)))
    window.allow_close()
    window.close()
    for shot in shots:
        print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
