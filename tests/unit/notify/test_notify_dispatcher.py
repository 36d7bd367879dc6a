"""The dispatcher with scripted receivers on an SQLite store and a hand-moved clock:
order per incident, backoff with jitter, Retry-After, dead letters holding back their
incident, give-up, receiver bugs, redaction, leases after a crash, graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cmdb.connect import connect
from cmdb.errors import StoreUnavailable
from cmdb.store import GraphStore
from rules.notify.dispatcher import Dispatcher, RetryPolicy
from rules.notify.errors import PermanentDeliveryError, TransientDeliveryError
from rules.notify.model import Notification, Receipt
from rules.notify.state import DeliveryStore, open_delivery_store
from tests.conftest import Clock
from tests.integration.notify.outbox import T0, enqueue, entry, incident, resolved, until

Step = Callable[[Notification], int | None]


class ScriptedReceiver:
    """Answers each delivery with the next scripted step (default: 200)."""

    def __init__(self, name: str = "snow", steps: list[Step] | None = None,
                 max_in_flight: int = 4, secret: str = "hunter2-secret") -> None:
        self.name, self.max_in_flight = name, max_in_flight
        self.steps = steps or []
        self.calls: list[tuple[str, str, int]] = []
        self.secret = secret
        self.gate: asyncio.Event | None = None

    def secrets(self) -> list[str]:
        return [self.secret]

    async def deliver(self, notification: Notification) -> Receipt:
        self.calls.append((notification.incident_id, notification.event, notification.attempt))
        if self.gate is not None:
            await self.gate.wait()
        return Receipt(self.steps.pop(0)(notification) if self.steps else 200)

    async def aclose(self) -> None:
        return None


def ok(notification: Notification) -> int:
    return 201


def fail(status: int = 503, retry_after: float | None = None) -> Step:
    def step(notification: Notification) -> int:
        raise TransientDeliveryError(f"HTTP {status}", status, "down", retry_after)
    return step


def reject(status: int = 400, body: str = '{"error": "bad field"}') -> Step:
    def step(notification: Notification) -> int:
        raise PermanentDeliveryError(f"HTTP {status} Bad Request", status, body)
    return step


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    graph = connect(f"sqlite:///{tmp_path / 'opsgraph.db'}")
    yield graph
    graph.close()


@pytest.fixture
def delivery(store: GraphStore) -> Iterator[DeliveryStore]:
    state = open_delivery_store(store.url)
    yield state
    state.close()


def dispatcher(delivery: DeliveryStore, receiver: ScriptedReceiver, clock: Clock,
               jittered: list[float] | None = None, **options: object) -> Dispatcher:
    def jitter(delay: float) -> float:
        if jittered is not None:
            jittered.append(delay)
        return delay

    return Dispatcher(delivery, {receiver.name: receiver}, owner="d1", clock=clock,
                      jitter=jitter, **options)  # type: ignore[arg-type]


def test_entries_of_one_incident_go_out_in_order(store: GraphStore, delivery: DeliveryStore,
                                                 clock: Clock) -> None:
    a, b = incident(1), incident(2)
    enqueue(store, [entry(a, "opened", "snow"), entry(resolved(a), "resolved", "snow"),
                    entry(b, "opened", "snow")])
    receiver = ScriptedReceiver()
    worker = dispatcher(delivery, receiver, clock)

    rounds = [asyncio.run(worker.run_once()) for _ in range(3)]

    assert rounds == [2, 1, 0]
    assert receiver.calls == [(a.id, "opened", 1), (b.id, "opened", 1), (a.id, "resolved", 1)]
    assert delivery.counts(["snow"]).delivered == 3


def test_transient_failures_back_off_exponentially_with_jitter(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    enqueue(store, [entry(incident(1), "opened", "snow")])
    receiver = ScriptedReceiver(steps=[fail(), fail(), fail(), ok])
    jittered: list[float] = []
    worker = dispatcher(delivery, receiver, clock, jittered,
                        policy=RetryPolicy(base=5, factor=2, cap=15))
    attempts_at: list[float] = []
    for _ in range(40):
        if asyncio.run(worker.run_once()):
            attempts_at.append((clock.now - T0).total_seconds())
        clock.advance(seconds=1)

    assert attempts_at == [0, 5, 15, 30]  # waits of 5, 10, then 15 (the cap)
    assert jittered == [5, 10, 15]
    assert delivery.counts(["snow"]).failures == 3
    assert [c[2] for c in receiver.calls] == [1, 2, 3, 4]


def test_retry_after_is_honoured_and_pauses_the_whole_receiver(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    a, b = incident(1), incident(2)
    enqueue(store, [entry(a, "opened", "snow")])
    receiver = ScriptedReceiver(steps=[fail(429, retry_after=30)])
    worker = dispatcher(delivery, receiver, clock)
    asyncio.run(worker.run_once())
    enqueue(store, [entry(b, "opened", "snow")])

    clock.advance(seconds=29)
    assert asyncio.run(worker.run_once()) == 0  # b too: the receiver asked for a pause
    clock.advance(seconds=1)
    assert asyncio.run(worker.run_once()) == 2
    assert [c[0] for c in receiver.calls] == [a.id, a.id, b.id]


def test_a_permanent_failure_is_a_dead_letter_that_holds_back_its_incident(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    a, b = incident(1), incident(2)
    opened_a = entry(a, "opened", "snow")
    enqueue(store, [opened_a, entry(resolved(a), "resolved", "snow"), entry(b, "opened", "snow")])
    receiver = ScriptedReceiver(steps=[reject(), ok])
    worker = dispatcher(delivery, receiver, clock)

    asyncio.run(worker.run_once())
    clock.advance(hours=1)
    assert asyncio.run(worker.run_once()) == 0  # a's resolve waits behind the dead letter

    dead = delivery.dead_letters().items
    assert [(d.outbox_id, d.status, d.body, d.error) for d in dead] == [
        (opened_a.id, 400, '{"error": "bad field"}', "HTTP 400 Bad Request")]
    delivery.requeue(opened_a.id, clock.now)  # an operator fixed the receiver's config
    assert asyncio.run(worker.run_once()) == 1
    assert asyncio.run(worker.run_once()) == 1
    assert receiver.calls[-2:] == [(a.id, "opened", 2), (a.id, "resolved", 1)]
    assert worker.stats.dead == 1
    assert worker.stats.delivered == 3


def test_max_attempts_turns_the_last_failure_into_a_dead_letter(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    enqueue(store, [entry(incident(1), "opened", "snow")])
    receiver = ScriptedReceiver(steps=[fail(), fail(), fail()])
    worker = dispatcher(delivery, receiver, clock, policy=RetryPolicy(base=1, max_attempts=3))

    for _ in range(10):
        asyncio.run(worker.run_once())
        clock.advance(seconds=10)

    assert len(receiver.calls) == 3
    [dead] = delivery.dead_letters().items
    assert dead.error == "gave up after 3 attempts: HTTP 503"
    assert dead.status == 503


def test_a_receiver_bug_is_parked_not_retried_forever(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    enqueue(store, [entry(incident(1), "opened", "snow")])

    def bug(notification: Notification) -> int:
        raise KeyError("sys_id")

    worker = dispatcher(delivery, ScriptedReceiver(steps=[bug]), clock)
    asyncio.run(worker.run_once())

    [dead] = delivery.dead_letters().items
    assert dead.error == "internal error: KeyError: 'sys_id'"


def test_secrets_never_reach_the_dead_letter(store: GraphStore, delivery: DeliveryStore,
                                             clock: Clock) -> None:
    enqueue(store, [entry(incident(1), "opened", "snow")])
    leak = reject(400, body='{"echo": "routing_key=hunter2-secret"}')

    def leaky(notification: Notification) -> int | None:
        try:
            return leak(notification)
        except PermanentDeliveryError as exc:
            raise PermanentDeliveryError("refused key hunter2-secret", exc.status,
                                         exc.body) from None

    worker = dispatcher(delivery, ScriptedReceiver(steps=[leaky]), clock)
    asyncio.run(worker.run_once())

    [dead] = delivery.dead_letters().items
    assert "hunter2" not in dead.error + (dead.body or "")


def test_a_hung_attempt_is_cut_off_within_the_lease_and_retried(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    enqueue(store, [entry(incident(1), "opened", "snow")])
    receiver = ScriptedReceiver()
    receiver.gate = asyncio.Event()  # never set: the vendor never answers
    worker = dispatcher(delivery, receiver, clock, lease=0.2)

    asyncio.run(worker.run_once())

    assert worker.stats.retried == 1
    assert delivery.counts(["snow"]).failures == 1


def test_after_a_crash_the_lease_expires_and_another_dispatcher_finishes(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    item = incident(1)
    enqueue(store, [entry(item, "opened", "snow")])
    # A dispatcher claimed it and died before recording anything.
    delivery.claim({"snow": 1}, "crashed", clock.now, clock.now + timedelta(seconds=120))
    receiver = ScriptedReceiver()
    worker = dispatcher(delivery, receiver, clock)

    assert asyncio.run(worker.run_once()) == 0
    clock.advance(seconds=121)
    assert asyncio.run(worker.run_once()) == 1
    assert receiver.calls == [(item.id, "opened", 2)]  # a retry: receivers look first


def test_run_delivers_until_stopped_and_reschedules_what_is_in_flight(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    a, b = incident(1), incident(2)
    enqueue(store, [entry(a, "opened", "snow")])
    receiver = ScriptedReceiver()

    async def scenario() -> Dispatcher:
        worker = dispatcher(delivery, receiver, clock, grace=0.05)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await until(lambda: worker.stats.delivered >= 1, 5, "a's delivery")
        receiver.gate = asyncio.Event()  # b's vendor hangs...
        enqueue(store, [entry(b, "opened", "snow")])
        worker.wake()
        await until(lambda: len(receiver.calls) >= 2, 5, "b's attempt")
        stop.set()  # ...and the dispatcher is stopped meanwhile
        await asyncio.wait_for(task, 5)
        return worker

    asyncio.run(scenario())

    assert delivery.counts(["snow"]).delivered == 1
    receiver.gate = None
    restarted = dispatcher(delivery, receiver, clock)
    assert asyncio.run(restarted.run_once()) == 1  # due at once, no lease to wait out
    assert receiver.calls[-1] == (b.id, "opened", 2)
    assert delivery.counts(["snow"]).delivered == 2


class FlakyStore:
    """A delivery store whose claim fails (store unreachable) on chosen calls."""

    def __init__(self, inner: DeliveryStore, failing_calls: set[int]) -> None:
        self.inner, self.failing, self.calls = inner, failing_calls, 0

    def claim(self, *args: object, **kwargs: object) -> list[Notification]:
        self.calls += 1
        if self.calls in self.failing:
            raise StoreUnavailable("database is locked")
        return self.inner.claim(*args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_outcomes_survive_a_store_outage_and_are_recorded_once_it_is_back(
        store: GraphStore, delivery: DeliveryStore, clock: Clock) -> None:
    item = incident(1)
    enqueue(store, [entry(item, "opened", "snow"), entry(resolved(item), "resolved", "snow")])
    receiver = ScriptedReceiver()
    flaky = FlakyStore(delivery, failing_calls={2, 3})

    async def scenario() -> None:
        worker = Dispatcher(flaky, {"snow": receiver}, owner="d1",  # type: ignore[arg-type]
                            clock=clock, poll_interval=0.02)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await until(lambda: delivery.counts(["snow"]).delivered == 2, 5, "both delivered")
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())

    assert receiver.calls == [(item.id, "opened", 1), (item.id, "resolved", 1)]
    assert flaky.calls > 3
