-- The outbox: events and command results waiting for their PUBACK, in relay order.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT    NOT NULL,   -- suffix below {prefix}/{agent}/
    payload    BLOB    NOT NULL,   -- the serialized envelope
    class      INTEGER NOT NULL,   -- 0 critical (never evicted), 1 telemetry
    created_ms INTEGER NOT NULL,
    bytes      INTEGER NOT NULL    -- what the row counts against store.max_bytes
);
CREATE INDEX outbox_by_class ON outbox (class, seq);

-- The inbox: every command received, so a repeat is answered, not executed twice.
CREATE TABLE inbox (
    cmd_id      TEXT PRIMARY KEY,
    target      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('received', 'done')),
    result      BLOB,
    received_ms INTEGER NOT NULL,
    done_ms     INTEGER
);
CREATE INDEX inbox_by_state ON inbox (state, received_ms);

-- Per-source cursors and driver state.
CREATE TABLE kv (
    scope      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

-- De-duplication keys of events already accepted.
CREATE TABLE dedup (
    key        TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    event_id   TEXT    NOT NULL    -- the id the first event with this key got
);
CREATE INDEX dedup_by_age ON dedup (created_ms);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
