//! The WaveFax fax-server driver (contract: `../shared/specs/wavefax-http.md`).
//!
//! Work in progress (issue 4). The pure protocol part is here: [`number`] (the server's
//! fax number format from E.164 or local input), [`codes`] (fax states, fax error codes,
//! server error codes), [`request`] (every call, URL-encoded, `putfile` with its
//! `Content-Disposition`, server-local times), [`reply`] (lenient parsing of the seed's
//! non-strict JSON, ids, outbound fax state). Still to come: the session and I/O part,
//! the agent wiring (fax.send with persisted steps, outbound tracking, inbound polling with
//! a high-water mark, file relay in MQTT chunks), and `telbridge-sim fax`.

pub mod codes;
pub mod number;
pub mod reply;
pub mod request;
pub mod server;
