from __future__ import annotations

import copy
import gzip
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from agent_fakes import FakeClock, FakeCollector, FakeTransport, answer, decode, refused

from agent.backoff import Backoff, parse_retry_after
from agent.shipper import BATCH_PAUSE_SECONDS, Outcome, Shipper, classify, problem_summary
from agent.spool import Spool
from agent.transport import HttpAnswer, Transport


def make(
    tmp_path: Path, transport: Transport, rng: float = 1.0, batch_max_reports: int = 50,
    batch_max_bytes: int = 512 * 1024,
) -> tuple[Shipper, Spool, FakeClock]:
    clock = FakeClock()
    spool = Spool(tmp_path / "spool.db", clock)
    backoff = Backoff(initial_seconds=2.0, maximum_seconds=60.0, rng=lambda: rng)
    shipper = Shipper(spool, transport, "tok-123", clock, backoff, sleep=clock.sleep,
                      batch_max_reports=batch_max_reports, batch_max_bytes=batch_max_bytes)
    return shipper, spool, clock


def report(report_id: str, padding: int = 0) -> dict[str, Any]:
    return {"report_id": report_id, "agent_id": "pc-0042",
            "collected_at": "2026-11-23T12:00:00Z",
            "metrics": [{"name": "host.users", "value": 2, "unit": "count",
                         "labels": {"pad": "x" * padding}}]}


def fill(spool: Spool, *report_ids: str, padding: int = 0, inventory: bool = False) -> None:
    for report_id in report_ids:
        body = gzip.compress(json.dumps(report(report_id, padding)).encode())
        spool.put(report_id, body, has_inventory=inventory)


