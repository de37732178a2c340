"""Headless Chromium for tests, driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read protocol messages from its fd 3 and write
them to its fd 4, each JSON text ended by a NUL byte: no port, no websocket client, no
browser download. The browser is Debian's ``chromium`` found on PATH; without it the tests
that need it are skipped, except under CI (``CI=true``), where a missing browser fails them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import itertools
import json
import os
import shutil
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

BROWSER = "chromium"
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root on CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",  # the machine has no network: no calls home
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--remote-debugging-pipe",
)

TEXT_SCRIPT = """(() => {
  const texts = [];
  const visit = (doc) => {
    if (!doc || !doc.body) return;
    texts.push(doc.body.innerText);
    for (const frame of doc.querySelectorAll('iframe')) {
      try { visit(frame.contentDocument); } catch (e) { /* another origin: not ours to read */ }
    }
  };
  visit(document);
  return texts.join('\\n');
})()"""


def _above_9(fd: int) -> int:
    """The same pipe end on a descriptor number above 9 (the original is closed)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


def chromium_binary() -> str:
    """The browser's path; skips the test when it is missing, fails it under CI."""
    found = shutil.which(BROWSER)
    if found is not None:
        return found
    message = (
        f"{BROWSER} not found on PATH: install the Debian package chromium "
        "(apt-get install chromium; .ci/run does)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


class ProtocolError(RuntimeError):
    """The browser answered a DevTools call with an error."""


class Browser:
    """One Chromium process and its protocol connection."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._proc = proc
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._dispatch = asyncio.create_task(self._read_messages(), name="chromium protocol")

    async def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send one protocol command and return its result."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = answer
        self._writer.write(json.dumps(message).encode() + b"\0")
        await self._writer.drain()
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                reply = await answer
        finally:
            self._pending.pop(message_id, None)
        if "error" in reply:
            raise ProtocolError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def new_page(self, width: int, height: int) -> Page:
        """A fresh tab showing about:blank, with a fixed viewport."""
        target = await self.call("Target.createTarget", {"url": "about:blank"})
        attached = await self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, attached["sessionId"])
        await page.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page

    async def _read_messages(self) -> None:
        try:
            while True:
                raw = await self._reader.readuntil(b"\0")
                message = json.loads(raw[:-1])
                answer = self._pending.get(message.get("id", -1))
                if answer is not None and not answer.done():
                    answer.set_result(message)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(ProtocolError(f"the browser went away: {exc}"))

    async def close(self) -> None:
        with contextlib.suppress(ProtocolError, TimeoutError, ConnectionError):
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await self.call("Browser.close")
        self._writer.close()
        try:
            await asyncio.wait_for(self._proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        self._dispatch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._dispatch


class Page:
    """One tab, addressed by its protocol session."""

    def __init__(self, browser: Browser, session: str) -> None:
        self._browser = browser
        self._session = session

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self._browser.call(method, params, self._session)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = await self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise ProtocolError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def goto(self, url: str, timeout_s: float = 20.0) -> None:
        """Open ``url`` and wait until its document has loaded."""
        navigated = await self.call("Page.navigate", {"url": url})
        if navigated.get("errorText"):
            raise ProtocolError(f"could not open {url}: {navigated['errorText']}")
        await self.wait_for(
            "document.readyState === 'complete' && location.href !== 'about:blank'",
            f"{url} to load",
            timeout_s,
        )

    async def wait_for(self, expression: str, what: str, timeout_s: float = 20.0) -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout_s:.0f} s for {what}")
            await asyncio.sleep(0.2)

    async def text(self) -> str:
        """What the page shows as text: ``innerText`` (rendered, not markup) of the document
        and of each same-origin frame in it (the Temporal UI renders Markdown in frames)."""
        value = await self.evaluate(TEXT_SCRIPT)
        return str(value or "")

    async def wait_for_text(self, wanted: Sequence[str], timeout_s: float = 20.0) -> str:
        """Poll the page's text until every string in ``wanted`` shows; that text."""
        deadline = time.monotonic() + timeout_s
        while True:
            text = await self.text()
            missing = [w for w in wanted if w not in text]
            if not missing:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"after {timeout_s:.0f} s the page still does not show {missing}; "
                    f"it shows:\n{text[:4000]}"
                )
            await asyncio.sleep(0.25)

    async def screenshot(self, path: Path) -> Path:
        """Save what the viewport shows as a PNG."""
        shot = await self.call("Page.captureScreenshot", {"format": "png"})
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))
        return path


@contextlib.asynccontextmanager
async def running_chromium(profile_dir: Path, log_path: Path) -> AsyncIterator[Browser]:
    """Start headless Chromium with an empty profile in ``profile_dir`` (its stderr goes to
    ``log_path``); stop it on exit."""
    binary = chromium_binary()
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    # bash moves the pipe ends to the fds Chromium reads (3) and writes (4); above 9 first, so
    # that neither redirection overwrites the other's source (dash takes single digits only).
    to_browser_r, from_browser_w = _above_9(to_browser_r), _above_9(from_browser_w)
    script = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
    log = open(log_path, "ab")  # noqa: ASYNC230, SIM115
    proc = await asyncio.create_subprocess_exec(
        shutil.which("bash") or "bash",
        "-c",
        script,
        "bash",
        binary,
        *FLAGS,
        f"--user-data-dir={profile_dir}",
        "about:blank",
        pass_fds=(to_browser_r, from_browser_w),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    log.close()
    os.close(to_browser_r)
    os.close(from_browser_w)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(from_browser_r, "rb", 0)
    )
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(to_browser_w, "wb", 0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    browser = Browser(proc, reader, writer)
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            await browser.call("Browser.getVersion")
    except (ProtocolError, ConnectionError, TimeoutError) as exc:
        await browser.close()
        raise RuntimeError(f"{binary} did not start (see {log_path}): {exc!r}") from exc
    try:
        yield browser
    finally:
        await browser.close()
