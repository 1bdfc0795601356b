"""Telegram alerts through the Bot API's sendMessage, over httpx.

The Bot API puts the bot token in the URL's path, and httpx logs every request's URL (INFO) and
attaches it to errors. So requests go out addressed to a placeholder, and only the transport, on the
way to the socket, puts the token in: no URL httpx logs, repeats in an error or keeps on a response
ever holds it. The token is read from the keyring for each message and never kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import httpx

from copier_gui.alerts.channel import Message, SendError, read_secret
from copier_gui.alerts.settings import TELEGRAM_TOKEN_KEY, TelegramSettings

__all__ = ["TelegramSender"]

_PLACEHOLDER = "/bot***/"
_PLACEHOLDER_RAW = httpx.URL(_PLACEHOLDER).raw_path  # as httpx escapes it in the path
_TOKEN = "copier_gui.bot_token"  # the request extension that carries the token to the transport
_MAX_TEXT = 4096  # sendMessage's limit, in characters
_FIX_TOKEN = "store the bot token with `copier-gui alerts telegram --chat-id ID`"


class _TokenTransport(httpx.AsyncBaseTransport):
    """Swaps the placeholder in the path for the token, on a copy of the request only."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        token = extensions.pop(_TOKEN, None)
        url = request.url
        if token is not None:
            path = url.raw_path.replace(_PLACEHOLDER_RAW, b"/bot" + token.encode() + b"/", 1)
            url = url.copy_with(raw_path=path)
        real = httpx.Request(request.method, url, headers=request.headers, stream=request.stream,
                             extensions=extensions)
        return await self._inner.handle_async_request(real)

    async def aclose(self) -> None:
        await self._inner.aclose()


class TelegramSender:
    name = "Telegram"

    def __init__(self, settings: TelegramSettings, *, lookup: Callable[[str], str | None],
                 timeout_s: float = 10.0, attempts: int = 4, backoff_s: Sequence[float] = (1.0, 3.0, 10.0),
                 max_retry_after_s: float = 60.0) -> None:
        self.settings = settings
        self._lookup = lookup
        self._timeout = timeout_s
        self._attempts = attempts
        self._backoff = tuple(backoff_s)
        self._max_retry_after = max_retry_after_s
        self._client = httpx.AsyncClient(transport=_TokenTransport(httpx.AsyncHTTPTransport()), timeout=timeout_s)

    async def send(self, message: Message) -> None:
        token = read_secret(self._lookup, TELEGRAM_TOKEN_KEY, "Telegram bot token", _FIX_TOKEN)
        url = f"{self.settings.api_base_url}{_PLACEHOLDER}sendMessage"
        text = f"{message.subject}\n{message.body}"
        if len(text) > _MAX_TEXT:  # the Bot API refuses longer messages outright
            text = text[:_MAX_TEXT - 1] + "…"
        payload = {"chat_id": self.settings.chat_id, "text": text,
                   "disable_web_page_preview": True}
        host = httpx.URL(self.settings.api_base_url).host
        error = ""
        for attempt in range(self._attempts):
            wait = None  # None: the usual backoff
            try:
                response = await self._client.post(url, json=payload, extensions={_TOKEN: token})
            except httpx.TimeoutException:
                error = f"no answer from {host} within {self._timeout:g} s"
            except httpx.TransportError as exc:
                error = f"cannot reach {host}: {_redact(str(exc) or type(exc).__name__, token)}"
            else:
                error, final, wait = self._judge(response, token)
                if not error:
                    return
                if final:
                    raise SendError(error, permanent=True)
            if attempt < self._attempts - 1:
                await asyncio.sleep(wait if wait is not None else self._backoff[min(attempt, len(self._backoff) - 1)])
        raise SendError(f"{error} (after {self._attempts} attempts)", permanent=False)

    def _judge(self, response: httpx.Response, token: str) -> tuple[str, bool, float | None]:
        """(the error or "" when delivered, whether it is final, how long to wait before a retry)."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 200 and body.get("ok") is True:
            return "", False, None
        code = body.get("error_code", response.status_code)
        description = _redact(str(body.get("description") or response.reason_phrase), token)
        if response.status_code == 429:
            parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
            retry_after = parameters.get("retry_after", 1)
            retry_after = float(retry_after) if isinstance(retry_after, int | float) else 1.0
            error = f"Telegram asks for fewer messages (429, retry after {retry_after:g} s)"
            return error, retry_after > self._max_retry_after, retry_after
        if response.status_code >= 500:
            return f"Telegram's server failed ({code} {description})", False, None
        if response.status_code == 401:
            return f"Telegram refused the bot token ({code} {description}): {_FIX_TOKEN}", True, None
        if "chat not found" in description.lower():
            return (f"Telegram does not know chat {self.settings.chat_id} ({code} {description}): send the bot "
                    "a message first, and check the chat id"), True, None
        return f"Telegram refused the message ({code} {description})", True, None

    async def aclose(self) -> None:
        await self._client.aclose()


def _redact(text: str, secret: str) -> str:
    # Defensive: no known error text quotes the token, but a message must never carry it.
    return text.replace(secret, "<token>") if secret else text
