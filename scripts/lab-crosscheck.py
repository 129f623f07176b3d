#!/usr/bin/env python3
"""lab-crosscheck.py: the host side of `scripts/lab.sh crosscheck` (issue 15, item 5).

Hands commands, one at a time, to the command loop of a lab guest booted with
vmscale.crosscheck=PORT (its /init, written by scripts/lab.sh), reads vmscaled's /metrics and
`virsh domstats` around each phase, and prints vmscale's figure beside an independent one:

  memory   the probe's memory copy samples      vs mbw (MCBLOCK, 1 MiB blocks) in the guest
  cpu      the guest's non-idle CPU seconds     vs the host's vcpu.0.time (virsh domstats)
  disk     the guest's /proc/diskstats bytes    vs the host's block.N.{rd,wr}.bytes (virsh)
  network  the probe's TCP throughput samples   vs a plain transfer of the same size (wget)

Protocol with the guest: the guest connects to PORT, sends one line (its last command's
result, "hello" at first) and waits; the reply is its next command. The controller keeps that
connection until it has a command, so a guest with nothing to do just waits, costing nothing.

Exit status: 0 all rows present and the memory check within its target, 1 otherwise, 2 when
the guest or vmscaled did not take part (nothing measured).
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

MIB = 1024 * 1024
# What agreement to expect, printed under the table.
NOTES = (
    "memory: the probe's memcpy of 1 MiB blocks over 16 MiB vs mbw -t2 -b 1048576 16 in the "
    "same guest, alternating; medians; target ratio 0.85-1.15 (issue 15). The probe opts out "
    "of transparent huge pages; mbw runs with them (the guest's default) and without.",
    "cpu: guest non-idle seconds (probe, /proc/stat) vs host vcpu.0.time (virsh domstats) "
    "between two probe reports during a busy loop: ~1 on a quiet host; above 1 when the vCPU "
    "thread waits for a host CPU (a TCG guest sees no steal, its ticks count that wait as "
    "busy), below 1 when emulation work outside guest time is charged to the thread.",
    "disk: bytes the guest's /proc/diskstats counted vs bytes QEMU served (virsh domstats "
    "block.*), dd reads after drop_caches and a dd write with fsync, bracketed by idle "
    "reports: ~1, exact but for the guest's own metadata reads.",
    "network: probe samples (guest-timed, to the host's confirmation) vs the guest's busybox "
    "wget posting (transmit) and fetching (receive) the same bytes over plain HTTP/1.0, "
    "host-timed first to last byte (receive: to wget's close), right after each probe run: "
    "~1; TCP through slirp varies run to run by tens of per cent.",
)
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def log(msg):
    print(f"crosscheck: {msg}", flush=True)


class Failure(Exception):
    """The guest or vmscaled did not take part: nothing to compare."""


# ------------------------------------------------------------------ vmscaled's /metrics

class Metrics:
    def __init__(self, listen, domain):
        self.url = f"http://{listen}/metrics"
        self.domain = domain

    def scrape(self):
        text = urllib.request.urlopen(self.url, timeout=5).read().decode()
        out = []
        for line in text.splitlines():
            m = SAMPLE.match(line)
            if not m:
                continue
            labels = dict(LABEL.findall(m.group(2) or ""))
            if labels.get("domain") != self.domain:
                continue
            out.append((m.group(1), labels, float(m.group(3))))
        return out


def pick(samples, name, **want):
    """Values of NAME whose labels include WANT."""
    return [v for n, lab, v in samples
            if n == name and all(lab.get(k) == w for k, w in want.items())]


def first(samples, name, **want):
    vals = pick(samples, name, **want)
    return vals[0] if vals else None


def guest_cpu(samples):
    """(non-idle, total) guest CPU seconds from the probe's mpstat split."""
    busy = total = 0.0
    for n, lab, v in samples:
        if n != "vmscale_guest_cpu_seconds_total":
            continue
        total += v
        if lab.get("mode") not in ("idle", "iowait"):
            busy += v
    return busy, total


# ------------------------------------------------------------------ virsh domstats