def spooled_body(spool: Spool, report_id: str) -> bytes:
    db = sqlite3.connect(spool.path)
    row = db.execute("SELECT body FROM reports WHERE report_id = ?", (report_id,)).fetchone()
    db.close()
    return bytes(row[0])


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.DELIVERED), (202, Outcome.DELIVERED), (408, Outcome.RETRY),
     (429, Outcome.RETRY), (500, Outcome.RETRY), (503, Outcome.RETRY),
     (400, Outcome.DEAD_LETTER), (413, Outcome.DEAD_LETTER), (422, Outcome.DEAD_LETTER),
     (401, Outcome.HOLD), (403, Outcome.HOLD), (404, Outcome.HOLD), (301, Outcome.HOLD)],
)
def test_classify(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


def test_a_lone_report_goes_as_spooled_with_bearer_and_gzip_headers(tmp_path: Path) -> None:
    transport = FakeTransport()
    shipper, spool, _ = make(tmp_path, transport)
    fill(spool, "r-000001")
    spooled = spooled_body(spool, "r-000001")
    result = shipper.send_due()
    assert result.delivered == ["r-000001"]
    assert not result.pending
    [(body, headers)] = transport.posts
    assert body == spooled  # the report itself, not a batch of one
    assert headers["Authorization"] == "Bearer tok-123"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "application/json"
    assert spool.status().depth == 0


def test_a_backlog_goes_oldest_first_as_one_gzip_batch_and_leaves_the_spool(
        tmp_path: Path) -> None:
    collector = FakeCollector()
    shipper, spool, _ = make(tmp_path, collector)
    fill(spool, "inv-1", inventory=True)
    fill(spool, "r2", "r3", "r4")
    result = shipper.send_due()
    assert collector.requests == [["inv-1", "r2", "r3", "r4"]]
    assert result.delivered == ["inv-1", "r2", "r3", "r4"]
    assert not result.pending
    status = spool.status()
    assert (status.depth, status.delivered_reports, status.send_failures) == (0, 4, 0)


def test_batches_hold_at_most_the_configured_reports_and_bytes(tmp_path: Path) -> None:
    collector = FakeCollector()
    shipper, spool, _ = make(tmp_path, collector, batch_max_reports=3)
    fill(spool, *(f"r{n}" for n in range(7)))
    shipper.send_due()
    assert collector.requests == [["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6"]]

    collector = FakeCollector()
    shipper, spool, _ = make(tmp_path / "b", collector, batch_max_bytes=2500)
    fill(spool, "big", padding=3000)  # over the limit alone: it still goes, alone
    fill(spool, "m1", "m2", "m3", padding=900)
    fill(spool, "m4", padding=900)
    shipper.send_due()
    assert collector.requests == [["big"], ["m1", "m2"], ["m3", "m4"]]
    assert spool.status().depth == 0


def test_only_the_reports_the_answer_acknowledges_leave_the_spool(tmp_path: Path) -> None:
    partial = answer(202, {"results": [
        {"report_id": "r1", "ci_id": "ci-1", "duplicate": False},
        {"report_id": "r3", "ci_id": "ci-1", "duplicate": True}]})
    transport = FakeTransport(replies=[partial])
    shipper, spool, _ = make(tmp_path, transport)
    fill(spool, "r1", "r2", "r3")
    result = shipper.send_due()
    assert result.delivered == ["r1", "r3", "r2"]
    [batch, alone] = [decode(body) for body, _ in transport.posts]
    assert [r["report_id"] for r in batch["reports"]] == ["r1", "r2", "r3"]
    assert alone["report_id"] == "r2"
    assert spool.status().delivered_reports == 3


def test_a_bad_report_in_a_batch_is_dead_lettered_and_the_rest_sent_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    collector = FakeCollector(malformed={"r2"})
    shipper, spool, _ = make(tmp_path, collector)
    fill(spool, "r1", "r2", "r3", "r4")
    with caplog.at_level(logging.WARNING, logger="agent.shipper"):
        result = shipper.send_due()
    assert result.dead_lettered == ["r2"]
    assert result.delivered == ["r1", "r3", "r4"]
    assert result.failures == 0
    assert collector.requests == [["r1", "r2", "r3", "r4"], ["r1", "r3", "r4"]]
    assert collector.accepted == ["r1", "r3", "r4"]
    [record] = caplog.records
    assert "r2" in record.getMessage()
    assert "422" in record.getMessage()
    db = sqlite3.connect(spool.path)
    assert db.execute("SELECT report_id, status, reason FROM dead_letters").fetchall() == [
        ("r2", 422, "Invalid request; fields: metrics.0.unit")]
    assert spool.status().depth == 0


def test_a_collector_down_then_up_gets_the_whole_batch_after_backoff(tmp_path: Path) -> None:
    collector = FakeCollector(down=1, errors=[503])
    shipper, spool, clock = make(tmp_path, collector, rng=0.0)
    fill(spool, "r1", "r2", "r3")
    first = shipper.send_due()
    assert (first.delivered, first.failures, first.pending) == ([], 1, True)
    assert shipper.next_attempt_at == clock.mono + 1.0
    assert shipper.send_due().delivered == []  # still backing off: nothing sent
    clock.advance(1.0)
    assert shipper.send_due().failures == 1  # 503
    assert shipper.next_attempt_at == clock.mono + 2.0
    clock.advance(2.0)
    assert shipper.send_due().delivered == ["r1", "r2", "r3"]
    assert collector.requests == [["r1", "r2", "r3"]] * 3
    status = spool.status()
    assert (status.depth, status.send_failures, status.delivered_reports) == (0, 2, 3)
    assert shipper.consecutive_failures == 0


def test_a_lost_answer_means_the_batch_is_sent_again_and_counted_once(tmp_path: Path) -> None:
    collector = FakeCollector(lose_answers=1)
    shipper, spool, _ = make(tmp_path, collector)
    fill(spool, "r1", "r2", "r3")
    result = shipper.flush(max_failures=3)
    assert collector.requests == [["r1", "r2", "r3"], ["r1", "r2", "r3"]]
    assert collector.accepted == ["r1", "r2", "r3"]  # stored once, by report_id
    assert result.delivered == ["r1", "r2", "r3"]
    assert result.failures == 1
    status = spool.status()
    assert (status.depth, status.delivered_reports, status.send_failures) == (0, 3, 1)


@pytest.mark.parametrize("old", [FakeCollector(takes_batches=False),
                                 FakeCollector(single_answers=True)],
                         ids=["422-to-a-batch", "single-answer-to-a-batch"])
def test_a_collector_that_does_not_take_batches_gets_single_reports(
        tmp_path: Path, old: FakeCollector, caplog: pytest.LogCaptureFixture) -> None:
    collector = copy.deepcopy(old)  # the parameter is shared by reruns; its log is not
    shipper, spool, clock = make(tmp_path, collector)
    fill(spool, "r1", "r2", "r3")
    with caplog.at_level(logging.WARNING, logger="agent.shipper"):
        result = shipper.send_due()
    assert collector.requests == [["r1", "r2", "r3"], ["r1"], ["r2"], ["r3"]]
    assert result.delivered == ["r1", "r2", "r3"]
    assert (result.dead_lettered, result.failures) == ([], 0)
    assert spool.status().dead_letters == 0
    assert "one by one" in caplog.text
    fill(spool, "r4", "r5")
    shipper.send_due()
    assert collector.requests[4:] == [["r4"], ["r5"]]  # batches stay paused ...
    clock.advance(BATCH_PAUSE_SECONDS)
    fill(spool, "r6", "r7")
    shipper.send_due()
    assert collector.requests[6] == ["r6", "r7"]  # ... for a while, then are tried again


def test_rejected_credentials_hold_a_batch_at_the_longest_backoff(tmp_path: Path) -> None:
    collector = FakeCollector(errors=[403])
    shipper, spool, clock = make(tmp_path, collector)
    fill(spool, "r1", "r2")
    assert shipper.send_due().failures == 1
    assert (spool.status().depth, spool.status().dead_letters) == (2, 0)
    assert shipper.next_attempt_at - clock.mono == 60.0


def test_an_unreadable_spooled_body_goes_alone_as_it_is(tmp_path: Path) -> None:
    transport = FakeTransport()
    shipper, spool, _ = make(tmp_path, transport)
    fill(spool, "r1")
    spool.put("junk", b"not gzip", has_inventory=False)
    fill(spool, "r3")
    shipper.send_due()
    first, junk, last = [body for body, _ in transport.posts]
    assert junk == b"not gzip"
    assert [decode(first)["report_id"], decode(last)["report_id"]] == ["r1", "r3"]


def test_connection_error_keeps_the_report_and_backs_off(tmp_path: Path) -> None:
    collector = FakeCollector(down=1)
    shipper, spool, clock = make(tmp_path, collector)
    fill(spool, "r1", "r2")
    result = shipper.send_due()
    assert result.delivered == []
    assert result.failures == 1
    assert result.pending
    assert shipper.next_attempt_at == clock.mono + 2.0
    assert shipper.send_due().delivered == []  # still backing off: nothing sent
    assert len(collector.requests) == 1
    clock.advance(2.0)
    assert shipper.send_due().delivered == ["r1", "r2"]
    assert spool.status().send_failures == 1


def test_backoff_doubles_with_jitter_up_to_the_maximum(tmp_path: Path) -> None:
    backoff = Backoff(initial_seconds=2.0, maximum_seconds=60.0, rng=lambda: 0.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    high = Backoff(initial_seconds=2.0, maximum_seconds=60.0, rng=lambda: 0.999)
    assert high.delay(10) == pytest.approx(60.0, abs=0.1)
    assert Backoff(1.0, 300.0).delay(10_000) <= 300.0


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    transport = FakeTransport(replies=[HttpAnswer(429, "30"), HttpAnswer(503, "bogus")])
    shipper, spool, clock = make(tmp_path, transport, rng=0.0)
    fill(spool, "r1")
    shipper.send_due()
    assert shipper.next_attempt_at - clock.mono == 30.0
    clock.advance(30.0)
    shipper.send_due()
    assert shipper.next_attempt_at - clock.mono == 2.0  # unparseable: plain backoff
    clock.advance(2.0)
    assert shipper.send_due().delivered == ["r1"]
    assert shipper.consecutive_failures == 0


def test_retry_after_http_date() -> None:
    now = 1_795_000_000.0  # 2026-11-18T11:06:40Z
    assert parse_retry_after("Wed, 18 Nov 2026 11:07:40 GMT", now) == 60.0
    assert parse_retry_after(None, now) is None


def test_bad_report_goes_to_dead_letters_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    problem = b'{"title": "Unprocessable", "errors": [{"loc": ["metrics", 0, "unit"]}]}'
    transport = FakeTransport(replies=[HttpAnswer(422, None, problem)])
    shipper, spool, _ = make(tmp_path, transport)
    fill(spool, "bad")
    with caplog.at_level(logging.WARNING, logger="agent.shipper"):
        result = shipper.send_due()
        fill(spool, "good")
        result.delivered += shipper.send_due().delivered
    assert result.dead_lettered == ["bad"]
    assert result.delivered == ["good"]
    assert len(caplog.records) == 1
    assert "bad" in caplog.text
    assert "422" in caplog.text
    assert "metrics.0.unit" in caplog.text
    assert spool.status().dead_letters == 1
    assert len(transport.posts) == 2  # not retried


def test_rejected_credentials_hold_reports_at_the_longest_backoff(tmp_path: Path) -> None:
    transport = FakeTransport(replies=[HttpAnswer(401)])
    shipper, spool, clock = make(tmp_path, transport)
    fill(spool, "r1")
    shipper.send_due()
    assert spool.status().depth == 1
    assert spool.status().dead_letters == 0
    assert shipper.next_attempt_at - clock.mono == 60.0


def test_stop_request_is_honoured_between_sends(tmp_path: Path) -> None:
    collector = FakeCollector()
    shipper, spool, _ = make(tmp_path, collector, batch_max_reports=2)
    fill(spool, "r1", "r2", "r3")
    result = shipper.send_due(should_stop=lambda: bool(collector.requests))
    assert result.delivered == ["r1", "r2"]  # the send in flight finished, then it stopped
    assert spool.status().depth == 1


def test_deadline_stops_sending_so_the_next_cycle_is_on_time(tmp_path: Path) -> None:
    transport = FakeTransport()
    shipper, spool, clock = make(tmp_path, transport, batch_max_reports=1)
    transport.on_post = lambda: clock.advance(1.0)
    fill(spool, "r1", "r2", "r3")
    result = shipper.send_due(deadline=clock.mono + 1.5)
    assert result.delivered == ["r1", "r2"]
    assert result.pending


def test_flush_sleeps_through_backoff_and_gives_up_after_max_failures(tmp_path: Path) -> None:
    transport = FakeTransport(replies=[refused(), HttpAnswer(500)])
    shipper, spool, clock = make(tmp_path, transport, rng=0.0)
    fill(spool, "r1")
    assert shipper.flush(max_failures=3).delivered == ["r1"]
    assert clock.slept == [1.0, 2.0]
    transport.default = refused()
    fill(spool, "r2")
    result = shipper.flush(max_failures=3)
    assert result.failures == 3
    assert result.pending
    assert spool.status().depth == 1


def test_problem_summary_handles_text_and_json() -> None:
    assert problem_summary(b"payload too large") == "payload too large"
    assert problem_summary(b'{"title": "Bad", "detail": "agent_id"}') == "Bad; agent_id"
    assert problem_summary(b"") == "no details"
    dotted = b'{"title": "Invalid request", "errors": [{"loc": "metrics.0.unit"}]}'
    assert problem_summary(dotted) == "Invalid request; fields: metrics.0.unit"
