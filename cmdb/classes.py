"""CI classes and relationship types, declared once.

Every label and relationship type that a query splices in comes from these
declarations, never from input: `ci_class()` and `relationship()` raise
`UnknownClass`/`UnknownRelationship` for anything not declared here.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmdb.errors import UnknownClass, UnknownRelationship


@dataclass(frozen=True, slots=True)
class RelationshipType:
    """A directed relationship type (`from` -[type]-> `to`) and what it may carry."""

    name: str
    # Impact flows against the arrow: if the target fails, the source is affected.
    carries_impact: bool
    properties: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CIClass:
    """A kind of configuration item: its graph label, identity keys, attributes and
    the relationships it may start."""

    name: str
    identity_keys: tuple[str, ...]
    attributes: tuple[str, ...]
    relationships: tuple[tuple[str, tuple[str, ...]], ...] = ()
    discoverable: bool = True

    def may_relate(self, relationship: str, target_class: str) -> bool:
        return any(
            name == relationship and target_class in targets
            for name, targets in self.relationships
        )


RELATIONSHIPS: dict[str, RelationshipType] = {
    r.name: r
    for r in (
        RelationshipType("RUNS_ON", carries_impact=True),
        RelationshipType("DEPENDS_ON", carries_impact=True, properties=("redundancy_group",)),
        RelationshipType("CONNECTED_TO", carries_impact=True, properties=("port", "vlan")),
        RelationshipType("HOSTED_ON", carries_impact=True),
        RelationshipType("LOCATED_IN", carries_impact=False),
        RelationshipType("OWNED_BY", carries_impact=False),
        RelationshipType("SUPPORTED_BY", carries_impact=False),
    )
}

# Failure propagates over these: if the target fails, the source is affected.
IMPACT_TYPES: tuple[str, ...] = tuple(sorted(n for n, r in RELATIONSHIPS.items()
                                             if r.carries_impact))

_HARDWARE_KEYS = ("serial", "uuid", "mac", "fqdn", "hostname", "agent_id")
_HOST_ATTRIBUTES = (
    "hostname", "fqdn", "os_family", "os_name", "os_version", "kernel", "arch",
    "cpu_model", "cpu_cores", "cpu_threads", "memory_bytes", "vendor", "model",
    "serial", "uuid", "macs", "ipv4", "ipv6", "nics", "disks", "boot_time",
)
_NET_TARGETS = ("NetworkDevice",)
_PLACE = ("LOCATED_IN", ("Location",))
_OWNERSHIP = (("OWNED_BY", ("Person", "Group")), ("SUPPORTED_BY", ("Group",)))
_HOST_RELATIONS = (("CONNECTED_TO", _NET_TARGETS), _PLACE, *_OWNERSHIP)

CLASSES: dict[str, CIClass] = {
    c.name: c
    for c in (
        CIClass("Computer", _HARDWARE_KEYS, _HOST_ATTRIBUTES, _HOST_RELATIONS),
        CIClass(
            "Server",
            _HARDWARE_KEYS,
            _HOST_ATTRIBUTES,
            (*_HOST_RELATIONS, ("HOSTED_ON", ("Server",)), ("DEPENDS_ON", ("Server",))),
        ),
        CIClass(
            "Printer",
            ("serial", "mac", "sys_name_address", "fqdn", "hostname"),
            ("sys_name", "sys_descr", "sys_object_id", "sys_location", "sys_contact",
             "vendor", "model", "serial", "macs", "ipv4", "address"),
            _HOST_RELATIONS,
        ),
        CIClass(
            "NetworkDevice",
            ("serial", "mac", "sys_name_address", "fqdn", "hostname"),
            ("sys_name", "sys_descr", "sys_object_id", "sys_location", "sys_contact",
             "vendor", "model", "serial", "macs", "ipv4", "address", "ports"),
            (("CONNECTED_TO", _NET_TARGETS), ("DEPENDS_ON", _NET_TARGETS), _PLACE,
             *_OWNERSHIP),
        ),
        CIClass(
            "Application",
            ("name",),
            ("name", "version", "vendor", "description"),
            (("RUNS_ON", ("Server", "Computer")),
             ("DEPENDS_ON", ("Application", "Service", "Server", "NetworkDevice")),
             *_OWNERSHIP),
            discoverable=False,
        ),
        CIClass(
            "Service",
            ("name",),
            ("name", "description", "port", "protocol"),
            (("RUNS_ON", ("Server", "Computer")), ("DEPENDS_ON", ("Service", "Application",
             "Server", "NetworkDevice")), *_OWNERSHIP),
            discoverable=False,
        ),
        CIClass(
            "BusinessService",
            ("name",),
            ("name", "description", "criticality", "users"),
            (("DEPENDS_ON", ("Application", "Service", "Server", "NetworkDevice",
              "BusinessService")), *_OWNERSHIP),
            discoverable=False,
        ),
        CIClass("Location", ("name",), ("name", "address", "site_code"), (_PLACE,),
                discoverable=False),
        CIClass("Person", ("name",), ("name", "email", "phone"), (), discoverable=False),
        CIClass("Group", ("name",), ("name", "email"), (), discoverable=False),
    )
}


def ci_class(name: str) -> CIClass:
    """The declared class called `name`; anything else raises `UnknownClass`."""
    try:
        return CLASSES[name]
    except KeyError:
        raise UnknownClass(name) from None


def relationship(name: str) -> RelationshipType:
    """The declared relationship type `name`; anything else raises `UnknownRelationship`."""
    try:
        return RELATIONSHIPS[name]
    except KeyError:
        raise UnknownRelationship(name) from None
