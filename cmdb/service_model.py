"""Service model files: operators describe CIs (applications, business services,
assets) and their relationships in YAML, or bulk assets in CSV.

`load_*` validate the whole file first (errors name file:line and the reason) and
return a `ServiceModel`; `apply_model` writes it idempotently through the same
reconciliation as every other source (source `import`); `export_model` writes the
same YAML format back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from cmdb.classes import CLASSES, RELATIONSHIPS
from cmdb.errors import CMDBError
from cmdb.reconcile import reconcile_in
from cmdb.relations import Link, relate_in
from cmdb.store import CIQuery, GraphStore, WriteTx
from collector.observation import Inventory

SOURCE = "import"
_IDENTITY_FIELDS = ("serial", "uuid", "macs", "fqdn", "hostname", "sys_name", "address")


class ModelFileError(CMDBError):
    """A service model file that cannot be applied; `str()` is `file:line: reason`."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


@dataclass(frozen=True, slots=True)
class ModelCI:
    ci_class: str
    name: str
    attributes: dict[str, object] = field(default_factory=dict)
    identity: dict[str, object] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.ci_class}/{self.name}"


@dataclass(frozen=True, slots=True)
class ModelLink:
    from_ref: str
    type: str
    to_ref: str
    properties: dict[str, str | int | float | bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceModel:
    cis: tuple[ModelCI, ...]
    relationships: tuple[ModelLink, ...]


class _LineLoader(yaml.SafeLoader):
    """Records the line of each mapping as `__line__`."""


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_model(path: Path) -> ServiceModel:
    """A YAML (`.yaml`/`.yml`) or CSV (`.csv`) model file, validated."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelFileError(name, None, f"cannot read: {exc.strerror}") from None
    if path.suffix.lower() == ".csv":
        return parse_csv(text, name)
    return parse_yaml(text, name)


def parse_yaml(text: str, path: str = "<model>") -> ServiceModel:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ModelFileError(path, mark.line + 1 if mark else None, "invalid YAML") from None
    if not isinstance(document, dict):
        raise ModelFileError(path, 1, "expected a mapping with `cis:` and `relationships:`")
    unknown = sorted(k for k in document if k not in ("cis", "relationships", "__line__"))
    if unknown:
        raise ModelFileError(path, 1, f"unknown top-level key {unknown[0]!r}")
    cis = tuple(_ci(raw, path) for raw in _list(document, "cis", path))
    refs = _unique_refs(cis, path)
    links = tuple(_link(raw, path, refs) for raw in _list(document, "relationships", path))
    return ServiceModel(cis, links)


def _list(document: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise ModelFileError(path, document["__line__"], f"`{key}` must be a list")
    return value


def _ci(raw: object, path: str) -> ModelCI:
    if not isinstance(raw, dict):
        raise ModelFileError(path, None, "each entry of `cis` must be a mapping")
    line = raw["__line__"]
    unknown = sorted(set(raw) - {"class", "name", "attributes", "identity", "__line__"})
    if unknown:
        raise ModelFileError(path, line, f"unknown key {unknown[0]!r}")
    ci_class, name = raw.get("class"), raw.get("name")
    if ci_class not in CLASSES:
        raise ModelFileError(path, line, f"unknown or missing class {ci_class!r}; one of "
                             f"{', '.join(sorted(CLASSES))}")
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise ModelFileError(path, line, "`name` must be a non-empty string without '/'")
    attributes, identity = raw.get("attributes", {}), raw.get("identity", {})
    for key, value in (("attributes", attributes), ("identity", identity)):
        if not isinstance(value, dict):
            raise ModelFileError(path, line, f"`{key}` must be a mapping")
    bad = sorted(set(identity) - set(_IDENTITY_FIELDS) - {"__line__"})
    if bad:
        raise ModelFileError(path, line, f"unknown identity field {bad[0]!r}")
    clean = {k: v for k, v in attributes.items() if k != "__line__"}
    return ModelCI(ci_class, name.strip(), clean,
                   {k: v for k, v in identity.items() if k != "__line__"})


def _unique_refs(cis: tuple[ModelCI, ...], path: str) -> set[str]:
    refs: set[str] = set()
    for ci in cis:
        if ci.ref in refs:
            raise ModelFileError(path, None, f"{ci.ref} is listed twice")
        refs.add(ci.ref)
    return refs


def _link(raw: object, path: str, refs: set[str]) -> ModelLink:
    if not isinstance(raw, dict):
        raise ModelFileError(path, None, "each relationship must be a mapping")
    line = raw["__line__"]
    unknown = sorted(set(raw) - {"from", "type", "to", "properties", "__line__"})
    if unknown:
        raise ModelFileError(path, line, f"unknown key {unknown[0]!r}")
    kind = raw.get("type")
    if kind not in RELATIONSHIPS:
        raise ModelFileError(path, line, f"unknown relationship type {kind!r}; one of "
                             f"{', '.join(sorted(RELATIONSHIPS))}")
    ends = []
    for end in ("from", "to"):
        ref = raw.get(end)
        if not isinstance(ref, str) or ref not in refs:
            raise ModelFileError(path, line, f"`{end}` must name a CI of this file as "
                                 f"Class/name, got {ref!r}")
        ends.append(ref)
    properties = raw.get("properties", {})
    if not isinstance(properties, dict):
        raise ModelFileError(path, line, "`properties` must be a mapping")
    allowed = set(RELATIONSHIPS[kind].properties)
    props = {k: v for k, v in properties.items() if k != "__line__"}
    if set(props) - allowed:
        raise ModelFileError(path, line, f"{kind} has no property "
                             f"{sorted(set(props) - allowed)[0]!r}")
    return ModelLink(ends[0], kind, ends[1], props)


def parse_csv(text: str, path: str = "<model>") -> ServiceModel:
    """Bulk assets: a header row with `class,name` and any identity or attribute
    columns (`serial`, `mac`, `hostname`, `fqdn`, `address`, `location`, ...)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"class", "name"} <= set(reader.fieldnames):
        raise ModelFileError(path, 1, "the header must have at least `class` and `name`")
    cis = []
    for row in reader:
        line = reader.line_num
        values = {k: v.strip() for k, v in row.items() if k and v and v.strip()}
        ci_class, name = values.pop("class", None), values.pop("name", None)
        if ci_class not in CLASSES:
            raise ModelFileError(path, line, f"unknown or missing class {ci_class!r}")
        if not name or "/" in name:
            raise ModelFileError(path, line, "`name` must be a non-empty string without '/'")
        identity: dict[str, object] = {k: values[k] for k in _IDENTITY_FIELDS if k in values}
        if "mac" in values:
            identity["macs"] = [m.strip() for m in values["mac"].split(";") if m.strip()]
        cis.append(ModelCI(ci_class, name, values, identity))
    return ServiceModel(tuple(cis), ())


