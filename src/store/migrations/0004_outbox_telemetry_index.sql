-- The outbox's index serves only eviction, which reads telemetry oldest first: a partial
-- index on telemetry rows. Critical rows (most events) no longer write an index entry when
-- stored and again when deleted.
DROP INDEX outbox_by_class;
CREATE INDEX outbox_telemetry ON outbox (seq) WHERE class = 1;
