"""A real headless Chromium, driven over the DevTools protocol on loopback, for the HTML report test.

It records what a person opening the page would have seen go wrong: console messages, log entries
(a Content-Security-Policy violation lands there), uncaught exceptions, and every network request
the page made, and it takes the screenshot the test keeps.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import websocket

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
STARTUP_SECONDS = 90


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    return None


@dataclass
class PageVisit:
    console: list[dict] = field(default_factory=list)     # Runtime.consoleAPICalled params
    log: list[dict] = field(default_factory=list)         # Log.entryAdded entries
    exceptions: list[dict] = field(default_factory=list)  # Runtime.exceptionThrown params
    requests: list[str] = field(default_factory=list)     # URLs of Network.requestWillBeSent
    screenshot: bytes = b""
    values: dict[str, object] = field(default_factory=dict)

    def errors(self) -> list[str]:
        """Everything that counts as a console error, as readable lines."""
        lines = [f"console.{c['type']}: " + " ".join(str(a.get("value", a.get("description", ""))) for a in c["args"])
                 for c in self.console if c["type"] in ("error", "assert")]
        lines += [f"log {e['level']} ({e['source']}): {e['text']}" for e in self.log if e["level"] == "error"]
        lines += [f"exception: {x['exceptionDetails'].get('text')} "
                  f"{x['exceptionDetails'].get('exception', {}).get('description', '')}" for x in self.exceptions]
        return lines


class _Session:
    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def call(self, method: str, **params: object) -> dict:
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"DevTools {method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, seconds: float = 60) -> dict:
        deadline = time.monotonic() + seconds
        seen = 0
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if event["method"] == method:
                    return event
            seen = len(self.events)
            message = json.loads(self.ws.recv())
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(f"no {method} within {seconds}s")


@contextlib.contextmanager
def chromium(binary: str, profile: Path) -> Iterator[str]:
    """Start headless Chromium with a throwaway profile; yields the DevTools HTTP base URL."""
    process = subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        seen = []
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            match = re.search(r"DevTools listening on ws://([\d.]+:\d+)/", line)
            if match:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not start")
        else:
            raise RuntimeError("chromium exited before DevTools listened:\n" + "".join(seen[-20:]))
        # keep draining stderr so chromium never blocks on a full pipe
        threading.Thread(target=process.stderr.read, daemon=True).start()
        yield f"http://{match.group(1)}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def visit(binary: str, profile: Path, page: Path, width: int, height: int,
          evaluate: dict[str, str]) -> PageVisit:
    """Open ``page`` (a local file) in a fresh Chromium, wait for it to load, evaluate each named
    JavaScript expression, and take a screenshot of ``width`` x ``height``."""
    result = PageVisit()
    with chromium(binary, profile) as base:
        targets = json.load(urllib.request.urlopen(f"{base}/json/list", timeout=30))
        target = next(t for t in targets if t["type"] == "page")
        session = _Session(target["webSocketDebuggerUrl"])
        try:
            for domain in ("Runtime", "Log", "Page", "Network"):
                session.call(f"{domain}.enable")
            session.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                         mobile=False)
            session.events.clear()
            session.call("Page.navigate", url=page.resolve().as_uri())
            session.wait_for("Page.loadEventFired")
            for name, expression in evaluate.items():
                reply = session.call("Runtime.evaluate", expression=expression, returnByValue=True)
                if "exceptionDetails" in reply:
                    raise RuntimeError(f"evaluating {name}: {reply['exceptionDetails']}")
                result.values[name] = reply["result"].get("value")
            shot = session.call("Page.captureScreenshot", format="png")
            result.screenshot = base64.b64decode(shot["data"])
            session.call("Runtime.evaluate", expression="1")  # flush events sent before this reply
        finally:
            session.ws.close()
    for event in session.events:
        params = event.get("params", {})
        if event["method"] == "Runtime.consoleAPICalled":
            result.console.append(params)
        elif event["method"] == "Log.entryAdded":
            result.log.append(params["entry"])
        elif event["method"] == "Runtime.exceptionThrown":
            result.exceptions.append(params)
        elif event["method"] == "Network.requestWillBeSent":
            result.requests.append(params["request"]["url"])
    return result
