"""Relationships between CIs, checked against the declared model before writing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from cmdb.classes import ci_class, relationship
from cmdb.errors import InvalidModel, NotFound
from cmdb.records import PropertyValue, Relationship
from cmdb.store import GraphStore, RelationshipKey, WriteTx


@dataclass(frozen=True, slots=True)
class Link:
    """A relationship a source asserts: `from_id` -[type]-> `to_id`."""

    from_id: str
    type: str
    to_id: str
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)


def relate(store: GraphStore, links: Sequence[Link], source: str, at: datetime
           ) -> list[Relationship]:
    """Create or refresh `links` in one transaction; `InvalidModel` names the first
    link the model does not allow, `NotFound` a CI that does not exist."""
    return store.write(lambda tx: relate_in(tx, links, source, at))


def relate_in(tx: WriteTx, links: Sequence[Link], source: str, at: datetime
              ) -> list[Relationship]:
    ids = sorted({link.from_id for link in links} | {link.to_id for link in links})
    classes = tx.ci_classes(ids)
    for link in links:
        _check(link, classes)
    keys: list[RelationshipKey] = [(link.from_id, link.type, link.to_id) for link in links]
    existing = tx.load_relationships(keys)
    saved: dict[RelationshipKey, Relationship] = {}
    for key, link in zip(keys, links, strict=True):
        before = saved.get(key) or existing.get(key) or Relationship(*key)
        saved[key] = replace(
            before,
            properties=dict(link.properties),
            sources={**before.sources, source: at},
            last_seen=max(at, before.last_seen) if before.last_seen else at,
        )
    tx.save_relationships(list(saved.values()))
    return list(saved.values())


def _check(link: Link, classes: Mapping[str, str]) -> None:
    kind = relationship(link.type)
    for ci_id in (link.from_id, link.to_id):
        if ci_id not in classes:
            raise NotFound(f"no CI with id {ci_id!r}")
    source_class, target_class = classes[link.from_id], classes[link.to_id]
    if link.from_id == link.to_id:
        raise InvalidModel(f"a CI cannot be {kind.name} itself")
    if not ci_class(source_class).may_relate(kind.name, target_class):
        raise InvalidModel(f"{source_class} may not be {kind.name} a {target_class}")
    unknown = sorted(set(link.properties) - set(kind.properties))
    if unknown:
        raise InvalidModel(f"{kind.name} has no property {unknown[0]!r}")


def unrelate(store: GraphStore, keys: Sequence[RelationshipKey]) -> int:
    """Delete relationships; returns how many existed."""
    for key in keys:
        relationship(key[1])
    return store.write(lambda tx: tx.delete_relationships(keys))
