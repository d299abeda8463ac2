#!/usr/bin/env python3
"""Cost of broadcast mode's fan-out (docs/BENCHMARKS.md, "Broadcast").

Starts BUILD/daemon/pisockd --mode broadcast pinned to one CPU (taskset -c DAEMON_CPU), the
benchmark itself pinned to another, and measures:

cpu     For each number of receivers N: one sender sends M messages of SIZE bytes; every
        receiver must get all M ("<sender>: payload"), in order. The daemon's CPU time
        (utime + stime from /proc/PID/stat) over that span, divided by the N * M deliveries,
        is the cost of one message to one recipient. Two patterns: burst (the sender writes
        all M as fast as it can: the daemon batches many messages into one sendmsg() per
        receiver) and paced (one message, then wait until every receiver has it: one
        sendmsg() per delivery, the worst case, a quiet chat).
allocs  The daemon under heaptrack (as bench/allocs.sh runs it), burst and paced as above
        with N receivers, for M1 and then M2 messages: (calls2 - calls1) / (M2 - M1) is what
        one message costs in heap allocations, and the bytes allocated likewise (a copy per
        recipient would be N times the message).
memory  N receivers that do not read, on a unix socket (whose kernel buffer is fixed, about
        200 KiB, where TCP's grows to 4 MiB per socket), M messages of SIZE bytes: the growth
        of the daemon's VmRSS per queued message per recipient. A copy per recipient would
        cost at least SIZE bytes each; a shared message costs its 8-byte queue entry plus
        SIZE / N.

    bench/broadcast.py BUILD [--receivers 10,100,1000] [--deliveries 2000000] [--size 64]
                             [--paced-deliveries 200000] [--memory-receivers 100]
                             [--memory-messages 10000] [--memory-size 960]
                             [--alloc-receivers 100] [--alloc-messages 2000,20000] [--cpus 0,1]
"""
import argparse
import glob
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

from pisockd_proc import Pisockd, status_kib  # bench/pisockd_proc.py

CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime, stime (fields 14, 15)


class Daemon(Pisockd):
    """pisockd --mode broadcast on 127.0.0.1:0 (and a unix socket), pinned to one CPU; wrapper:
    a command that runs it (heaptrack -o FILE)."""

    def __init__(self, build, cpu, clients, unix_path=None, extra=(), wrapper=()):
        args = ["taskset", "-c", str(cpu), *wrapper, os.path.join(build, "daemon", "pisockd"),
                "--config", "/dev/null", "--mode", "broadcast", "--log-level", "info",
                "--max-connections", str(clients + 100), "--max-per-host", "0", "--idle-timeout", "0", "--log-rate", "0",
                "--listen", "127.0.0.1:0", *extra]
        if unix_path:
            args += ["--listen", "unix:" + unix_path]
        super().__init__(args)

    def wait_clients(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        while sum("connected on" in line for line in list(self.log)) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"pisockd accepted fewer than {n} clients")
            time.sleep(0.05)

    def stop(self):
        os.kill(self.pid, 15)
        self.proc.wait(timeout=60)
        self.reader.join()


def connect(port, n):
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.0.{1 + i % 8}", 0))
        s.setblocking(False)
        socks.append(s)
    return socks


def payload(size, i):
    tag = b"m%d " % i
    return tag + b"x" * max(0, size - len(tag))


class Receivers:
    """Reads every receiver; counts lines and checks that each starts with the sender's name."""

    def __init__(self, socks, sender_name):
        self.sel = selectors.EpollSelector()
        for s in socks:
            self.sel.register(s, selectors.EVENT_READ)
        self.lines = {s: 0 for s in socks}
        self.tail = {s: b"" for s in socks}
        self.prefix = sender_name.encode() + b": m"
        self.bad = 0

    def poll(self, timeout):
        for key, _ in self.sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                raise RuntimeError("a receiver was closed")
            text = self.tail[s] + data
            cut = text.rfind(b"\n") + 1
            complete, self.tail[s] = text[:cut], text[cut:]
            n = complete.count(b"\n")
            # The check is cheap: every line must be the sender's (no drops, no error lines).
            if complete.count(self.prefix) != n:
                self.bad += 1
            self.lines[s] += n

    def all_have(self, m):
        return min(self.lines.values()) >= m


def run_cpu(build, cpu, n, messages, size, paced, wrapper=()):
    # No drops: this is about the cost of delivering.
    d = Daemon(build, cpu, n + 1, extra=["--high-water", "1G", "--memory-limit", "8G"], wrapper=wrapper)
    try:
        socks = connect(d.port, n + 1)
        sender, receivers = socks[0], socks[1:]
        d.wait_clients(n + 1)
        name = "%s:%d" % sender.getsockname()
        rx = Receivers(receivers, name)
        sender.setblocking(True)
        cpu0, t0 = cpu_seconds(d.pid), time.monotonic()
        if paced:
            for i in range(messages):
                sender.sendall(payload(size, i) + b"\n")
                while not rx.all_have(i + 1):
                    rx.poll(5)
        else:
            burst = b"".join(payload(size, i) + b"\n" for i in range(messages))
            writer = threading.Thread(target=sender.sendall, args=(burst,))
            writer.start()
            deadline = time.monotonic() + 600
            while not rx.all_have(messages) and time.monotonic() < deadline:
                rx.poll(1)
            writer.join()
        elapsed, cpu_used = time.monotonic() - t0, cpu_seconds(d.pid) - cpu0
        if rx.bad or not rx.all_have(messages):
            raise RuntimeError(f"receivers got wrong or missing lines ({rx.bad} bad reads)")
        for s in socks:
            s.close()
        return elapsed, cpu_used
    finally:
        d.stop()


