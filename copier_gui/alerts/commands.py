"""``copier-gui alerts ...``: set up alerts without a desktop (a VPS), and send a test message.

The bot token and the SMTP password are asked for (hidden) or read from standard input when it is
not a terminal, never taken from the command line (which other users and shell histories see), and
go straight to the keyring. The settings file is read and written through the functions the command
line hands in (``load``, ``save``): the settings module imports this package's model, so this
package does not import it back.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from copier_gui import secrets
from copier_gui.alerts.settings import (
    ALERT_KINDS,
    EMAIL_PASSWORD_KEY,
    TELEGRAM_TOKEN_KEY,
    AlertSettings,
)

__all__ = ["add_parser", "run_alerts"]

EXIT_BAD_INPUT = 2
EXIT_NOT_DELIVERED = 1
# A bot token as BotFather gives it: the bot's number, a colon, then letters, digits, '-' and '_'.
_BOT_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,}$")
# Which option set which field, so a rejected value is named as the user typed it.
_OPTIONS = {"chat_id": "--chat-id", "api_base_url": "--api-url", "host": "--host", "port": "--port",
            "security": "--security", "username": "--user", "sender": "--from", "recipients": "--to",
            "kinds": "--kinds", "window_s": "--window", "max_per_hour": "--per-hour"}


class _Bad(Exception):
    """Bad input: one line, exit code 2 (the command line's UsageError, mirrored)."""


def add_parser(sub: Any) -> None:
    """The ``alerts`` command and its actions, on the command line's subparsers."""
    alerts = sub.add_parser("alerts", help="set up alerts by Telegram and e-mail, or send a test")
    actions = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    actions.add_parser("show", help="print the alert settings (never the token or password)")

    telegram = actions.add_parser("telegram", help="send alerts to a Telegram chat; the bot token is asked for "
                                                   "(or read from standard input) and kept in the keyring")
    telegram.add_argument("--chat-id", help="the chat's id (a number, negative for a group) or a channel's @name")
    telegram.add_argument("--api-url", help=argparse.SUPPRESS)  # a self-hosted Bot API server
    telegram.add_argument("--off", action="store_true", help="stop Telegram alerts (the token stays in the keyring)")

    email = actions.add_parser("email", help="send alerts by e-mail; the SMTP password is asked for (or read "
                                             "from standard input) and kept in the keyring")
    email.add_argument("--host", help="the SMTP server")
    email.add_argument("--port", type=int, help="its port (587 for starttls, 465 for ssl)")
    email.add_argument("--security", choices=("starttls", "ssl", "none"),
                       help="starttls (default), ssl, or none for a local relay without a login")
    email.add_argument("--user", help="the SMTP login; give an empty one for a relay without a login")
    email.add_argument("--from", dest="sender", metavar="ADDRESS", help="the sender's address")
    email.add_argument("--to", action="append", metavar="ADDRESS", help="a recipient; repeat for more")
    email.add_argument("--off", action="store_true", help="stop e-mail alerts (the password stays in the keyring)")

    limits = actions.add_parser("limits", help="which alerts to send and how often at most")
    limits.add_argument("--kinds", help=f"comma-separated, from {','.join(ALERT_KINDS)}")
    limits.add_argument("--window", type=float, metavar="SECONDS",
                        help="at most one message per kind and account in this time; the rest in one digest")
    limits.add_argument("--per-hour", type=int, metavar="N", help="at most this many messages an hour")

    actions.add_parser("test", help="send a test message through every enabled channel and say what happened")


def run_alerts(args: argparse.Namespace, *, load: Callable[[], Any], save: Callable[[Any], None]) -> int:
    """Run one ``alerts`` action. ``load()`` gives the Settings, ``save(settings)`` writes them."""
    try:
        try:
            settings = load()
        except Exception as exc:  # the settings module's SettingsError, whose message names the file
            raise _Bad(getattr(exc, "message", None) or str(exc)) from None
        action = args.alerts_command
        if action == "show":
            return _show(settings.alerts)
        if action == "test":
            return _test(settings.alerts)
        current = settings.alerts
        if action == "telegram":
            alerts, secret = _telegram(current, args)
        elif action == "email":
            alerts, secret = _email(current, args)
        else:
            alerts, secret = _limits(current, args), None
        # The secret first: settings that point at a token the keyring lacks would fail every send.
        if secret is not None:
            key, value = secret
            try:
                secrets.store_password(key, value)
            except secrets.SecretsUnavailable as exc:
                raise _Bad(f"nothing changed: {exc.message}") from None
        try:
            save(settings.updated(alerts=alerts))
        except OSError as exc:
            raise _Bad(f"cannot save the settings: {exc.strerror or exc}") from None
        _show(alerts)
        print("a running copier uses these settings from its next start")
        return 0
    except _Bad as exc:
        print(f"copier-gui: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


# ---------------------------------------------------------------------------- actions

def _telegram(current: AlertSettings, args: argparse.Namespace) -> tuple[AlertSettings, tuple[str, str] | None]:
    section = current.telegram.model_dump()
    if args.off:
        return _validated(current, telegram={**section, "enabled": False}), None
    if args.chat_id is not None:
        section["chat_id"] = args.chat_id
    if args.api_url is not None:
        section["api_base_url"] = args.api_url
    if not section["chat_id"]:
        raise _Bad("give the chat to send to with --chat-id (the bot's chat id, or a channel's @name)")
    alerts = _validated(current, telegram={**section, "enabled": True})
    token = _ask_secret("Telegram bot token", keep=_stored(TELEGRAM_TOKEN_KEY))
    if token is not None and not _BOT_TOKEN.match(token):
        raise _Bad("that is not a bot token: BotFather gives one like 123456789:AAF... (the bot's number, a colon, "
                   "then a long run of letters, digits, '-' or '_'); nothing was changed")
    return alerts, (TELEGRAM_TOKEN_KEY, token) if token is not None else None


def _email(current: AlertSettings, args: argparse.Namespace) -> tuple[AlertSettings, tuple[str, str] | None]:
    section = current.email.model_dump()
    if args.off:
        return _validated(current, email={**section, "enabled": False}), None
    for option, name in (("host", "host"), ("port", "port"), ("security", "security"), ("user", "username"),
                         ("sender", "sender"), ("to", "recipients")):
        value = getattr(args, option)
        if value is not None:
            section[name] = value
    if args.port is None and args.security is not None and current.email.port in (25, 465, 587):
        section["port"] = {"ssl": 465, "starttls": 587, "none": 25}[args.security]  # the usual port
    alerts = _validated(current, email={**section, "enabled": True})
    secret = None
    if alerts.email.username:
        password = _ask_secret(f"SMTP password for {alerts.email.username}",
                               keep=_stored(EMAIL_PASSWORD_KEY) and alerts.email.username == current.email.username)
        secret = (EMAIL_PASSWORD_KEY, password) if password is not None else None
    return alerts, secret


def _limits(current: AlertSettings, args: argparse.Namespace) -> AlertSettings:
    changes: dict[str, Any] = {}
    if args.kinds is not None:
        changes["kinds"] = [k.strip() for k in args.kinds.split(",") if k.strip()]
    throttle = current.throttle.model_dump()
    if args.window is not None:
        throttle["window_s"] = args.window
    if args.per_hour is not None:
        throttle["max_per_hour"] = args.per_hour
    return _validated(current, throttle=throttle, **changes)


def _show(alerts: AlertSettings) -> int:
    t, e = alerts.telegram, alerts.email
    if t.enabled:
        token = "in the keyring" if _stored(TELEGRAM_TOKEN_KEY) else "MISSING from the keyring"
        print(f"Telegram: on, chat {t.chat_id}, through {t.api_base_url}; bot token {token}")
    else:
        print("Telegram: off")
    if e.enabled:
        login = "no login"
        if e.username:
            password = "in the keyring" if _stored(EMAIL_PASSWORD_KEY) else "MISSING from the keyring"
            login = f"login {e.username}, password {password}"
        print(f"E-mail: on, {e.host}:{e.port} ({e.security}, {login}), from {e.sender} to {', '.join(e.recipients)}")
    else:
        print("E-mail: off")
    kinds = ", ".join(alerts.kinds) or "nothing"
    print(f"Alerts for: {kinds}; at most one per kind and account every {alerts.throttle.window_s:g} s "
          f"(the rest in one digest), at most {alerts.throttle.max_per_hour} an hour")
    return 0


def _test(alerts: AlertSettings) -> int:
    from copier_gui.alerts.build import build_channels
    from copier_gui.alerts.dispatcher import Alerter

    channels = build_channels(alerts, fast=True)
    if not channels:
        raise _Bad("no alert channel is on: set one up with `copier-gui alerts telegram` or `copier-gui alerts email`")

    async def probe() -> dict[str, str]:
        alerter = Alerter(alerts, channels)
        try:
            return await alerter.send_probe()
        finally:
            await alerter.aclose(timeout_s=0)

    results = asyncio.run(probe())
    for name, error in results.items():
        print(f"{name}: {'sent' if not error else 'not sent: ' + error}")
    return EXIT_NOT_DELIVERED if any(results.values()) else 0


# ---------------------------------------------------------------------------- helpers

def _validated(current: AlertSettings, **changes: Any) -> AlertSettings:
    try:
        return AlertSettings.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        names = [str(part) for part in error["loc"] if not isinstance(part, int)]
        option = next((_OPTIONS[n] for n in reversed(names) if n in _OPTIONS), None)
        text = error["msg"].removeprefix("Value error, ")
        raise _Bad(f"{option}: {text}" if option else text) from None


def _stored(key: str) -> bool:
    try:
        return bool(secrets.get_password(key))
    except secrets.SecretsUnavailable as exc:
        raise _Bad(exc.message) from None


def _ask_secret(what: str, *, keep: bool) -> str | None:
    """The secret typed (hidden) or piped in; None keeps the stored one when ``keep`` allows it."""
    if sys.stdin.isatty():
        hint = " (Enter keeps the stored one)" if keep else ""
        value = getpass.getpass(f"{what}{hint}: ")
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if value:
        return value
    if keep:
        return None
    raise _Bad(f"no {what} given: type it when asked, or pipe it on standard input (never as an argument)")
