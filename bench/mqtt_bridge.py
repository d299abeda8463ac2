#!/usr/bin/python3
"""The MQTT bridge's cost: latency from a client of daemon A to a client of daemon B through a
mosquitto broker, and the daemons' (and the broker's) CPU time per bridged message.

    python3 bench/mqtt_bridge.py BUILD [--paced 2000] [--burst 20000] [--size 64]

Starts /usr/sbin/mosquitto on a free loopback port (a temporary mosquitto.conf), then
BUILD/daemon/pisockd twice (--mode broadcast --bridge mqtt://127.0.0.1:PORT/bench, node
names A and B), one TCP client on each.

paced   The client on A sends a message, waits until the client on B has it, then the next:
        the latency of each (send to receive, through A, the broker and B), p50/p90/p99/max.
burst   The client on A sends N messages as fast as it can; the client on B reads them all.
        CPU time (utime + stime, /proc/PID/stat) of A, B and mosquitto over the burst, per
        message: what publishing, relaying and delivering one message costs.

Each process is pinned to a CPU (taskset): A and B on CPU 1, mosquitto and the clients on
CPU 0, as on a 2-core machine. python3 and the standard library, mosquitto (Debian's).
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pisockd_proc import Pisockd  # noqa: E402  bench/pisockd_proc.py

CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime, stime


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, tmp):
        self.port = free_port()
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "log_type error\n")
            if os.getuid() == 0:
                f.write("user root\n")
        self.proc = subprocess.Popen(["taskset", "-c", "0", "/usr/sbin/mosquitto", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port)).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start")
                time.sleep(0.02)
        self.pid = self.proc.pid

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Daemon(Pisockd):
    def __init__(self, build, broker, node):
        super().__init__(["taskset", "-c", "1", os.path.join(build, "daemon", "pisockd"),
                          "--config", "/dev/null", "--mode", "broadcast", "--listen",
                          "127.0.0.1:0", "--log-rate", "0", "--high-water", "64M",
                          "--memory-limit", "256M", "--bridge",
                          f"mqtt://127.0.0.1:{broker.port}/bench", "--node-name", node])
        deadline = time.monotonic() + 10
        while not any("bridge: connected" in line for line in list(self.log)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"bridge of {node} did not connect")
            time.sleep(0.02)

    def stop(self):
        os.kill(self.pid, 15)
        self.proc.wait(timeout=30)
        self.reader.join()


class LineReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self, timeout=10):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--paced", type=int, default=2000)
    ap.add_argument("--burst", type=int, default=20000)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    os.sched_setaffinity(0, {0})

    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(tmp)
        a = Daemon(args.build, broker, "A")
        b = Daemon(args.build, broker, "B")
        try:
            sender = socket.create_connection(("127.0.0.1", a.port))
            receiver = socket.create_connection(("127.0.0.1", b.port))
            sender.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = LineReader(receiver)
            time.sleep(0.5)  # both accepted (the log says so within a turn)
            pad = b"x" * max(0, args.size - 12)

            # Warm up, and make sure the path works.
            for i in range(20):
                sender.sendall(b"w%05d " % i + pad + b"\n")
                reader.line()

            lat = []
            pc0 = [cpu_seconds(p) for p in (a.pid, b.pid, broker.pid)]
            for i in range(args.paced):
                t0 = time.perf_counter()
                sender.sendall(b"p%05d " % i + pad + b"\n")
                line = reader.line()
                lat.append((time.perf_counter() - t0) * 1e6)
                if not line.endswith(b"p%05d " % i + pad):
                    raise RuntimeError(f"unexpected line {line[:60]!r}")
            lat.sort()
            pused = [(cpu_seconds(p) - c) / args.paced * 1e6
                     for p, c in zip((a.pid, b.pid, broker.pid), pc0)]
            print(f"paced, {args.paced} messages of {args.size} B, client on A -> A -> mosquitto "
                  f"-> B -> client on B: latency p50 {percentile(lat, 50):.0f} us, "
                  f"p90 {percentile(lat, 90):.0f} us, p99 {percentile(lat, 99):.0f} us, "
                  f"max {lat[-1]:.0f} us; CPU per message: A {pused[0]:.1f} us, "
                  f"B {pused[1]:.1f} us, mosquitto {pused[2]:.1f} us")

            cpu0 = [cpu_seconds(p) for p in (a.pid, b.pid, broker.pid)]
            t0 = time.monotonic()
            data = b"".join(b"b%07d " % i + pad[:max(0, len(pad) - 2)] + b"\n"
                            for i in range(args.burst))
            sender.setblocking(True)
            th = threading.Thread(target=sender.sendall, args=(data,))
            th.start()
            got = 0
            try:
                while got < args.burst:
                    reader.line(timeout=30)
                    got += 1
            except (socket.timeout, RuntimeError):
                pass
            th.join()
            wall = time.monotonic() - t0
            time.sleep(0.3)  # the last writes' CPU
            cpu1 = [cpu_seconds(p) for p in (a.pid, b.pid, broker.pid)]
            used = [x - y for x, y in zip(cpu1, cpu0)]
            per = [u / args.burst * 1e6 for u in used]
            print(f"burst, {args.burst} messages of {args.size} B: {got} received on B in "
                  f"{wall:.2f} s ({got / wall:,.0f}/s wall); CPU s: A {used[0]:.2f}, "
                  f"B {used[1]:.2f}, mosquitto {used[2]:.2f}; per message: A {per[0]:.1f} us "
                  f"(read, local room, publish), B {per[1]:.1f} us (MQTT read, deliver), "
                  f"mosquitto {per[2]:.1f} us")
        finally:
            a.stop()
            b.stop()
            broker.stop()


if __name__ == "__main__":
    main()