def domstats(uri, domain):
    out = subprocess.run(["virsh", "-q", "-c", uri, "domstats", "--vcpu", "--block", domain],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    stats = {}
    for line in out.splitlines():
        key, sep, val = line.strip().partition("=")
        if sep:
            stats[key] = val
    return stats


def block_bytes(stats, device):
    """(read, written) bytes of DEVICE from block.N.* domstats."""
    for i in range(int(stats.get("block.count", "0"))):
        if stats.get(f"block.{i}.name") == device:
            return int(stats[f"block.{i}.rd.bytes"]), int(stats[f"block.{i}.wr.bytes"])
    raise Failure(f"virsh domstats shows no block device {device}")


# ------------------------------------------------------------------ the guest's command loop

class Guest:
    def __init__(self, server):
        self.server = server
        self.pending = None

    def _next(self, timeout):
        self.server.settimeout(timeout)
        try:
            conn, _ = self.server.accept()
        except socket.timeout:
            raise Failure(f"the guest did not call back within {timeout:.0f} s") from None
        conn.settimeout(timeout)
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        self.pending = conn
        return data.decode(errors="replace").strip()

    def hello(self, timeout):
        line = self._next(timeout)
        if line != "hello":
            raise Failure(f"the guest said {line!r}, not hello")

    def run(self, command, timeout=60, during=None):
        """Sends COMMAND, runs DURING (host side of a transfer), returns the guest's result."""
        self.pending.sendall(command.encode() + b"\n")
        self.pending.close()
        self.pending = None
        extra = during() if during else None
        result = self._next(timeout)
        return (result, extra) if during else result


def listener(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4)
    return s


def read_head(conn, when):
    """What the guest's wget sent up to the end of its HTTP head (and any body bytes after)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(1 << 16)
        if not chunk:
            raise Failure(f"the guest's wget closed {when}")
        data += chunk
    return data


def timed_receive(server, nbytes, timeout=30):
    """Bytes/s of one plain HTTP/1.0 POST body from the guest's wget: first to last byte."""
    server.settimeout(timeout)
    conn, _ = server.accept()
    conn.settimeout(timeout)
    with conn:
        data = read_head(conn, "before its body")
        start = time.monotonic()  # the first body bytes may have come with the headers
        got = len(data.split(b"\r\n\r\n", 1)[1])
        while got < nbytes:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            got += len(chunk)
        end = time.monotonic()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    if got != nbytes or end <= start:
        raise Failure(f"the plain TCP transfer brought {got} bytes, not {nbytes}")
    return got / (end - start)


def timed_send(server, nbytes, block, timeout=30):
    """Bytes/s of one plain HTTP/1.0 body sent to the guest's wget: first byte to its close."""
    server.settimeout(timeout)
    conn, _ = server.accept()
    conn.settimeout(timeout)
    with conn:
        read_head(conn, "before asking")
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\n\r\n" % nbytes)
        zeros = bytes(block)
        start = time.monotonic()
        sent = 0
        while sent < nbytes:
            n = min(block, nbytes - sent)
            conn.sendall(zeros[:n])
            sent += n
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(4096):  # wget closes once it has the whole body
            pass
        end = time.monotonic()
    return nbytes / (end - start)


# ------------------------------------------------------------------ phases

class Crosscheck:
    def __init__(self, args, guest, data):
        self.a = args
        self.guest = guest
        self.data = data
        self.metrics = Metrics(args.listen, args.domain)
        self.rows = []

    def wait_report(self, after, deadline_s=20):
        """Polls /metrics until the guest's CPU counters move past AFTER (a new report):
        returns that scrape and virsh domstats taken right after it."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            s = self.metrics.scrape()
            total = guest_cpu(s)[1]
            if total > after:
                return s, domstats(self.a.uri, self.a.domain), total
            time.sleep(0.1)
        raise Failure(f"no probe report for {deadline_s} s")

    def row(self, check, ours, theirs, unit, target, lo=None, hi=None):
        ratio = ours / theirs if ours is not None and theirs else None
        if lo is None:
            verdict = "info" if ratio is not None else "MISSING"
        else:
            verdict = "PASS" if ratio is not None and lo <= ratio <= hi else "FAIL"
        self.rows.append((check, ours, theirs, unit, ratio, target, verdict))

    def mbw(self, thp):
        """mbw's copies (MiB/s each) with the guest's transparent huge pages set to THP."""
        self.guest.run(f"thp {thp}")
        out = self.guest.run(f"mbw {self.a.mbw_runs} {self.a.mem_mib}")
        if "MCBLOCK" not in out:
            raise Failure(f"mbw in the guest said: {out[:200]}")
        return [float(x) for x in re.findall(r'\d+ Method: MCBLOCK Elapsed: \S+ MiB: \S+ Copy: ([0-9.]+) MiB/s', out)]

    def mem_and_net(self):
        """Memory and network together: each time a probe run ends, the independent tool
        runs right after it, so the two alternate under the same conditions."""
        a = self.a
        probe_mem, mbw_mib, mbw_4k, probe_tx, probe_rx, plain_tx, plain_rx = ([] for _ in range(7))
        ends = {"memory": None, "network": None}
        blk = str(a.net_block)
        deadline = time.monotonic() + a.mem_net_s
        since = time.time()  # runs that ended before the phase are not its samples
        while time.monotonic() < deadline and (
                len(probe_mem) < a.rounds or len(probe_tx) < a.net_rounds):
            s = self.metrics.scrape()
            for fam in ends:
                end = first(s, "vmscale_probe_run_end_timestamp_seconds", family=fam)
                if end is None or end == ends[fam]:
                    continue
                ends[fam] = end
                if end < since or first(s, "vmscale_probe_run_flagged", family=fam) == 1:
                    continue  # a run from before the phase, or one the daemon distrusts
                if fam == "memory":
                    v = first(s, "vmscale_probe_memory_bandwidth_bytes_per_second", op="copy")
                    if v:
                        probe_mem.append(v)
                    mbw_mib += self.mbw("always")
                    mbw_4k += self.mbw("never")
                else:
                    for d, dst in (("transmit", probe_tx), ("receive", probe_rx)):
                        v = first(s, "vmscale_probe_network_throughput_bytes_per_second",
                                  direction=d, block_bytes=blk)
                        if v:
                            dst.append(v)
                    _, bps = self.guest.run(
                        f"tcp-tx {a.net_bytes} {self.data.getsockname()[1]}",
                        during=lambda: timed_receive(self.data, a.net_bytes))
                    plain_tx.append(bps)
                    _, bps = self.guest.run(
                        f"tcp-rx {self.data.getsockname()[1]}",
                        during=lambda: timed_send(self.data, a.net_bytes, a.net_block))
                    plain_rx.append(bps)
            time.sleep(0.2)
        log(f"memory: {len(probe_mem)} probe copy samples, {len(mbw_mib)} mbw copies; "
            f"network: {len(probe_tx)} probe samples, {len(plain_tx)} plain transfers each way")
        log("probe copy MiB/s: " + " ".join(f"{v / MIB:.0f}" for v in probe_mem))
        log("mbw copy MiB/s (THP always): " + " ".join(f"{v:.0f}" for v in mbw_mib))
        log("mbw copy MiB/s (THP never): " + " ".join(f"{v:.0f}" for v in mbw_4k))
        log("network MiB/s probe tx/rx, plain tx/rx: " + " / ".join(
            " ".join(f"{v / MIB:.1f}" for v in xs) for xs in (probe_tx, probe_rx, plain_tx, plain_rx)))
        med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
        mbw_bps = med(mbw_mib) * MIB if mbw_mib else None
        self.row("memory copy (median)", med(probe_mem), mbw_bps, "MiB/s",
                 "0.85-1.15", 1 - a.mem_tolerance, 1 + a.mem_tolerance)
        self.row("memory copy, mbw on 4 KiB pages", med(probe_mem),
                 med(mbw_4k) * MIB if mbw_4k else None, "MiB/s", "info")
        for d, ours, theirs in (("transmit", probe_tx, plain_tx), ("receive", probe_rx, plain_rx)):
            self.row(f"network {d} {a.net_block // 1024}k (median)", med(ours), med(theirs),
                     "MiB/s", "~1 (side by side)")

    def cpu(self):
        """Guest busy for cpu_s; the interval runs from one probe report to a later one."""
        a = self.a
        _, _, total = self.wait_report(0)
        t_cmd = time.monotonic()
        self.guest.run(f"cpu-start {a.cpu_s}")
        s0, d0, total = self.wait_report(total)  # first report with the loop running
        t0 = time.monotonic()
        s1 = d1 = None
        # Reports come every 5 s: take the next one only if it still falls inside the loop.
        while time.monotonic() + 6 < t_cmd + a.cpu_s:
            s1, d1, total = self.wait_report(total)
            t1 = time.monotonic()
        self.guest.run("cpu-wait")
        if s1 is None:
            raise Failure("no second report during the CPU phase")
        g = guest_cpu(s1)[0] - guest_cpu(s0)[0]
        h = (int(d1["vcpu.0.time"]) - int(d0["vcpu.0.time"])) / 1e9
        wall = t1 - t0
        log(f"cpu: {wall:.1f} s between reports; guest non-idle {g:.2f} s, host vcpu.0.time {h:.2f} s")
        self.row(f"cpu busy, {wall:.0f} s (guest non-idle / host vCPU)", g, h, "s",
                 "~1 (side by side)")

    def disk(self):
        a = self.a
        dev = a.device
        s0, d0, total = self.wait_report(0)
        self.guest.run(f"disk {a.disk_reads} {a.disk_write_mib}", timeout=120)
        s1, d1, total = self.wait_report(total)  # the report after the end may predate it:
        s1, d1, total = self.wait_report(total)  # the one after that does not
        hr0, hw0 = block_bytes(d0, dev)
        hr1, hw1 = block_bytes(d1, dev)
        for op, metric, host in (("read", "vmscale_probe_disk_read_bytes_total", hr1 - hr0),
                                 ("written", "vmscale_probe_disk_written_bytes_total", hw1 - hw0)):
            v0 = first(s0, metric, device=dev)
            v1 = first(s1, metric, device=dev)
            ours = v1 - v0 if v0 is not None and v1 is not None else None
            self.row(f"disk bytes {op} ({dev})", ours, host, "MiB", "~1 (side by side)")

    def table(self):
        head = ("check", "vmscale", "independent", "unit", "ratio", "target", "verdict")
        lines = [head]
        for check, ours, theirs, unit, ratio, target, verdict in self.rows:
            scale = MIB if unit.startswith("MiB") else 1
            fmt = lambda v: "-" if v is None else f"{v / scale:.2f}"  # noqa: E731
            lines.append((check, fmt(ours), fmt(theirs), unit,
                          "-" if ratio is None else f"{ratio:.3f}", target, verdict))
        widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
        for r in lines:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), flush=True)
        for note in NOTES:
            print(note, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", required=True, help="vmscaled's /metrics HOST:PORT")
    p.add_argument("--domain", required=True)
    p.add_argument("--uri", default="qemu:///system")
    p.add_argument("--port-file", required=True, help="writes the command port here")
    p.add_argument("--boot-wait", type=float, default=120)
    p.add_argument("--device", default="vda")
    p.add_argument("--mem-mib", type=int, default=16, help="the probe's copy half-buffer")
    p.add_argument("--mbw-runs", type=int, default=5)
    p.add_argument("--mem-tolerance", type=float, default=0.15)
    p.add_argument("--rounds", type=int, default=5, help="memory samples wanted")
    p.add_argument("--net-rounds", type=int, default=3, help="network samples wanted")
    p.add_argument("--mem-net-s", type=float, default=60, help="longest memory/network phase")
    p.add_argument("--net-bytes", type=int, default=2 * MIB)
    p.add_argument("--net-block", type=int, default=32768)
    p.add_argument("--cpu-s", type=int, default=30)
    p.add_argument("--disk-reads", type=int, default=3)
    p.add_argument("--disk-write-mib", type=int, default=16)
    return p.parse_args()


def main():
    a = parse_args()
    control, data = listener(), listener()
    with open(a.port_file + ".tmp", "w", encoding="ascii") as f:
        f.write(f"{control.getsockname()[1]}\n")
    # The shell waits for the file: rename makes it appear whole.
    os.rename(a.port_file + ".tmp", a.port_file)
    guest = Guest(control)
    x = Crosscheck(a, guest, data)
    try:
        guest.hello(a.boot_wait)
        log(f"{a.domain}'s command loop called in")
        x.mem_and_net()
        x.cpu()
        x.disk()
        guest.run("done", timeout=5)
    except (Failure, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        log(f"error: {type(e).__name__}: {e}")
        if x.rows:
            x.table()
        return 2
    x.table()
    bad = [r for r in x.rows if r[6] in ("FAIL", "MISSING")]
    for r in bad:
        log(f"{r[0]}: {r[6]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
