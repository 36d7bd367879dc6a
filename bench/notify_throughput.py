"""Notification delivery benchmark; prints JSON.

A local webhook sink (its own process, HTTP/1.1 keep-alive) answers 200 to every
Standard Webhooks delivery and notes when each arrived. Per store:

- throughput: a backlog of `--notifications` outbox entries (half opens, half the
  resolves that must follow them) delivered by one dispatcher, notifications/s;
- delay: entries written at `--rate`/s while the dispatcher runs, time from the
  outbox write's commit to the sink receiving it (p50/p95/max), once with the
  dispatcher polling (`poll_interval`) and once woken by the writer (`wake()`, as an
  in-process writer would).

    .venv/bin/python -m bench.notify_throughput [--notifications 4000] [--rate 200]
        [--in-flight 16] [--neo4j-url bolt://127.0.0.1:17687]

Neo4j runs use a receiver name of their own and delete only what they wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cmdb.connect import connect
from cmdb.store import GraphStore, OutboxEntry
from rules.notify.dispatcher import Dispatcher
from rules.notify.redact import Secret
from rules.notify.state import open_delivery_store
from rules.notify.webhook import WebhookReceiver, WebhookSettings

SECRET = "whsec_" + "QmVuY2htYXJrU2VjcmV0S2V5T2YzMkJ5dGVzISE="


# --- the sink ------------------------------------------------------------------------

def _sink(pipe: Connection) -> None:
    arrivals: dict[str, float] = {}

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = dict(line.split(": ", 1) for line in
                               head.decode("latin-1").split("\r\n")[1:] if ": " in line)
                lower = {k.lower(): v for k, v in headers.items()}
                await reader.readexactly(int(lower.get("content-length", "0")))
                arrivals[lower.get("webhook-id", "")] = time.time()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", 0)
        pipe.send(server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        while not await loop.run_in_executor(None, pipe.poll, 0.2):
            pass
        pipe.recv()
        pipe.send(arrivals)
        server.close()

    asyncio.run(main())


class Sink:
    def __init__(self) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_sink, args=(child,), daemon=True)
        self._process.start()
        self.url = f"http://127.0.0.1:{self._pipe.recv()}/hook"

    def arrivals(self) -> dict[str, float]:
        self._pipe.send("done")
        arrivals: dict[str, float] = self._pipe.recv()
        self._process.join(5)
        return arrivals


# --- the runs --------------------------------------------------------------------------

def _entries(count: int, receiver: str, now: datetime) -> list[OutboxEntry]:
    entries: list[OutboxEntry] = []
    for n in range(count):
        incident_id = str(uuid.uuid4()) if n % 2 == 0 else entries[-1].incident_id
        event = "opened" if n % 2 == 0 else "resolved"
        payload: dict[str, object] = {"event": event, "incident": {
            "id": incident_id, "fingerprint": f"bench|{incident_id}", "rule": "bench",
            "ci_id": f"ci-{n % 97}", "state": "new" if n % 2 == 0 else "resolved",
            "severity": "major", "urgency": 2, "priority": 3,
            "summary": f"ci-{n % 97}: benchmark incident {n // 2}",
            "opened_at": now.isoformat(), "occurrences": 1, "value": 93.0, "labels": {}},
            "ci": {"id": f"ci-{n % 97}", "name": f"host-{n % 97}", "class": "Server"}}
        entries.append(OutboxEntry(str(uuid.uuid4()), incident_id, receiver, event, now,
                                   payload))
    return entries


def _enqueue(store: GraphStore, entries: list[OutboxEntry], batch: int = 500) -> None:
    for start in range(0, len(entries), batch):
        _write(store, entries[start : start + batch])


def _write(store: GraphStore, chunk: list[OutboxEntry]) -> None:
    store.write(lambda tx: tx.enqueue(chunk))


def _dispatcher(url: str, sink: Sink, receiver: str, in_flight: int) -> Dispatcher:
    hook = WebhookReceiver(WebhookSettings(name=receiver, url=Secret(sink.url),
                                           secret=Secret(SECRET), max_in_flight=in_flight))
    return Dispatcher(open_delivery_store(url), {receiver: hook}, owner="bench")


async def _throughput(store: GraphStore, url: str, count: int, in_flight: int,
                      receiver: str) -> dict[str, Any]:
    sink = Sink()
    _enqueue(store, _entries(count, receiver, datetime.now(UTC)))
    worker = _dispatcher(url, sink, receiver, in_flight)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(worker.run(stop))
    await _delivered(worker, count)
    seconds = time.perf_counter() - started
    stop.set()
    await task
    await _close(worker)
    arrived = len(sink.arrivals())
    return {"notifications": count, "seconds": round(seconds, 2),
            "per_second": round(count / seconds), "received": arrived,
            "failures": worker.stats.retried + worker.stats.dead}


async def _delay(store: GraphStore, url: str, count: int, rate: float, in_flight: int,
                 receiver: str, woken: bool) -> dict[str, Any]:
    sink = Sink()
    worker = _dispatcher(url, sink, receiver, in_flight)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    written: dict[str, float] = {}
    batch = max(2, int(rate / 20)) // 2 * 2  # 20 writes/s, opens with their resolves
    for _ in range(0, count, batch):
        entries = _entries(batch, receiver, datetime.now(UTC))
        await asyncio.to_thread(_enqueue, store, entries)
        now = time.time()
        written.update((e.id, now) for e in entries)
        if woken:
            worker.wake()
        await asyncio.sleep(batch / rate)
    await _delivered(worker, len(written))
    stop.set()
    await task
    await _close(worker)
    arrivals = sink.arrivals()
    delays = sorted(arrivals[i] - t for i, t in written.items() if i in arrivals)
    return {"notifications": len(written), "rate_per_second": rate, "woken": woken,
            "poll_interval_seconds": 0.5,
            "p50_ms": round(1000 * statistics.median(delays), 1),
            "p95_ms": round(1000 * delays[int(0.95 * (len(delays) - 1))], 1),
            "max_ms": round(1000 * delays[-1], 1)}


async def _delivered(worker: Dispatcher, count: int) -> None:
    # The dispatcher signals nothing per delivery: poll its counter.
    while worker.stats.delivered < count:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


async def _close(worker: Dispatcher) -> None:
    for receiver in worker.receivers.values():
        await receiver.aclose()
    worker.store.close()


def run_store(url: str, args: argparse.Namespace) -> dict[str, Any]:
    store = connect(url)
    receiver = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        return {
            "throughput": asyncio.run(_throughput(store, url, args.notifications,
                                                  args.in_flight, receiver + "-t")),
            "delay_polling": asyncio.run(_delay(store, url, args.delay_notifications,
                                                args.rate, args.in_flight, receiver + "-p",
                                                woken=False)),
            "delay_woken": asyncio.run(_delay(store, url, args.delay_notifications, args.rate,
                                              args.in_flight, receiver + "-w", woken=True)),
        }
    finally:
        if not url.startswith("sqlite:"):
            _clean_neo4j(store, receiver)
        store.close()


def _clean_neo4j(store: GraphStore, receiver: str) -> None:
    def work(tx: Any) -> None:
        for label in ("Outbox", "NotifyDelivery", "NotifyCursor"):
            tx.run(f"MATCH (n:{label}) WHERE n.receiver STARTS WITH $r DETACH DELETE n",
                   {"r": receiver})

    store.write(work)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--notifications", type=int, default=4000)
    parser.add_argument("--delay-notifications", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--neo4j-url", default=None)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"target_per_second": 500}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run_store(f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.neo4j_url:
        results["neo4j"] = run_store(args.neo4j_url, args)
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
