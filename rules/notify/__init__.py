"""Delivering incident notifications from the outbox to ticketing systems, once per
entry as far as each vendor's API allows, in order per incident and receiver, through
outages and restarts. See docs/ticketing.md.

- `config`      the receivers file (YAML, secrets from the environment)
- `dispatcher`  claims, sends, retries, dead-letters (`Dispatcher`, `RetryPolicy`)
- `service`     `run_dispatcher`: a dispatcher process from a store URL and settings
- `state`       the `DeliveryStore` protocol; `sqlite_state`, `neo4j_state`
- receivers     `servicenow`, `jira`, `pagerduty`, `webhook`, `mail`
- `errors`      the package's exception hierarchy
"""
