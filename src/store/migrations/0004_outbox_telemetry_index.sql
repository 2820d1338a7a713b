-- The outbox's index serves only eviction, which reads telemetry oldest first: a partial
-- index on telemetry rows. Critical rows (most events) no longer write an index entry when
-- stored and again when deleted.
DROP INDEX outbox_by_class;
CREATE INDEX outbox_telemetry ON outbox (seq) WHERE class = 1;
-- The table itself keeps AUTOINCREMENT although sqlite_sequence is a page written by every
-- commit: a build from before this migration (a package downgrade) reads its last sequence
-- number from sqlite_sequence, and would give numbers out again without it. Dropping it needs
-- a migration older builds refuse, and an update's rollback that keeps working (see
-- docs/update.md).
