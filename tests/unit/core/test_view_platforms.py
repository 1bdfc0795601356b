"""The accounts view names each account's platform when the copier spans more than one."""

from __future__ import annotations

import dataclasses

from copier_gui.connectors.mt5 import InlineInvoker, MT5Connector
from copier_gui.core import view
from copier_gui.core.copier import Copier, SlaveLink
from copier_gui.core.copybook import CopyBook
from tests.kit.rig import Rig


class OtherPlatform(MT5Connector):
    @property
    def capabilities(self):
        return dataclasses.replace(super().capabilities, platform="ctrader")


def _rows(other: bool) -> dict[str, str]:
    rig = Rig(slaves=("harbor_fx", "apex_prop"))

    async def script():
        master = MT5Connector("master", rig.master, invoker=InlineInvoker(), clock=rig.clock)
        links = [SlaveLink(sid, (OtherPlatform if other and sid == "s1" else MT5Connector)(
            sid, t, invoker=InlineInvoker(), clock=rig.clock), rig.rules) for sid, t in rig.slaves.items()]
        copier = Copier(master, links, journal=rig.journal, clock=rig.clock, copybook=CopyBook(None),
                        master_id="master")
        await copier.start()
        rows = {r.id: r.platform for r in view.accounts(copier)}
        await copier.stop()
        return rows

    return rig.run(script)


def test_mixed_platforms_are_named_on_every_row():
    assert _rows(other=True) == {"master": "mt5", "s0": "mt5", "s1": "ctrader"}


def test_one_platform_is_not_named():
    assert _rows(other=False) == {"master": "", "s0": "", "s1": ""}
