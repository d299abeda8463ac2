#!/usr/bin/env python3
"""Runs the benchmark matrix of docs/BENCHMARKS.md and prints its tables.

Each server runs pinned to one CPU (taskset -c SERVER_CPU), the load generator
`pisock bench` to the other. Cells are repeated R times, interleaved (every server once per
round, in a rotating order) so that drift in the machine's speed hits all servers alike; the
table shows the median msgs/s of each cell and, against the reference server, the median of
the per-round ratios (each run divided by the reference's run of the same round).

    bench/matrix.py --build build [--rounds 5] [--seconds 5] [--json out.json]
    bench/matrix.py --report out.json [more.json ...]   (the tables again, from saved runs)
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

SIZES = [64, 1024, 16384]
CONNS = [1, 50, 500]
EXTRA = [(64, 50, 16)]  # (size, connections, pipeline) cells beyond the pipeline-1 grid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # polling a port has nothing to wait on; bounded by the deadline
    raise RuntimeError(f"server on port {port} did not come up")


def servers(build, baseline=None):
    """name -> (argv builder, bench mode). Missing optional servers are left out."""
    pisockd = os.path.join(build, "daemon", "pisockd")
    table = {
        "ref": (lambda p: [os.path.join(build, "bench", "ref_echo"), str(p)], "echo"),
        "pisockd-echo": (lambda p: [pisockd, "--config", "/dev/null", "--log-level", "warning",
                                    "--max-connections", "2000", "--max-per-host", "0", "--mode", "echo",
                                    "--listen", f"127.0.0.1:{p}"], "echo"),
        "pisockd-reply": (lambda p: [pisockd, "--config", "/dev/null", "--log-level", "warning",
                                     "--max-connections", "2000", "--max-per-host", "0",
                                     "--listen", f"127.0.0.1:{p}"], "line"),
    }
    if baseline:  # an older pisockd, for before/after figures
        old = os.path.join(baseline, "daemon", "pisockd")
        # One host plays every client: lift the per-host cap where the older build has one.
        help_text = subprocess.run([old, "--help"], capture_output=True, text=True).stdout
        per_host = ["--max-per-host", "0"] if "--max-per-host" in help_text else []
        table["before-echo"] = (lambda p: [old, "--config", "/dev/null", "--log-level", "warning",
                                           "--max-connections", "2000", *per_host, "--mode", "echo",
                                           "--listen", f"127.0.0.1:{p}"], "echo")
        table["before-reply"] = (lambda p: [old, "--config", "/dev/null", "--log-level", "warning",
                                            "--max-connections", "2000", *per_host,
                                            "--listen", f"127.0.0.1:{p}"], "line")
    uv = os.path.join(build, "bench", "uv_echo")
    if os.path.exists(uv):
        table["libuv"] = (lambda p: [uv, str(p)], "echo")
    go = os.path.abspath(os.path.join(build, "bench", "go_echo"))
    if not os.path.exists(go) and shutil.which("go"):
        # Debian's golang-go builds the one-file server from the standard library, offline.
        env = dict(os.environ, GOCACHE=os.path.join(os.path.dirname(go), "go-cache"), GOFLAGS="-mod=mod",
                   GO111MODULE="off", GOPATH=os.path.join(os.path.dirname(go), "go-path"))
        subprocess.run(["go", "build", "-o", go, os.path.join(os.path.dirname(__file__), "go_echo.go")],
                       env=env, check=True)
    if os.path.exists(go):
        table["go"] = (lambda p: ["env", "GOMAXPROCS=1", go, str(p)], "echo")
    if shutil.which("socat"):
        table["socat"] = (lambda p: ["socat", f"TCP-LISTEN:{p},bind=127.0.0.1,fork,reuseaddr,backlog=1024",
                                     "EXEC:cat"], "echo")
    return table


def run_cell(args, name, argv_of, mode, size, conns, pipeline):
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", str(args.server_cpu)] + argv_of(port),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        try:
            wait_port(port, server)
        except RuntimeError as e:  # e.g. the port was taken meanwhile: this run fails, not all
            print(f"  {name} {size}B x{conns} P{pipeline}: FAILED: {e}", file=sys.stderr)
            return None
        cmd = ["taskset", "-c", str(args.load_cpu), os.path.join(args.build, "client", "pisock"), "bench",
               "127.0.0.1", str(port), "-c", str(conns), "-s", str(size), "-P", str(pipeline),
               "-d", str(args.seconds), "--warmup", str(args.warmup), "--mode", mode, "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + args.warmup + 60)
        result = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
        if out.returncode != 0 or result.get("errors", 1) != 0:
            print(f"  {name} {size}B x{conns} P{pipeline}: FAILED: {out.stderr.strip() or result}",
                  file=sys.stderr)
            return None
        return result
    finally:
        stop(server)


def stop(server):
    """Ends the server and everything it started (socat forks a process pair per client)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            pass
        try:
            server.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def load_runs(paths):
    """Runs saved with --json, pooled: the rounds of each file follow those of the one before."""
    runs, rounds, names, cells = {}, 0, [], []
    for path in paths:
        with open(path) as f:
            saved = [(e["server"], tuple(e["cell"]), e["runs"]) for e in json.load(f)]
        for name, cell, rs in saved:
            names += [name] if name not in names else []
            cells += [cell] if cell not in cells else []
            # A server or cell missing from a file has no run in that file's rounds.
            runs.setdefault((name, cell), [None] * rounds).extend(rs)
        rounds += max(len(rs) for _, _, rs in saved)
        for rs in runs.values():
            rs.extend([None] * (rounds - len(rs)))
    return runs, names, cells, rounds


