"""Where the editor's preview reads the accounts from: the running copier's last view of the
master and of one slave (symbols, account figures, open master positions). Read on the GUI loop,
where the copier runs, so nothing is shared across threads."""

from __future__ import annotations

from collections.abc import Callable

from copier_gui.core.copier import Copier
from copier_gui.core.rules_preview import PreviewAccount, PreviewInputs


def copier_source(copier: Copier, slave_id: str) -> Callable[[], PreviewInputs]:
    def read() -> PreviewInputs:
        slave = copier.slaves.get(slave_id)
        snapshot = copier.master_snapshot
        master = PreviewAccount(copier.master_symbols, copier.master_account)
        if slave is None:
            return PreviewInputs(master, PreviewAccount(), snapshot.positions if snapshot else ())
        broker = slave.executor.broker if slave.executor is not None else slave.broker
        return PreviewInputs(master, PreviewAccount(slave.symbols, slave.account, broker),
                             snapshot.positions if snapshot else ())

    return read
