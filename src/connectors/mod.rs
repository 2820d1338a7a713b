//! Everything that plugs into the agent's spine: the LAN device drivers (GoIP/EJOIN
//! gateways, WaveFax fax servers). Each connector is a folder with a pure `protocol/` part
//! and a thin I/O part around it.

#[cfg(feature = "goip")]
pub mod goip;
#[cfg(feature = "wavefax")]
pub mod wavefax;
