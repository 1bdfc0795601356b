"""Screenshots of the wizard linking an account whose terminal runs on a worker host, for the docs.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python -m tests.gui.wizard_worker_host_screenshot docs
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python -m tests.gui.wizard_worker_host_screenshot docs

writes, for the screen's width W, wizard-worker-host-platform-W.png (the choice of where the
terminal runs), wizard-worker-host-W.png (the NATS page, with the transport's message under a URL
it refuses) and wizard-worker-host-login-W.png (the login, the password left to the worker host).
Nothing is linked and nothing stored: the wizard is cancelled after the shots.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QWizard

from copier_gui.ui import palette
from copier_gui.ui.wizard import LinkAccountWizard


async def shoot(folder: Path) -> list[Path]:
    wizard = LinkAccountWizard(None, discover=lambda: [])
    screen = wizard.screen().availableGeometry()
    # As large as the wizard opens on this screen, within a margin for the window's frame.
    wizard.resize(min(960, screen.width() - 80), min(720, screen.height() - 80))
    wizard.open()
    width = wizard.screen().size().width()
    shots = [folder / f"wizard-worker-host-platform-{width}.png", folder / f"wizard-worker-host-{width}.png",
             folder / f"wizard-worker-host-login-{width}.png"]
    wizard.platform_page.buttons["mt5"].setChecked(True)
    wizard.platform_page.worker_buttons["nats"].setChecked(True)
    await asyncio.sleep(0.3)  # painted meanwhile: the loop is Qt's
    wizard.grab().save(str(shots[0]))
    wizard.button(QWizard.WizardButton.NextButton).click()
    page = wizard.worker_host_page
    page.account_id.setText("vps")
    page.nats_url.setText("nats://hub.example:4222")
    page.nats_user.setText("copier")
    wizard.button(QWizard.WizardButton.NextButton).click()  # refused: shows the transport's message
    await asyncio.sleep(0.3)
    wizard.grab().save(str(shots[1]))
    # A server on this computer needs no user: past the page without touching a keyring.
    page.nats_url.setText("nats://127.0.0.1:4222")
    page.nats_user.clear()
    page.nats_ca.clear()
    wizard.button(QWizard.WizardButton.NextButton).click()
    wizard.login_page.login.setText("51234567")
    wizard.login_page.server.setText("HarborFX-Live2")
    await asyncio.sleep(0.3)
    wizard.grab().save(str(shots[2]))
    wizard.reject()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    palette.follow_os(app, "dark")
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        shots = runner.run(shoot(args.folder))
    for shot in shots:
        print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