def apply_model(store: GraphStore, model: ServiceModel, at: datetime) -> dict[str, str]:
    """Write the model in one transaction; running it twice changes nothing the second
    time. Returns Class/name -> CI id."""

    def work(tx: WriteTx) -> dict[str, str]:
        inventories = [
            Inventory(SOURCE, ci.ci_class, {"name": ci.name, **ci.identity},
                      {"name": ci.name, **ci.attributes}, at)
            for ci in model.cis
        ]
        results = reconcile_in(tx, inventories, at)
        ids = {ci.ref: r.ci_id for ci, r in zip(model.cis, results, strict=True)}
        links = [Link(ids[link.from_ref], link.type, ids[link.to_ref], link.properties)
                 for link in model.relationships]
        relate_in(tx, links, SOURCE, at)
        return ids

    return store.write(work)


def export_model(store: GraphStore) -> str:
    """Every CI and relationship as a service model YAML document."""
    cis, cursor = [], None
    while True:
        page = store.list_cis(CIQuery(limit=1000, cursor=cursor))
        cis.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    refs = {ci.id: f"{ci.ci_class}/{ci.name}" for ci in cis}
    document: dict[str, Any] = {"cis": [], "relationships": []}
    for ci in cis:
        entry: dict[str, Any] = {"class": ci.ci_class, "name": ci.name}
        attributes = {k: v for k, v in ci.attributes.items() if k != "name"}
        if attributes:
            entry["attributes"] = attributes
        identity = {k: ci.attributes[k] for k in _IDENTITY_FIELDS if k in ci.attributes}
        if identity:
            entry["identity"] = identity
        document["cis"].append(entry)
    for rel in _all_relationships(store, [ci.id for ci in cis]):
        link: dict[str, Any] = {"from": refs[rel.from_id], "type": rel.type,
                                "to": refs[rel.to_id]}
        if rel.properties:
            link["properties"] = dict(rel.properties)
        document["relationships"].append(link)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _all_relationships(store: GraphStore, ids: list[str]) -> list[Any]:
    edges = []
    for start in range(0, len(ids), 1000):
        edges.extend(store.edges_out_of(ids[start : start + 1000], sorted(RELATIONSHIPS)))
    return sorted(edges, key=lambda e: (e.from_id, e.type, e.to_id))
