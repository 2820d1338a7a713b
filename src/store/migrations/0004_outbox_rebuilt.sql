-- The outbox rebuilt for fewer pages written per commit (the relay bench, issue 17):
-- * no AUTOINCREMENT: it rewrote sqlite_sequence in every commit (and copied that page into
--   every store call's savepoint journal). The writer gives the numbers out itself (the
--   ledger's last_seq); the last one given out is kept in meta ('outbox_last_seq') in the
--   commit that deletes the newest row, so a number is never given out twice;
-- * the index serves only eviction, which reads telemetry oldest first: a partial index on
--   telemetry rows, so critical events (most of them) write no index entry when stored and
--   again when deleted.
INSERT INTO meta (key, value)
    SELECT 'outbox_last_seq', seq FROM sqlite_sequence WHERE name = 'outbox'
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
CREATE TABLE outbox_rebuilt (
    seq        INTEGER PRIMARY KEY,   -- given out by the writer, never re-used
    topic      TEXT    NOT NULL,      -- suffix below {prefix}/{agent}/
    payload    BLOB    NOT NULL,      -- the serialized envelope
    class      INTEGER NOT NULL,      -- 0 critical (never evicted), 1 telemetry
    created_ms INTEGER NOT NULL,
    bytes      INTEGER NOT NULL       -- what the row counts against store.max_bytes
);
INSERT INTO outbox_rebuilt (seq, topic, payload, class, created_ms, bytes)
    SELECT seq, topic, payload, class, created_ms, bytes FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_telemetry ON outbox (seq) WHERE class = 1;
