-- The file relay's spool, shared by every connector that relays files (received faxes,
-- call recordings): WaveFax's `fax_in` generalised. `source` is the connector instance
-- (`wavefax/fax1`), `item` its id for the thing the file belongs to (the fax id).
CREATE TABLE spool (
    source     TEXT    NOT NULL,
    item       TEXT    NOT NULL,
    file_id    TEXT    NOT NULL,   -- the agent's id for the file, in every chunk
    -- spooled: offered, waiting for the cloud's ack (data kept);
    -- acked: acknowledged, the connector's follow-up (e.g. a delete at the source) to do;
    -- done: nothing left to do; no_file: relayed as metadata only (kept at the source)
    state      TEXT    NOT NULL CHECK (state IN ('spooled', 'acked', 'done', 'no_file')),
    data       BLOB,               -- the file, while spooled
    bytes      INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    meta       TEXT    NOT NULL,   -- the announcing event's data, for re-offers
    offered_ms INTEGER NOT NULL,   -- when the file was last offered (chunks queued / upload tried)
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (source, item)
);
INSERT INTO spool (source, item, file_id, state, data, bytes, sha256, meta, offered_ms, updated_ms)
    SELECT 'wavefax/' || server, faxid, file_id, state, data, bytes, sha256, meta, offered_ms, updated_ms
    FROM fax_in ORDER BY rowid;
DROP TABLE fax_in;
CREATE UNIQUE INDEX spool_by_file ON spool (file_id);
CREATE INDEX spool_by_state ON spool (source, state);
