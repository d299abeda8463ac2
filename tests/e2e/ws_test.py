"""End-to-end tests of pisockd's ws listeners, with Debian's python3-websockets as an
independent client and, for what that client will not send (unmasked frames, bad lengths,
invalid UTF-8, a handshake one byte at a time), a raw socket. Each case starts its own
daemon on loopback with port 0 and reads the ports from its log; run by meson test
(PISOCKD names the daemon). Prints one line per case; exits 1 if any failed."""
import asyncio
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import warnings

try:
    import websockets
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    with warnings.catch_warnings():  # deprecated since websockets 14, raised before it
        warnings.simplefilter("ignore", DeprecationWarning)
        from websockets.exceptions import InvalidStatusCode
except ImportError:
    print("python3-websockets is missing: run scripts/deps", file=sys.stderr)
    sys.exit(1)

# A handshake the server refused: bookworm's websockets 10 raises InvalidStatusCode, the
# client of websockets 14 and later (trixie) InvalidStatus.
REFUSED = (InvalidStatus, InvalidStatusCode)


def http_status(refused):
    """The HTTP status of a refused handshake, whichever websockets raised it."""
    return refused.response.status_code if isinstance(refused, InvalidStatus) \
        else refused.status_code

PISOCKD = os.environ.get("PISOCKD", "build/daemon/pisockd")
PISOCK = os.environ.get("PISOCK", "build/client/pisock")
DEADLINE = 10  # seconds for anything to happen


class Daemon:
    """pisockd with a ws listener and a TCP listener on 127.0.0.1, ports from its log."""

    def __init__(self, *args, tcp=True, ws_options=""):
        listen = ["--listen", "ws:127.0.0.1:0" + ws_options]
        listen += ["--listen", "127.0.0.1:0"] if tcp else []
        self.proc = subprocess.Popen([PISOCKD, "--config", "/dev/null", *listen, *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = []
        self.ws_port = self.tcp_port = None
        want = 2 if tcp else 1
        found = 0
        for line in self.proc.stderr:  # ends if the daemon exits
            self.lines.append(line)
            m = re.search(r"listening on (ws:)?127\.0\.0\.1:(\d+)", line)
            if m:
                if m.group(1):
                    self.ws_port = int(m.group(2))
                else:
                    self.tcp_port = int(m.group(2))
                found += 1
                if found == want:
                    break
        if found < want:
            raise RuntimeError("pisockd did not start: " + "".join(self.lines))
        threading.Thread(target=lambda: self.lines.extend(self.proc.stderr), daemon=True).start()
        self.url = f"ws://127.0.0.1:{self.ws_port}/"

    def log(self):
        return "".join(self.lines)

    def wait_log(self, needle):
        end = time.monotonic() + DEADLINE
        while needle not in self.log():
            if time.monotonic() > end:
                raise AssertionError(f"log never said {needle!r}:\n{self.log()}")
            time.sleep(0.01)

    def stop(self):
        self.proc.terminate()  # our own child, by PID
        try:
            self.proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def expect(actual, wanted, what=""):
    if actual != wanted:
        raise AssertionError(f"{what}: expected {wanted!r}, got {actual!r}")


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), DEADLINE)


