#!/usr/bin/env python3
"""Hostile clients against the memory budget (docs/BENCHMARKS.md, "Hostile clients and the
memory budget").

For each attack: a fresh BUILD/daemon/pisockd on 127.0.0.1 (pinned with taskset -c 1 if it
can be), its idle VmRSS, then the attack with CONNECTIONS connections for SECONDS while a
polite client does a round trip every 10 ms; then the attackers leave. Prints, per attack,
the daemon's peak VmRSS (sampled every 20 ms, and VmHWM) against the budget, the polite
client's round-trip p50/p99/max during the attack, replies lost or wrong, the RSS a few
seconds after the attack, whether the daemon survived, and the share of a CPU the daemon
got meanwhile (on a shared machine, what its latencies mean).

listeners   --mode broadcast: one writer sends 2-byte lines as fast as it can; the others
            listen and never read (SO_RCVBUF 2 KiB), joining --stagger apart so that each
            falls behind on different messages. Polite: one client sends, another receives.
pipeline    reply mode: clients pipeline 1000-byte lines and never read their replies.
oom         pipeline, with the daemon under RLIMIT_AS (prlimit --as) below what
            --memory-limit allows: allocations fail, the daemon must keep serving.
raw         --mode broadcast --framing raw: clients send 64 KiB reads of newlines (a prefix
            per line would be a 22x bigger message) to listeners that never read.
slots       one host opens connections (a byte every few seconds, as under --idle-timeout)
            to hold every slot; --max-per-host stops it; the polite client is another host.
greedy      pisock bench pipelines 1000-byte messages over all connections (-P 16), reading
            its replies as fast as it can: fairness of the loop turn.
fragments   a ws: listener with --max-message 1M: every client opens a WebSocket, starts a
            binary message in fragments (16 KiB frames without FIN) and never finishes it.

    bench/hostile.py BUILD [--attacks listeners,pipeline,oom,raw,slots,greedy,fragments]
                           [--connections 1000] [--seconds 20] [--stagger 0.01]
                           [--memory-limit 64M] [--as-limit 96M] [--json FILE]
"""
import argparse
import json
import multiprocessing
import os
import re
import resource
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

from pisockd_proc import Pisockd, status_kib  # bench/pisockd_proc.py

SOURCES = 8  # attackers come from 127.0.0.1-8; the polite client from 127.0.0.9 and .10


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


