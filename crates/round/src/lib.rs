//! The evaluator's side of a cross-lab round: the
//! round folder (`folder.rs`: init, ingest with comparability, silent
//! exit), participants' data sealed under keys of their own that an exit
//! destroys (`sealed.rs`), pooled figures across participants
//! (`pool.rs`), claims extracted from each bundle (`claims.rs`), the
//! disclosure policy and the redaction summary statement
//! (`disclosure.rs`), and the private and public reports as data
//! (`report.rs`) and for people (`render.rs`).

#![forbid(unsafe_code)]

pub mod access;
pub mod analysis;
pub mod claims;
pub mod disclosure;
mod error;
pub mod folder;
pub mod merkle;
pub mod negotiation;
pub mod phase;
pub mod pool;
pub mod public;
pub mod render;
pub mod report;
pub mod sealed;
mod sections;
#[cfg(test)]
mod testing;
pub mod thread;

pub use error::Error;
pub use folder::{
    Disclosed, Ingested, Member, clear_reports, disclose, exit, ingest, init, load, members,
    registered_key, store_disclosure, write_atomic,
};

/// A seed for a new round, from the system's randomness.
pub fn random_seed() -> Result<u64, Error> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    ring::rand::SystemRandom::new().fill(&mut b).map_err(|_| Error::Randomness)?;
    // Kept below 2^53 so that every JSON reader reads it exactly.
    Ok(u64::from_le_bytes(b) >> 11)
}

/// SHA-256 of some bytes, as `sha256:` and hex.
pub fn digest(bytes: &[u8]) -> String {
    bundle::sha256(bytes)
}
