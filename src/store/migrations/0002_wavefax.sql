-- WaveFax: outbound faxes the agent tracks until a final state.
CREATE TABLE fax_out (
    server     TEXT    NOT NULL,   -- the [[wavefax]] name
    faxid      TEXT    NOT NULL,   -- the server's id
    cmd_id     TEXT,               -- the command that submitted it (fax.send / fax.resend)
    kind       TEXT    NOT NULL,   -- 'fax' or 'mail' (a mail job of a fax-mail submission)
    status     INTEGER NOT NULL,   -- last getoutfax status seen, -1 before the first poll
    errcode    INTEGER NOT NULL,
    final      INTEGER NOT NULL,   -- 1 once 8/9 (or the server no longer knows it)
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (server, faxid)
);
CREATE INDEX fax_out_open ON fax_out (server, final);

-- WaveFax: received faxes, the de-duplication record of the inbox poll and the spool of
-- files not yet acknowledged by the cloud.
CREATE TABLE fax_in (
    server     TEXT    NOT NULL,
    faxid      TEXT    NOT NULL,
    file_id    TEXT    NOT NULL,   -- the agent's id for the file, in every chunk
    -- spooled: offered, waiting for the cloud's ack (data kept);
    -- acked: acknowledged, deleteinfax still to do; done: nothing left to do;
    -- no_file: relayed as metadata only (file too large or unavailable; kept on the server)
    state      TEXT    NOT NULL CHECK (state IN ('spooled', 'acked', 'done', 'no_file')),
    data       BLOB,               -- the file, while spooled
    bytes      INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    meta       TEXT    NOT NULL,   -- the fax.received data, for re-offers
    offered_ms INTEGER NOT NULL,   -- when the file was last offered (chunks queued / upload tried)
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (server, faxid)
);
CREATE UNIQUE INDEX fax_in_by_file ON fax_in (file_id);
CREATE INDEX fax_in_by_state ON fax_in (server, state);
