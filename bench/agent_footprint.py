"""The real `opsgraph-agent run` next to Debian's node_exporter, in one run; prints JSON.

    .venv/bin/python bench/agent_footprint.py [--duration 60] [--interval 1] [--discard 5]

Three processes run at the same time, so they share the machine's load:

- `prometheus-node-exporter` on a free 127.0.0.1 port with Debian's default collectors,
  scraped by this process every interval (plain GET of /metrics, no gzip);
- `opsgraph-agent run` (the console script next to this interpreter) sending every
  interval to a local collector in this process that answers 202;
- the same agent with `OPSGRAPH_AGENT_METRICS_LISTEN` on, also scraped every interval.

CPU is utime+stime from `/proc/<pid>/stat` of each measured process, read when a
report arrives (or a scrape ends), from the end of the `--discard`th event to the last
one, divided by the events in between. RSS is `VmRSS` of `/proc/<pid>/status`, sampled
every interval after the discarded events. The inventory check period is scaled with
the interval (300 s at 15 s becomes 20 s at 1 s), so the inventory reads a production
cycle pays for are in the per-cycle figure. The collector closes the connection after
each answer: at 15 s the server's keep-alive (5 s for uvicorn) has expired by the next
send anyway. Then `--cold-starts` agents are started one after another on fresh spools:
cold start is launch to the first report at the collector.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PRODUCTION_INTERVAL_SECONDS = 15.0
PRODUCTION_INVENTORY_CHECK_SECONDS = 300.0
TARGET_CYCLE_CPU_MS = 20.0
TARGET_RSS_BYTES = 35 * 10**6  # "35 MB", read strictly as 10^6 bytes
TARGET_CPU_RATIO = 2.0
TOKEN = "bench-footprint-token"
# What packaging/linux/opsgraph-agent.service sets.
UNIT_ENVIRONMENT = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}


class BenchError(Exception):
    """The bench could not measure (a process died, a report never came)."""


def cpu_ticks(pid: int) -> int:
    """utime + stime of every thread of `pid`, in clock ticks (fields 14 and 15)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and RssAnon (private, not file-backed) in KiB."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                found[key] = int(rest.split()[0])
    return found


