//! OpenTimestamps interoperability: reading, checking and writing detached
//! timestamp files (`.ots`), specified in `docs/ots.md`.
//!
//! * [`DetachedTimestamp::from_bytes`] reads a file with every limit of the
//!   reference implementation enforced before allocating, and never panics;
//!   [`DetachedTimestamp::to_bytes`] writes it back byte for byte.
//! * [`DetachedTimestamp::attestations`] replays the tree from the file
//!   digest and gives the message at every attestation.
//! * [`verify_ots`] checks the document's digest and each Bitcoin
//!   attestation against a [`HeaderSource`](crate::headers::HeaderSource):
//!   the attested message must be the merkle root of the block at the
//!   attested height, in internal byte order.
//! * [`export_ots`] writes a confirmed btc-anchor proof as a standard
//!   `.ots` file that OpenTimestamps tools can check.
//! * [`read_ots_file`] reads a file from disk with the size cap, and
//!   [`is_ots_file`] tells a `.ots` file from a btc-anchor proof by its
//!   magic bytes, whatever its name; [`crate::file::read_any`] does both
//!   for a file of either kind, opening it once (a pipe can be read only
//!   once).
//!
//! ```
//! use btc_anchor::headers::EmbeddedOnly;
//! use btc_anchor::ots::{verify_ots, DetachedTimestamp, OtsVerdict};
//! # use btc_anchor::ots::{Attestation, FileHashOp, Op, Timestamp};
//! # let digest = FileHashOp::Sha256.hash(b"hello");
//! # let file = DetachedTimestamp {
//! #     file_hash: FileHashOp::Sha256,
//! #     digest: digest.clone(),
//! #     timestamp: Timestamp::op(Op::Sha256, Timestamp::attestation(Attestation::Bitcoin { height: 1 })),
//! # }.to_bytes();
//! let ts = DetachedTimestamp::from_bytes(&file)?;
//! let report = verify_ots(&ts, &ts.file_hash.hash(b"hello"), &EmbeddedOnly)?;
//! // Offline, a Bitcoin attestation needs its block header.
//! assert_eq!(report.verdict, OtsVerdict::HeadersNeeded { heights: vec![1] });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod export;
mod file;
mod format;
mod verify;

pub use export::{export_ots, leaf_ops, timestamp_from_leaf, timestamp_from_proof, OtsExportError};
pub use file::{has_ots_magic, is_ots_file, read_ots_file, ReadOtsError};
pub use format::{
    display_path, Attestation, Branch, DetachedTimestamp, FileHashOp, FoundAttestation, Item, Op,
    OtsError, Timestamp, BITCOIN_TAG, LITECOIN_TAG, MAGIC, MAJOR_VERSION, MAX_ARG_LEN,
    MAX_ATTESTATIONS, MAX_DEPTH, MAX_OTS_BYTES, MAX_PAYLOAD_LEN, MAX_RESULT_LEN, MAX_URI_LEN,
    PENDING_TAG,
};
pub use verify::{
    verify_ots, AttestationReport, BitcoinCheck, OtsReport, OtsVerdict, OtsVerifyError,
};
