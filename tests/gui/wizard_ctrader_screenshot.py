"""A screenshot of the wizard's cTrader page with a sign-in's accounts listed, for the docs.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python -m tests.gui.wizard_ctrader_screenshot docs

writes wizard-ctrader.png into that folder. The sign-in runs against the simulated Spotware OAuth
endpoint and Open API server (a hedged and a netted account), the "browser" following the consent
page's redirect, as in the wizard's tests; the wizard is sized as it opens on a 1366x768 screen.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QWizard

from copier_gui.ui import palette
from copier_gui.ui.wizard import LinkAccountWizard
from tests.kit import WeekdayClock
from tests.unit.sim.ctrader.oauth_rig import CLIENT_ID, CLIENT_SECRET, Browser, running_oauth


async def shoot(folder: Path) -> Path:
    async with running_oauth() as servers:
        wizard = LinkAccountWizard(None, clock=WeekdayClock(), discover=lambda: [],
                                   ctrader_endpoints=servers.endpoints, open_browser=Browser())
        wizard.resize(900, 680)
        wizard.open()
        wizard.platform_page.buttons["ctrader"].setChecked(True)
        wizard.button(QWizard.WizardButton.NextButton).click()
        page = wizard.ctrader_page
        page.client_id.setText(CLIENT_ID)
        page.secret.setText(CLIENT_SECRET)
        page.sign_in.click()
        deadline = time.monotonic() + 30
        while page.accounts.topLevelItemCount() < 2:
            if time.monotonic() > deadline:
                raise SystemExit(f"the accounts were not listed: {page.error.text() or page.status.text()}")
            await asyncio.sleep(0.05)
        page.accounts.setCurrentItem(page.accounts.topLevelItem(1))
        await asyncio.sleep(0.5)  # painted meanwhile: the loop is Qt's
        shot = folder / "wizard-ctrader.png"
        wizard.grab().save(str(shot))
        wizard.reject()
        return shot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    palette.follow_os(app, "dark")
    # Nothing is linked (the wizard is cancelled after the shot): no keyring, no user folder touched.
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        shot = runner.run(shoot(args.folder))
    print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
