//! The WaveFax protocol, pure: no I/O, no clock (server-local times are passed in).
//! Everything here is checked by unit tests beside it.

pub mod args;
pub mod codes;
pub mod inbox;
pub mod number;
pub mod recovery;
pub mod reply;
pub mod request;
#[cfg(test)]
mod vectors;
