"""What the trader chose to be alerted about, and where: Telegram, e-mail, and how often at most.

Part of the saved settings (``Settings.alerts``). The bot token and the SMTP password are not here:
they live in the system keyring under the keys below and are read only when a message is sent.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from copier_gui.netaddr import is_loopback

__all__ = [
    "ALERT_KINDS",
    "EMAIL_PASSWORD_KEY",
    "TELEGRAM_TOKEN_KEY",
    "AlertKind",
    "AlertSettings",
    "EmailSettings",
    "TelegramSettings",
    "ThrottleSettings",
]

AlertKind = Literal["disconnect", "refusal", "failure", "risk"]
ALERT_KINDS: tuple[AlertKind, ...] = ("disconnect", "refusal", "failure", "risk")

# Keyring user names (service copier-gui). Account keys are "server:login" with a numeric login or
# a slug without ':', so these can never be taken for an account's password.
TELEGRAM_TOKEN_KEY = "alerts:telegram-bot-token"
EMAIL_PASSWORD_KEY = "alerts:smtp-password"

TELEGRAM_API = "https://api.telegram.org"
_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class _Strict(BaseModel):
    # The same strictness as the rest of the settings file (copier_gui.settings), repeated here
    # because that module imports this one.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)



class TelegramSettings(_Strict):
    enabled: bool = False
    chat_id: str = ""  # a numeric chat id (negative for groups) or a channel's @name
    # Another Bot API server (a self-hosted one, or a test's); the token is in the URL's path, so
    # only HTTPS is accepted beyond this machine.
    api_base_url: str = TELEGRAM_API

    @field_validator("chat_id")
    @classmethod
    def _chat_id(cls, value: str) -> str:
        value = value.strip()
        if value and not _CHAT_ID.match(value):
            raise ValueError(f"{value!r} is not a Telegram chat id: use the number the bot's chat has "
                             "(such as 123456789, or -100... for a group) or a channel's @name")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) address such as {TELEGRAM_API}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(f"{value!r} would send the bot token unencrypted: use https")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _complete(self) -> TelegramSettings:
        if self.enabled and not self.chat_id:
            raise ValueError("Telegram alerts need the chat id to send to")
        return self


class EmailSettings(_Strict):
    enabled: bool = False
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""  # empty: the server takes mail without a login (a local relay)
    sender: str = ""
    recipients: list[str] = Field(default_factory=list)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        value = value.strip()
        if value and not _ADDRESS.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        for address in cleaned:
            if not _ADDRESS.match(address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return list(dict.fromkeys(cleaned))

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        if self.username and self.security == "none":
            raise ValueError("security 'none' would send the SMTP password unencrypted: use starttls or ssl "
                             "(or no username, for a relay that needs no login)")
        if self.enabled:
            missing = [name for name, value in (("host", self.host), ("sender", self.sender),
                                                ("recipients", self.recipients)) if not value]
            if missing:
                raise ValueError(f"e-mail alerts need {', '.join(missing)}")
        return self


class ThrottleSettings(_Strict):
    # At most one message per (kind, account) in this window; what else came meanwhile is summed up
    # in one digest when it ends ("and 7 more refusals ...").
    window_s: float = Field(default=300.0, gt=0, le=86_400)
    # Above this many messages in an hour the rest are dropped, and counted in the next message.
    max_per_hour: int = Field(default=30, ge=1, le=10_000)


class AlertSettings(_Strict):
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    kinds: list[AlertKind] = Field(default_factory=lambda: list(ALERT_KINDS))
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)

    @field_validator("kinds")
    @classmethod
    def _unique(cls, value: list[AlertKind]) -> list[AlertKind]:
        return list(dict.fromkeys(value))

    @property
    def enabled(self) -> bool:
        return (self.telegram.enabled or self.email.enabled) and bool(self.kinds)
