from __future__ import annotations

import logging
from pathlib import Path

import pytest
from agent_fakes import FakeClock, FakeTransport, refused

from agent.backoff import Backoff, parse_retry_after
from agent.shipper import Outcome, Shipper, classify, problem_summary
from agent.spool import Spool
from agent.transport import HttpAnswer


def make(
    tmp_path: Path, transport: FakeTransport, rng: float = 1.0
) -> tuple[Shipper, Spool, FakeClock]:
    clock = FakeClock()
    spool = Spool(tmp_path / "spool.db", clock)
    backoff = Backoff(initial_seconds=2.0, maximum_seconds=60.0, rng=lambda: rng)
    shipper = Shipper(spool, transport, "tok-123", clock, backoff, sleep=clock.sleep)
    return shipper, spool, clock


def fill(spool: Spool, *report_ids: str) -> None:
    for report_id in report_ids:
        spool.put(report_id, f"gzip-of-{report_id}".encode(), has_inventory=False)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.DELIVERED), (202, Outcome.DELIVERED), (408, Outcome.RETRY),
     (429, Outcome.RETRY), (500, Outcome.RETRY), (503, Outcome.RETRY),
     (400, Outcome.DEAD_LETTER), (413, Outcome.DEAD_LETTER), (422, Outcome.DEAD_LETTER),
     (401, Outcome.HOLD), (403, Outcome.HOLD), (404, Outcome.HOLD), (301, Outcome.HOLD)],
)
def test_classify(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


def test_sends_oldest_first_with_bearer_and_gzip_headers(tmp_path: Path) -> None:
    transport = FakeTransport()
    shipper, spool, _ = make(tmp_path, transport)
    fill(spool, "r1", "r2", "r3")
    result = shipper.send_due()
    assert result.delivered == ["r1", "r2", "r3"]
    assert not result.pending
    assert [body for body, _ in transport.posts] == [b"gzip-of-r1", b"gzip-of-r2", b"gzip-of-r3"]
    headers = transport.posts[0][1]
    assert headers["Authorization"] == "Bearer tok-123"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "application/json"
    assert spool.status().depth == 0


def test_connection_error_keeps_the_report_and_backs_off(tmp_path: Path) -> None:
    transport = FakeTransport(replies=[refused()])
    shipper, spool, clock = make(tmp_path, transport)
    fill(spool, "r1", "r2")
    result = shipper.send_due()
    assert result.delivered == []
    assert result.failures == 1
    assert result.pending
    assert shipper.next_attempt_at == clock.mono + 2.0
    assert shipper.send_due().delivered == []  # still backing off: nothing sent
    assert len(transport.posts) == 1
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
    fill(spool, "bad", "good")
    with caplog.at_level(logging.WARNING, logger="agent.shipper"):
        result = shipper.send_due()
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
    stop = {"now": False}
    transport = FakeTransport()
    transport.on_post = lambda: stop.update(now=True)
    shipper, spool, _ = make(tmp_path, transport)
    fill(spool, "r1", "r2", "r3")
    result = shipper.send_due(should_stop=lambda: stop["now"])
    assert result.delivered == ["r1"]  # the send in flight finished, then it stopped
    assert spool.status().depth == 2


def test_deadline_stops_sending_so_the_next_cycle_is_on_time(tmp_path: Path) -> None:
    transport = FakeTransport()
    shipper, spool, clock = make(tmp_path, transport)
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
