"""Delivering incident notifications from the outbox to ticketing systems, exactly
once per (entry, receiver) as far as each vendor's API allows, in order per incident,
through outages and restarts.

- `config`      the receivers file (YAML, secrets from the environment)
- `dispatcher`  claims, sends, retries, dead-letters (`Dispatcher`, `RetryPolicy`)
- `state`       the `DeliveryStore` protocol; `sqlite_state`, `neo4j_state`
- receivers     `servicenow`, `jira`, `pagerduty`, `webhook`, `mail`
- `errors`      the package's exception hierarchy
"""
