#!/usr/bin/env python3
"""One pisockd or two sharing a port (reuse-port, as pisockd@.service runs them), side by side
in one run: throughput of `pisock bench` and the servers' CPU time per message, in reply and
echo mode (docs/BENCHMARKS.md, "One instance or two").

Each run starts N fresh daemons on one loopback port (the first on port 0, the others on the
port it logged, all with --reuse-port yes), runs `pisock bench` against that port without
warm-up (so that every message it counts is one the daemons' CPU time paid for), then reads
the daemons' CPU time from /proc/PID/stat and how many clients each one served from its
control socket (pisockd --stats --json). Rounds are interleaved: per round, every mode and
instance count once, in an order that rotates, so that drift in a shared machine's speed hits
all alike; a table cell is the median of its runs.

    bench/instances.py --build build [--rounds 5] [--seconds 5] [--conns 50] [--size 64]
                       [--pipeline 16] [--pin] [--json out.json]

--pin puts instance i on CPU i (taskset) and leaves the load generator unpinned: without it,
every process goes where the scheduler puts it.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pisockd_proc import Pisockd  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start(args, mode, count, tmp):
    """count daemons sharing one port; returns them and the port."""
    pisockd = os.path.join(args.build, "daemon", "pisockd")
    daemons, port = [], 0
    for i in range(count):
        # Log level info: the port comes from the "listening on" line (a line per client too,
        # 50 a run: nothing next to the messages).
        cmd = [pisockd, "--config", "/dev/null", "--log-level", "info", "--mode", mode,
               "--max-connections", "2000", "--max-per-host", "0", "--reuse-port", "yes",
               "--control-socket", os.path.join(tmp, f"{i}.sock"), "--listen", f"127.0.0.1:{port}"]
        if args.pin:
            cmd = ["taskset", "-c", str(i % os.cpu_count())] + cmd
        d = Pisockd(cmd)
        port = d.port
        daemons.append(d)
    return daemons, port


def stop(daemons):
    for d in daemons:
        d.proc.send_signal(signal.SIGTERM)
    for d in daemons:
        d.proc.wait(timeout=30)
        d.reader.join()


def served(args, socket_path):
    out = subprocess.run([os.path.join(args.build, "daemon", "pisockd"), "--stats", "--json",
                          "--control-socket", socket_path], capture_output=True, text=True)
    return json.loads(out.stdout)["totals"]["served"] if out.returncode == 0 else None


def run(args, mode, count):
    with tempfile.TemporaryDirectory() as tmp:
        daemons, port = start(args, mode, count, tmp)
        try:
            before = [cpu_seconds(d.pid) for d in daemons]
            cmd = [os.path.join(args.build, "client", "pisock"), "bench", "127.0.0.1", str(port),
                   "-c", str(args.conns), "-s", str(args.size), "-P", str(args.pipeline),
                   "-d", str(args.seconds), "--warmup", "0",
                   "--mode", "line" if mode == "reply" else "echo", "--json"]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 60)
            cpu = sum(cpu_seconds(d.pid) - b for d, b in zip(daemons, before))
            shares = [served(args, os.path.join(tmp, f"{i}.sock")) for i in range(count)]
        finally:
            stop(daemons)
    result = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
    if out.returncode != 0 or result.get("errors", 1) != 0 or not result.get("messages"):
        print(f"  {mode} x{count}: FAILED: {out.stderr.strip() or result}", file=sys.stderr)
        return None
    return {"msgs_per_s": result["msgs_per_s"], "messages": result["messages"], "cpu_s": cpu,
            "cpu_us_per_msg": cpu / result["messages"] * 1e6, "served": shares,
            "p99_us": result["latency_us"]["p99"]}


def report(runs, rounds):
    print(f"\nMedians of {rounds} interleaved rounds; CPU is the daemons' user + system time "
          "over the whole run, per message the bench counted.\n")
    print("| mode | instances | msgs/s | server CPU µs/msg | server CPU s per s | p99 µs | "
          "clients per instance (one run) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for (mode, count), rs in runs.items():
        ok = [r for r in rs if r]
        if not ok:
            print(f"| {mode} | {count} | failed | | | | |")
            continue
        med = lambda k: statistics.median(r[k] for r in ok)  # noqa: E731
        cores = statistics.median(r["cpu_s"] / (r["messages"] / r["msgs_per_s"]) for r in ok)
        print(f"| {mode} | {count} | {med('msgs_per_s'):,.0f} | {med('cpu_us_per_msg'):.2f} | "
              f"{cores:.2f} | {med('p99_us'):,.0f} | {' + '.join(map(str, ok[-1]['served']))} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--pin", action="store_true")
    ap.add_argument("--json", help="also write every run here")
    args = ap.parse_args()

    cases = [(mode, count) for mode in ("reply", "echo") for count in (1, 2)]
    runs = {case: [] for case in cases}
    for rnd in range(args.rounds):
        for case in cases[rnd % len(cases):] + cases[:rnd % len(cases)]:
            r = run(args, *case)
            runs[case].append(r)
            text = f"{r['msgs_per_s']:.0f} msgs/s, {r['cpu_us_per_msg']:.2f} µs CPU/msg" if r else "FAILED"
            print(f"round {rnd + 1} {case[0]:5} x{case[1]}: {text}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"mode": m, "instances": n, "runs": rs} for (m, n), rs in runs.items()], f)
            f.write("\n")
    report(runs, args.rounds)


if __name__ == "__main__":
    main()
