"""Headless Chromium driven over the DevTools protocol (a websocket; aiohttp is the client): open a
page at a phone's or a desktop's size, wait for it, evaluate JavaScript, take a screenshot."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

PHONE = (390, 844)
DESKTOP = (1366, 768)


def executable() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict:
        call = next(self._ids)
        await self.ws.send_json({"id": call, "method": method, "params": params})
        async for message in self.ws:
            data = json.loads(message.data)
            if data.get("id") == call:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return data["result"]
        raise RuntimeError(f"{method}: the browser closed the connection")

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await self.evaluate(expression):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the page never got to: {expression}")
            await asyncio.sleep(0.1)

    async def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = (await self.send("Page.getLayoutMetrics"))["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = await self.send("Page.captureScreenshot", **params)
        path.write_bytes(base64.b64decode(shot["data"]))


@contextlib.asynccontextmanager
async def open_page(url: str, *, size: tuple[int, int], dark: bool = False, args: tuple[str, ...] = ()):
    """A page at ``url`` in a new headless Chromium, ``size`` CSS pixels, a phone below 500 wide."""
    width, height = size
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    process = await asyncio.create_subprocess_exec(
        executable(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}",
        "--remote-debugging-port=0", f"--window-size={width},{height}", *args, "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        port = await _devtools_port(process)
        # Keep reading its log, or a chatty Chromium blocks on a full pipe.
        drain = asyncio.create_task(_drain(process))
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json(content_type=None)
            target = next(t for t in targets if t["type"] == "page")
            async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Page(ws)
                await page.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                                deviceScaleFactor=1, mobile=width < 500)
                await page.send("Emulation.setEmulatedMedia", features=[
                    {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
                await page.send("Page.enable")
                await page.send("Page.navigate", url=url)
                await page.wait_for("document.readyState === 'complete'")
                yield page
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        if "drain" in locals():
            await drain
        shutil.rmtree(profile, ignore_errors=True)


async def _drain(process: asyncio.subprocess.Process) -> None:
    assert process.stderr is not None
    while await process.stderr.read(65536):
        pass


async def _devtools_port(process: asyncio.subprocess.Process) -> int:
    """Chromium prints where DevTools listens once it is ready."""
    async def read() -> int:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            found = re.search(rb"DevTools listening on ws://[^:]+:(\d+)/", line)
            if found:
                return int(found.group(1))
        raise RuntimeError("Chromium exited before DevTools listened")

    return await asyncio.wait_for(read(), timeout=30)
