"""The shipper against a real HTTP collector on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest
from agent_collector import LocalCollector
from agent_fakes import FakeClock

from agent.backoff import Backoff
from agent.probes import catalog
from agent.report import build_report, encode_report
from agent.shipper import Shipper
from agent.spool import Spool
from agent.transport import HttpTransport
from tests.conftest import require_service


def spool_report(spool: Spool, agent_id: str = "pc-0042") -> str:
    report = build_report(agent_id, 1_795_000_000.0, [catalog.USERS.sample(2)])
    spool.put(report["report_id"], gzip.compress(encode_report(report)), has_inventory=False)
    return str(report["report_id"])


def shipper_for(
    url: str, tmp_path: Path, token: str = "tok-123", ca_file: Path | None = None
) -> tuple[Shipper, Spool]:
    clock = FakeClock()
    spool = Spool(tmp_path / "spool.db", clock)
    transport = HttpTransport(url + "/v1/reports", 5.0, ca_file=ca_file)
    shipper = Shipper(spool, transport, token, clock, Backoff(0.01, 0.05), sleep=clock.sleep)
    return shipper, spool


def test_report_arrives_gzipped_with_bearer_token_and_report_id(tmp_path: Path) -> None:
    with LocalCollector() as collector:
        shipper, spool = shipper_for(collector.url, tmp_path)
        report_id = spool_report(spool)
        result = shipper.send_due()
    assert result.delivered == [report_id]
    [request] = collector.received
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/json"
    assert request.report["report_id"] == report_id
    assert request.report["metrics"][0]["name"] == "host.users"
    assert spool.status().depth == 0


def test_dropped_answer_means_resend_and_the_collector_counts_it_once(tmp_path: Path) -> None:
    with LocalCollector(drop_first=True) as collector:
        shipper, spool = shipper_for(collector.url, tmp_path)
        first = spool_report(spool)
        second = spool_report(spool)
        result = shipper.flush(max_failures=5)
    assert result.delivered == [first, second]
    # One batch, sent again after the lost answer ...
    assert collector.requests == [[first, second], [first, second]]
    assert all(r.batched for r in collector.received)
    assert list(collector.stored) == [first, second]  # ... and each report stored once
    assert spool.status().depth == 0
    assert spool.status().delivered_reports == 2


def test_a_keep_alive_connection_closed_by_the_server_is_not_a_failure(tmp_path: Path) -> None:
    with LocalCollector(close_idle=True) as collector:
        shipper, spool = shipper_for(collector.url, tmp_path)
        sent, delivered = [], []
        for _ in range(3):  # one report, one request, each on the connection kept open
            sent.append(spool_report(spool))
            result = shipper.send_due()
            assert result.failures == 0
            delivered += result.delivered
    assert delivered == sent
    assert [r.report["report_id"] for r in collector.received] == sent


def test_an_older_collector_that_refuses_batches_gets_the_reports_one_by_one(
        tmp_path: Path) -> None:
    with LocalCollector(takes_batches=False) as collector:
        shipper, spool = shipper_for(collector.url, tmp_path)
        sent = [spool_report(spool) for _ in range(3)]
        result = shipper.send_due()
    assert result.delivered == sent
    assert collector.requests == [[report_id] for report_id in sent]
    assert not any(r.batched for r in collector.received)
    assert spool.status().dead_letters == 0
    assert spool.status().depth == 0


def test_server_errors_are_retried_and_bad_tokens_keep_reports(tmp_path: Path) -> None:
    with LocalCollector(script=[503]) as collector:
        shipper, spool = shipper_for(collector.url, tmp_path)
        report_id = spool_report(spool)
        assert shipper.flush().delivered == [report_id]
    with LocalCollector(token="another") as collector:
        shipper, spool = shipper_for(collector.url, tmp_path / "b", token="tok-123")
        spool_report(spool)
        assert shipper.send_due().delivered == []
        assert spool.status().depth == 1


def test_nothing_listening_is_a_retryable_failure(tmp_path: Path) -> None:
    with LocalCollector() as collector:
        url = collector.url  # the port is closed once the server stops
    shipper, spool = shipper_for(url, tmp_path)
    spool_report(spool)
    result = shipper.send_due()
    assert result.failures == 1
    assert result.pending
    assert spool.status().last_error == "connection refused"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        require_service("the `openssl` command", "apt-get install openssl", "not on PATH")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def test_tls_is_verified_and_a_private_ca_can_be_trusted(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    with LocalCollector(tls=certificate) as collector:
        untrusted, untrusted_spool = shipper_for(collector.url, tmp_path / "a")
        spool_report(untrusted_spool)
        assert untrusted.send_due().failures == 1
        error = untrusted_spool.status().last_error or ""
        assert "certificate" in error.lower()
        trusted, trusted_spool = shipper_for(collector.url, tmp_path / "b", ca_file=certificate[0])
        report_id = spool_report(trusted_spool)
        assert trusted.send_due().delivered == [report_id]
