"""Alerts from settings: the channels the trader enabled, behind one Alerter, or None."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from copier_gui import secrets
from copier_gui.alerts.channel import Channel
from copier_gui.alerts.dispatcher import Alerter
from copier_gui.alerts.mail import EmailSender
from copier_gui.alerts.settings import AlertSettings
from copier_gui.alerts.telegram import TelegramSender
from copier_gui.clock import SYSTEM_CLOCK, Clock

__all__ = ["build_alerter", "build_channels"]


def build_channels(settings: AlertSettings, *, password_lookup: Callable[[str], str | None] = secrets.get_password,
                   tls_context: ssl.SSLContext | None = None, fast: bool = False) -> list[Channel]:
    """The enabled channels. ``fast`` retries little (the command line's test, which a person waits for)."""
    quick: dict[str, Any] = {"attempts": 1} if fast else {}
    channels: list[Channel] = []
    if settings.telegram.enabled:
        channels.append(TelegramSender(settings.telegram, lookup=password_lookup, **quick))
    if settings.email.enabled:
        channels.append(EmailSender(settings.email, lookup=password_lookup, tls_context=tls_context, **quick))
    return channels


def build_alerter(settings: AlertSettings, *, journal: Any = None,
                  password_lookup: Callable[[str], str | None] = secrets.get_password,
                  clock: Clock = SYSTEM_CLOCK, tls_context: ssl.SSLContext | None = None) -> Alerter | None:
    """An Alerter for the enabled channels, or None when no channel or no kind of alert is enabled.

    Secrets are looked up with ``password_lookup`` (the keyring) each time a message is sent.
    """
    if not settings.enabled:
        return None
    channels = build_channels(settings, password_lookup=password_lookup, tls_context=tls_context)
    return Alerter(settings, channels, journal=journal, clock=clock)
