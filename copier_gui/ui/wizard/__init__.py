"""Linking an account and editing one: the wizard's pages, the edit dialog, and the Qt-free draft
they fill in.

``LinkAccountWizard`` and ``EditAccountDialog`` are loaded on first use, so the draft
(``copier_gui.ui.wizard.draft``) can be imported, and unit-tested, without Qt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from copier_gui.ui.wizard.edit import EditAccountDialog
    from copier_gui.ui.wizard.link import LinkAccountWizard

__all__ = ["EditAccountDialog", "LinkAccountWizard"]


def __getattr__(name: str):
    if name == "LinkAccountWizard":
        from copier_gui.ui.wizard.link import LinkAccountWizard

        return LinkAccountWizard
    if name == "EditAccountDialog":
        from copier_gui.ui.wizard.edit import EditAccountDialog

        return EditAccountDialog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
