"""A small estate for graph tests: a core switch, an access switch with three PCs,
an application server, a CRM application on two redundant databases, and the Sales
business service on top."""

from __future__ import annotations

from datetime import datetime

from cmdb.reconcile import reconcile
from cmdb.relations import Link, relate
from cmdb.store import GraphStore
from collector.observation import Inventory


def build_estate(store: GraphStore, at: datetime) -> dict[str, str]:
    """Creates the estate; returns name -> CI id."""
    specs = [
        ("core-sw", "NetworkDevice", {"sys_name": "core-sw", "address": "192.0.2.1"}),
        ("access-sw", "NetworkDevice", {"sys_name": "access-sw", "address": "192.0.2.2"}),
        ("pc-1", "Computer", {"hostname": "pc-1"}),
        ("pc-2", "Computer", {"hostname": "pc-2"}),
        ("pc-3", "Computer", {"hostname": "pc-3"}),
        ("app-srv", "Server", {"hostname": "app-srv"}),
        ("db-1", "Server", {"hostname": "db-1"}),
        ("db-2", "Server", {"hostname": "db-2"}),
        ("crm", "Application", {"name": "crm"}),
        ("sales", "BusinessService", {"name": "sales"}),
    ]
    inventories = [
        Inventory("snmp" if cls == "NetworkDevice" else "import", cls, identity,
                  {"name": name, **({"criticality": "high", "users": 250}
                                    if cls == "BusinessService" else {})})
        for name, cls, identity in specs
    ]
    results = reconcile(store, inventories, at)
    ids = {name: r.ci_id for (name, _, _), r in zip(specs, results, strict=True)}
    links = [
        Link(ids["access-sw"], "CONNECTED_TO", ids["core-sw"], {"port": "Gi1/0/48"}),
        Link(ids["app-srv"], "CONNECTED_TO", ids["core-sw"], {"port": "Gi1/0/1"}),
        Link(ids["db-1"], "CONNECTED_TO", ids["core-sw"], {"port": "Gi1/0/2"}),
        *(Link(ids[f"pc-{n}"], "CONNECTED_TO", ids["access-sw"], {"port": f"Fa0/{n}"})
          for n in (1, 2, 3)),
        Link(ids["crm"], "RUNS_ON", ids["app-srv"]),
        Link(ids["crm"], "DEPENDS_ON", ids["db-1"], {"redundancy_group": "crm-db"}),
        Link(ids["crm"], "DEPENDS_ON", ids["db-2"], {"redundancy_group": "crm-db"}),
        Link(ids["sales"], "DEPENDS_ON", ids["crm"]),
    ]
    relate(store, links, "import", at)
    return ids
