"""The receivers file: the example parses into typed settings with secrets from the
environment, and every mistake is one error naming file, receiver and field, never
echoing a secret."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from rules.notify.config import build_receivers, load_receivers, parse_receivers
from rules.notify.errors import ReceiverConfigError
from rules.notify.jira import JiraSettings
from rules.notify.mail import EmailSettings
from rules.notify.pagerduty import PagerDutySettings
from rules.notify.servicenow import ServiceNowSettings
from rules.notify.webhook import WebhookSettings

EXAMPLE = Path(__file__).parents[3] / "etc" / "receivers.example.yaml"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
ENV = {
    "OPSGRAPH_SNOW_PASSWORD": "snow-secret-value",
    "OPSGRAPH_JIRA_TOKEN": "jira-secret-token",
    "OPSGRAPH_PD_ROUTING_KEY": "R0123456789abcdef0123456789abcde",
    "OPSGRAPH_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "OPSGRAPH_SMTP_PASSWORD": "smtp-secret-value",
}


def test_the_example_file_loads_into_typed_settings() -> None:
    receivers = load_receivers(EXAMPLE, ENV)

    snow = receivers["servicenow-prod"]
    assert isinstance(snow, ServiceNowSettings)
    assert snow.instance_url == "https://example.service-now.com"
    assert snow.password is not None
    assert snow.password.reveal() == "snow-secret-value"
    jira = receivers["jira-ops"]
    assert isinstance(jira, JiraSettings)
    assert (jira.api_version, jira.project_key, jira.labels) == (3, "OPS", ("monitoring",))
    assert isinstance(receivers["pagerduty-oncall"], PagerDutySettings)
    assert isinstance(receivers["chatops"], WebhookSettings)
    mail = receivers["service-desk-mail"]
    assert isinstance(mail, EmailSettings)
    assert (mail.port, mail.security, mail.recipients) == (
        587, "starttls", ("service-desk@example.com",))


def test_settings_reprs_never_show_secrets() -> None:
    receivers = load_receivers(EXAMPLE, ENV)

    text = repr(receivers) + str(receivers)

    for secret in ENV.values():
        assert secret not in text
    assert "Secret('***')" in text


async def _build_and_close() -> list[str]:
    receivers = build_receivers(load_receivers(EXAMPLE, ENV))
    names = sorted(receivers)
    for receiver in receivers.values():
        await receiver.aclose()
    return names


def test_every_example_receiver_builds() -> None:
    import asyncio

    assert asyncio.run(_build_and_close()) == [
        "chatops", "jira-ops", "pagerduty-oncall", "service-desk-mail", "servicenow-prod"]


def _error(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ReceiverConfigError) as caught:
        parse_receivers(text, "receivers.yaml", ENV if env is None else env)
    return str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("receivers: [a, b]", "receivers.yaml: field 'receivers': must be a mapping"),
    ("receivers: {}\nroutes: {}", "receivers.yaml: field 'routes': is not a known top-level"),
    ("receivers:\n  Bad Name: {type: webhook}", "receiver 'Bad Name': names are lower-case"),
    ("receivers:\n  x: {type: fax}", "receiver 'x': field 'type': must be one of email, jira"),
    ("receivers:\n  x: {type: webhook}", "receiver 'x': field 'url': is required"),
    ("receivers:\n  x: {type: webhook, url: 'ftp://h/x'}",
     "receiver 'x': field 'url': must be an http:// or https:// URL"),
    ("receivers:\n  x: {type: webhook, url: 'https://h/x', secret: abc}",
     "receiver 'x': field 'secret': secrets are not written in the file: set secret_env"),
    ("receivers:\n  x: {type: webhook, url: 'https://h/x', secret_env: NOPE_UNSET}",
     "receiver 'x': field 'secret_env': environment variable NOPE_UNSET is not set"),
    ("receivers:\n  x: {type: webhook, url: 'https://h/x', secret_env: OPSGRAPH_SNOW_PASSWORD}",
     "receiver 'x': field 'secret_env': must hold a Standard Webhooks secret"),
    ("receivers:\n  x: {type: webhook, url: 'https://h/x', tiemout: 3}",
     "receiver 'x': field 'tiemout': is not a known field"),
    ("receivers:\n  x: {type: webhook, url: 'https://h/x', timeout: -1}",
     "receiver 'x': field 'timeout': must be a number from 0.1 to 300"),
    ("receivers:\n  x: {type: pagerduty, routing_key_env: OPSGRAPH_SNOW_PASSWORD}",
     "receiver 'x': field 'routing_key_env': must hold a 32-character integration key"),
    ("receivers:\n  x: {type: servicenow, instance_url: 'https://u:p@h', username: a, "
     "password_env: OPSGRAPH_SNOW_PASSWORD}",
     "receiver 'x': field 'instance_url': must not carry credentials"),
    ("receivers:\n  x: {type: servicenow, instance_url: 'https://h', auth: oauth, "
     "client_id: c, client_secret_env: OPSGRAPH_SNOW_PASSWORD, username: u}",
     "receiver 'x': field 'username': oauth takes username and password_env together"),
    ("receivers:\n  x: {type: jira, base_url: 'https://h', project_key: OPS, issue_type: Task, "
     "username: u, token_env: OPSGRAPH_JIRA_TOKEN, api_version: 4}",
     "receiver 'x': field 'api_version': must be an integer from 2 to 3"),
    ("receivers:\n  x: {type: email, host: h, from: a@b, to: [nobody]}",
     "receiver 'x': field 'to': must be email addresses"),
    ("receivers:\n  x: {type: webhook, url: [", "receivers.yaml: not valid YAML at line"),
])
def test_a_bad_file_names_the_file_receiver_and_field(text: str, expected: str) -> None:
    assert expected in _error(text)


def test_an_error_never_echoes_the_secret_it_rejects() -> None:
    message = _error("receivers:\n  x: {type: pagerduty, routing_key_env: OPSGRAPH_SNOW_PASSWORD}")

    assert "snow-secret-value" not in message


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ReceiverConfigError, match="cannot read"):
        load_receivers(tmp_path / "missing.yaml", ENV)
