"""E-mail alerts over SMTP with aiosmtplib: STARTTLS, implicit TLS, or plain for a local relay.

(Named ``mail`` rather than ``email`` so nothing here is mistaken for the standard library's
``email`` package, which it uses.) The password is read from the keyring for each message and never
kept; settings refuse a login without encryption, so it never crosses a socket in clear.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from copier_gui.alerts.channel import Message, SendError, read_secret
from copier_gui.alerts.settings import EMAIL_PASSWORD_KEY, EmailSettings

__all__ = ["EmailSender", "build_email"]

_FIX_PASSWORD = "store it with `copier-gui alerts email ...`"


def build_email(settings: EmailSettings, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.sender
    mail["To"] = ", ".join(settings.recipients)
    mail["Subject"] = f"[copier-gui] {message.subject}"
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    mail.set_content(message.body + "\n")
    return mail


class EmailSender:
    name = "e-mail"

    def __init__(self, settings: EmailSettings, *, lookup: Callable[[str], str | None],
                 timeout_s: float = 20.0, attempts: int = 3, backoff_s: Sequence[float] = (2.0, 10.0),
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self._lookup = lookup
        self._timeout = timeout_s
        self._attempts = attempts
        self._backoff = tuple(backoff_s)
        self._tls_context = tls_context  # None: the system's trusted certificates

    async def send(self, message: Message) -> None:
        s = self.settings
        password = None
        if s.username:
            password = read_secret(self._lookup, EMAIL_PASSWORD_KEY, f"SMTP password for {s.username}",
                                   _FIX_PASSWORD)
        mail = build_email(s, message)
        where = f"{s.host}:{s.port}"
        error = ""
        for attempt in range(self._attempts):
            try:
                await aiosmtplib.send(
                    mail, hostname=s.host, port=s.port, username=s.username or None, password=password,
                    use_tls=s.security == "ssl", start_tls=s.security == "starttls", timeout=self._timeout,
                    tls_context=self._tls_context)
                return
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise SendError(f"the SMTP server {where} refused the login for {s.username} "
                                f"({exc.code} {_clean(exc.message, password)}): check the user name, and "
                                f"{_FIX_PASSWORD}", permanent=True) from None
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = ", ".join(e.recipient for e in exc.recipients)
                raise SendError(f"the SMTP server {where} refused the recipient(s) {refused}", permanent=True) from None
            except aiosmtplib.SMTPTimeoutError:
                error = f"no answer from the SMTP server {where} within {self._timeout:g} s"
            except aiosmtplib.SMTPResponseException as exc:
                error = f"the SMTP server {where} answered {exc.code} {_clean(exc.message, password)}"
                if 500 <= exc.code < 600:
                    raise SendError(error, permanent=True) from None
            except (aiosmtplib.SMTPException, OSError) as exc:
                detail = _clean(str(exc) or type(exc).__name__, password)
                error = f"cannot send through the SMTP server {where}: {detail}"
                if _certificate_problem(exc):
                    raise SendError(error, permanent=True) from None
            if attempt < self._attempts - 1:
                await asyncio.sleep(self._backoff[min(attempt, len(self._backoff) - 1)])
        raise SendError(f"{error} (after {self._attempts} attempts)", permanent=False)

    async def aclose(self) -> None:
        return  # one connection per message: nothing stays open


def _certificate_problem(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _clean(text: str, secret: str | None) -> str:
    text = " ".join(str(text).split())
    return text.replace(secret, "***") if secret else text
