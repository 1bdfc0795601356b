"""A slave row's menu in the accounts table: "Resync now" asks the copier for a full pass at once."""

from __future__ import annotations

import asyncio

from tests.gui.conftest import dispose


def test_resync_from_the_row_menu_is_journaled(demo, run):
    menu = demo.dashboard.account_menu("slave-2")
    action = next(a for a in menu.actions() if a.text() == "Resync slave-2 now")
    assert "next periodic pass" in action.toolTip()

    async def click():
        action.trigger()  # as in the window: on the running event loop
        await asyncio.sleep(0.2)

    run(click)
    dispose(menu)
    states = [e.message for e in demo.copier.journal.entries(kind="state", account="slave-2")]
    assert any(m.startswith("resync of slave-2 asked by the window") for m in states)
