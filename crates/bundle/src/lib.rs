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