async def closed_code(ws):
    """Waits for the server to close; returns the code of its Close frame."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), DEADLINE)
    except ConnectionClosed as e:
        return e.rcvd.code if e.rcvd else None


# A raw client, for what a conforming one never sends.

def raw_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    return s


HANDSHAKE = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             b"Sec-WebSocket-Version: 13\r\n\r\n")


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        more = s.recv(4096)
        if not more:
            break
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode(), rest


def raw_upgrade(port, one_byte_at_a_time=False):
    s = raw_connect(port)
    if one_byte_at_a_time:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in HANDSHAKE:
            s.sendall(bytes([b]))
            time.sleep(0.001)
    else:
        s.sendall(HANDSHAKE)
    head, rest = read_head(s)
    if not head.startswith("HTTP/1.1 101"):
        raise AssertionError("no 101: " + head)
    expect("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head, True, "accept key")
    return s, rest


def frame(op, payload, fin=True, mask=b"\x01\x02\x03\x04", length=None):
    n = len(payload) if length is None else length
    first = bytes([(0x80 if fin else 0) | op])
    bit = 0x80 if mask else 0
    if n < 126:
        head = first + bytes([bit | n])
    elif n < 65536:
        head = first + bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head = first + bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_frame(s, rest=b""):
    """(opcode, payload) of the next server frame."""
    data = rest

    def need(n):
        nonlocal data
        while len(data) < n:
            more = s.recv(65536)
            if not more:
                raise AssertionError("connection closed mid-frame")
            data += more
    need(2)
    op, n = data[0] & 0x0F, data[1] & 0x7F
    off = 2
    if n == 126:
        need(4)
        n, off = struct.unpack("!H", data[2:4])[0], 4
    elif n == 127:
        need(10)
        n, off = struct.unpack("!Q", data[2:10])[0], 10
    need(off + n)
    return op, data[off:off + n]


def raw_close_code(s, sent, rest=b""):
    """Sends bytes, returns the code of the Close frame the server answers with."""
    s.sendall(sent)
    while True:
        op, payload = read_frame(s, rest)
        rest = b""
        if op == 8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def http(port, request):
    s = raw_connect(port)
    s.sendall(request)
    data = b""
    while True:
        more = s.recv(65536)
        if not more:
            break
        data += more
    s.close()
    return data.decode("utf-8", "replace")


# The cases.

async def case_reply(d):
    async with websockets.connect(d.url) as ws:
        await ws.send("hi")
        expect(await recv(ws), "server rec: hi", "reply")
        await ws.send("你好，树莓派")
        expect(await recv(ws), "server rec: 你好，树莓派", "Chinese reply")
        await ws.send(b"\x00\xffbin")
        expect(await recv(ws), b"server rec: \x00\xffbin", "binary reply")
        await ws.send("quit")
        expect(await recv(ws), "server rec: quit", "quit answered")
        expect(await closed_code(ws), 1000, "close after quit")


async def case_echo_binary(d):
    async with websockets.connect(d.url) as ws:
        data = bytes(range(256)) * 3
        await ws.send(data)
        expect(await recv(ws), data, "binary echo")
        await ws.send("text stays text\n")
        expect(await recv(ws), "text stays text\n", "text echo")


async def case_broadcast(d):
    tcp = socket.create_connection(("127.0.0.1", d.tcp_port), timeout=DEADLINE)
    d.wait_log(f"connected on 127.0.0.1:{d.tcp_port}")  # in the room before the ws client talks
    async with websockets.connect(d.url) as ws:
        await ws.send("from the browser")
        line = b""
        while not line.endswith(b"\n"):
            line += tcp.recv(4096)
        if not re.fullmatch(rb"127\.0\.0\.1:\d+: from the browser\n", line):
            raise AssertionError(f"TCP client got {line!r}")
        tcp.sendall("从终端\n".encode())
        got = await recv(ws)
        if not re.fullmatch(r"127\.0\.0\.1:\d+: 从终端", got):
            raise AssertionError(f"ws client got {got!r}")
    tcp.close()


async def case_fragments(d):
    async with websockets.connect(d.url) as ws:
        await ws.send(["frag", "men", "ted 片段"])
        expect(await recv(ws), "server rec: fragmented 片段", "fragmented message")


async def case_ping(d):
    async with websockets.connect(d.url) as ws:
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, DEADLINE)
        await ws.send("after ping")
        expect(await recv(ws), "server rec: after ping", "reply after ping")


async def case_too_big(d):
    async with websockets.connect(d.url) as ws:
        await ws.send("x" * 101)
        expect(await closed_code(ws), 1009, "message over --max-message")
    d.wait_log("WebSocket closed with 1009")


async def case_stop(d):
    async with websockets.connect(d.url) as ws:
        await ws.send("hi")
        expect(await recv(ws), "server rec: hi", "reply")
        d.proc.terminate()
        # The reason line a TCP client gets, as a text message, then a Close 1001.
        expect(await recv(ws), "error: server stopping", "reason line on stop")
        expect(await closed_code(ws), 1001, "close on the server's stop")


def case_invalid_utf8(d):
    s, rest = raw_upgrade(d.ws_port)
    expect(raw_close_code(s, frame(0x1, b"ok \xc3\x28"), rest), 1007, "invalid UTF-8")


def case_unmasked(d):
    s, rest = raw_upgrade(d.ws_port)
    expect(raw_close_code(s, frame(0x1, b"hi", mask=None), rest), 1002, "unmasked frame")


def case_oversized_length(d):
    s, rest = raw_upgrade(d.ws_port)
    # The top bit of a 64-bit length: a protocol error, before any payload.
    expect(raw_close_code(s, frame(0x2, b"", length=1 << 63), rest), 1002, "63-bit length")
    s, rest = raw_upgrade(d.ws_port)
    # A length past --max-message is refused from its header alone.
    expect(raw_close_code(s, frame(0x2, b"", length=1 << 40), rest), 1009, "huge length")


def case_handshake_byte_by_byte(d):
    s, rest = raw_upgrade(d.ws_port, one_byte_at_a_time=True)
    s.sendall(frame(0x1, "一字一字".encode()))
    expect(read_frame(s, rest), (0x1, "server rec: 一字一字".encode()), "reply")


def case_page(d):
    page = http(d.ws_port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    expect(page.startswith("HTTP/1.1 200"), True, "page status")
    expect('<meta name="pisock-mode" content="reply">' in page, True, "mode in the page")
    expect(http(d.ws_port, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n").split("\r\n")[0],
           "HTTP/1.1 404 Not Found", "other path")
    expect(http(d.ws_port, b"POST / HTTP/1.1\r\nHost: a\r\n\r\n").split("\r\n")[0],
           "HTTP/1.1 405 Method Not Allowed", "POST")


def case_page_off(d):
    expect(http(d.ws_port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").split("\r\n")[0],
           "HTTP/1.1 404 Not Found", "ws-page = no")


async def case_origin(d):
    # Its own page's origin, no origin, and one listed with --ws-origin pass; others get 403.
    for origin in [f"http://127.0.0.1:{d.ws_port}", None, "http://pi.example:8080"]:
        async with websockets.connect(d.url, origin=origin) as ws:
            await ws.send("o")
            expect(await recv(ws), "server rec: o", f"origin {origin}")
    try:
        async with websockets.connect(d.url, origin="http://evil.example"):
            raise AssertionError("a foreign origin was let in")
    except REFUSED as e:
        expect(http_status(e), 403, "foreign origin")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def case_fragments_budget(d):
    # Clients that start a message in fragments and never finish it: what the daemon gathers
    # for them counts in --memory-limit (4M), so near it they are no longer read and a new
    # client gets HTTP 503, instead of 24 of them holding 1M (--max-message) each.
    idle = rss_kib(d.proc.pid)
    piece = b"f" * 16384
    clients = []
    for _ in range(24):
        s, _rest = raw_upgrade(d.ws_port)
        s.setblocking(False)
        clients.append([s, frame(0x2, piece, fin=False), 1])
    # Until the budget is short, and a little more: the idle timeout (2 s) must not come first.
    end = time.monotonic() + DEADLINE
    short = None
    while time.monotonic() < (short or end):
        busy = False
        for c in clients:
            if not c[1]:
                continue
            try:
                n = c[0].send(c[1])
            except BlockingIOError:
                continue
            busy = True
            c[1] = c[1][n:]
            if not c[1] and c[2] < 60:  # 60 fragments: under --max-message
                c[1], c[2] = frame(0x0, piece, fin=False), c[2] + 1
        if short is None and "memory short: " in d.log():
            short = time.monotonic() + 0.3
        if not busy:
            await asyncio.sleep(0.01)
    d.wait_log("memory short: ")
    grew = rss_kib(d.proc.pid) - idle
    if grew > 8 * 1024:
        raise AssertionError(f"the daemon grew by {grew} KiB past --memory-limit 4M")
    try:
        async with websockets.connect(d.url, open_timeout=DEADLINE):
            raise AssertionError("a new client was let in at the memory budget")
    except REFUSED as e:
        expect(http_status(e), 503, "refused near --memory-limit")
    # They send nothing more: the idle timeout (2 s) closes them, and what they held goes.
    for c in clients:
        c[0].close()
    end = time.monotonic() + DEADLINE
    while True:
        try:
            async with websockets.connect(d.url) as ws:
                await ws.send("after")
                expect(await recv(ws), "server rec: after", "served once they left")
                break
        except REFUSED:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.05)


async def case_subprotocol_declined(d):
    async with websockets.connect(d.url, subprotocols=["chat"]) as ws:
        expect(ws.subprotocol, None, "subprotocol")
        await ws.send("kept")
        expect(await recv(ws), "server rec: kept", "connection kept")


async def case_limits(d):
    # --max-per-host 1: a second client from the same host gets HTTP 503.
    async with websockets.connect(d.url) as ws:
        try:
            async with websockets.connect(d.url):
                raise AssertionError("a second client was let in past --max-per-host 1")
        except REFUSED as e:
            expect(http_status(e), 503, "refused past --max-per-host")
        # --idle-timeout 1: the reason line as a text message, then a Close 1000.
        start = time.monotonic()
        expect(await recv(ws), "error: idle timeout (1 s)", "reason line on idle timeout")
        expect(await closed_code(ws), 1000, "close on idle timeout")
        if time.monotonic() - start > 5:
            raise AssertionError("idle client not closed")
    d.wait_log("idle timeout")


async def case_denied(d):
    try:
        async with websockets.connect(d.url, open_timeout=DEADLINE):
            raise AssertionError("a denied client was let in")
    except REFUSED as e:
        expect(http_status(e), 403, "denied by --deny")
    d.wait_log("denied 127.0.0.1")


def case_proxy(d):
    # ws:ADDR,proxy: a PROXY header, then the handshake; the client it names is served as if
    # it had connected itself, or refused with the HTTP status (--deny: 403).
    s = raw_connect(d.ws_port)
    s.sendall(b"PROXY TCP4 198.51.100.1 127.0.0.1 5555 80\r\n" + HANDSHAKE)
    head, rest = read_head(s)
    expect(head.split("\r\n")[0], "HTTP/1.1 101 Switching Protocols", "101 through a proxy")
    s.sendall(frame(0x1, b"via proxy"))
    expect(read_frame(s, rest), (0x1, b"server rec: via proxy"), "reply through a proxy")
    d.wait_log("198.51.100.1:5555 #")
    s = raw_connect(d.ws_port)
    s.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n" + HANDSHAKE)
    head, _ = read_head(s)
    expect(head.split("\r\n")[0], "HTTP/1.1 403 Forbidden", "denied client through a proxy")
    d.wait_log("denied 192.0.2.7:5555 through proxy")


def run_pisock(*args, stdin=""):
    return subprocess.run([PISOCK, *args], input=stdin, capture_output=True, text=True,
                          timeout=3 * DEADLINE)


def case_pisock(d):
    url = f"ws://127.0.0.1:{d.ws_port}"
    r = run_pisock(url, "-m", "hi", "-m", "你好", "--timeout", "5")
    expect((r.returncode, r.stdout), (0, "server rec: hi\nserver rec: 你好\n"), "pisock -m")
    r = run_pisock(url + "/any/path", stdin="a\nb\n")
    expect((r.returncode, r.stdout), (0, "server rec: a\nserver rec: b\n"), "pisock from stdin")
    r = run_pisock(url, "-m", "x" * 200)
    expect(r.returncode, 4, "closed early")
    expect("closed the WebSocket with 1009" in r.stderr, True, "1009 reported: " + r.stderr)
    r = run_pisock(f"ws://127.0.0.1:{d.tcp_port}", "-m", "x", "--timeout", "1")
    expect(r.returncode, 3, "a TCP listener does not answer the handshake")
    r = run_pisock("bench", url, "-c", "3", "-n", "300", "--warmup", "0", "--json")
    expect(r.returncode, 0, "bench: " + r.stderr)
    expect('"errors":0,' in r.stdout, True, "bench errors: " + r.stdout)


def case_pisock_echo(d):
    r = run_pisock("bench", f"ws://127.0.0.1:{d.ws_port}", "--mode", "echo", "-s", "300",
                   "-c", "2", "-P", "4", "-n", "300", "--warmup", "0", "--json")
    expect(r.returncode, 0, "bench: " + r.stderr)
    expect('"errors":0,' in r.stdout, True, "bench errors: " + r.stdout)


CASES = [
    ("reply, Chinese, binary, quit", case_reply, []),
    ("echo of binary", case_echo_binary, ["--mode", "echo"]),
    ("broadcast between ws and TCP", case_broadcast, ["--mode", "broadcast"]),
    ("fragmentation", case_fragments, []),
    ("ping", case_ping, []),
    ("1001 on stop", case_stop, []),
    ("1009 over --max-message", case_too_big, ["--max-message", "100"]),
    ("1007 invalid UTF-8", case_invalid_utf8, []),
    ("1002 unmasked frame", case_unmasked, []),
    ("oversized length field", case_oversized_length, []),
    ("handshake one byte at a time", case_handshake_byte_by_byte, []),
    ("page, 404, 405", case_page, []),
    ("ws-page = no", case_page_off, ["--ws-page", "no"]),
    ("origin allow-list", case_origin, ["--ws-origin", "http://pi.example:8080"]),
    ("unfinished fragments within --memory-limit", case_fragments_budget,
     ["--memory-limit", "4M", "--max-message", "1M", "--idle-timeout", "2", "--log-rate", "0"]),
    ("subprotocol declined", case_subprotocol_declined, []),
    ("per-host cap, idle timeout", case_limits, ["--max-per-host", "1", "--idle-timeout", "1"]),
    ("ACL", case_denied, ["--deny", "127.0.0.1/32"]),
    ("ws:ADDR,proxy", case_proxy, ["--trusted-proxy", "127.0.0.1", "--deny", "192.0.2.7"],
     {"ws_options": ",proxy"}),
    ("pisock ws:// and pisock bench", case_pisock, ["--max-message", "100"]),
    ("pisock bench --mode echo", case_pisock_echo, ["--mode", "echo"]),
]


def main():
    only = sys.argv[1:]
    failed = 0
    for name, case, args, *options in CASES:
        if only and not any(o in name for o in only):
            continue
        d = Daemon(*args, **(options[0] if options else {}))
        try:
            result = case(d)
            if asyncio.iscoroutine(result):
                asyncio.run(asyncio.wait_for(result, 3 * DEADLINE))
            print(f"ok: {name}")
        except Exception:  # report every case, then fail
            failed += 1
            print(f"FAILED: {name}\n{traceback.format_exc()}daemon log:\n{d.log()}")
        finally:
            d.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
