//! The privacy-number platform's protocol, pure: no I/O, the clock passed in
//! (`../../shared/specs/privacy-number.md`; the seed, which wins where they differ, is
//! `seeds/002_26cfe526b07b9f0d.txt`).
//!
//! [`auth`] the `Keytime` signature; [`request`] the calls; [`reply`] replies and the error
//! codes; [`callback`] CDR and call-start callbacks, the call results, `userData`.

pub mod auth;
pub mod callback;
pub mod reply;
pub mod request;
#[cfg(test)]
mod vectors;