def paired(runs, name, base, cell):
    """Each run of name divided by base's run in the same round, so that what a whole round
    shares (the machine's speed at the time) cancels; sorted."""
    return sorted(a["msgs_per_s"] / b["msgs_per_s"]
                  for a, b in zip(runs.get((name, cell), []), runs.get((base, cell), [])) if a and b)


def quartiles(values):
    q = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return f"{statistics.median(values):.2f} [{q[0]:.2f}-{q[2]:.2f}]"


def report(runs, names, cells, rounds, what):
    def median(name, cell, key="msgs_per_s"):
        vals = [r[key] for r in runs.get((name, cell), []) if r]
        return statistics.median(vals) if vals else None

    counts = {name: max(sum(1 for r in runs.get((name, c), []) if r) for c in cells) for name in names}
    print(f"\nMedian msgs/s over {rounds} interleaved rounds ({what}); in brackets the ratio to ref:"
          " the median of per-round ratios.")
    if len(set(counts.values())) > 1:
        print("Runs per cell: " + ", ".join(f"{name} {n}" for name, n in counts.items()) + ".")
    print()
    print("| size | conns | pipeline | " + " | ".join(names) + " |")
    print("|---:|---:|---:|" + "---:|" * len(names))
    for cell in cells:
        row = []
        for name in names:
            m = median(name, cell)
            ratios = paired(runs, name, "ref", cell) if name != "ref" else []
            if m is None:
                row.append("failed")
            elif ratios:
                row.append(f"{m:,.0f} ({statistics.median(ratios):.2f})")
            else:
                row.append(f"{m:,.0f}")
        print(f"| {cell[0]} | {cell[1]} | {cell[2]} | " + " | ".join(row) + " |")

    def ratio_line(title, name, base):
        parts = []
        for c in cells:
            ratios = paired(runs, name, base, c)
            if ratios:
                parts.append(f"{c[0]} B x{c[1]} P{c[2]}: {quartiles(ratios)} "
                             f"(of medians {median(name, c) / median(base, c):.2f})")
        if parts:
            print(f"\n{title}, median of per-round ratios [quartiles] (ratio of the medians):\n  "
                  + "\n  ".join(parts))

    ratio_line("pisockd-echo / ref", "pisockd-echo", "ref")
    ratio_line("pisockd-reply / pisockd-echo", "pisockd-reply", "pisockd-echo")

    print("\nMedian latency p50 / p99 (us):\n")
    print("| size | conns | pipeline | " + " | ".join(names) + " |")
    print("|---:|---:|---:|" + "---:|" * len(names))
    for cell in cells:
        row = []
        for name in names:
            rs = [r for r in runs.get((name, cell), []) if r]
            if not rs:
                row.append("failed")
                continue
            p50 = statistics.median(r["latency_us"]["p50"] for r in rs)
            p99 = statistics.median(r["latency_us"]["p99"] for r in rs)
            row.append(f"{p50:.0f} / {p99:.0f}")
        print(f"| {cell[0]} | {cell[1]} | {cell[2]} | " + " | ".join(row) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--load-cpu", type=int, default=0)
    ap.add_argument("--servers", default="", help="comma-separated subset")
    ap.add_argument("--cells", default="", help="comma-separated SIZExCONNSxPIPELINE subset, e.g. 64x50x1")
    ap.add_argument("--json", help="also write every run here")
    ap.add_argument("--baseline", help="build directory of an older pisockd to compare (before-echo, before-reply)")
    ap.add_argument("--report", nargs="+", metavar="JSON",
                    help="run nothing: print the tables of runs saved with --json (several files: pooled)")
    args = ap.parse_args()

    if args.report:
        runs, names, cells, rounds = load_runs(args.report)
        report(runs, names, cells, rounds, "from " + ", ".join(args.report))
        return

    table = servers(args.build, args.baseline)
    if args.servers:
        table = {k: v for k, v in table.items() if k in args.servers.split(",")}
    cells = [(s, c, 1) for s in SIZES for c in CONNS] + EXTRA
    if args.cells:
        cells = [tuple(int(x) for x in cell.split("x")) for cell in args.cells.split(",")]

    runs = {}  # (server, cell) -> [result], one per round
    names = list(table)
    for rnd in range(args.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for cell in cells:
            for name in order:
                argv_of, mode = table[name]
                r = run_cell(args, name, argv_of, mode, *cell)
                runs.setdefault((name, cell), []).append(r)
                rate = f"{r['msgs_per_s']:.0f}" if r else "FAILED"
                print(f"round {rnd + 1} {name:14} {cell[0]:>6} B x{cell[1]:>4} P{cell[2]:<3} {rate} msgs/s",
                      file=sys.stderr)

    if args.json:
        with open(args.json, "w") as f:
            # One line per server and cell: small enough to keep beside the document.
            f.write("[\n" + ",\n".join(json.dumps({"server": k[0], "cell": k[1], "runs": v}, separators=(",", ":"))
                                        for k, v in runs.items()) + "\n]\n")
    report(runs, names, cells, args.rounds, f"{args.seconds:g} s each after {args.warmup:g} s of warm-up")


if __name__ == "__main__":
    main()