def run_allocs(build, cpu, n, messages, size, paced):
    """Allocation calls and bytes allocated by the daemon over a whole run (heaptrack)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ht")
        run_cpu(build, cpu, n, messages, size, paced, wrapper=["heaptrack", "-o", out])
        hist = os.path.join(tmp, "sizes")  # "size count" per line: the bytes allocated
        text = subprocess.run(["heaptrack_print", "-H", hist, *glob.glob(out + ".*")],
                              capture_output=True, text=True).stdout
        calls = int(re.search(r"calls to allocation functions: (\d+)", text).group(1))
        with open(hist) as f:
            total = sum(int(size) * int(count) for size, count in (line.split() for line in f))
        return calls, total


def run_memory(build, cpu, n, messages, size):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "b.sock")
        d = Daemon(build, cpu, n + 1, unix_path=path, extra=["--high-water", "1G", "--memory-limit", "8G"])
        try:
            sender = socket.create_connection(("127.0.0.1", d.port))
            receivers = []
            for _ in range(n):
                u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                u.connect(path)
                receivers.append(u)
            d.wait_clients(n + 1)
            time.sleep(0.5)
            before = status_kib(d.pid)
            # The first messages fill the receivers' kernel buffers, not the daemon's queues.
            burst = b"".join(payload(size, i) + b"\n" for i in range(messages))
            sender.sendall(burst)
            # Wait until the daemon has read everything and queued it (its CPU time stops).
            last, still = cpu_seconds(d.pid), 0
            while still < 5:
                time.sleep(0.2)
                now = cpu_seconds(d.pid)
                still = still + 1 if now == last else 0
                last = now
            after = status_kib(d.pid)
            queued = None
            for u in receivers[:1]:  # what one receiver has in its kernel buffer, to subtract
                u.setblocking(False)
                got = b""
                try:
                    while True:
                        chunk = u.recv(1 << 20)
                        if not chunk:
                            break
                        got += chunk
                except BlockingIOError:
                    pass
                queued = messages - got.count(b"\n")
            sender.close()
            for u in receivers:
                u.close()
            return before, after, queued
        finally:
            d.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build")
    p.add_argument("--receivers", default="10,100,1000")
    p.add_argument("--deliveries", type=int, default=2_000_000, help="burst: M = this / N")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--paced-deliveries", type=int, default=200_000, help="paced: M = this / N")
    p.add_argument("--memory-receivers", type=int, default=100)
    p.add_argument("--memory-messages", type=int, default=10000)
    p.add_argument("--memory-size", type=int, default=960)
    p.add_argument("--alloc-receivers", type=int, default=100, help="0: no heaptrack run")
    p.add_argument("--alloc-messages", default="2000,20000")
    p.add_argument("--cpus", default="0,1", help="the benchmark's CPU, the daemon's CPU")
    a = p.parse_args()
    bench_cpu, daemon_cpu = (int(x) for x in a.cpus.split(","))
    os.sched_setaffinity(0, {bench_cpu})
    counts = [int(x) for x in a.receivers.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * max(counts + [a.memory_receivers]) + 200), hard))

    print(f"| receivers | pattern | messages of {a.size} B | deliveries | wall s | daemon CPU s "
          f"| ns per delivery | deliveries/s per daemon CPU s | deliveries/s (wall) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in counts:
        for paced in (False, True):
            m = max(1, (a.paced_deliveries if paced else a.deliveries) // n)
            elapsed, used = run_cpu(a.build, daemon_cpu, n, m, a.size, paced)
            deliveries = n * m
            ns = used * 1e9 / deliveries
            rate = deliveries / used if used > 0 else float("inf")
            print(f"| {n} | {'paced' if paced else 'burst'} | {m} | {deliveries} | {elapsed:.2f} "
                  f"| {used:.2f} | {ns:.0f} | {rate:,.0f} | {deliveries / elapsed:,.0f} |", flush=True)

    if a.alloc_receivers > 0:
        n, (m1, m2) = a.alloc_receivers, (int(x) for x in a.alloc_messages.split(","))
        print()
        for paced in (False, True):
            c1, b1 = run_allocs(a.build, daemon_cpu, n, m1, a.size, paced)
            c2, b2 = run_allocs(a.build, daemon_cpu, n, m2, a.size, paced)
            dm = m2 - m1
            print(f"allocations (heaptrack), {n} receivers, {'paced' if paced else 'burst'}, "
                  f"{a.size} B messages: {c1} calls, {b1 / 1e6:.2f} MB for {m1} messages; "
                  f"{c2} calls, {b2 / 1e6:.2f} MB for {m2}: {(c2 - c1) / dm:.3f} calls and "
                  f"{(b2 - b1) / dm:.0f} bytes per message, {(b2 - b1) / (dm * n):.2f} bytes per "
                  f"delivery", flush=True)

    if a.memory_receivers > 0:
        n, m, size = a.memory_receivers, a.memory_messages, a.memory_size
        before, after, queued = run_memory(a.build, daemon_cpu, n, m, size)
        grown = (after - before) * 1024
        per = grown / (n * queued) if queued else float("nan")
        print(f"\nmemory: {n} receivers not reading (unix socket), {m} messages of {size} B: "
              f"daemon VmRSS {before} KiB -> {after} KiB (+{grown / 2**20:.1f} MiB); "
              f"{queued} messages queued per receiver in the daemon (the rest in its kernel buffer): "
              f"{per:.1f} bytes per queued message per receiver "
              f"(a copy per receiver would be at least {size + 1} B)")


if __name__ == "__main__":
    sys.exit(main())