class Daemon(Pisockd):
    """pisockd on 127.0.0.1:0 with args, pinned to CPU 1; its RSS sampled every 20 ms."""

    def __init__(self, build, args, prefix=()):
        pin = ["taskset", "-c", "1"] if shutil.which("taskset") and os.cpu_count() > 1 else []
        super().__init__([*pin, *prefix, os.path.join(build, "daemon", "pisockd"), "--config", "/dev/null",
                          "--log-level", "notice", "--listen", "127.0.0.1:0", "--idle-timeout", "0", *args])
        self.peak = 0
        self.sampling = True
        self.sampler = threading.Thread(target=self.sample)
        self.sampler.start()

    def sample(self):
        while self.sampling:
            try:
                self.peak = max(self.peak, status_kib(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            time.sleep(0.02)

    def alive(self):
        return self.proc.poll() is None

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.sampling = False
        self.sampler.join()
        hwm = status_kib(self.pid, "VmHWM") if self.alive() else 0
        if self.alive():
            self.proc.terminate()
        try:
            status = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        self.reader.join()
        return status, hwm


def polite_main(port, broadcast, stop, results):
    """Round trips every 10 ms until stop is set: reply mode (one client), or broadcast (a
    sender and a receiver that reads everything and picks out the sender's lines). Runs in a
    process of its own, so that the attackers' loop never delays its measurements."""
    send_sock = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.9", 0))
    recv_sock = (socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.10", 0))
                 if broadcast else send_sock)
    # As pisock does: without it, Nagle holds each line until the daemon ACKs the one before,
    # and a sender that gets nothing back waits for a delayed ACK (tens of milliseconds).
    send_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if broadcast:  # the sender gets everyone's messages too: it must read them, or wait

        def discard():
            try:
                while send_sock.recv(1 << 20):
                    pass
            except OSError:
                pass

        threading.Thread(target=discard, daemon=True).start()
    rtt, lost, pending, i = [], 0, b"", 0
    # In broadcast, the daemon tells a receiver it dropped messages for it (slow-client policy):
    # what those notices add up to says why a polite line was lost.
    notice = re.compile(rb"error: (\d+) messages dropped\n")
    dropped, tail = 0, b""
    while not stop.is_set():
        want = (f": polite {i}\n" if broadcast else f"server rec: polite {i}\n").encode()
        start = time.monotonic()
        send_sock.sendall(f"polite {i}\n".encode())
        ok = False
        while time.monotonic() < start + 5:
            at = pending.find(want)
            if at >= 0:
                pending, ok = pending[at + len(want):], True
                break
            pending = pending[-len(want):]  # a line may be cut between two reads
            recv_sock.settimeout(max(0.001, start + 5 - time.monotonic()))
            try:
                data = recv_sock.recv(1 << 20)
            except socket.timeout:
                break
            if not data:
                break
            pending += data
            if broadcast:
                scan = tail + data
                dropped += sum(int(m.group(1)) for m in notice.finditer(scan) if m.end() > len(tail))
                tail = scan[-64:]
        if ok:
            rtt.append((time.monotonic() - start) * 1000)
        else:
            lost += 1
        i += 1
        time.sleep(0.01)
    results.put((rtt, lost, dropped))


class Polite:
    def __init__(self, port, broadcast):
        ctx = multiprocessing.get_context("spawn")
        self.stop_event = ctx.Event()
        self.results = ctx.Queue()
        self.proc = ctx.Process(target=polite_main, args=(port, broadcast, self.stop_event, self.results))
        self.rtt, self.lost, self.dropped = [], 0, 0

    def start(self):
        self.proc.start()

    def stop(self):
        self.stop_event.set()
        self.rtt, self.lost, self.dropped = self.results.get(timeout=30)
        self.proc.join()


def connect_many(port, n, rcvbuf=0, stagger=0.0, on_each=None, sources=SOURCES):
    socks = []
    for i in range(n):
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.bind((f"127.0.0.{1 + i % sources}", 0))
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
        if on_each:
            on_each()
        if stagger:
            time.sleep(stagger)
    return socks


def pump(socks, data, until):
    """Sends data on every socket whenever it takes more, until the deadline."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    while time.monotonic() < until:
        for key, _ in sel.select(timeout=0.05):
            try:
                key.fileobj.send(data)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                sel.unregister(key.fileobj)
    sel.close()


def ws_frame(op, payload, fin=True, mask=b"\x01\x02\x03\x04"):
    """A masked WebSocket frame, as a client sends it (RFC 6455 5.2)."""
    n = len(payload)
    first = bytes([(0x80 if fin else 0) | op])
    if n < 126:
        head = first + bytes([0x80 | n])
    elif n < 65536:
        head = first + bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head = first + bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def open_fragments(d, n):
    """n WebSocket clients on d's ws listener, each with a fragmented message begun; the
    sockets that got their 101, non-blocking, and how many were refused."""
    deadline = time.monotonic() + 10
    ws_port = None
    while ws_port is None and time.monotonic() < deadline:
        ws_port = next((int(m.group(1)) for m in (re.search(r"listening on ws:127\.0\.0\.1:(\d+)", l)
                                                  for l in list(d.log)) if m), None)
        time.sleep(0.01)
    hello = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    first = ws_frame(0x2, b"f" * 16384, fin=False)
    opened, refused = [], 0
    for s in connect_many(ws_port, n):
        s.settimeout(10)
        try:
            s.sendall(hello)
            head = b""
            while b"\r\n\r\n" not in head:
                more = s.recv(4096)
                if not more:
                    raise OSError("closed")
                head += more
            if not head.startswith(b"HTTP/1.1 101"):
                raise OSError("refused")
            s.sendall(first)
            s.setblocking(False)
            opened.append(s)
        except OSError:
            refused += 1
            s.close()
    return opened, refused


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def attack(name, build, opts):
    budget = opts.memory_limit
    common = ["--memory-limit", str(budget), "--max-connections", str(opts.connections + 200),
              "--log-rate", "5", "--log-level", "info"]
    prefix = ()
    if name in ("listeners", "raw"):
        args = ["--mode", "broadcast"] + (["--framing", "raw"] if name == "raw" else [])
    elif name == "oom":
        args = ["--memory-limit", str(4 * opts.as_limit)]  # the heap runs out first
        prefix = ("prlimit", f"--as={opts.as_limit}")
    elif name == "greedy":
        args = ["--max-per-host", "0"]
    elif name == "fragments":
        args = ["--listen", "ws:127.0.0.1:0", "--max-message", "1M"]
    else:
        args = []
    d = Daemon(build, common + args, prefix)
    time.sleep(0.5)
    idle = status_kib(d.pid)
    d.peak = 0
    polite = Polite(d.port, name in ("listeners", "raw"))
    polite.start()
    cpu0, wall0 = d.cpu_seconds(), time.monotonic()
    socks = []
    extra = None
    end = None
    try:
        if name == "listeners":
            writer = connect_many(d.port, 1)[0]
            stop_flood = [False]

            def flood_loop():
                while not stop_flood[0]:
                    pump([writer], b"x\n" * 16384, time.monotonic() + 0.2)

            flood = threading.Thread(target=flood_loop)
            flood.start()
            socks = connect_many(d.port, opts.connections - 1, rcvbuf=2048, stagger=opts.stagger)
            time.sleep(opts.seconds)
            stop_flood[0] = True
            flood.join()
            socks.append(writer)
        elif name in ("pipeline", "oom"):
            socks = connect_many(d.port, opts.connections)
            line = b"p" * 999 + b"\n"
            pump(socks, line * 64, time.monotonic() + opts.seconds)
        elif name == "raw":
            listeners = connect_many(d.port, opts.connections // 2, rcvbuf=2048, stagger=opts.stagger / 2)
            senders = connect_many(d.port, opts.connections - opts.connections // 2)
            socks = listeners + senders
            pump(senders, b"\n" * 65536, time.monotonic() + opts.seconds)
        elif name == "slots":
            socks = connect_many(d.port, opts.connections, sources=1)  # one host
            end = time.monotonic() + opts.seconds
            while time.monotonic() < end:
                for s in socks:
                    try:
                        s.send(b"x")
                    except OSError:
                        pass
                time.sleep(min(5, opts.seconds / 4))
            refused = sum("--max-per-host" in line for line in d.log)
            extra = f"one host, {len(socks)} connections: refused past --max-per-host ({refused} log lines)"
        elif name == "greedy":
            out = subprocess.run([os.path.join(build, "client", "pisock"), "bench", "127.0.0.1",
                                  str(d.port), "-c", str(opts.connections), "-s", "1000", "-P", "16",
                                  "-d", str(opts.seconds), "--warmup", "0", "--no-progress"],
                                 capture_output=True, text=True)
            m = re.search(r"messages\s+(\d+)\s+\((\d+) msgs/s", out.stdout)
            extra = f"greedy: {m.group(2)} msgs/s" if m else "greedy: " + out.stderr.strip()[-200:]
        elif name == "fragments":
            # The budget fills within a second: the polite client must be in first (a client
            # that comes near the budget is refused, which is the point).
            deadline = time.monotonic() + 10
            while not any("127.0.0.9:" in line for line in list(d.log)) and time.monotonic() < deadline:
                time.sleep(0.01)
            socks, refused = open_fragments(d, opts.connections)
            pump(socks, ws_frame(0x0, b"f" * 16384, fin=False), time.monotonic() + opts.seconds)
            extra = (f"{len(socks)} WebSocket clients each hold an unfinished message, "
                     f"{refused} refused (HTTP 503)")
    finally:
        polite.stop()
        attacked_peak = d.peak
        # The share of a CPU the daemon got: on a shared machine, what its latencies mean.
        cpu_share = (d.cpu_seconds() - cpu0) / (time.monotonic() - wall0) if d.alive() else 0
        for s in socks:
            s.close()
    # Memory given back: the RSS a few seconds after the attackers left.
    time.sleep(opts.settle)
    after = status_kib(d.pid) if d.alive() else 0
    alive = d.alive()
    status, hwm = d.stop()
    row = {
        "attack": name, "connections": opts.connections, "budget_mib": budget / 2**20,
        "idle_mib": idle / 1024, "peak_mib": max(attacked_peak, hwm) / 1024,
        "target_mib": (budget / 1024 + idle) * 1.1 / 1024, "after_mib": after / 1024,
        "p50_ms": pct(polite.rtt, 50), "p99_ms": pct(polite.rtt, 99),
        "max_ms": max(polite.rtt) if polite.rtt else float("nan"),
        "round_trips": len(polite.rtt), "lost": polite.lost, "survived": alive,
        "exit": status, "note": extra or "", "cpu_share": cpu_share,
        "polite_dropped": polite.dropped,
    }
    if polite.dropped:
        row["note"] = (row["note"] + f" the polite receiver was told {polite.dropped} messages "
                       "were dropped for it").strip()
    if name == "oom":
        row["target_mib"] = float("nan")  # bounded by RLIMIT_AS, not by the budget
        row["note"] = (row["note"] + f" RLIMIT_AS {opts.as_limit // 2**20} MiB, "
                       f"{sum('out of memory' in l for l in d.log)} out-of-memory log lines").strip()
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--attacks", default="listeners,pipeline,oom,raw,slots,greedy,fragments")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--stagger", type=float, default=0.01)
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--memory-limit", type=parse_size, default=64 << 20)
    ap.add_argument("--as-limit", type=parse_size, default=96 << 20)
    ap.add_argument("--json")
    opts = ap.parse_args()
    want = opts.connections * 2 + 500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        except (ValueError, OSError):
            sys.exit(f"hostile.py: cannot raise the descriptor limit to {want} (run as root)")
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    rows = []
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| attack | conns | budget | idle RSS | peak RSS | target | RSS 5 s after | polite p50 / p99 / max (ms) | round trips, lost | daemon CPU | daemon | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for name in opts.attacks.split(","):
        r = attack(name, opts.build, opts)
        rows.append(r)
        print(f"| {r['attack']} | {r['connections']} | {r['budget_mib']:.0f} MiB | {r['idle_mib']:.1f} MiB "
              f"| {r['peak_mib']:.1f} MiB | {r['target_mib']:.1f} MiB | {r['after_mib']:.1f} MiB "
              f"| {r['p50_ms']:.2f} / {r['p99_ms']:.2f} / {r['max_ms']:.2f} | {r['round_trips']}, {r['lost']} "
              f"| {r['cpu_share'] * 100:.0f} % "
              f"| {'alive' if r['survived'] else 'DIED'} (exit {r['exit']}) | {r['note']} |", flush=True)
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["survived"] and r["lost"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