def pss_kib(pid: int) -> int | None:
    """Proportional set size: shared pages divided among the processes mapping them."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii")
    except OSError:
        return None
    return next((int(line.split()[1]) for line in text.splitlines()
                 if line.startswith("Pss:")), None)


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of all cores since boot, from the first line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, idle, iowait, irq, softirq, steal = map(
            int, stat.readline().split()[1:9])
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return total - idle - iowait, total


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class CpuWindow:
    """CPU of one process per event (report or scrape), after the first `discard` events."""

    pid: int
    discard: int
    events: int = 0
    first: int | None = None  # ticks at the end of the last discarded event
    last: int | None = None
    is_open: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self) -> None:
        with self._lock:
            if not self.is_open:
                return
            self.events += 1
            if self.events == self.discard:
                self.first = cpu_ticks(self.pid)
            elif self.events > self.discard:
                self.last = cpu_ticks(self.pid)

    def close(self) -> None:
        with self._lock:
            self.is_open = False

    @property
    def started(self) -> bool:
        return self.first is not None

    def summary(self) -> dict[str, Any]:
        if self.first is None or self.last is None:
            raise BenchError(f"pid {self.pid}: only {self.events} events, none measured")
        measured = self.events - self.discard
        cpu_ms = (self.last - self.first) * 1000 / CLOCK_TICKS
        return {"events_measured": measured, "cpu_ms_total": round(cpu_ms, 1),
                "cpu_ms_per_event": round(cpu_ms / measured, 2)}


@dataclass
class Arrival:
    at: float  # monotonic
    body_bytes: int
    samples: int
    has_inventory: bool


@dataclass
class ReportLog:
    """The reports one agent (one URL prefix) delivered."""

    window: CpuWindow | None = None
    arrivals: list[Arrival] = field(default_factory=list)
    first: threading.Event = field(default_factory=threading.Event)


class LocalCollector:
    """Answers `POST /<label>/v1/reports` with 202, like the real collector, and keeps count."""

    def __init__(self) -> None:
        self._logs: dict[str, ReportLog] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expect(self, label: str) -> ReportLog:
        self._logs[label] = ReportLog()
        return self._logs[label]

    def received(self, label: str, body: bytes) -> None:
        report = json.loads(gzip.decompress(body))
        reports = self._logs[label]
        if reports.window is not None:  # before answering: the agent is waiting, not working
            reports.window.event()
        reports.arrivals.append(Arrival(time.monotonic(), len(body),
                                        len(report.get("metrics", [])), "inventory" in report))
        reports.first.set()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class ReportHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                collector.received(self.path.strip("/").split("/")[0], body)
                answer = b'{"duplicate": false}'
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return ReportHandler


@dataclass
class Measured:
    """One measured process: its CPU window, RSS samples and (if scraped) scrapes."""

    name: str
    process: subprocess.Popen[bytes]
    window: CpuWindow
    metrics_url: str | None = None
    reports: ReportLog | None = None  # None: the window counts scrapes, not reports
    memory: list[dict[str, int]] = field(default_factory=list)
    scrapes: list[tuple[int, int, float]] = field(default_factory=list)  # bytes, series, s

    def scrape(self) -> None:
        if self.metrics_url is None:
            return
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(self.metrics_url, timeout=10) as answer:
                text = answer.read()
        except OSError as exc:
            raise BenchError(f"{self.name}: scraping {self.metrics_url} failed: {exc}") from exc
        seconds = time.perf_counter() - started
        series = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
        self.scrapes.append((len(text), series, seconds))
        if self.reports is None:
            self.window.event()

    def sample_memory(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"{self.name} exited with {self.process.returncode}")
        if self.window.started:
            self.memory.append(memory_kib(self.process.pid))


def launch_agent(args: argparse.Namespace, collector: LocalCollector, label: str,
                 workdir: Path, listen_port: int | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGRAPH_AGENT_")}
    env.update(UNIT_ENVIRONMENT)
    check = PRODUCTION_INVENTORY_CHECK_SECONDS * args.interval / PRODUCTION_INTERVAL_SECONDS
    env.update({
        "OPSGRAPH_AGENT_SERVER_URL": f"{collector.url}/{label}",
        "OPSGRAPH_AGENT_TOKEN": TOKEN,
        "OPSGRAPH_AGENT_AGENT_ID": f"bench-{label}",
        "OPSGRAPH_AGENT_SPOOL_PATH": str(workdir / label / "spool.db"),
        "OPSGRAPH_AGENT_INTERVAL_SECONDS": f"{args.interval:g}s",
        "OPSGRAPH_AGENT_INVENTORY_CHECK_SECONDS": f"{check:g}s",
    })
    if listen_port is not None:
        env["OPSGRAPH_AGENT_METRICS_LISTEN"] = f"127.0.0.1:{listen_port}"
    return spawn([args.agent, "run"], workdir / f"{label}.log", env)


def spawn(argv: list[str], log: Path, env: dict[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    """Start `argv` with stdout and stderr into `log` (read when the bench fails)."""
    with open(log, "wb") as output:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=output, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> tuple[float, int]:
    """SIGTERM, then wait: (seconds to exit, exit code); SIGKILL after 30 s."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return time.monotonic() - started, process.returncode


@contextmanager
def stopping(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield process
    finally:
        stop(process)


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{process.args!r} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"nothing listens on 127.0.0.1:{port} after {seconds:g} s")


def node_exporter_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).splitlines()[0].strip()


def start_all(args: argparse.Namespace, stack: ExitStack, collector: LocalCollector,
              workdir: Path) -> list[Measured]:
    """node_exporter, the agent and the agent with its listener, each up and answering."""
    port = free_port()
    exporter = stack.enter_context(stopping(spawn(
        [args.node_exporter, f"--web.listen-address=127.0.0.1:{port}"],
        workdir / "node_exporter.log")))
    wait_for_port(port, exporter)
    measured = [Measured("node_exporter", exporter, CpuWindow(exporter.pid, args.discard),
                         f"http://127.0.0.1:{port}/metrics")]
    for label, listen_port in (("agent", None), ("agent_with_listener", free_port())):
        reports = collector.expect(label)
        process = stack.enter_context(stopping(
            launch_agent(args, collector, label, workdir, listen_port)))
        reports.window = CpuWindow(process.pid, args.discard)
        url = None if listen_port is None else f"http://127.0.0.1:{listen_port}/metrics"
        measured.append(Measured(label, process, reports.window, url, reports))
    for target in measured[1:]:
        assert target.reports is not None
        if not target.reports.first.wait(args.first_report_timeout):
            raise BenchError(f"{target.name}: no report after {args.first_report_timeout:g} s")
    return measured


