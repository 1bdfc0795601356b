"""A row's menu in the accounts table: "Resync now", a slave's mode, flatten with a confirmation
naming what closes, and the account actions the app carries out."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QMessageBox

from copier_gui.core.copier import SlaveMode
from tests.gui.conftest import dispose, until


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


# ---------------------------------------------------------------- modes, flatten and account actions

def _action(menu, text: str):
    return next(a for a in menu.actions() if a.text() == text)


def _mode_cell(dashboard, slave_id: str) -> str:
    model = dashboard.accounts_model
    row = next(i for i, r in enumerate(model.rows()) if r.id == slave_id)
    return model.index(row, model.MODE).data()


def test_the_mode_is_chosen_from_the_row_menu_shown_in_the_table_and_announced(demo, run, model_check):
    d, copier = demo.dashboard, demo.copier
    model_check(d.accounts_model)
    changed = []
    d.modeChanged.connect(lambda sid, mode: changed.append((sid, mode)))
    menu = d.account_menu("slave-2")
    modes = {a.text(): a for a in menu.actions() if a.text() in ("Copying", "Close-only", "Paused")}
    assert all(a.isCheckable() for a in modes.values())
    assert [t for t, a in modes.items() if a.isChecked()] == ["Copying"]
    assert _mode_cell(d, "slave-2") == "Copying"

    async def pause():
        modes["Paused"].trigger()
        await asyncio.sleep(0.1)

    run(pause)
    dispose(menu)
    assert copier.slaves["slave-2"].mode is SlaveMode.PAUSED and changed == [("slave-2", "paused")]
    assert _mode_cell(d, "slave-2") == "Paused"
    menu = d.account_menu("slave-2")
    assert [a.text() for a in menu.actions() if a.isCheckable() and a.isChecked()] == ["Paused"]
    dispose(menu)
    states = [e for e in copier.journal.entries(kind="state", account="slave-2") if e.data.get("mode") == "paused"]
    assert len(states) == 1 and "asked by the window" in states[0].message


def test_flatten_asks_first_naming_each_position_then_closes_them(demo, run):
    d, copier = demo.dashboard, demo.copier
    changed = []
    d.modeChanged.connect(lambda sid, mode: changed.append((sid, mode)))

    async def flatten():
        demo.trade("EURUSD", 0.5)
        demo.trade("GBPUSD", 0.2, buy=False)
        await until(lambda: len(copier.flatten_preview("slave-1")) == 2, what="two copies at slave-1")
        menu = d.account_menu("slave-1")
        _action(menu, "Flatten slave-1…").trigger()
        box = next(w for w in d.findChildren(QMessageBox) if w.isVisible())
        dispose(menu)
        assert "Flatten slave-1: close 2 positions at market?" in box.text()
        listed = box.informativeText()
        for item in copier.flatten_preview("slave-1"):
            assert f"{item.symbol}  {item.side}  {item.volume:g}  (#{item.ticket})" in listed
        assert "close-only first" in listed
        cancel = box.button(QMessageBox.StandardButton.Cancel)
        cancel.click()
        assert len(demo.slave_positions("slave-1")) == 2 and changed == [], "Cancel changes nothing"

        box = d.flatten(["slave-1"])
        next(b for b in box.buttons() if b.text() == "Flatten").click()
        await until(lambda: not demo.slave_positions("slave-1"), what="the flatten")

    run(flatten)
    assert changed == [("slave-1", "close_only")]
    assert copier.slaves["slave-1"].mode is SlaveMode.CLOSE_ONLY
    assert demo.slave_positions("slave-2"), "another slave is not touched"


def test_flatten_says_when_there_is_nothing_to_close_and_flatten_all_lists_every_slave(demo, run):
    d, copier = demo.dashboard, demo.copier
    box = d.flatten(["slave-1"])
    assert box.isVisible() and "Nothing to close at slave-1" in box.text()
    assert [b.text() for b in box.buttons()] == ["OK"]
    box.button(QMessageBox.StandardButton.Ok).click()
    assert copier.slaves["slave-1"].mode is SlaveMode.COPYING

    async def all_slaves():
        demo.trade("EURUSD", 0.3)
        await until(lambda: all(copier.flatten_preview(s) for s in copier.slaves), what="copies everywhere")
        menu = d.account_menu("slave-1")
        _action(menu, "Flatten all slaves…").trigger()
        dispose(menu)
        box = next(w for w in d.findChildren(QMessageBox) if w.isVisible())
        count = len(copier.slaves)
        assert f"Flatten all slaves: close {count} positions at market?" in box.text()
        assert all(f"{sid} (1):" in box.informativeText() for sid in copier.slaves)
        box.button(QMessageBox.StandardButton.Cancel).click()

    run(all_slaves)


def test_account_actions_are_asked_for_through_signals(demo, run):
    d = demo.dashboard
    asked = []
    d.linkAccountRequested.connect(lambda: asked.append(("link",)))
    d.editAccountRequested.connect(lambda sid: asked.append(("edit", sid)))
    d.reconnectRequested.connect(lambda sid: asked.append(("reconnect", sid)))
    d.setMasterRequested.connect(lambda sid: asked.append(("master", sid)))
    d.removeAccountRequested.connect(lambda sid, close: asked.append(("remove", sid, close)))
    menu = d.account_menu("slave-3")
    for text in ("Link another account…", "Edit slave-3…", "Reconnect slave-3", "Set slave-3 as master…"):
        _action(menu, text).trigger()
    assert asked == [("link",), ("edit", "slave-3"), ("reconnect", "slave-3"), ("master", "slave-3")]
    asked.clear()

    _action(menu, "Remove slave-3…").trigger()
    box = next(w for w in d.findChildren(QMessageBox) if w.isVisible())
    dispose(menu)
    assert box.text() == "Remove slave-3: keep its 0 copies open (no longer managed) or close them?"
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert asked == []
    for answer, close in (("Keep", False), ("Close them", True)):
        box = d.remove_account("slave-3")
        next(b for b in box.buttons() if b.text() == answer).click()
        assert asked[-1] == ("remove", "slave-3", close)
    assert "slave-3" in demo.copier.slaves, "the dashboard only asks; the app removes"

    master = d.account_menu(demo.copier.master_id)
    texts = [a.text() for a in master.actions() if a.text()]
    assert texts == ["Link another account…", f"Edit {demo.copier.master_id}…"]
    dispose(master)
