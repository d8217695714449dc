//! The participant's side of the cross-lab round:
//! canonical bytes for signing, and a Merkle tree over the raw evidence
//! that stays at the lab, so that any one item can be proven part of a
//! signed root without shipping the rest.

#![forbid(unsafe_code)]

pub mod canonical;
mod error;
pub mod keys;
pub mod merkle;
pub mod questionnaire;
pub mod recompute;
pub mod submission;

pub use error::Error;

/// SHA-256 of some bytes as `sha256:` and lowercase hex: how every
/// document and file digest in the protocol is written.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in Sha256::digest(bytes) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
