CREATE TABLE IF NOT EXISTS ci (
    id TEXT PRIMARY KEY,
    ci_class TEXT NOT NULL,
    name TEXT NOT NULL,
    attributes TEXT NOT NULL,
    attribute_sources TEXT NOT NULL,
    sources TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ci_class_idx ON ci (ci_class, id);
CREATE INDEX IF NOT EXISTS ci_name_idx ON ci (name);
-- One owner per identity key: two writers reconciling one machine yield one CI.
CREATE TABLE IF NOT EXISTS ci_identity (
    key TEXT PRIMARY KEY,
    ci_id TEXT NOT NULL REFERENCES ci (id)
);
CREATE INDEX IF NOT EXISTS ci_identity_ci_idx ON ci_identity (ci_id);
CREATE TABLE IF NOT EXISTS relationship (
    from_id TEXT NOT NULL REFERENCES ci (id),
    type TEXT NOT NULL,
    to_id TEXT NOT NULL REFERENCES ci (id),
    properties TEXT NOT NULL,
    sources TEXT NOT NULL,
    last_seen TEXT,
    PRIMARY KEY (from_id, type, to_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relationship_to_idx ON relationship (to_id, type, from_id);
CREATE INDEX IF NOT EXISTS ci_seen_idx ON ci (status, last_seen);
CREATE TABLE IF NOT EXISTS ci_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ci_id TEXT NOT NULL,
    attribute TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ci_history_ci_idx ON ci_history (ci_id, seq);
CREATE TABLE IF NOT EXISTS reconcile_conflict (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    chosen_ci_id TEXT NOT NULL,
    other_ci_id TEXT NOT NULL,
    key TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS report (
    report_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incident (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    -- Set only while open: the unique index is the one-open-incident guarantee.
    open_fingerprint TEXT UNIQUE,
    rule TEXT NOT NULL,
    ci_id TEXT NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    summary TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    resolved_at TEXT,
    occurrences INTEGER NOT NULL,
    value REAL,
    labels TEXT NOT NULL,
    parent_id TEXT,
    priority INTEGER NOT NULL,
    assignment_group TEXT,
    flapping INTEGER NOT NULL,
    due_at TEXT,
    version INTEGER NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_ci_idx ON incident (ci_id);
CREATE INDEX IF NOT EXISTS incident_state_idx ON incident (state, id);
CREATE INDEX IF NOT EXISTS incident_parent_idx ON incident (parent_id);
CREATE INDEX IF NOT EXISTS incident_due_idx ON incident (due_at) WHERE open_fingerprint IS NOT NULL;
CREATE INDEX IF NOT EXISTS incident_fingerprint_idx ON incident (fingerprint, resolved_at);
CREATE TABLE IF NOT EXISTS incident_event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_event_idx ON incident_event (incident_id, seq);
CREATE TABLE IF NOT EXISTS rule_state (
    fingerprint TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    ci_id TEXT NOT NULL,
    data TEXT NOT NULL,
    due_at TEXT
);
CREATE INDEX IF NOT EXISTS rule_state_due_idx ON rule_state (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    incident_id TEXT NOT NULL,
    receiver TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_receiver_idx ON outbox (receiver, seq);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_seq_idx ON outbox (seq);
CREATE TABLE IF NOT EXISTS api_token (
    token_hash TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    agent_id TEXT,
    created_at TEXT NOT NULL
);
-- Who changed what, when (API and CLI); newest first by seq.
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
-- KPI windows and per-incident notification lists.
CREATE INDEX IF NOT EXISTS incident_opened_idx ON incident (opened_at);
CREATE INDEX IF NOT EXISTS incident_resolved_idx ON incident (resolved_at);
CREATE INDEX IF NOT EXISTS incident_event_kind_idx ON incident_event (kind, at);
CREATE INDEX IF NOT EXISTS report_received_idx ON report (received_at);
CREATE INDEX IF NOT EXISTS outbox_incident_idx ON outbox (incident_id, seq);
