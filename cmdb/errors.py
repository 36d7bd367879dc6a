"""The CMDB's exceptions.

    CMDBError
    ├── StoreUnavailable      the store cannot be reached; retry later (HTTP 503)
    ├── UniquenessConflict    a concurrent writer took a unique key first; the
    │                         transaction is retried by the store
    ├── NotFound              no CI/incident with that id (HTTP 404)
    ├── InvalidStoreURL       the store URL names no known store
    └── InvalidModel
        ├── UnknownClass         a CI class that is not declared
        └── UnknownRelationship  a relationship type that is not declared
"""

from __future__ import annotations


class CMDBError(Exception):
    """Base of every CMDB error."""


class StoreUnavailable(CMDBError):
    """The store did not answer (connection refused, timed out, shut down)."""


class UniquenessConflict(CMDBError):
    """A unique key (identity, report id, open fingerprint) was taken concurrently."""


class NotFound(CMDBError):
    """No item with that id."""


class InvalidStoreURL(CMDBError):
    """The store URL is malformed or names an unsupported scheme."""


class InvalidModel(CMDBError):
    """Input refers to something the CI model does not declare."""


class UnknownClass(InvalidModel):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown CI class {name!r}")
        self.name = name


class UnknownRelationship(InvalidModel):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown relationship type {name!r}")
        self.name = name
