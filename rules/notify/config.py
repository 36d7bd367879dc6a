"""The receivers file: named receivers, each with a `type` and its settings.

    receivers:
      servicenow-prod:
        type: servicenow
        instance_url: https://example.service-now.com
        username: opsgraph
        password_env: OPSGRAPH_SNOW_PASSWORD

Secrets are never written in the file: a `<secret>_env` field names the environment
variable holding it, read once at load. A file that cannot be used raises one
`ReceiverConfigError` naming the file, the receiver and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from rules.notify import jira, mail, pagerduty, servicenow, webhook
from rules.notify.errors import ReceiverConfigError
from rules.notify.policy import with_policy
from rules.notify.receiver import Clock, Receiver, utc_now
from rules.notify.settings import Fields, ReceiverSettings

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")

RECEIVER_TYPES: dict[str, Callable[[Fields], ReceiverSettings]] = {
    "servicenow": servicenow.parse_settings,
    "jira": jira.parse_settings,
    "pagerduty": pagerduty.parse_settings,
    "webhook": webhook.parse_settings,
    "email": mail.parse_settings,
}


def load_receivers(path: str | Path, env: Mapping[str, str]) -> dict[str, ReceiverSettings]:
    """The receivers a file declares, secrets resolved from `env`."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReceiverConfigError(name, None, None, f"cannot read: {exc.strerror}") from None
    return parse_receivers(text, name, env)


def parse_receivers(text: str, path: str, env: Mapping[str, str]
                    ) -> dict[str, ReceiverSettings]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ReceiverConfigError(path, None, None, f"not valid YAML{where}") from None
    if not isinstance(document, dict) or not isinstance(document.get("receivers"), dict):
        raise ReceiverConfigError(path, None, "receivers", "must be a mapping of named receivers")
    extra = sorted(set(document) - {"receivers"})
    if extra:
        raise ReceiverConfigError(path, None, str(extra[0]), "is not a known top-level field")
    return {str(name): _receiver(path, name, raw, env)
            for name, raw in document["receivers"].items()}


def _receiver(path: str, name: object, raw: Any, env: Mapping[str, str]) -> ReceiverSettings:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ReceiverConfigError(path, str(name), None,
                                  "names are lower-case letters, digits, '.', '_' and '-'")
    if not isinstance(raw, dict):
        raise ReceiverConfigError(path, name, None, "must be a mapping of settings")
    kind = raw.get("type")
    if kind not in RECEIVER_TYPES:
        raise ReceiverConfigError(path, name, "type",
                                  f"must be one of {', '.join(sorted(RECEIVER_TYPES))}")
    fields = Fields(path, name, raw, env)
    settings = RECEIVER_TYPES[kind](fields)
    fields.done()
    return settings


def build_receivers(settings: Mapping[str, ReceiverSettings], clock: Clock = utc_now
                    ) -> dict[str, Receiver]:
    """A receiver for each settings entry, behind its notification policy; close them
    with `aclose()`."""
    built: dict[str, Receiver] = {}
    for name, entry in settings.items():
        receiver: Receiver
        match entry:
            case servicenow.ServiceNowSettings():
                receiver = servicenow.ServiceNowReceiver(entry, clock)
            case jira.JiraSettings():
                receiver = jira.JiraReceiver(entry, clock)
            case pagerduty.PagerDutySettings():
                receiver = pagerduty.PagerDutyReceiver(entry, clock)
            case webhook.WebhookSettings():
                receiver = webhook.WebhookReceiver(entry, clock)
            case mail.EmailSettings():
                receiver = mail.EmailReceiver(entry)
            case _:
                raise TypeError(f"no receiver for {type(entry).__name__}")
        built[name] = with_policy(receiver, entry.policy)
    return built
