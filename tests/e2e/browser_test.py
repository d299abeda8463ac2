"""The built-in page in a real browser: Debian's chromium, headless, driven over the DevTools
protocol (with python3-websockets). It loads the page of a daemon in reply mode, types a
message in Chinese and sees the reply; then loads the page of a daemon in broadcast mode,
sends a message a TCP client reads, and shows the line that TCP client sends back. The last
view is saved as a PNG (PISOCK_SCREENSHOT, else ws-page.png here): the README's "From a
browser" picture. Skipped, with the reason, only where chromium cannot start."""
import asyncio
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_test import DEADLINE, Daemon, expect, websockets  # noqa: E402

STARTUP = 60  # seconds chromium may take to start on a busy machine
CHINESE = "你好，树莓派"
FROM_TCP = "树莓派收到：温度 42°C"


def skip(why):
    print(f"SKIPPED-CASES: 1: {why}")
    sys.exit(77)  # meson's "skipped"


class Chromium:
    """chromium --headless=new with a DevTools port of its own, in a fresh profile."""

    def __init__(self):
        exe = os.environ.get("PISOCK_CHROMIUM") or shutil.which("chromium")
        if not exe:
            skip("chromium is not installed (scripts/deps installs it)")
        self.profile = tempfile.mkdtemp(prefix="pisock-chromium-")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--remote-debugging-port=0",
             "--remote-allow-origins=*", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        end = time.monotonic() + STARTUP
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                err = self.proc.stderr.read().decode(errors="replace").strip().splitlines()
                skip("chromium cannot start: " + (err[-1] if err else "no DevTools port"))
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.readline())

    def page_url(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=DEADLINE) as r:
            targets = json.load(r)
        return next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # our own child, by PID; its helpers end with it
            try:
                self.proc.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One page over the DevTools protocol: commands by id, events ignored."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    async def call(self, method, **params):
        self.next_id += 1
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), DEADLINE))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply["result"]

    async def eval(self, expression):
        r = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r["result"].get("value")

    async def wait(self, expression, what):
        end = time.monotonic() + DEADLINE
        while True:
            value = await self.eval(expression)
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(f"the page never showed {what}; it shows: "
                                     f"{await self.eval('document.body.innerText')!r}")
            await asyncio.sleep(0.05)

    async def open(self, url):
        await self.call("Page.navigate", url=url)
        await self.wait("document.getElementById('state') && "
                        "document.getElementById('state').textContent.startsWith('Connected')",
                        "Connected")

    async def type_and_enter(self, text):
        """Types into the input line as a user does, and presses Enter."""
        await self.eval("document.getElementById('text').focus()")
        await self.call("Input.insertText", text=text)
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                            windowsVirtualKeyCode=13, text="\r" if kind == "keyDown" else "")

    async def entry(self, who, body):
        """Waits for the message list to show body from who."""
        js = ("[...document.querySelectorAll('#log li')].some(li => "
              f"li.querySelector('.who') && li.querySelector('.who').textContent === {json.dumps(who)}"
              f" && li.querySelector('.body').textContent === {json.dumps(body)})")
        await self.wait(js, f"{who}: {body}")


async def scenario(chromium, reply, broadcast, tcp, screenshot):
    async with websockets.connect(chromium.page_url(), max_size=None) as ws:
        page = Page(ws)
        # A phone's screen: the page is made for it.
        await page.call("Emulation.setDeviceMetricsOverride", width=390, height=700,
                        deviceScaleFactor=2, mobile=True)
        await page.open(f"http://127.0.0.1:{reply.ws_port}/")
        expect(await page.eval("document.getElementById('mode').textContent"), "reply", "mode")
        await page.type_and_enter(CHINESE)
        await page.entry("you", CHINESE)
        await page.entry("server", "server rec: " + CHINESE)

        await page.open(f"http://127.0.0.1:{broadcast.ws_port}/")
        expect(await page.eval("document.getElementById('mode').textContent"), "broadcast", "mode")
        await page.type_and_enter("大家好")
        line = b""
        while not line.endswith(b"\n"):
            line += await asyncio.to_thread(tcp.recv, 4096)
        if not re.fullmatch(r"127\.0\.0\.1:\d+: 大家好\n", line.decode()):
            raise AssertionError(f"the TCP client got {line!r}")
        tcp.sendall((FROM_TCP + "\n").encode())
        tcp_name = "127.0.0.1:%d" % tcp.getsockname()[1]
        await page.entry(tcp_name, FROM_TCP)
        shot = await page.call("Page.captureScreenshot", format="png")
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"screenshot: {screenshot}")


def main():
    screenshot = os.environ.get("PISOCK_SCREENSHOT", "ws-page.png")
    chromium = Chromium()
    reply = Daemon(tcp=False)
    broadcast = Daemon("--mode", "broadcast")
    tcp = socket.create_connection(("127.0.0.1", broadcast.tcp_port), timeout=DEADLINE)
    try:
        broadcast.wait_log(f"connected on 127.0.0.1:{broadcast.tcp_port}")
        asyncio.run(asyncio.wait_for(scenario(chromium, reply, broadcast, tcp, screenshot),
                                     6 * DEADLINE))
        print("ok: chromium: the page replies in Chinese and shows a TCP client's broadcast")
    except Exception:
        print("daemon logs:\n" + reply.log() + broadcast.log())
        raise
    finally:
        tcp.close()
        reply.stop()
        broadcast.stop()
        chromium.stop()


if __name__ == "__main__":
    main()
