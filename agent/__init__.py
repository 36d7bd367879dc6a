"""opsgraph-agent: the endpoint agent (probes, inventory, durable spool, shipper, /metrics).

Importing this package does nothing: modules are imported lazily by `agent.cli` so the
agent stays small on the endpoint.
"""
