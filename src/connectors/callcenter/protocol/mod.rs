//! The call-center OpenAPI's pure protocol part (no I/O; clock and seq passed in):
//! [`auth`] the digest, [`api`] each API's name, versions and field rules, [`envelope`]
//! requests (single and batched) and replies checked at both levels, [`notify`] the
//! platform's notifications and their verification. Every meaning the damaged seed only
//! lets us infer is in [`inferred`], in one place.

pub mod api;
pub mod auth;
pub mod envelope;
pub mod inferred;
pub mod notify;
#[cfg(test)]
mod vectors;
