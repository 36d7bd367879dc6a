"""Open the store a URL names: `sqlite:///...` (embedded default) or `bolt://`/`neo4j://`."""

from __future__ import annotations

from cmdb.errors import InvalidStoreURL
from cmdb.store import GraphStore

NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def connect(url: str, auth: tuple[str, str] | None = None, database: str | None = None
            ) -> GraphStore:
    """A store for `url`, schema created. Neo4j's driver is imported only when asked for."""
    store: GraphStore
    if url.startswith("sqlite:"):
        from cmdb.sqlite_store import SQLiteStore

        store = SQLiteStore(url)
    elif url.startswith(NEO4J_SCHEMES):
        from cmdb.neo4j_store import Neo4jStore

        store = Neo4jStore(url, auth=auth, database=database)
    else:
        raise InvalidStoreURL(
            f"unsupported store URL {url.split('://')[0]!r}: use sqlite:///file.db or bolt://host:port"
        )
    store.initialise()
    return store