def measure(args: argparse.Namespace, measured: list[Measured]) -> dict[str, Any]:
    """Scrape and sample every interval for `--duration`; the machine's load meanwhile."""
    loads = [os.getloadavg()]
    busy_before, total_before = machine_jiffies()
    started = time.monotonic()
    for tick in range(1, round(args.duration / args.interval) + 1):
        for target in measured:
            target.scrape()
            target.sample_memory()
        loads.append(os.getloadavg())
        time.sleep(max(0.0, started + tick * args.interval - time.monotonic()))
    for target in measured:
        target.window.close()
    busy_after, total_after = machine_jiffies()
    busy = 100 * (busy_after - busy_before) / max(1, total_after - total_before)
    one_minute = [load[0] for load in loads]
    return {
        "cpus": os.cpu_count(),
        "load_average_start": [round(value, 2) for value in loads[0]],
        "load_average_end": [round(value, 2) for value in loads[-1]],
        "load_1m_mean": round(statistics.fmean(one_minute), 2),
        "load_1m_max": round(max(one_minute), 2),
        "cpu_busy_percent_all_cores": round(busy, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def mib(kib: float) -> float:
    return round(kib / 1024, 1)


def memory_summary(target: Measured) -> dict[str, Any]:
    if not target.memory:
        raise BenchError(f"{target.name}: no memory sample after the discarded events")
    rss = [sample["VmRSS"] for sample in target.memory]
    anon = [sample.get("RssAnon", 0) for sample in target.memory]
    now = memory_kib(target.process.pid)
    pss = pss_kib(target.process.pid)
    return {
        "rss_mib_median": mib(statistics.median(rss)),
        "rss_mib_max": mib(max(rss)),
        "rss_anon_mib_median": mib(statistics.median(anon)),
        "pss_mib_end": None if pss is None else mib(pss),
        "peak_rss_mib_since_start": mib(now["VmHWM"]),
    }


def scrape_summary(target: Measured) -> dict[str, Any]:
    measured = target.scrapes[target.window.discard:] or target.scrapes
    return {
        "scrape_series": statistics.median_low(series for _, series, _ in measured),
        "scrape_bytes": statistics.median_low(size for size, _, _ in measured),
        "scrape_seconds_median": round(statistics.median(s for _, _, s in measured), 4),
    }


def report_summary(reports: ReportLog, discard: int) -> dict[str, Any]:
    measured = reports.arrivals[discard:] or reports.arrivals
    metrics_only = [a for a in measured if not a.has_inventory] or measured
    return {
        "reports_received": len(reports.arrivals),
        "inventory_reports": sum(a.has_inventory for a in reports.arrivals),
        "metrics_per_report": statistics.median_low(a.samples for a in metrics_only),
        "report_gzip_bytes": statistics.median_low(a.body_bytes for a in metrics_only),
    }


def summarise(target: Measured) -> dict[str, Any]:
    """CPU per event, memory, scrapes and reports of one process (read before it stops)."""
    event = "cycle" if target.reports is not None else "scrape"
    cpu = target.window.summary()
    figures: dict[str, Any] = {
        f"{event}s_measured": cpu["events_measured"],
        f"cpu_ms_per_{event}": cpu["cpu_ms_per_event"],
        "cpu_ms_total": cpu["cpu_ms_total"],
        **memory_summary(target),
    }
    if target.scrapes:
        figures.update(scrape_summary(target))
    if target.reports is not None:
        figures.update(report_summary(target.reports, target.window.discard))
    return figures


def side_by_side(args: argparse.Namespace, collector: LocalCollector,
                 workdir: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The steady-state run: (machine figures, figures per process)."""
    with ExitStack() as stack:
        measured = start_all(args, stack, collector, workdir)
        machine = measure(args, measured)
        figures = {target.name: summarise(target) for target in measured}
        for target in measured[1:]:
            seconds, code = stop(target.process)
            figures[target.name]["sigterm_exit_seconds"] = round(seconds, 3)
            figures[target.name]["exit_code"] = code
    figures["node_exporter"]["version"] = node_exporter_version(args.node_exporter)
    return machine, figures


def cold_starts(args: argparse.Namespace, collector: LocalCollector,
                workdir: Path) -> dict[str, Any]:
    """Launch to first report at the collector, one agent at a time, each on a new spool."""
    trials: list[dict[str, float]] = []
    for number in range(args.cold_starts):
        label = f"cold_start_{number}"
        reports = collector.expect(label)
        started = time.monotonic()
        with stopping(launch_agent(args, collector, label, workdir)) as process:
            reports.window = CpuWindow(process.pid, discard=1)
            if not reports.first.wait(args.first_report_timeout):
                raise BenchError(f"{label}: no report after {args.first_report_timeout:g} s")
            first = reports.window.first
            if first is None:  # the report came before the window existed: cannot happen
                raise BenchError(f"{label}: first report not measured")
            trials.append({
                "seconds": round(reports.arrivals[0].at - started, 3),
                "cpu_ms": round(first * 1000 / CLOCK_TICKS, 1),
            })
    return {
        "seconds_median": statistics.median(t["seconds"] for t in trials),
        "cpu_ms_median": statistics.median(t["cpu_ms"] for t in trials),
        "trials": trials,
    }


def verdict(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Ratios against node_exporter, the issue's targets, and the cost at 15 s."""
    exporter = figures["node_exporter"]
    agent = figures["agent"]
    listener = figures["agent_with_listener"]
    per_scrape = exporter["cpu_ms_per_scrape"] or None
    ratio = None if per_scrape is None else round(agent["cpu_ms_per_cycle"] / per_scrape, 2)
    listener_ratio = (None if per_scrape is None
                      else round(listener["cpu_ms_per_cycle"] / per_scrape, 2))
    cycles_per_day = 86400 / PRODUCTION_INTERVAL_SECONDS
    return {
        "ratios": {
            "agent_cpu_per_cycle_vs_node_exporter_per_scrape": ratio,
            "agent_with_listener_cpu_per_cycle_vs_node_exporter_per_scrape": listener_ratio,
            "agent_rss_vs_node_exporter_rss": round(
                agent["rss_mib_median"] / exporter["rss_mib_median"], 2),
        },
        "targets": {
            "agent_cycle_cpu_le_20_ms": agent["cpu_ms_per_cycle"] <= TARGET_CYCLE_CPU_MS,
            "agent_rss_le_35_mb": agent["rss_mib_max"] * 2**20 <= TARGET_RSS_BYTES,
            "agent_cpu_within_2x_node_exporter": ratio is not None and ratio <= TARGET_CPU_RATIO,
            "agent_with_listener_cpu_within_2x_node_exporter":
                listener_ratio is not None and listener_ratio <= TARGET_CPU_RATIO,
        },
        "extrapolated_to_15s_interval": {
            name: {
                "cpu_seconds_per_day": round(ms * cycles_per_day / 1000, 1),
                "cpu_percent_of_one_core": round(ms / PRODUCTION_INTERVAL_SECONDS / 10, 3),
            }
            for name, ms in (
                ("agent", agent["cpu_ms_per_cycle"]),
                ("agent_with_listener", listener["cpu_ms_per_cycle"]),
                ("node_exporter", exporter["cpu_ms_per_scrape"]),
            )
        },
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="agent interval and scrape period, seconds")
    parser.add_argument("--discard", type=int, default=5,
                        help="first cycles/scrapes left out (imports, inventory)")
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--first-report-timeout", type=float, default=30.0)
    parser.add_argument("--agent", default=str(Path(sys.executable).with_name("opsgraph-agent")),
                        help="the opsgraph-agent console script")
    parser.add_argument("--node-exporter", default="/usr/bin/prometheus-node-exporter")
    args = parser.parse_args()
    if args.discard < 1 or args.duration / args.interval < args.discard + 2:
        parser.error("need --discard >= 1 and --duration/--interval >= --discard + 2")
    for program in (args.agent, args.node_exporter):
        if not os.access(program, os.X_OK):
            parser.error(f"{program} is not an executable (apt-get install "
                         "prometheus-node-exporter; pip install -e . for opsgraph-agent)")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="agent-footprint-") as tmp, \
            LocalCollector() as collector:
        workdir = Path(tmp)
        try:
            machine, figures = side_by_side(args, collector, workdir)
            cold = cold_starts(args, collector, workdir)
        except BenchError as exc:
            for log in sorted(workdir.glob("*.log")):
                tail = log.read_text(errors="replace").splitlines()[-5:]
                print(f"--- {log.name}", *tail, sep="\n", file=sys.stderr)
            raise SystemExit(f"agent_footprint: {exc}") from exc
    print(json.dumps({
        "settings": {
            "duration_seconds": args.duration,
            "interval_seconds": args.interval,
            "discarded_events": args.discard,
            "inventory_check_seconds": (PRODUCTION_INVENTORY_CHECK_SECONDS * args.interval
                                        / PRODUCTION_INTERVAL_SECONDS),
            "clock_ticks_per_second": CLOCK_TICKS,
        },
        "machine": machine,
        **figures,
        "cold_start": cold,
        **verdict(figures),
    }, indent=2))


if __name__ == "__main__":
    main()
