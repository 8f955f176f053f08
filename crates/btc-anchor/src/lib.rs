//! # btc-anchor
//!
//! Prove when a record existed by anchoring its hash in Bitcoin, with proof
//! files anyone can check offline.
//!
//! Records are hashed ([`hash`]), batched into an RFC 9162 Merkle tree with
//! a random salt per record ([`merkle`]), and the tree root is committed in
//! an OP_RETURN output of a Bitcoin transaction. Each record then gets a
//! self-contained proof file ([`proof`], specified in `docs/proof-format.md`)
//! that [`verify()`] checks from the file alone, or against a header source
//! ([`headers`]). Complete proofs also export as OpenTimestamps files, and
//! `.ots` files verify against a header source ([`ots`]).
//!
//! A proof is valid only on evidence that its block is in the real chain
//! (`docs/proof-format.md` §9): every carried header is held to the chain
//! rules ([`rules`]) with the checkpoint tables built in ([`checkpoints`]);
//! headers files are validated whole ([`validate`]), and written and kept
//! up to date from any header source, every header validated before it is
//! written ([`headers::sync`]). Once the
//! anchoring block's difficulty epoch has closed, [`seal`] extends a
//! complete proof's headers to the epoch's last block, which a checkpoint
//! table pins: such a proof places its block in the real chain offline.
//!
//! This crate has no default features and no wallet, network or database
//! dependency. The workspace's other crates build on it:
//! `btc-anchor-electrum` (the Electrum adapter), `btc-anchor-workflow`
//! (stamping, anchoring with a BDK wallet, the SQLite store) and
//! `btc-anchor-cli` (the `btc-anchor` program).
//!
//! ## Verifying a proof
//!
//! ```
//! use btc_anchor::{verify, EmbeddedOnly, Proof, RecordDigest, Verdict, VerifyOptions};
//!
//! # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
//! let document = std::fs::read("fixtures/example/record.txt")?;
//! let proof = Proof::from_json(&std::fs::read("fixtures/example/record.txt.anchor.json")?)?;
//! let options = VerifyOptions::new(bitcoin::Network::Regtest);
//! let report = verify(&proof, &RecordDigest::of_bytes(&document), &EmbeddedOnly, &options)?;
//! assert_eq!(report.verdict, Verdict::Valid);
//! println!("existed no later than block {}", report.block.unwrap().height);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`verify_file`] does the same for a proof file of either format (a
//! btc-anchor proof or an OpenTimestamps `.ots` file, told apart by
//! content), with the header-source choice, and answers with one
//! [`Verification`] that serializes to the JSON of `docs/verification.md`.
//!

#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]

pub mod anchor;
pub mod chain;
pub mod checkpoints;
pub mod commitment;
pub mod file;
pub mod hash;
pub mod headers;
pub mod merkle;
pub mod ots;
pub mod proof;
pub mod rules;
pub mod seal;
pub mod text;
pub mod utc;
pub mod validate;
pub mod verification;
pub mod verify;

/// The `bitcoin` crate this library's types come from.
pub use bitcoin;

// The types and calls most embedders need, at the root; everything else
// stays in its module.
pub use file::{read_any, ProofFile};
pub use hash::RecordDigest;
pub use headers::{EmbeddedOnly, HeaderSource, HeadersFile};
pub use ots::{verify_ots, DetachedTimestamp, OtsReport, OtsVerdict};
pub use proof::{Proof, Stage};
pub use verification::{verify_file, Outcome, Verification};
pub use verify::{verify, Report, Verdict, VerifyError, VerifyOptions};
